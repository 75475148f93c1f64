"""The v10-one histories (tests/workflows/histories/v10-one-*), recorded when a new run
began to take every patch of ``patches.BUNDLED`` through one marker
(patches.AS_ONE, issue 10), the scenarios of two earlier recordings played again:

- v10-one-outbox: v9-outbox's urgent drill case (new-task and rung mails through the
  outbox, a 督办, an extension asked and approved, both tasks handled, the callback);
- v10-one-history: v6-history's wage-arrears case, whose lead continues as new (its
  later run inherits AS_ONE from the first and records no patch marker at all), is
  returned and re-routed.

Each run records one patch marker where it recorded 29.

    .venv/bin/python -m tests.workflows.record_histories one
"""

from __future__ import annotations

from tests.conftest import Stack
from tests.workflows import record_history, record_outbox


async def record(stack: Stack) -> None:
    await record_outbox.record(stack, "v10-one-outbox")
    await record_history.history(stack, "v10-one-history")
