"""Repeat appeals (重复来电) on the time-skipping server, through the intake service:
matched on keyed hashes, merged into an open case, linked to a recently closed one,
and not a repeat once the window has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from db import queries
from db.tables import CaseRow
from models.case import case_id_for
from services import cases
from services.errors import BadInput, Conflict
from tests.conftest import Stack, eventually
from tests.smtp import SmtpServer
from tests.workflows.helpers import case_state, events, projected, wait_tasks
from tests.workflows.intake_helpers import call, close_case, person, services_for


def row(stack: Stack, case_id: str) -> CaseRow:
    with Session(stack.engine) as session:
        found = queries.get_case(session=session, case_id=case_id)
        assert found is not None
        return found


async def test_a_repeat_on_an_open_case_is_merged_not_a_second_case(
    stack: Stack, smtp: SmtpServer
) -> None:
    ctx, clerk = await services_for(stack), person(stack, "clerk.li")
    first = await cases.intake(ctx, clerk, call("rep-open-1"))
    handle = stack.client.get_workflow_handle(first.case_id)
    await wait_tasks(handle, 2)
    await projected(stack, first.case_id)
    # The read model holds keyed hashes, not something a phone number can be looked up by.
    stored = row(stack, first.case_id)
    assert (
        stored.phone_hash
        and len(stored.phone_hash) == 64
        and "13800138001" not in stored.phone_hash
    )

    # The same worker calls again about the same thing: the clerk sees the open case
    # before submitting, and submitting without a choice changes nothing.
    again = call("rep-open-2", summary="再次来电：工资仍未支付，站长仍失联")
    [match] = cases.preview_repeats(ctx, clerk, again)
    assert (match["case_id"], match["action"], match["matched_on"]) == (
        first.case_id,
        "merge",
        ["phone"],
    )
    with pytest.raises(Conflict, match=first.case_id):
        await cases.intake(ctx, clerk, again)
    with pytest.raises(BadInput, match="is not a case this call repeats"):
        await cases.intake(ctx, clerk, again | {"repeat_of": "AP-NOSUCHCASE"})

    merged = await cases.intake(ctx, clerk, again | {"repeat_of": first.case_id})
    assert (merged.case_id, merged.merged) == (first.case_id, True)
    # Merged once even when the clerk's submit is retried.
    await cases.intake(ctx, clerk, again | {"repeat_of": first.case_id})

    state = await case_state(handle)
    assert (state.repeats, state.priority, len(state.tasks)) == (1, 1, 2)  # no second task
    with pytest.raises(Exception, match="not found"):
        await stack.client.get_workflow_handle(case_id_for("rep-open-2")).describe()

    async def repeat_event() -> list[str] | None:
        rows = [e for e in events(stack, first.case_id) if e.action == "repeat"]
        return [e.detail or "" for e in rows] or None

    assert await eventually(repeat_event) == ["再次来电：工资仍未支付，站长仍失联"]
    assert row(stack, first.case_id).priority == 1

    # Each office working on the case is told, by mail, with nothing personal in it.
    async def told() -> list[str] | None:
        found = [
            m["To"]
            for m in smtp.inbox.messages()
            if "重复来电" in str(m["Subject"]) and m["X-Appeals-Case"] == first.case_id
        ]
        return found if len(found) == 2 else None

    recipients = " ".join(await eventually(told))
    assert "hrss.tianhe@appeals.example" in recipients
    assert "union.tianhe@appeals.example" in recipients
    bodies = [m.get_body(("plain",)).get_content() for m in smtp.inbox.messages()]  # type: ignore[union-attr]
    assert not any("13800138001" in b or "王小明" in b for b in bodies)


async def test_a_repeat_after_close_opens_a_linked_case(clock_stack: Stack) -> None:
    stack = clock_stack
    ctx, clerk = await services_for(stack), person(stack, "clerk.li")
    first = await cases.intake(ctx, clerk, call("rep-closed-1", id_number="11010519491231002X"))
    await close_case(stack, first.case_id)
    await projected(stack, first.case_id)

    await stack.env.sleep(timedelta(days=10))
    ctx.at = await stack.env.get_current_time()
    # Another phone, the same ID number: still the same worker.
    again = call("rep-closed-2", phone="13900139002", id_number="11010519491231002X")
    [match] = cases.preview_repeats(ctx, clerk, again)
    assert (match["action"], match["matched_on"]) == ("link", ["id_number"])
    with pytest.raises(Conflict, match=f"repeats {first.case_id}"):
        await cases.intake(ctx, clerk, again)
    linked = await cases.intake(ctx, clerk, again | {"repeat_of": first.case_id})
    assert linked.case_id != first.case_id and linked.repeat_of == first.case_id
    assert not linked.merged
    await wait_tasks(stack.client.get_workflow_handle(linked.case_id), 2)
    await projected(stack, linked.case_id)
    assert row(stack, linked.case_id).repeat_of == first.case_id


async def test_a_call_after_the_window_is_not_a_repeat(clock_stack: Stack) -> None:
    stack = clock_stack
    ctx, clerk = await services_for(stack), person(stack, "clerk.li")
    first = await cases.intake(ctx, clerk, call("rep-late-1"))
    await close_case(stack, first.case_id)
    await projected(stack, first.case_id)

    await stack.env.sleep(timedelta(days=31))
    ctx.at = await stack.env.get_current_time()
    later = call("rep-late-2")
    assert cases.preview_repeats(ctx, clerk, later) == []
    fresh = await cases.intake(ctx, clerk, later)  # no choice needed: nothing matches
    assert fresh.case_id != first.case_id and fresh.repeat_of is None
    await projected(stack, fresh.case_id)
    assert row(stack, fresh.case_id).repeat_of is None
    # A different platform is a different matter, even within the window.
    assert cases.preview_repeats(ctx, clerk, call("x", platform="eleme")) == []
