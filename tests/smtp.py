"""A real SMTP server (aiosmtpd) for tests: it can be stopped and started again on the
same port, and keeps every message it accepts."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Inbox:
    """aiosmtpd handler: keeps every envelope, or refuses with ``reject_with``; refuses
    the recipients in ``refuse`` one by one (at RCPT), accepting the others."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.peers: list[Any] = []  # the client's (host, port) of each accepted message
        self.reject_with: str | None = None
        self.refuse: set[str] = set()

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.reject_with:
            return self.reject_with
        self.envelopes.append(envelope)
        self.peers.append(session.peer)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        out = []
        for e in self.envelopes:
            msg = message_from_bytes(e.original_content or e.content, policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out


class SmtpServer:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.inbox = Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        # A fresh controller each time: a stopped one cannot be restarted; the port
        # stays the same so a sender built once finds the server again.
        self._controller = Controller(self.inbox, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
