"""The invariants at the end of a run, as figures: each a line with its value and, when
it breaks an invariant, why. Nothing here waits or retries: the scenario calls it once
the system has caught up (or its deadline passed), and every figure is a count.

* cases: every requested intake is a workflow in Temporal and a row in the read model;
* tasks: each case's tasks are the same in its workflow's state, in Temporal's list of
  task workflows and in the read model, an untouched case has the tasks its rules give,
  and no office holds two open tasks of one case;
* rows: no audit event written twice under two keys;
* e-mail: one outbox row per notification, every sent row delivered at the sink under
  its one Message-ID, nothing delivered that the outbox does not know, nothing left
  unsent; a Message-ID delivered twice is counted, and must be explained by a lost
  acknowledgement (a worker killed, or the sink stopped, between the two deliveries);
* clocks: every warning and rung due by the cutoff fired once (fired_at, one audit
  event — for a warning fired after its clock was due, one ``warning_superseded`` and
  no mail —
  event, one sent outbox row), and none fired before it was due or after its clock
  stopped;
* reconcile: `appeals reconcile --json` exits 0 with no drift.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench.chaos.load import Call, Handling, Intake
from bench.chaos.observe import Reconciled, Rows, Truth, clock_events
from bench.chaos.parts import Delivery

OPEN = ("dispatched", "accepted", "waiting_on_worker")
EARLY = timedelta(seconds=1)  # a timer may fire this much before its instant (clock skew)
SHOWN = 5  # ids named in a failure line


@dataclass
class Verdict:
    rows: list[tuple[str, str]] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # Every id at fault, by failure (the printed line shows the first few): --keep
    # writes them beside the logs.
    at_fault: dict[str, list[str]] = field(default_factory=dict)

    def figure(self, label: str, value: object, *, bad: Sequence[str] = (), why: str = "") -> None:
        """A figure; ``bad`` (the ids at fault) makes it a failure, named by ``why``."""
        self.rows.append((label, str(value)))
        self.values[label] = value
        if bad:
            more = " …" if len(bad) > SHOWN else ""
            self.failures.append(f"{why or label}: {', '.join(map(str, bad[:SHOWN]))}{more}")
            self.at_fault[why or label] = [str(b) for b in bad]


@dataclass
class Run:
    """What the scenario did and saw, beside what the stores hold."""

    intakes: list[Intake]
    handling: Handling
    calls: list[Call]
    kills: list[float]  # time.time() of each kill -9 of the worker
    sink_outages: list[tuple[float, float]]  # time.time() the SMTP sink stopped, started
    db_stops: list[float]  # time.time() of each start of a database outage
    deliveries: list[Delivery]
    cutoff: datetime  # clock events due by then must have fired


def check_cases(v: Verdict, run: Run, truth: Truth, rows: Rows) -> None:
    requested = {i.case_id for i in run.intakes}
    in_rows = {c.case_id for c in rows.cases}
    present = requested & set(truth.states)
    lost = sorted(requested - (present & in_rows))
    v.figure("cases requested", len(requested))
    v.figure("cases acknowledged (201)", len(run.handling.opened))
    v.figure(
        "intakes never acknowledged",
        len(run.handling.unopened),
        bad=run.handling.unopened,
        why="intakes never acknowledged",
    )
    v.figure(
        "cases in Temporal / in the read model", f"{len(present)} / {len(requested & in_rows)}"
    )
    v.figure("cases lost", len(lost), bad=lost, why="cases lost")
    v.figure("query errors", len(truth.errors), bad=truth.errors)


def check_tasks(v: Verdict, run: Run, truth: Truth, rows: Rows) -> None:
    in_state = {t.task_id for s in truth.states.values() for t in s.tasks}
    in_rows = [t.task_id for t in rows.tasks]
    started = Counter(truth.task_workflows)
    twice = sorted(t for t, n in started.items() if n > 1)
    orphans = sorted(set(started) - in_state)
    extra_rows = sorted(set(in_rows) - in_state)
    missing_rows = sorted(in_state - set(in_rows))
    untouched = {i.case_id: i.tasks for i in run.intakes if i.act is None}
    wrong = sorted(
        f"{c} ({len(s.tasks)} tasks, rules give {untouched[c]})"
        for c, s in truth.states.items()
        if c in untouched and len(s.tasks) != untouched[c]
    )
    # A returned case may come back to an office that co-handles it, as its lead:
    # two open tasks of one office in one role are the duplicate.
    doubled = sorted(
        f"{c} {dept}@{region} {role}"
        for c, s in truth.states.items()
        for (dept, region, role), n in Counter(
            (t.department, t.region, t.role.value) for t in s.tasks if t.status.value in OPEN
        ).items()
        if n > 1
    )
    v.figure(
        "tasks: in case states / task workflows / read-model rows",
        f"{len(in_state)} / {len(started)} / {len(in_rows)}",
    )
    v.figure("task workflows started twice", len(twice), bad=twice)
    v.figure("task workflows no case lists", len(orphans), bad=orphans)
    v.figure("task rows no case lists", len(extra_rows), bad=extra_rows)
    v.figure("tasks without a row", len(missing_rows), bad=missing_rows)
    v.figure("untouched cases with other than their rules' tasks", len(wrong), bad=wrong)
    v.figure("offices with two open tasks of one case in one role", len(doubled), bad=doubled)


def check_rows(v: Verdict, rows: Rows) -> None:
    """An audit event written twice would carry two keys (the key makes a retried
    write a no-op): the same case, task, action, actor, time and data twice."""
    seen = Counter(
        (e.case_id, e.task_id, e.action, e.actor, e.at.isoformat(), e.detail, e.data)
        for e in rows.events
    )
    twice = sorted(f"{k[0]} {k[2]}" for k, n in seen.items() if n > 1)
    v.figure(
        "read-model rows: cases / tasks / events / clocks / outbox",
        f"{len(rows.cases)} / {len(rows.tasks)} / {len(rows.events)} / "
        f"{len(rows.deadlines)} / {len(rows.outbox)}",
    )
    v.figure("audit events written twice", len(twice), bad=twice)
    v.figure("projections still behind", rows.lag, bad=["projection_lag"] * rows.lag)


def _between(times: Sequence[float], start: float, end: float) -> bool:
    return any(start <= t <= end for t in times)


def check_mail(v: Verdict, run: Run, rows: Rows) -> None:
    by_id = {r.id: r for r in rows.outbox}
    status = Counter(r.status for r in rows.outbox)
    at_sink: dict[str, list[Delivery]] = defaultdict(list)
    for d in run.deliveries:
        at_sink[d.notification].append(d)
    # The admin's alert about a failed mail has no row of its own (its id ends :failed).
    unknown = sorted(n for n in at_sink if n not in by_id and not n.endswith(":failed"))
    sent = [r for r in rows.outbox if r.status == "sent"]
    undelivered = sorted(r.id for r in sent if r.id not in at_sink)
    unsent = sorted(r.id for r in rows.outbox if r.status != "sent")
    two_ids = sorted(n for n, ds in at_sink.items() if len({d.message_id for d in ds}) > 1)
    wrong_id = sorted(
        r.id for r in sent if r.id in at_sink and at_sink[r.id][0].message_id != r.message_id
    )
    # Delivered again: the acknowledgement (the outbox's record of the 250) was lost,
    # by a kill, the sink stopping before its 250 reached the sender, or the database
    # going away between the two writes around the SMTP exchange.
    again: Counter[str] = Counter()
    unexplained = []
    for n, ds in at_sink.items():
        ds = sorted(ds, key=lambda d: d.at)
        for first, second in zip(ds, ds[1:], strict=False):
            sink_stops = [stopped for stopped, _ in run.sink_outages]
            for why, times in (("kill", run.kills), ("sink", sink_stops), ("db", run.db_stops)):
                if _between(times, first.at, second.at):
                    again[why] += 1
                    break
            else:
                unexplained.append(n)
    v.figure("outbox rows (sent / other)", f"{len(sent)} / {len(rows.outbox) - len(sent)}")
    v.figure("outbox rows by status", dict(sorted(status.items())))
    v.figure(
        "sink deliveries / distinct notifications / distinct Message-IDs",
        f"{len(run.deliveries)} / {len(at_sink)} / {len({d.message_id for d in run.deliveries})}",
    )
    v.figure("sent rows the sink never received", len(undelivered), bad=undelivered)
    v.figure("rows not sent at the end", len(unsent), bad=unsent)
    v.figure("deliveries the outbox does not know", len(unknown), bad=unknown)
    v.figure("notifications under two Message-IDs", len(two_ids), bad=two_ids)
    v.figure("rows whose Message-ID is not the delivered one", len(wrong_id), bad=wrong_id)
    v.figure(
        "same Message-ID delivered again (after a kill / sink stop / db outage / unexplained)",
        f"{sum(again.values()) + len(unexplained)} ({again['kill']} / {again['sink']} / "
        f"{again['db']} / {len(unexplained)})",
        bad=unexplained,
        why="a mail delivered twice with no lost acknowledgement to explain it",
    )


def check_clocks(v: Verdict, run: Run, rows: Rows) -> None:
    events = clock_events(rows.deadlines)
    outbox = {r.id: r for r in rows.outbox}
    audit = Counter(
        (e.task_id, d.get("clock"), d.get("event"))
        for e in rows.events
        if e.action in ("warning", "escalated", "warning_superseded")
        for d in [json.loads(e.data or "{}")]
    )
    # A warning that fires only after its clock was due (the worker was down or behind)
    # is recorded as superseded and not mailed: the breach's rungs say more.
    superseded = {
        (e.task_id, d.get("clock"), d.get("event"))
        for e in rows.events
        if e.action == "warning_superseded"
        for d in [json.loads(e.data or "{}")]
    }
    due = [
        e for e in events if e.at <= run.cutoff and (e.stopped_at is None or e.at <= e.stopped_at)
    ]
    not_fired = sorted(e.notification for e in due if e.fired_at is None)
    not_once = sorted(
        f"{e.notification} ×{audit[(e.task, e.clock, e.key)]}"
        for e in due
        if audit[(e.task, e.clock, e.key)] != 1
    )
    not_sent = sorted(
        e.notification
        for e in due
        if (e.task, e.clock, e.key) not in superseded
        and (e.notification not in outbox or outbox[e.notification].status != "sent")
    )
    early = sorted(e.notification for e in events if e.fired_at and e.fired_at < e.at - EARLY)
    stopped = sorted(
        e.notification for e in events if e.fired_at and e.stopped_at and e.at > e.stopped_at
    )
    in_outage = [e for e in due if any(a <= e.at.timestamp() <= b for a, b in run.sink_outages)]
    keys = {e.notification for e in events}
    stray = sorted(r.id for r in rows.outbox if r.clock and r.id not in keys)
    v.figure("clock events in the read model (due by the cutoff)", f"{len(events)} ({len(due)})")
    v.figure("  of them due while the SMTP sink was down", len(in_outage))
    v.figure("due and not fired", len(not_fired), bad=not_fired)
    v.figure("due and not audited exactly once", len(not_once), bad=not_once)
    v.figure("  warnings superseded (fired after their clock was due: no mail)", len(superseded))
    v.figure("due and not mailed", len(not_sent), bad=not_sent)
    v.figure("fired before due", len(early), bad=early)
    v.figure("fired after their clock stopped", len(stopped), bad=stopped)
    v.figure("clock mails for no clock event", len(stray), bad=stray)


def check_calls(v: Verdict, calls: Sequence[Call]) -> None:
    by_fault: dict[str, Counter[str]] = defaultdict(Counter)
    polls = 0
    for c in calls:
        if c.what.endswith("(poll)"):
            polls += 1  # a handler's look for the lead task: 404 until it is projected
            continue
        where = "+".join(sorted(c.faults)) or "no fault"
        by_fault[where]["accepted" if c.accepted else f"refused {c.status}"] += 1
    # With the time since the first call and the faults in force, to find it in the logs.
    first = min((c.started for c in calls), default=0.0)
    problems = [
        f"{p} at {c.started - first:.0f} s [{'+'.join(sorted(c.faults)) or 'no fault'}]"
        for c in calls
        if (p := c.problem()) is not None
    ]
    slowest = max((c.seconds for c in calls), default=0.0)
    v.figure("calls (API and CLI; and polls for a lead task)", f"{len(calls) - polls} ({polls})")
    for where, counts in sorted(by_fault.items()):
        v.figure(f"  during {where}", ", ".join(f"{k} {n}" for k, n in sorted(counts.items())))
    v.figure("slowest answer", f"{slowest:.1f} s")
    v.figure(
        "calls not accepted or refused cleanly",
        len(problems),
        bad=problems,
        why="calls not accepted or refused cleanly (a hang, a 5xx other than 503, "
        "or a refusal that is not one line)",
    )


def check_reconcile(v: Verdict, r: Reconciled) -> None:
    drift = [f"{d.get('workflow_id')} {d.get('table')}.{d.get('field')}" for d in r.drift]
    if r.exit != 0 and not drift:
        drift = [f"exit {r.exit}: {r.error}"]
    v.figure("appeals reconcile --json: drift", len(r.drift), bad=drift, why="reconcile drift")


def verdict(run: Run, truth: Truth, rows: Rows, reconciled: Reconciled) -> Verdict:
    v = Verdict()
    check_cases(v, run, truth, rows)
    check_tasks(v, run, truth, rows)
    check_rows(v, rows)
    check_mail(v, run, rows)
    check_clocks(v, run, rows)
    check_calls(v, run.calls)
    check_reconcile(v, reconciled)
    return v
