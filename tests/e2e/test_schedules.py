"""The digests' Temporal Schedules on a real dev server (the time-skipping server has
none): created once and updated in place when every worker starts, a pause that
survives a restart, `appeals schedules` against the server, and a run the schedule
started while no worker polled, caught up once when a worker comes back and never
doubled by a manual trigger the same day."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlmodel import Session, col, select
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    ScheduleRange,
)
from temporalio.testing import WorkflowEnvironment

from db.tables import TaskRow
from models.digest import DigestResult
from schedules import CATCHUP_WINDOW, DIGEST, PURGE, SCHEDULES, WEEKLY, ensure_schedules
from settings import Settings
from sla import WorkCalendar, load_overrides
from tests.commands.conftest import Appeals
from tests.conftest import eventually, running_stack
from tests.keys import TEST_KEYS
from tests.smtp import SmtpServer
from tests.workflows.helpers import intake, open_case, wait_tasks


@pytest_asyncio.fixture
async def client(dev_env: WorkflowEnvironment) -> AsyncIterator[Client]:
    """The dev server's client; the schedules are deleted after the test (their ids are
    the deployment's, so two tests must not hold them at once)."""
    yield dev_env.client
    for sid in SCHEDULES:
        try:
            await dev_env.client.get_schedule_handle(sid).delete()
        except Exception:  # noqa: BLE001, S110 - not created by this test
            pass


def on_queue(settings: Settings) -> Settings:
    return settings.model_copy(update={"task_queue": f"tq-{uuid.uuid4()}"})


@pytest.fixture
def appeals(tmp_path: Path, dev_env: WorkflowEnvironment) -> Appeals:
    """`appeals` as an administrator runs it, against the dev server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPEALS_")}
    env |= {
        "APPEALS_DATA_DIR": str(tmp_path / "var"),
        "APPEALS_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "APPEALS_CODEC_KEYS": TEST_KEYS,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "COLUMNS": "200",
    }
    return Appeals(data_dir=tmp_path / "var", env=env)


async def test_created_once_updated_in_place_and_a_pause_survives_a_restart(
    client: Client, settings: Settings, appeals: Appeals
) -> None:
    s = on_queue(settings)
    assert await ensure_schedules(client, s) == [f"{sid} created" for sid in SCHEDULES]
    appeals("schedules", "pause", DIGEST, "--note", "国庆值班安排")
    # A worker starting again (any worker, any number of times) changes nothing else.
    assert await ensure_schedules(client, s) == [f"{sid} updated" for sid in SCHEDULES]
    d: ScheduleDescription = await client.get_schedule_handle(DIGEST).describe()
    assert d.schedule.state.paused and d.schedule.state.note == "国庆值班安排"
    assert d.schedule.spec.time_zone_name == "Asia/Shanghai"
    (cal,) = d.schedule.spec.calendars
    assert (cal.hour, cal.minute) == ((ScheduleRange(9),), (ScheduleRange(0),))
    assert d.schedule.policy.overlap is ScheduleOverlapPolicy.BUFFER_ONE
    assert d.schedule.policy.catchup_window == CATCHUP_WINDOW
    purge = await client.get_schedule_handle(PURGE).describe()
    (cal,) = purge.schedule.spec.calendars
    assert (cal.hour, cal.minute) == ((ScheduleRange(3),), (ScheduleRange(0),))
    listed = appeals("schedules", "list", "--json").stdout
    assert '"paused": true' in listed and WEEKLY in listed and PURGE in listed
    appeals("schedules", "unpause", DIGEST)
    assert not (await client.get_schedule_handle(DIGEST).describe()).schedule.state.paused
    refused = appeals("schedules", "trigger", "no-such", code=1)
    assert "unknown schedule 'no-such'" in refused.stderr


async def runs(client: Client, count: int) -> list[str]:
    async def check() -> list[str] | None:
        d = await client.get_schedule_handle(DIGEST).describe()
        ids = [
            r.action.workflow_id
            for r in d.info.recent_actions
            if isinstance(r.action, ScheduleActionExecutionStartWorkflow)
        ]
        return ids if len(ids) >= count else None

    return await eventually(check, timeout=60)


async def test_a_run_missed_while_the_worker_was_down_is_caught_up_once(
    client: Client, dev_env: WorkflowEnvironment, settings: Settings, smtp: SmtpServer
) -> None:
    s = on_queue(settings)
    async with running_stack(dev_env, s, task_queue=s.task_queue) as stack:
        handle = await open_case(stack, intake())
        await wait_tasks(handle, 2)

        async def projected() -> bool:
            with Session(stack.engine) as db:
                rows = db.exec(select(TaskRow).where(col(TaskRow.case_id) == handle.id)).all()
                return len(rows) == 2

        await eventually(projected)
    # The worker is down. The digest's time comes (a few seconds from now, for the test).
    fire = (datetime.now(s.tz) + timedelta(seconds=6)).replace(microsecond=0)
    spec = ScheduleCalendarSpec(
        second=(ScheduleRange(fire.second),),
        minute=(ScheduleRange(fire.minute),),
        hour=(ScheduleRange(fire.hour),),
    )
    await ensure_schedules(client, s, digest_at=spec)
    (missed,) = await runs(client, 1)  # started by the server; it waits for a worker
    calendar = WorkCalendar(load_overrides(s.rules_dir / "calendar.yaml"))
    working = calendar.is_workday(fire.date())
    async with running_stack(dev_env, s, task_queue=s.task_queue):
        first: DigestResult = await client.get_workflow_handle(
            missed, result_type=DigestResult
        ).result()
        assert first.day == fire.date() and first.working_day is working
        if working:
            assert sorted(first.mailed) == ["hrss.tianhe", "union.tianhe"]

            async def delivered() -> list[str] | None:
                found = [
                    m["To"].addresses[0].addr_spec
                    for m in smtp.inbox.messages()
                    if m["X-Appeals-Event"] == "digest"
                ]
                return found if len(found) >= 2 else None

            assert sorted(await eventually(delivered)) == [
                "hrss.tianhe@appeals.example",
                "union.tianhe@appeals.example",
            ]
        # An administrator triggers it again the same day: nobody is mailed twice.
        await client.get_schedule_handle(DIGEST).trigger()
        _, again = await runs(client, 2)
        second: DigestResult = await client.get_workflow_handle(
            again, result_type=DigestResult
        ).result()
        assert second.mailed == []
        if working:
            assert sorted(second.already) == ["hrss.tianhe", "union.tianhe"]
    assert len([m for m in smtp.inbox.messages() if m["X-Appeals-Event"] == "digest"]) == (
        2 if working else 0
    )
