"""Sending e-mail: the :class:`EmailSender` interface, the real one (aiosmtplib) and a
fake for tests. A sender says which recipients the server refused, so that the
outbox can keep a status per recipient and retry only those."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from email.message import EmailMessage
from typing import TYPE_CHECKING, Protocol

import aiosmtplib

if TYPE_CHECKING:
    from settings import Settings

Refused = dict[str, str]
"""The recipients a server refused: address → its reply ("550 5.1.1 no such user")."""


class EmailSender(Protocol):
    async def send(self, message: EmailMessage, recipients: Sequence[str] | None = None) -> Refused:
        """Send ``message`` to ``recipients`` (default: its To addresses); return the
        refused ones. Raise when nothing was delivered for another reason (no
        connection, a refused sender or message), so the whole send is retried."""
        ...

    def connection(self) -> AbstractAsyncContextManager[EmailSender]:
        """A sender for several messages in a row (the outbox relay's pass), over one
        connection where the sender has connections."""
        ...


class SmtpSender:
    """Sends through an SMTP server with aiosmtplib: ``send``, one connection per message
    (an activity's or a resend's single mail: a fresh connection never finds a socket
    the server closed while idle); ``connection``, one for a relay pass's mails in a row
    (a burst of rungs paid a connection, a greeting and an EHLO for every mail)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool = False,
        timeout: float = 10.0,
    ) -> None:
        if use_tls and start_tls:
            raise ValueError("SMTP: use either implicit TLS or STARTTLS, not both")
        self.host, self.port = host, port
        self.username = username
        self._password = password
        self.use_tls, self.start_tls = use_tls, start_tls
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpSender:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            settings.smtp_host,
            settings.sink_port,
            username=settings.smtp_username,
            password=password,
            use_tls=settings.smtp_tls,
            start_tls=settings.smtp_starttls,
        )

    def __repr__(self) -> str:  # never the password
        return f"SmtpSender({self.host}:{self.port}, user={self.username!r})"

    def connection(self) -> AbstractAsyncContextManager[EmailSender]:
        return _Connection(self)

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self._password,
            use_tls=self.use_tls,
            # Explicit, not aiosmtplib's "whenever offered": a relay with a self-signed
            # certificate must not start failing because it began advertising STARTTLS.
            start_tls=self.start_tls,
            timeout=self.timeout,
        )

    async def send(self, message: EmailMessage, recipients: Sequence[str] | None = None) -> Refused:
        async with self.connection() as connection:
            return await connection.send(message, recipients)


class _Connection:
    """One SMTP connection for several messages, opened at the first and closed (QUIT)
    at the end. A connection that carried a message before and fails on the next is
    taken to be one the server closed meanwhile: that message goes once more on a new
    connection. A failure on a new connection is the server's answer, raised."""

    def __init__(self, sender: SmtpSender) -> None:
        self._sender = sender
        self._smtp: aiosmtplib.SMTP | None = None
        self._used = False

    async def __aenter__(self) -> _Connection:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def send(self, message: EmailMessage, recipients: Sequence[str] | None = None) -> Refused:
        try:
            return await self._send(message, recipients)
        except (aiosmtplib.SMTPServerDisconnected, ConnectionError):
            if not self._used:
                raise
            await self._close()
            return await self._send(message, recipients)

    async def _send(self, message: EmailMessage, recipients: Sequence[str] | None) -> Refused:
        if self._smtp is None:
            smtp = self._sender._client()
            await smtp.connect()  # a failure here leaves none: the next mail tries anew
            self._smtp, self._used = smtp, False
        try:
            errors, _ = await self._smtp.send_message(
                message, recipients=list(recipients) if recipients is not None else None
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # Every recipient refused: per recipient like a partial refusal, so the
            # outbox says who and why, and a retry tries them again. The envelope was
            # reset: the connection goes on.
            self._used = True
            return {r.recipient: _reply(r.code, r.message) for r in exc.recipients}
        except Exception:
            await self._close()  # in an unknown state: the next message gets a new one
            raise
        self._used = True
        return {address: _reply(r.code, r.message) for address, r in errors.items()}

    def connection(self) -> AbstractAsyncContextManager[EmailSender]:
        return _Connection(self._sender)

    async def _close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            await smtp.quit()
        except Exception:  # the mails are sent; a QUIT the server missed changes nothing
            smtp.close()


def _reply(code: int, message: str) -> str:
    return " ".join(f"{code} {message}".split())


class RecordingSender:
    """A fake :class:`EmailSender` for tests: keeps every message (and its envelope's
    recipients), refuses the addresses in ``refuse``, or raises ``fail_with`` (set it,
    clear it) to act as an unreachable server."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self.fail_with: BaseException | None = None
        self.refuse: set[str] = set()

    async def send(self, message: EmailMessage, recipients: Sequence[str] | None = None) -> Refused:
        if self.fail_with is not None:
            raise self.fail_with
        to = list(recipients) if recipients is not None else _to(message)
        refused = {a: "550 5.1.1 refused by the test" for a in to if a in self.refuse}
        if len(refused) < len(to):
            self.messages.append(message)
            self.envelopes.append([a for a in to if a not in refused])
        return refused

    def connection(self) -> AbstractAsyncContextManager[EmailSender]:
        return contextlib.nullcontext(self)


def _to(message: EmailMessage) -> list[str]:
    header = message["To"]
    return [a.addr_spec for a in header.addresses] if header is not None else []
