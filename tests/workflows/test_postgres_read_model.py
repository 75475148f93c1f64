"""The production read model: a case projected into PostgreSQL by the same activities."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from db import queries
from db.engine import make_engine
from models.case import CallbackInput
from models.tasks import AcceptInput, CompleteInput
from settings import Settings
from tests.conftest import running_stack
from tests.workflows.helpers import act, events, intake, open_case, wait_status, wait_tasks


async def test_a_case_projected_into_postgresql(
    env: WorkflowEnvironment, settings: Settings, pg_url: str
) -> None:
    with make_engine(pg_url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    pg = settings.model_copy(update={"database_url": pg_url})
    async with running_stack(env, pg) as stack:
        handle = await open_case(stack, intake(category="housing", residence="440106"))
        (lead,) = await wait_tasks(handle, 1)
        handler = lead.handlers[0]
        await act(stack, lead.task_id, "accept", AcceptInput(actor=handler))
        await act(
            stack,
            lead.task_id,
            "complete",
            CompleteInput(actor=handler, outcome="resolved", reply="已纳入保障性住房轮候"),
        )
        await wait_status(handle, "awaiting_callback")
        await handle.execute_update("callback", CallbackInput(actor="clerk.li", result="satisfied"))
        await handle.result()
        actions = [e.action for e in events(stack, handle.id)]
        assert actions[:3] == ["opened", "routed", "dispatched"]
        assert actions[-2:] == ["callback", "closed"]
        with Session(stack.engine) as session:
            case = queries.get_case(session=session, case_id=handle.id)
            assert case is not None and case.status == "closed"
            (task,) = queries.case_tasks(session=session, case_id=handle.id)
            assert (task.department, task.status) == ("housing", "completed")
