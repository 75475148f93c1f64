"""A new case whose routing is not run in time waits for the rules, rather than failing
(patches.ROUTE_UNTIL_ROUTED). The fault harness lost 31 of 1,000 intakes this way: with
the worker killed and its replacement waiting for a locked SQLite, nobody ran
``route_case`` within its two minutes, and each case failed "could not be routed",
with no row in the read model.

Here the case's worker has a ``route_case`` that fails until told to answer. Three
minutes later (time-skipping) the case is still open and has said once that routing is
delayed; when the rules answer, it is routed and its tasks start."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from models.case import CaseInput, case_id_for
from models.routing import RoutedCase, RouteRequest
from sandbox import RUNNER
from tests.conftest import Stack
from tests.workflows.helpers import events, intake, projected, wait_tasks
from worker import WORKFLOWS, build_activities
from workflows.grievance import GrievanceWorkflow


class Rules:
    """The worker's ``route_case``, not answering until told to: until then every
    attempt fails (the one piece faked). The local attempt fails at once: retried inside
    a workflow task, it would hold the time-skipping server's clock."""

    def __init__(self, real: Callable[[RouteRequest], RoutedCase]) -> None:
        self.real = real
        self.answering = False

    @activity.defn(name="route_case")
    def route_case(self, req: RouteRequest) -> RoutedCase:
        if not self.answering:
            raise ApplicationError(
                "the rules are not available", non_retryable=activity.info().is_local
            )
        return self.real(req)


def name(fn: Any) -> str:
    return str(getattr(fn, "__temporal_activity_definition").name)


async def route_late(
    stack: Stack,
    request_id: str,
    then: Callable[[WorkflowHandle[Any, Any]], Awaitable[None]] | None = None,
) -> WorkflowHandle[Any, Any]:
    """Open a case nobody can route for three minutes; then let the rules answer.
    Returns the case once its tasks have started (and ``then`` has run, while this
    worker still serves the case)."""
    real = build_activities(stack.settings, stack.engine, client=stack.client)
    rules = Rules(next(a for a in real if name(a) == "route_case"))
    queue = f"tq-late-{uuid.uuid4()}"
    form = intake(request_id=request_id)
    case_id = case_id_for(form.request_id)
    with ThreadPoolExecutor(8) as ex:
        async with Worker(
            stack.client,
            task_queue=queue,
            workflows=list(WORKFLOWS),
            workflow_runner=RUNNER,
            activities=[*(a for a in real if name(a) != "route_case"), rules.route_case],
            activity_executor=ex,
        ):
            handle = await stack.client.start_workflow(
                GrievanceWorkflow.run,
                CaseInput(case_id=case_id, intake=form, opened_by="clerk.li"),
                id=case_id,
                task_queue=queue,
            )
            # Three minutes in steps: one long sleep is one call to the time-skipping
            # server, which a loaded machine timed out ("Timeout expired").
            for _ in range(9):
                await stack.env.sleep(timedelta(seconds=20))
            desc = await handle.describe()
            assert desc.status is WorkflowExecutionStatus.RUNNING
            rules.answering = True
            await wait_tasks(handle, 2)
            await projected(stack, handle.id)
            if then is not None:
                await then(handle)
    return handle


async def test_a_case_nobody_could_route_in_time_waits_for_the_rules(stack: Stack) -> None:
    handle = await route_late(stack, "routing-late-1")
    actions = [e.action for e in events(stack, handle.id)]
    assert actions.count("routing_delayed") == 1
    assert "routing_failed" not in actions
    assert actions.index("routing_delayed") < actions.index("routed")
