"""`appeals health` against a real stack: a Temporal dev server, the worker polling its
task queue, the SQLite read model, an SMTP server — then with parts of it broken."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from alembic.script import ScriptDirectory
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment

from db.engine import alembic_config
from db.tables import ProjectionLagRow
from services.health import worker
from settings import Settings
from tests.commands.conftest import Appeals
from tests.conftest import BIN, Stack, eventually, running_stack
from tests.keys import TEST_KEYS, sealed_converter
from tests.smtp import SmtpServer


@pytest_asyncio.fixture
async def dev_stack(settings: Settings) -> AsyncIterator[Stack]:
    env = await WorkflowEnvironment.start_local(
        data_converter=sealed_converter(),
        dev_server_existing_path=str(BIN / "temporal"),
        ip="127.0.0.1",
        dev_server_extra_args=["--log-level", "error"],
    )
    try:
        async with running_stack(env, settings) as stack:
            yield stack
    finally:
        await env.shutdown()


def health(
    appeals: Appeals, stack: Stack, smtp: SmtpServer, code: int
) -> dict[str, dict[str, Any]]:
    proc = appeals(
        "health",
        "--json",
        code=code,
        APPEALS_TEMPORAL_ADDRESS=stack.client.service_client.config.target_host,
        APPEALS_TASK_QUEUE=stack.task_queue,
        APPEALS_CODEC_KEYS=TEST_KEYS,
        APPEALS_DATABASE_URL=stack.settings.db_url,
        APPEALS_SMTP_HOST=smtp.host,
        APPEALS_SMTP_PORT=str(smtp.port),
    )
    data = json.loads(proc.stdout)
    assert data["ok"] is (code == 0)
    return {c["name"]: c for c in data["checks"]}


async def test_health_of_a_running_stack_then_of_broken_parts(
    appeals: Appeals, dev_stack: Stack, smtp: SmtpServer, tmp_path: Path
) -> None:
    async def polling() -> bool:
        s = dev_stack.settings.model_copy(update={"task_queue": dev_stack.task_queue})
        return (await worker(s, dev_stack.client, datetime.now(UTC))).status == "ok"

    await eventually(polling)  # a worker's first poll reaches the server after a moment
    checks = health(appeals, dev_stack, smtp, 0)
    assert [n for n, c in checks.items() if c["status"] == "down"] == []
    assert "namespace default" in checks["temporal"]["detail"]
    assert checks["worker"]["data"]["workflow"] >= 1 and checks["worker"]["data"]["activity"] >= 1
    head = ScriptDirectory.from_config(alembic_config(dev_stack.settings.db_url)).get_current_head()
    assert f"migration head {head}" in checks["database"]["detail"]
    assert "EHLO 250" in checks["smtp"]["detail"]
    assert checks["projection lag"]["status"] == "ok"
    assert checks["outbox"]["data"]["queued"] == 0
    # The calendar warning is said here (and in the log), once per missing year.
    year = datetime.now(UTC).year
    if checks["calendar"]["status"] == "warn":
        assert "has no official holiday schedule" in checks["calendar"]["detail"]
        assert set(checks["calendar"]["data"]["years"]) <= {year, year + 1}

    # A projection that has been failing for ten minutes is an outage of the read model.
    with Session(dev_stack.engine) as session:
        now = datetime.now(UTC)
        session.add(
            ProjectionLagRow(
                workflow_id="AP-X-T1",
                case_id="AP-X",
                since=now - timedelta(minutes=10),
                attempts=7,
                last_error="IntegrityError: refused",
                updated_at=now,
            )
        )
        session.commit()
    smtp.stop()
    checks = health(appeals, dev_stack, smtp, 1)
    assert checks["projection lag"]["status"] == "down"
    assert "1 workflow(s) behind, oldest change 10m" in checks["projection lag"]["detail"]
    assert checks["smtp"]["status"] == "down"
    assert checks["temporal"]["status"] == "ok"

    # Nothing reachable at all: every line says so, and the human output is one per check.
    gone = appeals(
        "health",
        code=1,
        APPEALS_TEMPORAL_ADDRESS="127.0.0.1:1",
        APPEALS_DATABASE_URL=f"sqlite:///{tmp_path / 'nothing' / 'here.db'}",
        APPEALS_SMTP_HOST="127.0.0.1",
        APPEALS_SMTP_PORT="1",
    )
    lines = gone.stdout.strip().splitlines()
    assert len(lines) == 7 and lines[0].startswith("down temporal")
