"""The worker's capacity settings (APPEALS_WORKER_*) reach the Temporal worker it builds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine, migrate
from settings import Settings
from worker import build_worker, capacity


async def test_capacity_settings_reach_the_worker(
    env: WorkflowEnvironment, settings: Settings
) -> None:
    tuned = settings.model_copy(update={"worker_workflow_slots": 7, "worker_cached_workflows": 123})
    migrate(tuned.db_url)
    engine = make_engine(tuned.db_url)
    try:
        with ThreadPoolExecutor(max_workers=5) as executor:
            worker = build_worker(env.client, tuned, engine, executor=executor, **capacity(tuned))
            config = worker.config()
    finally:
        engine.dispose()
    assert config.get("max_concurrent_workflow_tasks") == 7
    assert config.get("max_cached_workflows") == 123
    assert config.get("max_concurrent_activities") == 5


def test_defaults_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert (s.worker_workflow_slots, s.worker_activity_threads, s.worker_cached_workflows) == (
        100,
        16,
        1000,
    )
    monkeypatch.setenv("APPEALS_WORKER_WORKFLOW_SLOTS", "0")
    with pytest.raises(ValidationError, match="worker_workflow_slots"):
        Settings()
