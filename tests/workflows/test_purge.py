"""Retention (`appeals purge`) over cases run through the real workflows on the
time-skipping server, in SQLite and in PostgreSQL.

Four workers, each with their own name, phone and ID number:

    A  worker 1, housing: their data typed everywhere a person types — the summary
       (with a second phone), a note, a question and the answer to it, an extension's
       reason, a 督办 text, a repeat call, the reply, an unsatisfied callback's remark
       (reopened), the second reply; closed on day 0
    W  worker 1 again: returned (the reason names them), then withdrawn on day 0
    M  worker 2: closed on day 5
    R  worker 3: closed on day 10 (today)
    O  worker 4: opened on day 0 and still open

Purged on day 10 with a retention of 7 days and a repeat window of 3: A and W lose
worker 1's data from every table (the whole database is searched for it), M only its
repeat hashes, R and O nothing. The figures, the returns report and the figures derived
again from scratch are the same as before; the audit row says who, when and which
cases; a dry run before changes nothing, a second run purges nothing again.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Engine, MetaData, select, text
from sqlmodel import Session
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.facts import FigureMath, rebuild
from activities.purge import purge
from db import queries
from db.engine import make_engine
from db.tables import CaseRow, PurgeRow
from models.case import CallbackInput, CaseInput, UrgeInput, WithdrawInput, case_id_for
from models.clusters import RepeatInput
from models.intake import mask_id, mask_name, mask_phone
from models.purge import PurgeInput, PurgeResult
from models.tasks import (
    AcceptInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    NoteInput,
    ProvideInfoInput,
    RequestInfoInput,
    ReturnInput,
)
from reports.figures import Dimension, Period, Window, figures
from services.views import case_dict
from settings import Settings
from sla.calendar import WorkCalendar
from tests.conftest import Stack, running_stack
from tests.workflows.helpers import intake, mails_settled, projected, wait_status
from tests.workflows.test_figures import lead_of, new_lead, skip_to
from workflows.grievance import GrievanceWorkflow
from workflows.purge import PurgeWorkflow

CLERK, SUP = "clerk.li", "sup.zhang"
HOUSING = {"category": "housing", "residence": "440106", "workplace": "440106"}
RETENTION, WINDOW = 7, 3


class Worker:
    def __init__(self, name: str, phone: str, id_number: str) -> None:
        self.name, self.phone, self.id_number = name, phone, id_number

    def strings(self) -> list[str]:
        """The data as the case row holds it."""
        return [self.name, self.phone, self.id_number]

    def masked(self) -> list[str]:
        """The forms the screens and e-mails show (王**, 139****5678)."""
        return [mask_name(self.name), mask_phone(self.phone), mask_id(self.id_number) or ""]


W1 = Worker("欧阳春花", "13912345678", "11010519491231002X")
W2 = Worker("司马青山", "13622223333", "440106199001011235")
W3 = Worker("诸葛明月", "15844445555", "440106198505051236")
W4 = Worker("上官秋水", "18866667777", "110101198812120010")
SIBLING = "13700001111"  # a second phone in worker 1's summary


def form(w: Worker, summary: str | None = None) -> Any:
    return intake(
        **HOUSING,
        name=w.name,
        phone=w.phone,
        id_number=w.id_number,
        summary=summary or "房东拒不退还押金三千元",
    )


async def open_with_hashes(stack: Stack, f: Any) -> WorkflowHandle[Any, Any]:
    case_id = case_id_for(f.request_id)
    return await stack.client.start_workflow(
        GrievanceWorkflow.run,
        CaseInput(
            case_id=case_id,
            intake=f,
            opened_by=CLERK,
            phone_hash=f"phone-{f.phone}".ljust(64, "0"),
            id_hash=f"id-{f.id_number}".ljust(64, "0"),
        ),
        id=case_id,
        task_queue=stack.task_queue,
    )


async def update(stack: Stack, wid: str, name: str, arg: Any) -> None:
    await stack.client.get_workflow_handle(wid).execute_update(name, arg)


async def close_simply(stack: Stack, handle: WorkflowHandle[Any, Any]) -> None:
    lead = await lead_of(handle)
    who = lead.handlers[0]
    await update(stack, lead.task_id, "accept", AcceptInput(actor=who))
    await update(
        stack, lead.task_id, "complete", CompleteInput(actor=who, outcome="resolved", reply="已退")
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor=CLERK, result="satisfied"))
    await handle.result()


async def live_through_everything(stack: Stack, handle: WorkflowHandle[Any, Any]) -> None:
    """Case A: worker 1's data typed into every free-text field a person fills."""
    w = W1
    lead = await lead_of(handle)
    who, t = lead.handlers[0], lead.task_id
    await update(stack, t, "accept", AcceptInput(actor=who))
    await update(stack, t, "note", NoteInput(actor=who, text=f"已致电{w.phone}，{w.name}在家"))
    await update(
        stack, t, "request_info", RequestInfoInput(actor=who, question=f"请{w.name}提供租赁合同")
    )
    await update(
        stack, t, "provide_info", ProvideInfoInput(actor=CLERK, text=f"身份证{w.id_number}及合同")
    )
    await update(
        stack, t, "extend", ExtendInput(actor=who, period="2wd", reason=f"{w.name}需补充证据")
    )
    await update(stack, t, "approve_extension", DecideExtensionInput(actor=SUP))
    await handle.execute_update("urge", UrgeInput(actor=SUP, text=f"{w.name}再次来电，请加快"))
    await handle.execute_update(
        "repeat",
        RepeatInput(
            actor=CLERK,
            request_id=uuid.uuid4().hex,
            summary=f"{w.name}再次来电{w.phone}催办",
            matched_on=["phone"],
        ),
    )
    await update(
        stack,
        t,
        "complete",
        CompleteInput(actor=who, outcome="unresolvable", reply=f"{w.name}：房东失联，无法办理"),
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update(
        "callback",
        CallbackInput(actor=CLERK, result="unsatisfied", remark=f"{w.name}不满意，留电{SIBLING}"),
    )
    again = await new_lead(handle, {t})
    who2 = again.handlers[0]
    await update(stack, again.task_id, "accept", AcceptInput(actor=who2))
    await update(
        stack,
        again.task_id,
        "complete",
        CompleteInput(actor=who2, outcome="resolved", reply=f"已联系房东，{w.name}押金已退"),
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update(
        "callback", CallbackInput(actor=CLERK, result="satisfied", remark=f"{w.name}表示满意")
    )
    await handle.result()


async def return_and_withdraw(stack: Stack, handle: WorkflowHandle[Any, Any]) -> None:
    """Case W: returned to 人社 with a reason naming worker 1, then withdrawn."""
    lead = await lead_of(handle)
    who = lead.handlers[0]
    await update(stack, lead.task_id, "accept", AcceptInput(actor=who))
    await update(
        stack,
        lead.task_id,
        "return",
        ReturnInput(actor=who, reason=f"{W1.name}所述为工资争议，应由人社办理", owner="hrss"),
    )
    await new_lead(handle, {lead.task_id})
    await handle.execute_update(
        "withdraw", WithdrawInput(actor=CLERK, reason=f"{W1.name}已自行协商解决")
    )
    await handle.result()


def tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what a stolen copy of the read model shows."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr)
            for t in meta.sorted_tables
        }


def where(engine: Engine, needles: list[str]) -> set[str]:
    """The table.column of every value holding one of ``needles``."""
    meta = MetaData()
    meta.reflect(engine)
    found = set()
    with engine.connect() as conn:
        for t in meta.sorted_tables:
            for row in conn.execute(select(t)).mappings():
                for column, value in row.items():
                    if any(n in repr(value) for n in needles):
                        found.add(f"{t.name}.{column}")
    return found


def dump(engine: Engine) -> str:
    """The same as text, to search."""
    return "\n".join(repr(v) for rows in tables(engine).values() for r in rows for v in r)


def report(engine: Engine, window: Window) -> dict[str, Any]:
    """Every count the reports compute: the figures by each dimension, weekly too, and
    the returns report."""
    with Session(engine) as session:
        out: dict[str, Any] = {
            f"{by}-{w.period}": [
                (r.key, r.period, r.counts, r.minutes)
                for r in figures(session=session, by=by, window=w)
            ]
            for by in Dimension
            for w in (window, Window(window.start, window.end, Period.week))
        }
        out["returns"] = [repr(r) for r in queries.returns_by_office(session=session)]
    return out


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def purge_stack(
    request: pytest.FixtureRequest, own_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[Stack]:
    s = settings.model_copy(update={"retention_days": RETENTION, "repeat_window_days": WINDOW})
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        with make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        s = s.model_copy(update={"database_url": url})
    async with running_stack(own_env, s) as stack:
        yield stack


async def test_purge_blanks_old_cases_and_keeps_every_figure(purge_stack: Stack) -> None:
    stack = purge_stack
    day0 = await stack.env.get_current_time()
    a = await open_with_hashes(
        stack,
        form(
            W1,
            f"{W1.name}（电话{W1.phone}，身份证{W1.id_number}）称房东拒退押金，其弟电话{SIBLING}",
        ),
    )
    w = await open_with_hashes(stack, form(W1))
    o = await open_with_hashes(stack, form(W4))
    await live_through_everything(stack, a)
    await return_and_withdraw(stack, w)
    await skip_to(stack, day0 + timedelta(days=5))
    m = await open_with_hashes(stack, form(W2))
    await close_simply(stack, m)
    await skip_to(stack, day0 + timedelta(days=10))
    r = await open_with_hashes(stack, form(W3))
    await close_simply(stack, r)
    for h in (a, w, m, r, o):
        await projected(stack, h.id)
    # The relay sending a rung's mail meanwhile would change the outbox between the
    # snapshots below: a change, but not the purge's.
    await mails_settled(stack)
    # The purge runs on day 10, as the story says, not at whatever the test server's
    # clock reads by now. Awaiting a result unlocks that clock, and it runs on from timer
    # to timer of any workflow until the client locks it again: the closed case's history
    # ends at its callback, yet the clock moves 10 s there, and on a loaded machine on to
    # a timer days ahead (seen: 17:30 in Guangzhou, two days on; the open case O has
    # clocks). CI found it past day 12 here once, and M, closed on day 5, was purged whole.
    now = day0 + timedelta(days=10)
    cutoff, hash_cutoff = now - timedelta(days=RETENTION), now - timedelta(days=WINDOW)
    with Session(stack.engine) as session:
        closed = {
            c.case_id: c.closed_at
            for c in session.scalars(select(CaseRow))
            if c.closed_at is not None
        }
    # What the story needs of the closing times, whatever drift the clock had.
    assert set(closed) == {a.id, w.id, m.id, r.id}  # O is open
    ahead = f"the test server's clock ran ahead: {closed}"
    assert closed[a.id] < cutoff and closed[w.id] < cutoff, ahead
    assert cutoff <= closed[m.id] < hash_cutoff <= closed[r.id], ahead
    days = Window(date(2026, 1, 1), date(2030, 12, 31))
    before, rows_before = report(stack.engine, days), dump(stack.engine)
    for who in (W1, W2, W3, W4):
        assert all(s in rows_before for s in who.strings()), who.name
    assert SIBLING in rows_before

    def run(**kw: Any) -> PurgeResult:
        return purge(
            stack.engine,
            now=now,
            retention_days=RETENTION,
            repeat_window_days=WINDOW,
            actor="test:admin",
            **kw,
        )

    # A dry run says what would happen and changes nothing, not even the audit table.
    dry = run(dry_run=True)
    assert (dry.case_ids, dry.hash_case_ids) == (sorted([a.id, w.id]), [m.id])
    assert dump(stack.engine) == rows_before

    done = run()
    assert (done.case_ids, done.hash_case_ids) == (sorted([a.id, w.id]), [m.id])
    after = dump(stack.engine)
    left = [s for s in [*W1.strings(), *W1.masked(), SIBLING] if s in after]
    assert not left, f"still in the read model: {where(stack.engine, left)}"
    if stack.engine.dialect.name == "sqlite":  # nor in the file's free space, or its log
        path = stack.settings.db_url.removeprefix("sqlite:///")
        raw = b"".join(open(p, "rb").read() for p in (path, path + "-wal") if os.path.exists(p))
        assert not [s for s in [*W1.strings(), SIBLING] if s.encode() in raw]
    for who in (W2, W3, W4):  # closed recently, or open: untouched
        assert all(s in after for s in who.strings()), who.name
    assert report(stack.engine, days) == before

    with Session(stack.engine) as session:
        rows = {c.case_id: c for c in session.scalars(select(CaseRow))}
        audit = list(session.scalars(select(PurgeRow)))
    assert rows[a.id].purged_at == now and rows[w.id].purged_at == now
    assert (rows[a.id].name, rows[a.id].phone, rows[a.id].id_number) == ("", "", None)
    assert "押金" in rows[a.id].summary  # the matter itself stays
    assert rows[m.id].purged_at is None and rows[m.id].name == W2.name
    assert (rows[m.id].phone_hash, rows[m.id].id_hash) == (None, None)
    assert rows[r.id].phone_hash is not None and rows[o.id].phone_hash is not None
    assert rows[o.id].status == "open" and rows[o.id].purged_at is None
    (row,) = audit
    assert (row.actor, row.at, row.cases, row.hashes_cleared) == ("test:admin", now, 2, 1)
    assert json.loads(row.case_ids) == sorted([a.id, w.id])
    assert row.cutoff == now - timedelta(days=RETENTION)
    assert row.hash_cutoff == now - timedelta(days=WINDOW)

    # The view of a purged case says so instead of failing; the timeline records it.
    view = case_dict(rows[a.id], stack.settings, reveal=True)
    assert view["worker"] == {"name": "已清除", "phone": "已清除", "id_number": None}
    assert view["purged_at"] is not None
    with Session(stack.engine) as session:
        actions = [e.action for e in queries.case_events(session=session, case_id=a.id)]
    assert actions[-1] == "purged"

    # Derived again from scratch (appeals report-rebuild), the figures are the same.
    rebuild(stack.engine, FigureMath(WorkCalendar(), stack.settings.tz))
    assert report(stack.engine, days) == before

    # Again, now through the daily schedule's workflow: nothing left to purge, and
    # nothing changes but the audit table's new row.
    await mails_settled(stack)
    snapshot = tables(stack.engine)
    again: PurgeResult = await stack.client.execute_workflow(
        PurgeWorkflow.run,
        PurgeInput(at=now),
        id=f"purge-{uuid.uuid4()}",
        task_queue=stack.task_queue,
    )
    assert (again.case_ids, again.hash_case_ids) == ([], [])
    later = tables(stack.engine)
    assert {k: v for k, v in later.items() if k != "purges"} == {
        k: v for k, v in snapshot.items() if k != "purges"
    }
    with Session(stack.engine) as session:
        audit = list(session.scalars(select(PurgeRow).order_by(PurgeRow.id)))  # type: ignore[arg-type]
    assert [(p.actor, p.cases) for p in audit] == [("test:admin", 2), ("schedule:appeals-purge", 0)]
