"""Every saved history must replay on the current code: running cases survive upgrades.

v1-* were recorded before any ``workflow.patched`` change, so they replay the old
branches; v2-* (and later) take each patched branch, which this test proves exists.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.report import mail_started
from models.tasks import ActionResult
from tests.keys import sealed_converter
from worker import replayer as worker_replayer
from workflows import patches

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def patch_ids(history: WorkflowHistory) -> set[str]:
    """The ids of the patch markers a history recorded (the SDK's core_patch markers)."""
    found = set()
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == "core_patch":
                data = marker.details["patch-data"].payloads[0].data
                found.add(json.loads(data)["id"])
    return found


@pytest.mark.parametrize("sandbox", ["strict", "shared"])
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays(path: Path, sandbox: str) -> None:
    """In both of the worker's sandbox modes (sandbox.py): the strict one refuses any
    non-deterministic call on these paths, the shared one is how workers run them."""
    replayer = worker_replayer(sealed_converter(), sandbox)
    await replayer.replay_workflow(load(path))


async def test_sealed_histories_replay_with_the_codec_only() -> None:
    """v5-seal was recorded encrypted (TEST key): it replays above with the codec, and
    holds nothing a replayer without the key can read."""
    sealed = [p for p in HISTORIES if p.stem.startswith("v5-seal-")]
    assert sealed
    for path in sealed:
        assert "13800138001" not in path.read_text()  # the sample phone, as it would show
        bare = worker_replayer(pydantic_data_converter)
        result = await bare.replay_workflow(load(path), raise_on_replay_failure=False)
        assert result.replay_failure is not None, path.stem


def test_there_are_histories_to_replay() -> None:
    assert any("case" in p.stem for p in HISTORIES)
    assert any("task" in p.stem for p in HISTORIES)


def test_every_patched_branch_has_a_saved_history() -> None:
    recorded: dict[str, list[str]] = {}
    for path in HISTORIES:
        for patch in patch_ids(load(path)):
            recorded.setdefault(patch, []).append(path.stem)
    # v1 came before every patch: it proves the old branches, never a new one.
    assert not [h for hs in recorded.values() for h in hs if h.startswith("v1-")]
    missing = [p for p in (*patches.ALL, *patches.CLUSTER_ONLY) if p not in recorded]
    assert not missing, f"patched branches no saved history takes: {missing}"
    # The lead task's side of the co-handler request is patched too.
    assert any("task" in h for h in recorded[patches.COHANDLER_REQUESTS_QUEUED])
    # Both are task-side changes; the saved task took them.
    for patch in (patches.URGE_ONE_TIMELINE_ROW, patches.BREACH_NOTED_AT_ONCE):
        assert any("task" in h for h in recorded[patch])
    # Cases and tasks both project in the background; only tasks have clocks.
    assert {h.split("-")[-1][:4] for h in recorded[patches.PROJECTION_IN_BACKGROUND]} >= {
        "case",
        "T1",
    }
    assert any("task" in h for h in recorded[patches.CLOCKS_FIRE_OUTSIDE_LOCK])
    # The case masks what it hands on; the saved case took it (tasks have nothing to mask).
    assert any(h.endswith("-case") for h in recorded[patches.PII_MASKED_FOR_OTHERS])
    # A case joins its clusters; the cluster workflow's own history replays too.
    assert any(h.endswith("-case") for h in recorded[patches.CLUSTER_FEED])
    assert any(p.stem.endswith("-cluster") for p in HISTORIES)
    # Tasks tell their status and continue as new; cases answer with acknowledgements.
    for patch in (patches.TASK_TELLS_STATUS, patches.TASK_CONTINUES_AS_NEW):
        assert any("task" in h for h in recorded[patch])
    assert any(h.endswith("-case") for h in recorded[patches.CASE_HISTORY_SLIM])
    # A case whose first routing timed out, waited and routed.
    assert "v6-routing-case" in recorded[patches.ROUTE_UNTIL_ROUTED]
    # Case and task Updates project after their workflow task is in history.
    assert {"v7-commit-case", "v7-commit-task-T1"} <= set(recorded[patches.UPDATES_AFTER_COMMIT])
    # A task's answers carry their projection.
    assert "v8-answers-task-T1" in recorded[patches.ANSWER_CARRIES_PROJECTION]
    # A cluster continues as new by its history's length, each run taking the patch.
    bounded = recorded[patches.CLUSTER_BOUNDED_HISTORY]
    assert "v11-cluster-runs-cluster" in bounded and "v11-cluster-runs-cluster-run2" in bounded
    # And, once formed, carries its members by case id alone.
    slim = recorded[patches.CLUSTER_SLIM_MEMBERS]
    assert "v12-cluster-slim-cluster" in slim and "v12-cluster-slim-cluster-run2" in slim
    # A task's mails go to the outbox with its projection.
    assert {"v9-outbox-task-T1", "v9-outbox-task-T2"} <= set(recorded[patches.MAIL_THROUGH_OUTBOX])
    # Cases and tasks take every bundled patch through one marker.
    assert {"v10-one-outbox-case", "v10-one-outbox-task-T1"} <= set(recorded[patches.AS_ONE])


def test_updates_project_and_mail_through_the_queue_once_patched() -> None:
    """Saved before the patch, a task's actions projected locally (no ``project`` in the
    activity queue while nothing failed) and its extension mail started locally; since,
    the workflow task that accepts an Update sends both through the queue."""
    before, after = load_named("v6-pii-task-T1"), load_named("v7-commit-task-T1")
    assert "start_notification" not in scheduled(before)
    assert "start_notification" in scheduled(after)
    assert scheduled(after).count("project") > scheduled(before).count("project")


async def test_task_answers_carry_their_projection_once_patched() -> None:
    """Saved before the patch, a task's answers held its status and version only; since,
    each also holds the row at that version and the audit events of its action, which
    is what the API writes (activities.store.write_answer)."""
    before = await answers("v7-commit-task-T1")
    after = await answers("v8-answers-task-T1")
    assert before and all(r.projection is None for r in before)
    assert {e.action for r in after if r.projection for e in r.projection.events} >= {
        "accepted",
        "note",
        "completed",
    }
    clocks, since, version = {}, {}, {}
    for r in after:
        assert r.projection is not None and r.projection.task is not None
        assert (r.projection.task.version, r.projection.task.status) == (r.version, r.status)
        for e in r.projection.events:
            clocks[e.action] = {d.clock for d in r.projection.task.deadlines}
            since[e.action], version[e.action] = r.clocks_since, r.version
    # A note's clocks are counted from the projection before it (the acceptance's).
    assert since == {"accepted": None, "note": version["accepted"], "completed": None}
    # Only the clocks an action changed: none for a note; every clock when the status
    # changes (signing for the task, ending it).
    assert clocks["note"] == set()
    assert clocks["accepted"] == clocks["completed"] == {"sign_for", "reply", "statutory"}


async def test_task_mails_are_queued_with_the_projection_once_patched() -> None:
    """Saved before the patch, a task started a workflow for each mail (a local
    ``start_notification``); since, it starts none, neither locally nor through the
    queue nor as a child: its own ``project`` carries its mails to the outbox
    (tests/workflows/test_outbox_mail.py follows them to the SMTP server)."""
    before, after = load_named("v6-mails-task-T2"), load_named("v9-outbox-task-T2")
    assert patches.MAIL_THROUGH_OUTBOX in patch_ids(after)
    assert [m for m in map(mail_started, markers(before)) if m]  # its rungs' and new mail
    for task in ("v9-outbox-task-T1", "v9-outbox-task-T2"):
        history = load_named(task)
        assert not [m for m in map(mail_started, markers(history)) if m]
        assert "start_notification" not in scheduled(history)
        assert not [
            e
            for e in history.events
            if e.HasField("start_child_workflow_execution_initiated_event_attributes")
        ]


def test_a_new_run_takes_the_bundled_patches_through_one_marker() -> None:
    """Saved before patches.AS_ONE, a new case and each new task recorded a marker and a
    search-attribute upsert for every patch; since, one of each, and the run still takes
    every bundled branch: its tasks' mails go through the outbox (no mail workflow, no
    ``start_notification``), as v9-outbox's did with 29 markers. A continued run
    inherits AS_ONE and records none."""
    for stem in ("v10-one-outbox-case", "v10-one-outbox-task-T1", "v10-one-history-task-T3"):
        history = load_named(stem)
        assert patch_ids(history) == {patches.AS_ONE}, stem
        upserts = [
            e
            for e in history.events
            if e.HasField("upsert_workflow_search_attributes_event_attributes")
        ]
        assert len(upserts) == 1, stem
    assert not patch_ids(load_named("v10-one-history-task-T1-run2"))
    for task in ("v10-one-outbox-task-T1", "v10-one-outbox-task-T2"):
        history = load_named(task)
        assert not [m for m in map(mail_started, markers(history)) if m]
        assert "start_notification" not in scheduled(history)
    before, after = load_named("v9-outbox-case"), load_named("v10-one-outbox-case")
    assert len(patch_ids(before)) == len(patches.BUNDLED)
    assert len(after.events) <= len(before.events) - 2 * (len(patches.BUNDLED) - 1)


def markers(history: WorkflowHistory) -> list[HistoryEvent]:
    return [e for e in history.events if e.HasField("marker_recorded_event_attributes")]


async def answers(stem: str) -> list[ActionResult]:
    """The results of the Updates a saved task history completed."""
    converter, found = sealed_converter(), []
    for e in load_named(stem).events:
        if e.HasField("workflow_execution_update_completed_event_attributes"):
            outcome = e.workflow_execution_update_completed_event_attributes.outcome
            if outcome.HasField("success"):
                [result] = await converter.decode(outcome.success.payloads, [ActionResult])
                found.append(result)
    return found


def load_named(stem: str) -> WorkflowHistory:
    return load(next(p for p in HISTORIES if p.stem == stem))


def scheduled(history: WorkflowHistory) -> list[str]:
    """The activities a history sent through the activity queue (not local ones)."""
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]


