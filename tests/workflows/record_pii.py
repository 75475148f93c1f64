"""The v6-pii histories (tests/workflows/histories/v6-pii-*), recorded after the case
began masking the worker's name, phones and ID numbers in what it hands to others
(patches.PII_MASKED_FOR_OTHERS): a wage-arrears case whose summary names the worker
and gives their phone and ID number (routing and the tasks get it masked), urged by a
supervisor in words naming the worker and called again by the worker (both mailed to
the offices masked); the lead asks for material and an extension in words giving the
phone (the clock activity gets the ledger without them, the extension mail masks the
phone); handled by the co-handler and the lead, and called back. Recorded
sealed under the TEST key, like v5-seal.

    .venv/bin/python -m tests.workflows.record_histories pii
"""

from __future__ import annotations

from models.case import UrgeInput
from models.clusters import RepeatInput
from models.tasks import (
    AcceptInput,
    DecideExtensionInput,
    ExtendInput,
    ProvideInfoInput,
    RequestInfoInput,
)
from tests.conftest import Stack
from tests.workflows.helpers import act, answer_and_call_back, intake, open_case, wait_tasks
from tests.workflows.record_histories import save

NAME, PHONE, ID_NUMBER = "欧阳春燕", "13912345678", "440106199003071231"


async def record(stack: Stack) -> None:
    form = intake(
        request_id="replay-pii-v6",
        name=NAME,
        phone=PHONE,
        id_number=ID_NUMBER,
        summary=f"{NAME}（电话{PHONE}，身份证{ID_NUMBER}）反映配送站拖欠两个月工资",
    )
    handle = await open_case(stack, form)
    lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
    await handle.execute_update(
        "urge", UrgeInput(actor="sup.zhang", text=f"{NAME}多次来电，请本周内办结")
    )
    await handle.execute_update(
        "repeat",
        RepeatInput(
            actor="clerk.li",
            request_id="replay-pii-v6-again",
            summary=f"{NAME}再次来电（{PHONE}），催问进度",
            matched_on=["phone"],
        ),
    )
    # The lead's clocks: a question and an extension's reason naming the phone (the
    # clock activity gets the ledger without them; the extension mail masks the phone).
    who, t = lead.handlers[0], lead.task_id
    await act(stack, t, "accept", AcceptInput(actor=who))
    await act(
        stack, t, "request_info", RequestInfoInput(actor=who, question=f"请提供{PHONE}的流水")
    )
    await act(stack, t, "provide_info", ProvideInfoInput(actor="clerk.li", text="流水三页"))
    await act(stack, t, "extend", ExtendInput(actor=who, period="2wd", reason=f"需调取{PHONE}记录"))
    await act(stack, t, "approve_extension", DecideExtensionInput(actor="sup.zhang"))
    await answer_and_call_back(
        stack, handle, [(co, "工会跟进"), (lead, "已足额支付")], accepted={lead.task_id}
    )
    await save(stack, handle, "v6-pii")
