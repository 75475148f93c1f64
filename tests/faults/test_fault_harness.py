"""Faults survived, the short form (bench/faults.py --short): 36 cases through the API
while the worker is killed (kill -9) three times, the SMTP sink is down as drill clocks
fall due, the Temporal dev server restarts and SQLite's write lock is held by another
connection. Nothing lost, doubled or left behind (bench/chaos/checks.py), and the faults
really happened where they had to.

Several minutes long: every part is real (the dev server, `appeals worker` and `appeals
serve` as processes, aiosmtpd, SQLite), and the drill cases' last rungs fall due five
minutes after they are opened."""

from __future__ import annotations

from pathlib import Path

from bench.chaos.scenario import SHORT, run_plan


async def test_the_short_form_survives_every_fault(tmp_path: Path) -> None:
    outcome = await run_plan(SHORT, tmp_path / "stack")
    story = "\n".join(outcome.timeline)
    assert not outcome.verdict.failures, "\n".join(outcome.verdict.failures) + "\n" + story
    figures = outcome.verdict.values
    # The faults took place, and met the load: else the invariants held over nothing.
    assert outcome.kills == SHORT.kills, story
    assert (outcome.temporal_restarts, outcome.sink_outages, outcome.db_outages) == (1, 1, 1)
    assert figures["cases acknowledged (201)"] == SHORT.cases, figures
    assert int(str(figures["  of them due while the SMTP sink was down"])) > 0, figures
    calls = {label: value for label, value in figures.items() if label.startswith("  during")}
    for fault in ("smtp-down", "temporal-down", "db-down", "worker-killed"):
        assert any(fault in label for label in calls), (fault, calls)
