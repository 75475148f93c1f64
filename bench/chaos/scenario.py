"""The fault script. A paced load of intakes runs through the API from start to end;
beside it:

* the worker is killed (``kill -9``) at random moments and started again after a
  random pause, ``kills`` times;
* the SMTP sink is stopped for ``smtp_down`` seconds, and the drill cases (urgent,
  minute clocks) are opened as it stops, so that their warnings and rungs fall due
  while no mail can leave;
* the Temporal dev server is stopped and started again on the same file;
* the database is made unavailable: SQLite's write lock held by another connection,
  or PostgreSQL stopped;

and while each of the last three lasts, probes (probes.py) keep acting. Then the
harness waits, with a deadline, until everything has caught up (catchup.py) and checks
the invariants (checks.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.chaos import observe
from bench.chaos.catchup import owed
from bench.chaos.checks import Run, Verdict, verdict
from bench.chaos.load import Faults, Front, Handling, Intake, open_all, open_one, plan_intakes
from bench.chaos.parts import WriteLock
from bench.chaos.probes import Prober
from bench.chaos.stack import PASSWORD, Stack
from client import connect
from db.engine import make_engine
from routing_rules import load_ruleset

PROBE_POOL = 400  # intakes set aside for the probes (far more than they use)
TRUTH_SETTLE = 60.0  # seconds the check waits for cases still starting a task


@dataclass(frozen=True)
class Plan:
    cases: int  # intakes the load opens, the drill ones among them
    drill: int  # of them on the drill plan (urgent, minute clocks), opened as SMTP stops
    rate: float  # intakes a second the load aims at
    kills: int  # kill -9 of the worker
    smtp_at: float  # seconds after the load starts
    smtp_down: float
    temporal_at: float
    temporal_down: float
    db_at: float
    db_down: float
    act_share: float  # of the other cases, those whose lead handler acts
    concurrency: int  # calls a clerk has in flight at most
    settle: float  # seconds to wait, after the load, for everything to catch up
    db: str = "sqlite"
    seed: int = 1
    worker_down: tuple[float, float] = (0.5, 3.0)  # seconds a killed worker stays dead
    min_kill_gap: float = 6.0

    @property
    def load_s(self) -> float:
        return (self.cases - self.drill) / self.rate

    def kill_times(self, rng: random.Random) -> list[float]:
        """``kills`` random moments (seconds after the load starts) across the run."""
        end = max(self.load_s, self.db_at + self.db_down)
        while True:
            times = sorted(rng.uniform(10, end) for _ in range(self.kills))
            if all(b - a >= self.min_kill_gap for a, b in zip(times, times[1:], strict=False)):
                return times


# The figures: 1,000 cases, 20 kills, SMTP down ten minutes, the database two.
FULL = Plan(
    cases=1000,
    drill=50,
    rate=1.0,
    kills=20,
    smtp_at=60,
    smtp_down=600,
    temporal_at=690,
    temporal_down=10,
    db_at=760,
    db_down=120,
    act_share=0.1,
    concurrency=8,
    settle=1800,
)
# The test suite's: a few minutes, every fault once, the kills thrice.
SHORT = Plan(
    cases=36,
    drill=6,
    rate=0.25,
    kills=3,
    smtp_at=5,
    smtp_down=75,
    temporal_at=85,
    temporal_down=5,
    db_at=100,
    db_down=40,
    act_share=0.25,
    concurrency=4,
    settle=600,
)


@dataclass
class Outcome:
    plan: Plan
    verdict: Verdict
    seconds: float
    timeline: list[str] = field(default_factory=list)
    load: list[tuple[float, float, float]] = field(default_factory=list)  # os.getloadavg()
    owed: dict[str, int] = field(default_factory=dict)  # what had not caught up
    kills: int = 0
    temporal_restarts: int = 0
    sink_outages: int = 0
    db_outages: int = 0


class Chaos:
    """The run's state and its fault makers."""

    def __init__(self, plan: Plan, stack: Stack, say: Callable[[str], None]) -> None:
        self.plan, self.stack, self._say = plan, stack, say
        self.rng = random.Random(plan.seed)
        self.faults = Faults()
        self.kills: list[float] = []
        self.db_stops: list[float] = []
        self.timeline: list[str] = []
        self.load: list[tuple[float, float, float]] = []
        self.t0 = time.monotonic()

    def say(self, line: str) -> None:
        stamped = f"{time.monotonic() - self.t0:7.1f} s  {line}"
        self.timeline.append(stamped)
        self._say(stamped)

    async def at(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, self.t0 + seconds - time.monotonic()))

    @contextlib.asynccontextmanager
    async def fault(self, name: str, prober: Prober | None) -> AsyncIterator[None]:
        """The fault ``name`` in force for the block, probed meanwhile."""
        self.faults.begin(name)
        over = asyncio.Event()
        probing = asyncio.ensure_future(prober.during(over)) if prober else None
        try:
            yield
        finally:
            self.faults.end(name)
            over.set()
            if probing is not None:
                await probing

    async def killer(self, times: list[float]) -> None:
        for t in times:
            await self.at(t)
            while "temporal-down" in self.faults.now():  # nothing to kill it away from
                await asyncio.sleep(0.5)
            self.stack.worker.kill9()
            self.kills.append(time.time())
            down = self.rng.uniform(*self.plan.worker_down)
            self.say(f"kill -9 worker ({len(self.kills)}/{self.plan.kills}); back in {down:.1f} s")
            self.faults.begin("worker-killed")
            await asyncio.sleep(down)
            self.stack.worker.start()
            self.faults.end("worker-killed")

    async def keeper(self, stop: asyncio.Event) -> None:
        """As systemd's Restart=always: a worker or API that exits by itself is started
        again (and each such exit is reported); the machine's load noted meanwhile."""
        while not stop.is_set():
            for service in (self.stack.worker, self.stack.api):
                if service.exited():
                    self.say(f"{service.exits[-1]}: started again")
                    service.start()
            self.load.append(os.getloadavg())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    async def smtp_outage(self, open_drill: Coroutine[Any, Any, None], prober: Prober) -> None:
        await self.at(self.plan.smtp_at)
        # Each fault is in force (for the calls' figures) from before the part goes
        # until after it is back.
        async with self.fault("smtp-down", prober):
            await asyncio.to_thread(self.stack.sink.stop)
            self.say(f"SMTP sink stopped for {self.plan.smtp_down:.0f} s; drill cases opened")
            await asyncio.gather(open_drill, asyncio.sleep(self.plan.smtp_down))
            await asyncio.to_thread(self.stack.sink.start)
            self.say("SMTP sink started again")

    async def temporal_restart(self, prober: Prober) -> None:
        await self.at(self.plan.temporal_at)
        async with self.fault("temporal-down", prober):
            self.say(f"Temporal dev server stopped for {self.plan.temporal_down:.0f} s")
            await self.stack.temporal.restart(self.plan.temporal_down)
            self.say("Temporal dev server listening again")

    async def db_outage(self, prober: Prober) -> None:
        await self.at(self.plan.db_at)
        pg = self.stack.pg
        lock = WriteLock(self.stack.sqlite)
        async with self.fault("db-down", prober):
            self.db_stops.append(time.time())
            if pg is None:
                await asyncio.to_thread(lock.acquire)
                self.say(f"SQLite write lock held for {self.plan.db_down:.0f} s")
            else:
                await asyncio.to_thread(pg.stop)
                self.say(f"PostgreSQL stopped for {self.plan.db_down:.0f} s")
            await asyncio.sleep(self.plan.db_down)
            if pg is None:
                lock.release()
                self.say("SQLite write lock released")
            else:
                await asyncio.to_thread(pg.start)
                self.say("PostgreSQL started again")


