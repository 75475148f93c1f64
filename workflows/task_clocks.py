"""The clocks of one task, inside its workflow: deterministic state plus a driver
that sleeps until the next warning or rung and fires it exactly once.

Every change to a clock's ledger goes through the ``clock_op`` activity (calendar
arithmetic recorded in history) under one lock, so a firing rung and a handler's
pause can never overwrite each other's result. An event is claimed under the lock
and fired (mailed, recorded) after it is released.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.clocks import ClockActivities
    from models.sla import (
        ClockEvent,
        ClockOp,
        ClockRequest,
        ClockSpec,
        ClockState,
        ClockStatus,
    )

from workflows import patches
from workflows.compute import compute, compute_options

FireHandler = Callable[[ClockState, ClockEvent], Awaitable[None]]


def without_texts(clock: ClockState) -> ClockState:
    """A copy of ``clock`` for the clock activity: pauses' and extensions' texts blank."""
    copy = clock.model_copy(deep=True)
    for p in copy.pauses:
        p.reason = ""
    for e in copy.extensions:
        e.reason, e.decision_reason = "", None
    return copy


def with_texts(result: ClockState, ours: ClockState) -> ClockState:
    """The activity's ``result`` with ``ours``'s texts back: the activity keeps every pause
    and extension, in order (it measures them; the workflow adds them)."""
    for p, mine in zip(result.pauses, ours.pauses, strict=False):
        p.reason = mine.reason
    for e, theirs in zip(result.extensions, ours.extensions, strict=False):
        e.reason, e.decision_reason = theirs.reason, theirs.decision_reason
    return result


class ClockUnavailable(Exception):  # noqa: N818 - a state, not a programming error
    """The calendar arithmetic of a clock operation kept failing (patches.COMPUTE_BOUNDED):
    the clock is as it was before the operation."""


class TaskClocks:
    def __init__(
        self, specs: list[ClockSpec], *, role: str, plan: str, office_hours: list[str], urgent: bool
    ) -> None:
        self.clocks: dict[str, ClockState] = {
            s.name: ClockState(spec=s, plan=plan) for s in specs if role in s.roles
        }
        self.office_hours = office_hours
        self.urgent = urgent
        self.lock = asyncio.Lock()
        self.version = 0  # bumped on every change: the driver re-plans its sleep
        # "clock:rung" of breaches written to the timeline before their mail is due.
        self.noted: set[str] = set()

    # ---- ledger operations (call with the lock held) ---------------------------------

    async def op(
        self,
        name: str,
        op: ClockOp,
        *,
        period: str | None = None,
        spec: ClockSpec | None = None,
        plan: str | None = None,
    ) -> ClockState:
        ours = self.clocks[name]
        # The arithmetic needs the ledger's times, not the words people typed in it
        # (a question for the worker, an extension's reason): those stay here.
        sent = without_texts(ours) if patches.taken(patches.PII_MASKED_FOR_OTHERS) else ours
        try:
            clock = await compute(
                ClockActivities.clock_op,
                ClockRequest(
                    op=op,
                    clock=sent,
                    at=workflow.now(),
                    period=period,
                    spec=spec,
                    plan=plan,
                    office_hours=self.office_hours,
                    urgent=self.urgent,
                ),
                # One local attempt, then the activity queue (patches.CLOCK_OP_LOCAL_ONCE).
                # Not retried locally: a failing calendar retried inside a held workflow
                # task stalled the time-skipping test server (before the patch, every
                # operation went through the activity queue).
                local=patches.taken(patches.CLOCK_OP_LOCAL_ONCE),
                once=True,
                **compute_options(),
            )
        except ActivityError as e:  # only when bounded: unbounded retries never end
            raise ClockUnavailable(f"{name} {op.value}: {e.cause or e}") from e
        # Every caller holds the lock, so nothing changed this clock while the
        # activity ran; replacing it with the activity's result loses nothing.
        self.clocks[name] = clock if sent is ours else with_texts(clock, ours)
        self.version += 1
        return clock

    def snapshot(self) -> dict[str, ClockState]:
        """The clocks as they are, to restore if an operation cannot be computed."""
        return {n: c.model_copy(deep=True) for n, c in self.clocks.items()}

    def restore(self, snapshot: dict[str, ClockState]) -> None:
        self.clocks = snapshot
        self.version += 1

    async def start_on(self, event: str) -> list[str]:
        started = []
        for name, clock in self.clocks.items():
            if clock.status is ClockStatus.pending and clock.spec.starts_on == event:
                await self.op(name, ClockOp.start)
                started.append(name)
        return started

    def stop_on(self, event: str, at: datetime) -> list[str]:
        """Stop the clocks this event ends (``*``: all of them). Nothing of theirs fires again."""
        stopped = []
        for name, clock in self.clocks.items():
            if clock.status is ClockStatus.stopped:
                continue
            if event == "*" or clock.spec.stops_on == event:
                clock.status = ClockStatus.stopped
                clock.stopped_at = at
                for e in clock.events:
                    if e.fired_at is None:
                        e.notify_at = None
                stopped.append(name)
        if stopped:
            self.version += 1
        return stopped

    def running(self, *, pausable: bool | None = None) -> list[str]:
        return [
            n
            for n, c in self.clocks.items()
            if c.status is ClockStatus.running and (pausable is None or c.spec.pausable == pausable)
        ]

    def paused(self) -> list[str]:
        return [n for n, c in self.clocks.items() if c.status is ClockStatus.paused]

    # ---- the driver -----------------------------------------------------------------

    def next_event(self, *, notes: bool = False) -> tuple[str, ClockEvent, bool] | None:
        """The next thing to do: (clock, event, True) to note a breach whose mail
        waits for office hours (with ``notes``), or (clock, event, False) to fire it."""
        best: tuple[str, ClockEvent, bool] | None = None
        best_at: datetime | None = None
        for name, clock in self.clocks.items():
            if clock.status not in (ClockStatus.running, ClockStatus.paused):
                continue
            for e in clock.events:
                if e.fired_at is not None or e.notify_at is None:
                    continue
                if (e.kind == "auto_resume") != (clock.status is ClockStatus.paused):
                    continue
                when, noting = e.notify_at, False
                if (
                    notes
                    and e.kind == "breach"
                    and e.at is not None
                    and e.at < e.notify_at
                    and f"{name}:{e.key}" not in self.noted
                ):
                    when, noting = e.at, True
                if best_at is None or when < best_at:
                    best, best_at = (name, e, noting), when
        return best

    async def drive(
        self, is_open: Callable[[], bool], fire: FireHandler, *, note: FireHandler | None = None
    ) -> None:
        """Sleep until the next event is due, fire it, repeat; re-plan on any change.
        With ``note``, a breach whose mail waits for office hours is noted when the
        clock crosses it, then fired (mailed) at its ``notify_at``."""
        while is_open():
            version = self.version
            nxt = self.next_event(notes=note is not None)

            def changed(v: int = version) -> bool:
                return self.version != v or not is_open()

            if nxt is None:
                await workflow.wait_condition(changed)
                continue
            name, event, noting = nxt
            when = event.at if noting else event.notify_at
            assert when is not None
            delay = (when - workflow.now()).total_seconds()
            if delay > 0:
                try:
                    await workflow.wait_condition(changed, timeout=delay)
                    continue
                except TimeoutError:
                    pass
            async with self.lock:
                # Re-check under the lock: a handler may have stopped, paused or
                # extended this clock while we were waking up.
                if not is_open() or self.version != version:
                    continue
                clock = self.clocks[name]
                current = next((e for e in clock.events if e.key == event.key), None)
                if current is None or current.fired_at is not None:
                    continue
                self.version += 1
                if noting and note is not None:
                    self.noted.add(f"{name}:{current.key}")
                    await note(clock, current)
                    continue
                current.fired_at = workflow.now()  # claimed: it fires exactly once
                if not patches.taken(patches.CLOCKS_FIRE_OUTSIDE_LOCK):
                    await fire(clock, current)
                    continue
            # Mailing and recording need no clock arithmetic: firing with the lock
            # held made every action on the task wait for them.
            await fire(clock, current)
