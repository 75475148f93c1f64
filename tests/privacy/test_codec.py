"""The payload codec: keys from settings, rotation, old plain payloads, wrong keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from codec import KEY_ID, CodecKeyError, EncryptionCodec, Keyring, keyring_for
from models.case import CaseInput
from models.tasks import AcceptInput
from settings import Settings
from tests.conftest import running_stack
from tests.keys import KEY_A, KEY_B, sealed_converter
from tests.privacy.sealed import history_payloads
from tests.workflows.helpers import act, case_state, intake, open_case, wait_tasks


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_first_key_encrypts_and_every_key_decrypts() -> None:
    old = EncryptionCodec(Keyring.parse(KEY_A))
    rotated = EncryptionCodec(Keyring.parse(f"{KEY_B},{KEY_A}"))
    [under_a] = await old.encode([plain('"13912345678"')])
    [under_b] = await rotated.encode([plain('"13912345678"')])
    assert under_a.metadata[KEY_ID] == b"test-a" and under_b.metadata[KEY_ID] == b"test-b"
    assert b"13912345678" not in under_a.SerializeToString()
    assert [p.data for p in await rotated.decode([under_a, under_b])] == [b'"13912345678"'] * 2


async def test_payloads_from_before_the_codec_still_decode() -> None:
    codec = EncryptionCodec(Keyring.parse(KEY_A))
    assert await codec.decode([plain('"old"')]) == [plain('"old"')]


async def test_a_missing_or_wrong_key_is_one_line_naming_the_key() -> None:
    [sealed] = await EncryptionCodec(Keyring.parse(KEY_A)).encode([plain('"x"')])
    with pytest.raises(CodecKeyError) as missing:
        await EncryptionCodec(Keyring.parse(KEY_B)).decode([sealed])
    assert "'test-a'" in str(missing.value) and "\n" not in str(missing.value)
    # Same id, other material (a key pasted wrong): said as such, not a crypto trace.
    wrong = KEY_B.replace("test-b", "test-a")
    with pytest.raises(CodecKeyError, match="wrong key material for that id"):
        await EncryptionCodec(Keyring.parse(wrong)).decode([sealed])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "holds no key"),
        ("nocolon", "id:base64key"),
        ("k1:not*base64", "not valid base64"),
        ("k1:AAEC", "3 bytes; AES-256 needs 32"),
        (f"{KEY_A},{KEY_A}", "listed twice"),
    ],
)
def test_bad_key_settings_are_refused(text: str, message: str) -> None:
    with pytest.raises(CodecKeyError, match=message):
        Keyring.parse(text)


def test_the_embedded_stack_keeps_one_key_and_production_needs_one(tmp_path: Path) -> None:
    first = keyring_for(Settings(data_dir=tmp_path))
    assert keyring_for(Settings(data_dir=tmp_path)) == first  # kept, not remade
    assert (tmp_path / "codec.key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(CodecKeyError, match="APPEALS_CODEC_KEYS is not set"):
        keyring_for(Settings(data_dir=tmp_path, temporal_address="temporal.prod:7233"))
    configured = keyring_for(Settings(data_dir=tmp_path, codec_keys=f"{KEY_B},{KEY_A}"))
    assert configured.ids == ["test-b", "test-a"]


def with_keys(client: Client, keys: str) -> Client:
    return Client(
        client.service_client, namespace=client.namespace, data_converter=sealed_converter(keys)
    )


async def test_rotation_keeps_running_cases_readable_and_a_dropped_key_is_named(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    a = env.client
    rotated = with_keys(a, f"{KEY_B},{KEY_A}")
    # The worker runs with the rotated keys (B first, A kept) ...
    async with running_stack(WorkflowEnvironment.from_client(rotated), settings) as stack:
        # ... and a case opened by a process still on key A runs and is acted on.
        opened = await open_case(dataclasses.replace(stack, client=a), intake())
        handle = rotated.get_workflow_handle(opened.id)
        lead, _ = sorted(await wait_tasks(handle, 2), key=lambda t: t.role.value != "lead")
        await act(stack, lead.task_id, "accept", AcceptInput(actor=lead.handlers[0]))
        assert (await case_state(handle)).case_id == handle.id
        history = await handle.fetch_history()
        ids = {p.metadata.get(KEY_ID) for p in history_payloads(history)}
        assert {b"test-a", b"test-b"} <= ids  # A's input read, B written since
    # Key A dropped too early: reading the case's input says which key is missing.
    only_b = with_keys(a, KEY_B)
    history = await only_b.get_workflow_handle(handle.id).fetch_history()
    start = history.events[0].workflow_execution_started_event_attributes
    with pytest.raises(CodecKeyError, match="'test-a', which APPEALS_CODEC_KEYS does not hold"):
        await only_b.data_converter.decode(start.input.payloads, [CaseInput])
    # Without any codec, the input is ciphertext, not a case.
    raw = pydantic_data_converter.payload_converter
    assert start.input.payloads[0].metadata["encoding"] == b"binary/encrypted"
    with pytest.raises(Exception):  # noqa: B017 - any refusal: it is not JSON
        raw.from_payloads(start.input.payloads, [CaseInput])