def test_a_case_joins_its_clusters_locally_once_patched() -> None:
    """A case that took join-clusters-local-once joined its clusters (recorded with two)
    without the activity queue; one saved before the patch went through it."""
    cases = {p.stem: load(p) for p in HISTORIES if p.stem.endswith("-case")}
    took = [s for s, h in cases.items() if patches.JOIN_CLUSTERS_LOCAL_ONCE in patch_ids(h)]
    assert "v6-joins-case" in took
    assert not [s for s in took if "join_clusters" in scheduled(cases[s])]
    assert "join_clusters" in scheduled(cases["v6-mails-case"])


def test_a_task_that_continued_as_new_replays_run_by_run() -> None:
    """Each run of a continued task is a history of its own: the first ends in a
    continue-as-new, the next starts from the carried state and, inheriting its patches,
    records no patch marker (patches.taken)."""
    runs = sorted(p for p in HISTORIES if "-run" in p.stem and "-task-" in p.stem)
    assert runs
    for path in runs:
        first = load(path).events[0].workflow_execution_started_event_attributes
        assert first.continued_execution_run_id
        assert not patch_ids(load(path))
        previous = load(path.with_name(path.name.split("-run")[0] + ".json"))
        assert previous.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")


async def test_v6_pii_tasks_were_handed_the_summary_masked() -> None:
    """In v6-pii (patches.PII_MASKED_FOR_OTHERS) each task's input holds the summary with
    the worker's name, phone and ID number masked, as the case handed it on."""
    codec = sealed_converter().payload_codec
    assert codec is not None
    tasks = [p for p in HISTORIES if p.stem.startswith("v6-pii-task-")]
    assert tasks
    for path in tasks:
        start = load(path).events[0].workflow_execution_started_event_attributes
        (payload,) = await codec.decode(list(start.input.payloads))
        summary = json.loads(payload.data)["summary"]
        assert "欧***" in summary and "139****5678" in summary, summary
        assert "欧阳春燕" not in summary and "13912345678" not in summary
        # Its clock operations got the ledger without the question and the reason
        # that gave the phone (the lead's: T1).
        for event in load(path).events:
            if event.HasField("activity_task_scheduled_event_attributes"):
                a = event.activity_task_scheduled_event_attributes
                decoded = await codec.decode(list(a.input.payloads))
                if a.activity_type.name == "clock_op":
                    assert all(b"13912345678" not in p.data for p in decoded)
