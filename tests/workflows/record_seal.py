"""The v5-seal histories (tests/workflows/histories/v5-seal-*): a case recorded with
the encrypting payload codec (codec.py) under the fixed TEST key of tests/keys.py, so
the replay test proves sealed histories replay with the codec (and the v1-v4 ones,
recorded in plain JSON, prove the codec still reads histories from before it).

    .venv/bin/python -m tests.workflows.record_histories seal
"""

from __future__ import annotations

from tests.conftest import Stack
from tests.workflows.helpers import answer_and_call_back, intake, open_case, wait_tasks
from tests.workflows.record_histories import save


async def record(stack: Stack) -> None:
    form = intake(request_id="replay-seal-v5", id_number="440106199003071231")
    handle = await open_case(stack, form)
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await answer_and_call_back(stack, handle, [(co, "工会跟进"), (lead, "已足额支付")])
    await save(stack, handle, "v5-seal")
