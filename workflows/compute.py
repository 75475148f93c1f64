"""How a workflow calls a computing activity (calendar arithmetic, routing): the
options of the call, bounded in time for cases that took ``patches.COMPUTE_BOUNDED``,
and a local activity for cases that took ``patches.LOCAL_ACTIVITIES``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.policies import COMPUTE_GIVE_UP, COMPUTE_RETRY, COMPUTE_TIMEOUT, LOCAL_ONCE

from workflows import patches

R = TypeVar("R")
# A local attempt's whole budget, retries included (the workflow task times out at 10 s).
LOCAL_BUDGET = timedelta(seconds=2)


def compute_options() -> dict[str, Any]:
    """Keyword arguments for ``execute_activity_method`` of a computation.

    Bounded (patched), the call raises ``ActivityError`` after COMPUTE_GIVE_UP of
    retries with backoff, and its caller falls back to something safe; before the
    patch it retried forever (and never raised but for business errors).
    """
    options: dict[str, Any] = {
        "start_to_close_timeout": COMPUTE_TIMEOUT,
        "retry_policy": COMPUTE_RETRY,
    }
    if patches.taken(patches.COMPUTE_BOUNDED):
        options["schedule_to_close_timeout"] = COMPUTE_GIVE_UP
    return options


async def compute(
    method: Callable[[Any, Any], Awaitable[R]] | Callable[[Any, Any], R],
    arg: Any,
    *,
    local: bool = True,
    once: bool = False,
    **options: Any,
) -> R:
    """Run a computation with ``options`` (``compute_options()``).

    Since ``patches.LOCAL_ACTIVITIES`` it runs first as a local activity: in this
    worker, within the workflow task, recorded as a marker; through the activity queue
    it cost a round trip through the server and one more workflow task to hear the
    result. The local attempt gets LOCAL_BUDGET, well inside the workflow task's
    timeout, so that a slow or failing computation never stretches a workflow task
    (a local activity that outlives one splits it, which its history cannot replay
    after a patch marker); then the call goes through the activity queue with its own
    options, as before, and fails there as it always did (an ``ActivityError``).

    With ``once`` the local attempt is a single one (LOCAL_ONCE): a failure goes to
    the activity queue at once, rather than being retried, with backoff, inside the
    workflow task (see the clock operations, patches.CLOCK_OP_LOCAL_ONCE).
    """
    if local and patches.taken(patches.LOCAL_ACTIVITIES):
        local_options = (
            LOCAL_ONCE
            if once
            else {
                "start_to_close_timeout": LOCAL_BUDGET,
                "schedule_to_close_timeout": LOCAL_BUDGET,
                "retry_policy": options.get("retry_policy"),
            }
        )
        try:
            return await workflow.execute_local_activity_method(method, arg, **local_options)
        except FailureError:
            pass  # slow or failing here: the activity queue decides, with retries
    return await workflow.execute_activity_method(method, arg, **options)


def decide_patches_first() -> None:
    """At the start of a run that takes ``patches.LOCAL_ACTIVITIES``, decide every patch
    in ``patches.ALL`` at once, before any local activity.

    A workflow task can end while a local activity still runs (the SDK completes it,
    e.g. to answer a query) and the activity's marker then lands in a later task,
    after the commands its result caused. A patch marker among those commands does not
    replay ("patch marker encountered ... but there is no corresponding change
    command"); deciding every patch up front keeps patch markers out of that place.
    Runs from before take no marker here and decide each patch where they always did.
    """
    if patches.taken(patches.LOCAL_ACTIVITIES):
        for patch in patches.ALL:
            patches.taken(patch)
