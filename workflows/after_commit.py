"""An action's effects outside its workflow wait until the action is in history.

An Update enters the history only when the workflow task that accepts it completes.
A local activity run inside that task (a projection of the row and of its audit
event, the start of a mail's workflow) has its effect at once, before the task
completes; if the task then fails or times out and the Update is not offered again
(its caller gave up), the read model keeps an action that never happened: a task row
"accepted" the workflow does not have, and an audit row "accepted by …" with no
acceptance behind it. The fault harness found one on a saturated machine.

So a case's or task's Update handler notes the workflow task it runs in
(``@marks_update``), and while the workflow is still in that task
(``accepting_update()``), what would have effects outside goes through the
activity queue instead: the task's completion schedules it, with the Update, so it
runs only if the Update is in history. The Update itself answers at once, with the
version its projection will carry, and the API waits for the read model to reach
that version (services/projected.py). The action's path is still one workflow task;
the projection's activity and the workflow task that hears its result come after it.
A handler that awaits the server goes on in a later workflow task, which has
committed the Update: local activities are fine there again.

Updates of workflows that use no local activities (the clusters') have no effect
before their commands are committed and need none of this.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import workflow

from workflows import patches

# The history length of the workflow task in which an Update handler last began.
MARK = "_update_accepted_in"
# A task's answers being put together, by Update id (patches.ANSWER_CARRIES_PROJECTION).
ANSWERS = "_answers"

R = TypeVar("R")
Handler = Callable[..., Awaitable[R]]


def marks_update(handler: Handler[R]) -> Handler[R]:
    """Wrap an Update handler (below ``@workflow.update``): its workflow task is one
    that accepts an Update, until it completes."""

    @functools.wraps(handler)
    async def run(self: Any, *args: Any) -> R:
        # The history's length is the same in every activation of one workflow task
        # (local activities add no events until it completes) and grows with the next.
        setattr(self, MARK, workflow.info().get_current_history_length())
        try:
            return await handler(self, *args)
        finally:
            # What a task kept for this Update's answer (TaskBase._keep_for_answer) is
            # taken by the answer; a refused or failed Update leaves it, dropped here.
            kept = getattr(self, ANSWERS, None)
            update = workflow.current_update_info()
            if kept is not None and update is not None:
                kept.pop(update.id, None)

    return run


def accepting_update() -> bool:
    """Whether the current workflow task accepts an Update, which is therefore not in
    the history yet (and never will be, if the task fails and the caller gives up)."""
    # A run without local activities has no effect before its task completes. One with
    # them decided every patch when it started (workflows.compute.decide_patches_first),
    # so no patch marker is written here, in the middle of a workflow task.
    if not patches.taken(patches.LOCAL_ACTIVITIES):
        return False
    mark = getattr(workflow.instance(), MARK, None)
    if mark != workflow.info().get_current_history_length():
        return False
    return patches.taken(patches.UPDATES_AFTER_COMMIT)
