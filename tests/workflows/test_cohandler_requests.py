"""The lead asks for another co-handler (add-cohandler): the case does not reply
before that office's opinion is in, and an office already co-handling is refused."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.engine import make_engine, migrate
from models.routing import Assignment, ResolveOfficeRequest
from models.tasks import AcceptInput, AddCohandlerInput, CompleteInput
from sandbox import RUNNER
from settings import Settings
from tests.conftest import Stack, eventually
from tests.workflows.helpers import (
    act,
    case_state,
    events,
    intake,
    open_case,
    opinions_in,
    task_query,
    wait_status,
)
from tests.workflows.test_dispatch import by_role, finish, open_tasks, refused
from worker import WORKFLOWS, build_activities

NOT_YET = "the lead replies once every co-handler has given its opinion"


@contextlib.asynccontextmanager
async def held_resolution(
    env: WorkflowEnvironment, settings: Settings, gate: threading.Event
) -> AsyncIterator[Stack]:
    """A worker whose office look-up (resolve_office) waits for ``gate``: the case
    then takes as long as the test likes to find the office the lead asked for."""
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    activities = build_activities(settings, engine, client=env.client)
    (real,) = [a for a in activities if a.__name__ == "resolve_office"]

    @activity.defn(name="resolve_office")
    def resolve_office(req: ResolveOfficeRequest) -> Assignment:
        assert gate.wait(timeout=60), "the test never released the office look-up"
        result: Assignment = real(req)
        return result

    task_queue = f"tq-{uuid.uuid4()}"
    with ThreadPoolExecutor(max_workers=8) as executor:
        worker = Worker(
            env.client,
            task_queue=task_queue,
            workflows=list(WORKFLOWS),
            workflow_runner=RUNNER,
            activities=[*(a for a in activities if a is not real), resolve_office],
            activity_executor=executor,
            max_concurrent_activities=8,
        )
        async with worker:
            try:
                yield Stack(env.client, settings, engine, task_queue, worker, env)
            finally:
                gate.set()  # a failed test must not leave the activity waiting
    engine.dispose()


async def test_the_case_waits_for_the_cohandler_the_lead_asked_for(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    gate = threading.Event()
    async with held_resolution(env, settings, gate) as stack:
        handle = await open_case(stack, intake())
        tasks = await open_tasks(stack, handle, 2)
        (lead,), (union,) = by_role(tasks, "lead"), by_role(tasks, "co")
        await finish(stack, union, "工会意见：支持劳动者主张")
        await opinions_in(stack, lead.task_id)
        actor = lead.handlers[0]
        await act(stack, lead.task_id, "accept", AcceptInput(actor=actor))
        await act(
            stack,
            lead.task_id,
            "add_cohandler",
            AddCohandlerInput(actor=actor, department="samr", reason="涉及平台抽成规则"),
        )
        reply = CompleteInput(actor=actor, outcome="resolved", reply="已责令平台整改并支付")
        # The case is still finding samr's office: the lead cannot reply yet.
        await refused(act(stack, lead.task_id, "complete", reply), NOT_YET)
        waiting = await task_query(stack, lead.task_id)
        assert waiting.waiting_for == ["samr@440106 (asked for)"]
        gate.set()

        async def samr_dispatched() -> str | None:
            found = [t.task_id for t in (await case_state(handle)).tasks if t.department == "samr"]
            return found[0] if found else None

        samr = await task_query(stack, await eventually(samr_dispatched))
        await refused(act(stack, lead.task_id, "complete", reply), samr.office_name)
        await finish(stack, samr, "市场监管意见：平台抽成规则违规")
        state = await opinions_in(stack, lead.task_id)
        assert [o.office_name for o in state.opinions] == [union.office_name, samr.office_name]
        await act(stack, lead.task_id, "complete", reply)
        replied = await wait_status(handle, "awaiting_callback")
        assert replied.reply == "已责令平台整改并支付"
        # Three tasks, all answered: no task started after the reply.
        assert sorted(t.status.value for t in replied.tasks) == ["completed"] * 3

        async def projected() -> list[str] | None:
            # The audit rows are written by the projector a moment after the state.
            actions = [e.action for e in events(stack, handle.id)]
            return actions if "replied" in actions else None

        actions = await eventually(projected)
        assert actions.index("cohandler_added") < actions.index("replied")


async def test_an_office_already_cohandling_is_not_asked_again(stack: Stack) -> None:
    handle = await open_case(stack, intake())
    tasks = await open_tasks(stack, handle, 2)
    (lead,), (union,) = by_role(tasks, "lead"), by_role(tasks, "co")
    actor = lead.handlers[0]

    def ask(department: str) -> AddCohandlerInput:
        return AddCohandlerInput(actor=actor, department=department, reason="请协助核实")

    await refused(
        act(stack, lead.task_id, "add_cohandler", ask("union")),
        f"{union.office_name} already co-handles this case",
    )
    await act(stack, lead.task_id, "add_cohandler", ask("samr"))
    # Asked again at once (still being added) or later (co-handling): refused either way.
    await refused(act(stack, lead.task_id, "add_cohandler", ask("samr")), "already")
    await open_tasks(stack, handle, 3)
    await refused(act(stack, lead.task_id, "add_cohandler", ask("samr")), "already co-handles")
    state = await case_state(handle)
    assert sorted(t.department for t in state.tasks) == ["hrss", "samr", "union"]
