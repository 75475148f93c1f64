"""The v3 histories (tests/workflows/histories/v3-*): the branches patched for issue 11's
faults (workflows/patches.py) taken at least once, so the replay test proves them.

- v3-faults: an urgent drill case whose lead task's clocks fire (claimed under the
  lock, fired after it: clocks-fire-outside-lock) while the read model refuses task
  writes; the lead accepts and notes promptly all the same, its projections queued and
  retried with backoff until the database takes them (projection-in-background, in the
  case and in every task); then the case is handled to its close.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from models.case import CallbackInput
from models.tasks import AcceptInput, CompleteInput, NoteInput
from tests.conftest import Stack
from tests.workflows.helpers import act, intake, open_case, opinions_in, wait_status, wait_tasks
from tests.workflows.record_histories import save

REFUSE = (
    "CREATE TRIGGER refuse_tasks BEFORE UPDATE ON tasks "
    "BEGIN SELECT RAISE(ABORT, 'the read model refuses writes'); END"
)


def sql(stack: Stack, statement: str) -> None:
    with stack.engine.begin() as conn:
        conn.execute(text(statement))


async def record(stack: Stack) -> None:
    handle = await open_case(
        stack, intake(request_id="replay-faults-v3", sla_plan="drill", urgent=True)
    )
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    sql(stack, REFUSE)
    await stack.env.sleep(timedelta(minutes=1, seconds=30))  # sign-for warns and breaches
    actor = lead.handlers[0]
    await act(stack, lead.task_id, "accept", AcceptInput(actor=actor))
    await act(stack, lead.task_id, "note", NoteInput(actor=actor, text="数据库故障期间记录"))
    sql(stack, "DROP TRIGGER refuse_tasks")
    await stack.env.sleep(timedelta(minutes=5))  # the projector's backoff
    h = co.handlers[0]
    await act(stack, co.task_id, "accept", AcceptInput(actor=h))
    await act(
        stack, co.task_id, "complete", CompleteInput(actor=h, outcome="resolved", reply="已跟进")
    )
    await opinions_in(stack, lead.task_id)
    await act(
        stack,
        lead.task_id,
        "complete",
        CompleteInput(actor=actor, outcome="resolved", reply="已支付"),
    )
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
    await save(stack, handle, "v3-faults")
