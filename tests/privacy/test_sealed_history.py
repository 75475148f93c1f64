"""Nothing personal is readable in what the Temporal dev server stores: a whole case
(intake, dispatch, mail, reply, callback) is run on a real dev server, then every
history on its task queue is fetched by a client without the codec and searched."""

from __future__ import annotations

import json

from temporalio.api.common.v1 import Payload
from temporalio.testing import WorkflowEnvironment

from codec import ENCODING, KEY_ID
from settings import Settings
from tests.conftest import running_stack
from tests.privacy.sealed import history_payloads, raw_client
from tests.workflows.helpers import answer_and_call_back, intake, open_case, wait_tasks
from workflows import patches

NAME, PHONE, ID_NUMBER = "欧阳春燕", "13912345678", "440106199003071231"


LOCAL_ACTIVITY_MARKER = {
    "seq",
    "attempt",
    "activity_id",
    "activity_type",
    "complete_time",
    "backoff",
    "original_schedule_time",
    "activation_index",
}


def sdk_bookkeeping(p: Payload) -> bool:
    """What the SDK itself writes past the codec: patch markers, the
    TemporalChangeVersion search attribute (patch ids), local-activity markers' own
    bookkeeping (their result payload is sealed)."""
    value = json.loads(p.data)
    if isinstance(value, list):
        return set(value) <= set(patches.ALL)
    if set(value) == {"id", "deprecated"}:
        return value["id"] in patches.ALL
    return set(value) <= LOCAL_ACTIVITY_MARKER


def leaks(blob: bytes) -> list[str]:
    found = []
    for label, text in (("name", NAME), ("phone", PHONE), ("id number", ID_NUMBER)):
        # UTF-8 as written, and JSON's \u escapes in case anything writes ASCII JSON.
        escaped = "".join(f"\\u{ord(c):04x}" for c in text) if not text.isascii() else text
        if text.encode() in blob or escaped.encode() in blob:
            found.append(label)
    return found


async def test_a_whole_case_leaves_no_personal_data_in_temporal(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    async with running_stack(dev_env, settings) as stack:
        form = intake(name=NAME, phone=PHONE, id_number=ID_NUMBER)
        handle = await open_case(stack, form)
        lead, co = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
        await answer_and_call_back(stack, handle, [(co, "工会跟进"), (lead, "已足额支付")])
        await handle.result()

        raw = raw_client(stack.client)
        ids = [w.id async for w in raw.list_workflows(f'TaskQueue = "{stack.task_queue}"')]
        assert handle.id in ids and lead.task_id in ids and co.task_id in ids
        decoded = b""
        for wid in ids:
            history = await raw.get_workflow_handle(wid).fetch_history()
            stored = b"".join(e.SerializeToString() for e in history.events)
            assert leaks(stored) == [], f"{wid}: plaintext in the stored history"
            sealed = history_payloads(history)
            # Every payload is ciphertext under the TEST key, but the SDK's own
            # bookkeeping, which names patch ids and activity types only.
            plain = [p for p in sealed if p.metadata["encoding"] != ENCODING]
            assert all(sdk_bookkeeping(p) for p in plain), wid
            sealed = [p for p in sealed if p not in plain]
            assert sealed, wid
            assert {p.metadata[KEY_ID] for p in sealed} == {b"test-a"}, wid
            codec = stack.client.data_converter.payload_codec
            assert codec is not None
            decoded += b"".join(p.data for p in await codec.decode(sealed))
        # Not vacuous: the workflows did carry all three, under the seal.
        assert leaks(decoded) == ["name", "phone", "id number"]
