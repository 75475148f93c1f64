"""How a workflow calls a computing activity (calendar arithmetic, routing): the
options of the call, bounded in time for cases that took ``patches.COMPUTE_BOUNDED``."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.policies import COMPUTE_GIVE_UP, COMPUTE_RETRY, COMPUTE_TIMEOUT

from workflows import patches


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
    if workflow.patched(patches.COMPUTE_BOUNDED):
        options["schedule_to_close_timeout"] = COMPUTE_GIVE_UP
    return options
