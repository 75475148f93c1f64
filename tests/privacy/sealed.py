"""Reading a history the way Temporal stores it: every payload in it, raw."""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory


def payloads(message: Message) -> Iterator[Payload]:
    """Every Payload inside a protobuf message (inputs, results, markers, headers...)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            yield from payloads(value)
            continue
        # A repeated field or a map (whose values are the messages).
        items = value.values() if hasattr(value, "values") else value
        for item in items:
            if isinstance(item, Message):
                yield from payloads(item)


def history_payloads(history: WorkflowHistory) -> list[Payload]:
    return [p for event in history.events for p in payloads(event)]


def raw_client(client: Client) -> Client:
    """The same server and namespace, with the SDK's default converter: no codec, so
    what it fetches is what anyone with access to Temporal (or its Web UI) sees."""
    return Client(client.service_client, namespace=client.namespace)
