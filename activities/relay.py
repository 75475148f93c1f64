"""The outbox relay: sends the e-mails that tasks queue in the outbox
(patches.MAIL_THROUGH_OUTBOX), in passes of up to ``batch``, from every worker process.

Why not a workflow per e-mail, as before: a rung's mail cost its NotificationWorkflow's
start, two workflow tasks and a queued activity on top of the task's own workflow task.
Now the task writes the mail's outbox row in the same transaction as the timeline row
that says it escalated, and this loop sends what is due. (Measured with 10,000 clocks
due over six minutes, 28 a second: one worker whose cache holds the open workflows
sends them a median 1.1 s late; this relay alone sends 140 a second; bench/README.md.)

Each pass leases the due rows (activities/outbox.py ``lease_due``: two relays — two
worker processes — never take the same row, and a relay that dies gives its rows back
when the lease ends), counts the attempt before anything is sent (a read model that
cannot take that write sends nothing), sends them in ``concurrency`` lanes, each lane's
mails in a row over one SMTP connection, and records each outcome as soon as the server
has answered (with the others that came in while the last record was being written):
sent once every recipient has it; refused recipients or a failed connection retried
after a backoff (5 s doubling to 10 min, only the recipients that do not have it);
failed if it cannot be rendered, or if it is still not delivered three days after it
was queued (the administrator is told, as for a NotificationWorkflow's mail, and
``appeals mail resend`` sends it again).

A crash between the server's 250 and the recording of it mails again when the lease
ends, as a retried send activity did: the stable Message-ID lets a mail client fold the
two.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from activities import outbox
from activities.mail import NotificationError
from activities.notify import NotifyActivities, patiently
from activities.outbox import Leased, Outcome
from activities.smtp import EmailSender

log = logging.getLogger(__name__)
# Longer than a pass can take (an SMTP timeout of 10 s, the outcome's write retried for
# 20 s): a row is never leased again while its pass may still send it.
LEASE = timedelta(seconds=60)
IDLE_MAX = 30.0  # seconds between passes at most while the read model does not answer


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        notify: NotifyActivities,
        sender: EmailSender,
        *,
        batch: int = 50,
        poll: float = 0.5,
        concurrency: int = 8,
    ) -> None:
        self._engine = engine
        self._notify = notify
        self._sender = sender
        self._batch = batch
        self._poll = poll
        self._lanes = concurrency

    async def drain_once(self, at: datetime | None = None) -> int:
        """One pass: lease what is due, send it, record the outcomes; rows leased.
        ``at``: the pass's instant instead of the clock's (tests of backoff and leases)."""
        now = at or datetime.now(UTC)
        leased = await asyncio.to_thread(
            functools.partial(
                outbox.lease_due, self._engine, now=now, limit=self._batch, lease=LEASE
            )
        )
        if not leased:
            return 0
        # ``concurrency`` lanes, each sending its share in a row over one connection.
        lanes = [leased[i :: self._lanes] for i in range(min(self._lanes, len(leased)))]
        records = _Records(functools.partial(self._record, at=at))
        recorder = asyncio.create_task(records.run())
        try:
            await asyncio.gather(*(self._lane(lane, records) for lane in lanes))
        finally:
            records.close()
            await recorder
        return len(leased)

    async def _lane(self, mails: list[Leased], records: _Records) -> None:
        async with self._sender.connection() as sender:
            for m in mails:
                if records.failed:  # nothing is recorded: send no more (the lease ends)
                    return
                records.add(await self._attempt(m, sender))

    async def _record(self, outcomes: list[Outcome], *, at: datetime | None) -> None:
        """Record outcomes as soon as the server has answered: recorded only at the end
        of the pass, a worker killed mid-pass left every mail the server had taken
        unrecorded, and they went again when the lease ended (32 doubles in 20 kills of
        the fault harness, against 2 with a record per mail). The outcomes that came
        in while the last write ran are written together, in one transaction: one each,
        a burst's writes queued behind the rungs' projections for SQLite's one writer."""
        given_up = await patiently(
            functools.partial(outbox.settle, self._engine, outcomes, now=at or datetime.now(UTC))
        )
        for notification_id, reason in given_up.items():
            await self._notify.mark_failed(notification_id, reason)
        for o in outcomes:
            if o.error is not None or o.refused:  # ids and the SMTP reply: no personal data
                log.warning("notification %s not sent: %s", o.id, o.error or o.refused)

    async def _attempt(self, m: Leased, sender: EmailSender) -> Outcome:
        n = m.notification
        try:
            message = await self._notify.compose(n)
        except NotificationError as exc:
            return Outcome(n.id, error=outbox.one_line(exc), final=True)
        if not m.pending:  # every recipient had it: only the row's status was behind
            return Outcome(n.id)
        try:
            refused = await sender.send(message, m.pending)
        except Exception as exc:  # the server is away or refused the message
            return Outcome(n.id, error=outbox.one_line(exc))
        accepted = [a for a in m.pending if a not in refused]
        return Outcome(n.id, accepted, refused, message_id=str(message["Message-ID"]))

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until ``stop``: at once again after a full pass, after
        ``poll`` seconds after a short one, backing off while the read model fails."""
        pause = self._poll
        while not stop.is_set():
            try:
                full = await self.drain_once() >= self._batch
                pause = self._poll
            except Exception as exc:  # the read model locked or down: never give up
                log.warning("outbox relay: %s; trying again in %.0f s", outbox.one_line(exc), pause)
                full, pause = False, min(pause * 2, IDLE_MAX)
            if not full:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[OutboxRelay]:
        """The relay in the background for the block; on leaving, its pass in flight
        finishes (a mail the server took is recorded, not sent again later)."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop))
        try:
            yield self
        finally:
            stop.set()
            await task


class _Records:
    """The outcomes of a pass, written by one coroutine (``run``) as they come: at once
    when it is idle, else together with whatever came in while it wrote."""

    def __init__(self, write: Callable[[list[Outcome]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[Outcome] = []
        self._news = asyncio.Event()
        self._closed = False
        self.failed = False

    def add(self, outcome: Outcome) -> None:
        self._waiting.append(outcome)
        self._news.set()

    def close(self) -> None:
        """No more outcomes: ``run`` writes what is waiting and returns."""
        self._closed = True
        self._news.set()

    async def run(self) -> None:
        while True:
            if not self._waiting:
                if self._closed:
                    return
                await self._news.wait()
                self._news.clear()
                continue
            group, self._waiting = self._waiting, []
            try:
                await self._write(group)
            except BaseException:
                self.failed = True
                raise
