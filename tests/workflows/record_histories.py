"""Record the histories the replay test keeps (run by hand when a workflow ships):

    .venv/bin/python -m tests.workflows.record_histories v2

A history saved here is a promise: every later version of the workflow code must
replay it (changes go through ``workflow.patched``, see workflows/patches.py). So a
saved history is never overwritten: record a new version (v3-*) instead.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine, migrate
from settings import Settings
from tests.conftest import Stack
from tests.keys import TEST_KEYS, sealed_converter
from tests.scenario import moved_rules
from tests.smtp import SmtpServer
from tests.workflows.helpers import runs_of
from worker import build_relay, build_worker

OUT = Path(__file__).parent / "histories"


async def save(stack: Stack, handle: Any, name: str) -> None:
    """Save the case's history and its tasks' histories as <name>-case.json and
    <name>-task-T<n>.json, once the case has ended; a task that continued as new has one
    file per run, its later runs as <name>-task-T<n>-run<k>.json."""
    final = await handle.result()
    for wid in [handle.id] + [t.task_id for t in final.tasks]:
        kind = "case" if wid == handle.id else "task-" + wid.rsplit("-", 1)[1]
        await save_runs(stack, wid, f"{name}-{kind}")


async def save_runs(stack: Stack, workflow_id: str, stem: str) -> None:
    """Save every run of a workflow: <stem>.json, then <stem>-run<k>.json."""
    for k, history in enumerate(await runs_of(stack, workflow_id), start=1):
        path = OUT / f"{stem}{f'-run{k}' if k > 1 else ''}.json"
        if path.exists():
            raise SystemExit(f"{path.name} exists: a saved history is never overwritten")
        path.write_text(history.to_json())
        print("saved", path.name)


async def main(version: str) -> None:
    scenarios = importlib.import_module(f"tests.workflows.record_{version}")
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=sealed_converter(),
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
    )
    tmp = Path(tempfile.mkdtemp())
    smtp = SmtpServer()  # the mails are not kept, but sending them must not fail
    smtp.start()
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'a.db'}",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        codec_keys=TEST_KEYS,
    )
    # Scenarios travel to dates written for them (tests/scenario.py moves them past
    # today, and the rules' calendar with them), so a recorder can run again any year.
    settings = settings.model_copy(update={"rules_dir": moved_rules(settings.rules_dir, tmp)})
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    tq = f"tq-{uuid.uuid4()}"
    try:
        with ThreadPoolExecutor(8) as ex:
            worker = build_worker(env.client, settings, engine, task_queue=tq, executor=ex)
            async with worker as w, build_relay(settings, engine).running():
                await scenarios.record(Stack(env.client, settings, engine, tq, w, env))
    finally:
        await env.shutdown()
        smtp.stop()
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)  # the histories are saved; the rest goes


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "v2"))
