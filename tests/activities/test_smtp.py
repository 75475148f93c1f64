"""SmtpSender against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import compat32

import aiosmtplib
import pytest
from pydantic import SecretStr

from activities.mail import render
from activities.smtp import SmtpSender
from settings import Settings
from tests.smtp import SmtpServer, free_port

from .helpers import CASE, MAIL_FROM, TASK, sample


def sender_for(server: SmtpServer) -> SmtpSender:
    return SmtpSender(server.host, server.port, timeout=5)


async def test_the_server_receives_the_rendered_mail(smtp_server: SmtpServer) -> None:
    n = sample("breach-2", urgent=True)
    await sender_for(smtp_server).send(render(n, mail_from=MAIL_FROM))

    [envelope] = smtp_server.inbox.envelopes
    assert envelope.mail_from == "appeals-noreply@appeals.example"
    assert envelope.rcpt_tos == ["hrss.gz@appeals.example", "shgzb.gz@appeals.example"]
    [msg] = smtp_server.inbox.messages()
    assert (
        msg["Subject"]
        == f"[诉求 {CASE}]【紧急】 超时督办（第2级）· 答复 · 天河区人力资源和社会保障局"
    )
    assert msg["X-Appeals-Case"] == CASE
    assert msg["X-Appeals-Task"] == TASK
    assert msg["X-Appeals-Clock"] == "reply"
    assert msg["X-Appeals-Event"] == "rung-2"
    assert msg["X-Appeals-Notification"] == n.id
    assert msg["Importance"] == "high" and msg["X-Priority"] == "1"
    assert [a.addr_spec for a in msg["To"].addresses] == envelope.rcpt_tos
    # The folded header splits the second name into two adjacent encoded-words, which
    # RFC 2047 (6.2) joins without a space; Python's structured-header parser keeps a
    # space there, so read the names with the RFC 2047 decoder instead.
    raw = message_from_bytes(envelope.original_content, policy=compat32)["To"]
    assert str(make_header(decode_header(raw))) == (
        "广州市人力资源和社会保障局 <hrss.gz@appeals.example>, "
        "中共广州市委社会工作部 <shgzb.gz@appeals.example>"
    )
    assert msg["From"].addresses[0].display_name == "诉求办理平台"
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    assert "现提请督办" in text.get_content() and "至今已超时3个工作日" in text.get_content()
    assert "现提请督办" in html.get_content() and "<table" in html.get_content()
    assert text.get_content_charset() == "utf-8"


async def test_the_same_notification_keeps_its_message_id(smtp_server: SmtpServer) -> None:
    sender = sender_for(smtp_server)
    n = sample("warning")
    await sender.send(render(n, mail_from=MAIL_FROM))
    await sender.send(render(n.model_copy(deep=True), mail_from=MAIL_FROM))
    first, second = smtp_server.inbox.messages()
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@appeals.example>")


async def test_a_stopped_server_is_a_connection_error(smtp_server: SmtpServer) -> None:
    smtp_server.stop()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await sender_for(smtp_server).send(render(sample("info"), mail_from=MAIL_FROM))


async def test_one_connection_carries_several_mails_and_is_opened_again_if_closed(
    smtp_server: SmtpServer,
) -> None:
    sender = sender_for(smtp_server)
    first, second, third = (sample(k, id=f"AP-CONN-T1:{k}") for k in ("info", "warning", "urge"))
    async with sender.connection() as connection:
        await connection.send(render(first, mail_from=MAIL_FROM))
        await connection.send(render(second, mail_from=MAIL_FROM))
        # The server goes away and comes back between two mails (an idle socket it
        # closed): the third goes over a new connection instead of failing.
        smtp_server.stop()
        smtp_server.start()
        await connection.send(render(third, mail_from=MAIL_FROM))
    got = [m["X-Appeals-Notification"] for m in smtp_server.inbox.messages()]
    assert got == [first.id, second.id, third.id]
    peers = smtp_server.inbox.peers
    assert peers[0] == peers[1] and peers[2] != peers[1]


async def test_a_new_connection_to_a_stopped_server_is_a_connection_error(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.stop()
    async with sender_for(smtp_server).connection() as connection:
        for _ in range(2):  # each mail tries to connect, and says why it could not
            with pytest.raises(aiosmtplib.SMTPConnectError):
                await connection.send(render(sample("info"), mail_from=MAIL_FROM))


async def test_a_silent_server_times_out() -> None:
    # Accepts the TCP connection (the kernel's backlog does) but never greets.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(aiosmtplib.SMTPTimeoutError):
            await SmtpSender("127.0.0.1", port, timeout=0.3).send(
                render(sample("info"), mail_from=MAIL_FROM)
            )
        assert time.monotonic() - started < 3


def test_built_from_settings_without_leaking_the_password() -> None:
    port = free_port()
    settings = Settings(
        smtp_host="smtp.gz.gov.example",
        smtp_port=port,
        smtp_username="appeals",
        smtp_password=SecretStr("s3cret-pass"),
        smtp_starttls=True,
    )
    sender = SmtpSender.from_settings(settings)
    assert (sender.host, sender.port, sender.username) == ("smtp.gz.gov.example", port, "appeals")
    assert sender.start_tls and not sender.use_tls and sender.timeout == 10
    assert "s3cret" not in repr(sender)
    with pytest.raises(ValueError, match="not both"):
        SmtpSender("h", 25, use_tls=True, start_tls=True)