async def catch_up(chaos: Chaos, case_ids: list[str], deadline: float) -> dict[str, int]:
    """Until nothing is owed or ``deadline`` (monotonic); what was still owed."""
    engine = make_engine(chaos.stack.settings.db_url)
    report = time.monotonic() + 30
    try:
        while True:
            left = await asyncio.to_thread(owed, engine, case_ids, chaos.stack.sink.deliveries)
            if not any(left.values()) or time.monotonic() > deadline:
                return left
            if time.monotonic() > report:
                chaos.say("catching up: " + ", ".join(f"{k} {v}" for k, v in left.items() if v))
                report = time.monotonic() + 30
            await asyncio.sleep(2)
    finally:
        engine.dispose()


async def settled_truth(client: Client, case_ids: list[str]) -> observe.Truth:
    """What Temporal holds once every task workflow is one its case lists, or after
    TRUTH_SETTLE seconds (then the checks name what is still apart). A case whose lead
    was returned in the load's last seconds is caught up in the read model and still
    starting its next task: read at that instant, the new task was "a task workflow no
    case lists" (a full SQLite run on aa40531, its case's state queried 1 s before it
    started the task its own history shows)."""
    deadline = time.monotonic() + TRUTH_SETTLE
    while True:
        truth = await observe.read_truth(client, case_ids)
        listed = {t.task_id for s in truth.states.values() for t in s.tasks}
        if set(truth.task_workflows) <= listed or time.monotonic() > deadline:
            return truth
        await asyncio.sleep(2)


