"""Rendering: subjects, headers, both bodies, for every kind and rung; the context
contract; and no personal data in any mail."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from activities.mail import (
    OPTIONAL_KEYS,
    REQUIRED_KEYS,
    NotificationError,
    mail_domain,
    mask_personal,
    message_id_for,
    period_text,
    render,
    render_subject,
)
from models.notify import NotificationKind, Recipient

from .helpers import AT, CASE, MAIL_FROM, PHONE, SAMPLES, TASK, sample


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


@pytest.mark.parametrize("full", [True, False], ids=["all-keys", "required-keys-only"])
@pytest.mark.parametrize("name", SAMPLES)
def test_every_kind_renders_text_and_html(name: str, full: bool) -> None:
    msg = render(sample(name, full=full), mail_from=MAIL_FROM)
    text, html = bodies(msg)
    assert msg.get_content_type() == "multipart/alternative"
    assert str(msg["Subject"]).startswith(f"[诉求 {CASE}]")
    assert "天河区人力资源和社会保障局" in str(msg["Subject"])
    assert CASE in text and CASE in html and TASK in text
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert "\n\n\n" not in text  # optional lines leave no holes
    if full:
        assert "配送站拖欠王**两个月工资" in text and "配送站拖欠王**两个月工资" in html
        assert "（主办）" in text


def test_subjects_say_what_happened() -> None:
    subjects = {name: render_subject(sample(name)) for name in SAMPLES}
    office = "天河区人力资源和社会保障局"
    assert subjects["warning"] == f"[诉求 {CASE}] 答复时限已过50% · {office}"
    assert subjects["breach-1"] == f"[诉求 {CASE}] 签收超时提醒（第1级）· {office}"
    assert subjects["breach-2"] == f"[诉求 {CASE}] 超时督办（第2级）· 答复 · {office}"
    assert subjects["breach-3"] == f"[诉求 {CASE}] 挂牌督办（第3级）· 答复 · {office}"
    assert subjects["urge"] == f"[诉求 {CASE}] 督办 · {office}"
    assert subjects["info"] == f"[诉求 {CASE}] 延期申请已批准 · {office}"
    urgent = render_subject(sample("urge", urgent=True))
    assert urgent == f"[诉求 {CASE}]【紧急】 督办 · {office}"


def test_each_rung_speaks_to_its_rung_of_the_ladder() -> None:
    rung1, _ = bodies(render(sample("breach-1"), mail_from=MAIL_FROM))
    rung2, _ = bodies(render(sample("breach-2"), mail_from=MAIL_FROM))
    rung3, _ = bodies(render(sample("breach-3"), mail_from=MAIL_FROM))
    # Rung 1 goes to the office and its head: a reminder to the head.
    assert rung1.startswith("天河区人力资源和社会保障局、天河区人社局负责同志：")
    assert "请单位负责同志督促承办人员立即办理" in rung1 and "第1级（超时提醒）" in rung1
    # Rung 2 goes to the city department and 社会工作部: 督办.
    assert rung2.startswith("广州市人力资源和社会保障局、中共广州市委社会工作部：")
    assert "现提请督办" in rung2 and "社会工作部" in rung2 and "第2级（督办）" in rung2
    assert "至今已超时3个工作日" in rung2
    # Rung 3 goes to city leadership: 挂牌督办.
    assert rung3.startswith("市领导：")
    assert "现报请挂牌督办" in rung3 and "第3级（挂牌督办）" in rung3
    for a, b in [(rung1, rung2), (rung2, rung3), (rung1, rung3)]:
        assert a.split("\n")[2] != b.split("\n")[2]


def test_headers() -> None:
    n = sample("breach-2")
    msg = render(n, mail_from=MAIL_FROM)
    assert msg["Message-ID"] == message_id_for(n.id, "appeals.example")
    assert msg["X-Appeals-Case"] == CASE
    assert msg["X-Appeals-Task"] == TASK
    assert msg["X-Appeals-Clock"] == "reply"
    assert msg["X-Appeals-Event"] == "rung-2"
    assert msg["X-Appeals-Notification"] == n.id
    assert msg["Date"].datetime == AT
    assert msg["From"].addresses[0].display_name == "诉求办理平台"
    assert [(a.display_name, a.addr_spec) for a in msg["To"].addresses] == [
        ("广州市人力资源和社会保障局", "hrss.gz@appeals.example"),
        ("中共广州市委社会工作部", "shgzb.gz@appeals.example"),
    ]
    assert "Importance" not in msg and "X-Priority" not in msg
    # On the wire every header is ASCII (RFC 2047 for the Chinese).
    assert msg.as_bytes().split(b"\n\n")[0].isascii()


def test_optional_headers_and_urgency() -> None:
    msg = render(sample("info", task_id=None, clock=None, urgent=True), mail_from=MAIL_FROM)
    assert "X-Appeals-Task" not in msg and "X-Appeals-Clock" not in msg
    assert msg["Importance"] == "high" and msg["X-Priority"] == "1"
    text, html = bodies(msg)
    assert "【紧急】" in text and "【紧急】" in html and "任务编号" not in text


def test_message_id_is_stable_and_uses_the_senders_domain() -> None:
    n = sample("warning")
    first = render(n, mail_from=MAIL_FROM)["Message-ID"]
    again = render(n.model_copy(), mail_from=MAIL_FROM)["Message-ID"]
    assert first == again
    assert first != render(sample("breach-2"), mail_from=MAIL_FROM)["Message-ID"]
    assert message_id_for("x", "gov.example") == message_id_for("x", "gov.example")
    assert message_id_for("x", "gov.example").endswith("@gov.example>")
    assert len(message_id_for("x", "d").split("@")[0]) == 33  # "<" + 32 hex digits
    assert mail_domain("noreply@rsj.gz.gov.example") == "rsj.gz.gov.example"
    with pytest.raises(ValueError, match="APPEALS_MAIL_FROM"):
        mail_domain("noreply")


@pytest.mark.parametrize("name", SAMPLES)
def test_no_personal_data_in_any_mail(name: str) -> None:
    """Even a careless caller (a phone typed into the summary, an ID number in a
    supervisor's note, a `phone` key) cannot put personal data into a mail."""
    n = sample(name)
    n.context["summary_masked"] = "骑手电话13800138001，身份证11010519491231002X，欠薪"
    n.context["phone"] = "13900139002"  # not a template key: never reaches a template
    n.context["name"] = "王小明"
    if "text" in n.context:
        n.context["text"] = "请联系 139-0013-9002 或 +86 137 0013 7003"
    msg = render(n, mail_from=MAIL_FROM)
    text, html = bodies(msg)
    headers = "\n".join(f"{k}: {v}" for k, v in msg.items())
    for part in (headers, text, html):
        assert not PHONE.search(part), part
        assert "11010519491231002X" not in part and "王小明" not in part
    assert "138****8001" in text and "110105********002X" in text


def test_masking_keeps_other_numbers() -> None:
    assert mask_personal("订单号 202612030001234567890") == "订单号 202612030001234567890"
    assert mask_personal("2026-11-30 17:30 欠薪 12000 元") == "2026-11-30 17:30 欠薪 12000 元"
    assert mask_personal("电话:13800138001。") == "电话:138****8001。"


def test_html_escapes_the_context() -> None:
    n = sample("urge")
    n.context["text"] = '<script>alert("x")</script> & 请办理'
    text, html = bodies(render(n, mail_from=MAIL_FROM))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; 请办理" in html
    assert '<script>alert("x")</script> & 请办理' in text


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_a_missing_key_is_a_loud_error_naming_it(kind: NotificationKind) -> None:
    name = {
        "warning": "warning",
        "breach": "breach-2",
        "urge": "urge",
        "info": "info",
        "task": "task",
        "digest": "digest",
        "report": "report",
    }[kind]
    for key in REQUIRED_KEYS[kind]:
        n = sample(name)
        del n.context[key]
        with pytest.raises(NotificationError, match=f"missing or blank {key}"):
            render(n, mail_from=MAIL_FROM)
    n = sample(name)
    n.context["office_name"] = "  "
    with pytest.raises(NotificationError, match=f"{n.id!r} \\({kind}\\): missing or blank"):
        render_subject(n)
    assert not REQUIRED_KEYS[kind] & OPTIONAL_KEYS[kind]


def test_a_bad_rung_or_no_recipient_is_refused() -> None:
    n = sample("breach-2")
    n.context["rung"] = "4"
    with pytest.raises(NotificationError, match="rung '4' is not one of 1, 2, 3"):
        render(n, mail_from=MAIL_FROM)
    with pytest.raises(NotificationError, match="no recipients"):
        render(sample("warning", to=[]), mail_from=MAIL_FROM)


def test_period_codes_read_as_chinese() -> None:
    assert period_text("5wd") == "5个工作日"
    assert period_text("15d") == "15天"
    assert period_text("24h") == "24小时"
    assert period_text("8wh") == "8个工作小时"
    assert period_text("30m") == "30分钟"
    assert period_text("两周") == "两周"


@pytest.mark.parametrize(
    ("address", "name"),
    [("hrss.tianhe", None), ("王@例子.中国", None), ("a@b.example", "天河区\nBcc: x@y.example")],
)
def test_a_bad_recipient_is_refused_not_retried(address: str, name: str | None) -> None:
    with pytest.raises(NotificationError, match="bad recipient"):
        render(sample("info", to=[Recipient(address=address, name=name)]), mail_from=MAIL_FROM)


def test_mail_to_an_outside_hotline_asks_for_a_written_answer() -> None:
    internal = render(sample("info"), mail_from=MAIL_FROM)
    n = sample("info")
    n.context["external"] = "yes"
    external = render(n, mail_from=MAIL_FROM)
    for msg, outside in ((internal, False), (external, True)):
        for part in ("plain", "html"):
            body = msg.get_body((part,))
            assert body is not None
            text = body.get_content()
            assert ("appeals show" in text) is not outside
            assert ("函复我方12345热线" in text) is outside


def test_the_scheduled_mails_render_their_lists() -> None:
    digest = render(sample("digest", case_id="DIGEST-2026-12-07"), mail_from=MAIL_FROM)
    text, html = bodies(digest)
    assert str(digest["Subject"]) == (
        "[每日提醒 2026-12-07] 天河区人力资源和社会保障局：超期 1 件，今日到期 0 件"
    )
    assert "AP-T1 拖欠劳动报酬 签收 截止 2026-12-04 17:30" in text
    assert "今日到期（0）：\n  无" in text and "<li>无</li>" in html
    report = render(sample("report", case_id="REPORT-2026-11-30"), mail_from=MAIL_FROM)
    text, _ = bodies(report)
    assert "天河区人力资源和社会保障局：收件 3，签收率 66.7%" in text
