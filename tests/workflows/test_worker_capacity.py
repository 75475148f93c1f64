"""The worker's capacity settings (APPEALS_WORKER_*) reach the Temporal worker it builds."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine, migrate
from settings import Settings
from worker import WORKFLOW_CODE, build_worker, capacity, compile_workflow_code


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
        20,
        16,
        1000,
    )
    monkeypatch.setenv("APPEALS_WORKER_WORKFLOW_SLOTS", "0")
    with pytest.raises(ValidationError, match="worker_workflow_slots"):
        Settings()


def test_the_workflow_code_is_compiled_even_where_bytecode_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sandbox imports the workflow modules for every workflow it loads; without
    their bytecode (PYTHONDONTWRITEBYTECODE) each import compiled them again."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    package = tmp_path / "workflows"
    shutil.copytree(WORKFLOW_CODE, package, ignore=shutil.ignore_patterns("__pycache__"))
    assert compile_workflow_code(package)
    for module in package.glob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(module)))
        assert cached.is_file() and cached.stat().st_size > 0, module.name
    # A tree it cannot write (its __pycache__ a file: no mode stops root): said, not
    # raised, and the worker starts as before.
    shutil.rmtree(package / "__pycache__")
    (package / "__pycache__").write_text("not a directory")
    assert not compile_workflow_code(package)