async def check(chaos: Chaos, run: Run) -> Verdict:
    stack = chaos.stack
    client = await connect(stack.settings)
    engine = make_engine(stack.settings.db_url)
    try:
        truth = await settled_truth(client, [i.case_id for i in run.intakes])
        rows = await asyncio.to_thread(observe.Rows.read, engine)
    finally:
        engine.dispose()
    # The sink's deliveries after the outbox rows: a row says "sent" only after the
    # sink's 250, so every sent row read is delivered by now. Taken before them (when
    # the run ended), a mail of a case still opening as the run caught up was "sent
    # and never received" (five new-task mails of the first full PostgreSQL run).
    run = dataclasses.replace(run, deliveries=list(stack.sink.deliveries))
    reconciled = await asyncio.to_thread(observe.reconcile, stack.env, stack.data)
    return verdict(run, truth, rows, reconciled)


async def run_plan(plan: Plan, data: Path, say: Callable[[str], None] = print) -> Outcome:
    """The whole run on a stack of its own under ``data``; everything it started is
    stopped before it returns (or raises)."""
    stack = Stack(data, db=plan.db)
    chaos = Chaos(plan, stack, say)
    rules = load_ruleset(stack.settings.rules_dir)
    prefix = f"ch{int(time.time()) % 10**6:06d}"
    rng = random.Random(plan.seed)
    routine = plan_intakes(
        rules, rng, f"{prefix}L", plan.cases - plan.drill, drill=False, act_share=plan.act_share
    )
    drill = plan_intakes(rules, rng, f"{prefix}D", plan.drill, drill=True, act_share=0.0)
    pool = plan_intakes(rules, rng, f"{prefix}P", PROBE_POOL, drill=False, act_share=0.0)
    handling = Handling()
    stop = asyncio.Event()
    try:
        await stack.start()
        chaos.t0 = time.monotonic()
        chaos.say(f"stack up in {data}; load of {plan.cases} cases begins")
        keeper = asyncio.ensure_future(chaos.keeper(stop))
        async with Front(stack.api_base, PASSWORD, chaos.faults) as front:
            prober = Prober(stack, front, rules, pool)
            prober.noted = [
                i.case_id for i in routine[:: max(1, len(routine) // 10)] if i.act is None
            ]
            give_up = chaos.t0 + max(plan.load_s, plan.db_at + plan.db_down) + plan.settle
            opening = open_all(
                front,
                rules,
                routine,
                handling,
                concurrency=plan.concurrency,
                give_up=give_up,
                rate=plan.rate,
            )
            drilling = open_all(
                front, rules, drill, handling, concurrency=plan.concurrency, give_up=give_up
            )
            await asyncio.gather(
                opening,
                chaos.killer(plan.kill_times(chaos.rng)),
                chaos.smtp_outage(drilling, prober),
                chaos.temporal_restart(prober),
                chaos.db_outage(prober),
            )
            chaos.say(
                f"load done: {len(handling.opened)} acknowledged; probes' refused "
                f"intakes submitted again ({len(prober.refused)})"
            )
            for intake in prober.refused:
                if await open_one(front, intake, give_up=give_up) is None:
                    handling.unopened.append(intake.request_id)
            requested: list[Intake] = routine + drill + prober.used
            left = await catch_up(
                chaos, [i.case_id for i in requested], time.monotonic() + plan.settle
            )
            chaos.say("caught up" if not any(left.values()) else f"NOT caught up: {left}")
            stop.set()
            await keeper
            run = Run(
                intakes=requested,
                handling=handling,
                calls=front.calls,
                kills=chaos.kills,
                sink_outages=list(stack.sink.outages),
                db_stops=chaos.db_stops,
                deliveries=list(stack.sink.deliveries),
                cutoff=datetime.now(UTC),
            )
            result = await check(chaos, run)
        for service in (stack.worker, stack.api):
            for line in service.exits:
                result.failures.append(f"exited by itself: {line}")
        if any(left.values()):
            result.failures.append(
                f"not caught up within {plan.settle:.0f} s: "
                + ", ".join(f"{k} {v}" for k, v in left.items() if v)
            )
        return Outcome(
            plan,
            result,
            time.monotonic() - chaos.t0,
            chaos.timeline,
            chaos.load,
            left,
            kills=len(chaos.kills),
            temporal_restarts=stack.temporal.restarts,
            sink_outages=len(stack.sink.outages),
            db_outages=len(chaos.db_stops),
        )
    finally:
        stop.set()
        await stack.stop()
