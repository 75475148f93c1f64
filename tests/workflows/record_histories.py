"""Record the histories the replay test keeps (run by hand when a workflow ships):

    .venv/bin/python -m tests.workflows.record_histories

A history saved here is a promise: every later version of the workflow code must
replay it (changes go through ``workflow.patched``).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine, migrate
from models.case import CallbackInput
from models.tasks import AcceptInput, CompleteInput, NoteInput, ReturnInput
from settings import Settings
from tests.conftest import Stack
from tests.workflows.helpers import act, intake, open_case, wait_status, wait_tasks
from worker import build_worker

OUT = Path(__file__).parent / "histories"


async def main() -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
    )
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'a.db'}")
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    tq = f"tq-{uuid.uuid4()}"
    with ThreadPoolExecutor(8) as ex:
        async with build_worker(env.client, settings, engine, task_queue=tq, executor=ex) as w:
            stack = Stack(env.client, settings, engine, tq, w, env)
            handle = await open_case(stack, intake(request_id="replay-lifecycle-v1"))
            lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
            await act(
                stack,
                co.task_id,
                "return",
                ReturnInput(actor="union.tianhe.jin", reason="请市总工会协办", owner="union"),
            )
            await act(stack, lead.task_id, "accept", AcceptInput(actor="hrss.tianhe.wang"))
            await act(stack, lead.task_id, "note", NoteInput(actor="hrss.tianhe.wang", text="约谈"))
            await act(
                stack,
                lead.task_id,
                "complete",
                CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已支付"),
            )
            state = await wait_tasks(handle, 1)
            for t in state:
                if t.role.value == "co":
                    h = t.handlers[0]
                    await act(stack, t.task_id, "accept", AcceptInput(actor=h))
                    await act(
                        stack,
                        t.task_id,
                        "complete",
                        CompleteInput(actor=h, outcome="resolved", reply="已跟进"),
                    )
            await wait_status(handle, "awaiting_callback")
            await handle.execute_update(
                "callback", CallbackInput(actor="clerk.li", result="unsatisfied")
            )
            (reopened,) = await wait_tasks(handle, 1)
            await act(stack, reopened.task_id, "accept", AcceptInput(actor="hrss.tianhe.wang"))
            await act(
                stack,
                reopened.task_id,
                "complete",
                CompleteInput(actor="hrss.tianhe.wang", outcome="resolved", reply="已全部支付"),
            )
            await wait_status(handle, "awaiting_callback")
            await handle.execute_update(
                "callback", CallbackInput(actor="clerk.li", result="satisfied")
            )
            final = await handle.result()
            ids = [handle.id] + [t.task_id for t in final.tasks]
            for wid in ids:
                history = await env.client.get_workflow_handle(wid).fetch_history()
                kind = "case" if wid == handle.id else "task-" + wid.rsplit("-", 1)[1]
                (OUT / f"v1-{kind}.json").write_text(history.to_json())
                print("saved", wid)
    await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
