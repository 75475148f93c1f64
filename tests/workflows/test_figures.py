"""The figures of cases run through the real workflows on the time-skipping server, with
the expected values worked out by hand: returns, a wrongful return, a transfer, a pause,
extensions granted and denied, a reopen, a withdrawal, a late office and its breaches.

Eight housing cases (one office each: the 天河 housing office, "X") are opened on
Monday 7 Dec 2026 at 09:30 (Shanghai). Sign-for is 1wd (due Tue 8 Dec 17:30), reply
5wd (due Mon 14 Dec 17:30). Then time runs to Wed 16 Dec 10:00:

    A  signed, resolved, satisfied
    B  signed, unresolvable, unsatisfied → reopened at X (B2): signed, resolved, satisfied
    C  left alone until 16 Dec 10:00: signed late, replied late, resolved, unreachable
    D  signed, paused (待补充材料) from Monday to 16 Dec, an extension denied; replied
       on 16 Dec, after the 14 Dec due but on time, since the pause stopped the clock
    E  signed, an extension of 5wd approved; replied on 16 Dec, on time; satisfied
    F  withdrawn at once, before any clock came due
    G  signed, returned to 人社 (G2 at 天河人社局), then designated back to X (G3):
       a wrongful return; G3 signed and resolved, no callback yet
    H  signed, transferred to 天河人社局 (H2, never signed)

At X: received 10 (A B1 B2 C D E F G1 G3 H); 签收率 8/9 (F never came due; C late);
按时办结率 6/7 (A B1 B2 D E G3 on time, C late); 解决率 5/7 (resolved: A B2 C D G3;
B1 unresolvable, E partially resolved); 满意率 4/5 (A B2 D E; B1 unsatisfied; C
unreachable is no verdict); returns 1, wrongful 1, transfers 1, designations 1;
extensions asked 2 (D, E), granted 1 (E); rung 1 and rung 3: C only.
C signed after 49.5 office hours: Mon 09:30–17:30 less lunch 6.5 h, six full working
days 42 h, Wed 09:00–10:00 1 h. At 天河人社局: received 2, one by return, one by transfer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete
from sqlmodel import Session
from temporalio.api.testservice.v1 import SleepRequest
from temporalio.service import RPCError

from activities.calendar_source import CalendarSource
from activities.facts import FigureMath, rebuild
from db.tables import TaskFigureRow
from models.case import CallbackInput, DesignateInput, WithdrawInput
from models.tasks import (
    AcceptInput,
    CompleteInput,
    DecideExtensionInput,
    ExtendInput,
    ProvideInfoInput,
    RequestInfoInput,
    ReturnInput,
    TaskState,
    TransferInput,
)
from reports.figures import Dimension, Window, drill, figures
from tests.conftest import Stack, eventually
from tests.scenario import at
from tests.workflows.helpers import (
    act,
    case_state,
    intake,
    open_case,
    projected,
    task_of,
    wait_status,
    wait_tasks,
)
from tests.workflows.test_clocks import travel_to

SH = ZoneInfo("Asia/Shanghai")
T0 = at("2026-12-07T09:30")  # Monday, played whole weeks later (tests/scenario.py)
LATER = at("2026-12-16T10:00")  # Wednesday of the next week
HOUSING = {"category": "housing", "residence": "440106"}
CLERK, SUP = "clerk.li", "sup.zhang"


async def skip_to(stack: Stack, when: datetime) -> None:
    """``travel_to``, asked again when the test server does not answer: with eight cases'
    notices in flight, its first sleep request now and then never returns (the clock
    stays where it was), while the same request sent again runs. Observed on
    temporal-test-server 1.40.0 on a loaded machine; each retry resumes from where
    the clock stands."""
    for _ in range(5):
        now = await stack.env.get_current_time()
        if now >= when:
            return
        req = SleepRequest()
        req.duration.FromTimedelta(when - now)
        try:
            await stack.client.test_service.unlock_time_skipping_with_sleep(
                req, timeout=timedelta(seconds=20)
            )
            return
        except RPCError as e:
            if "Timeout" not in e.message:
                raise
    raise AssertionError(f"the test server's clock did not reach {when} in five requests")


async def lead_of(handle: Any) -> TaskState:
    (lead,) = [t for t in await wait_tasks(handle, 1) if t.role.value == "lead"]
    return lead


async def new_lead(handle: Any, known: set[str]) -> TaskState:
    async def check() -> str | None:
        state = await case_state(handle)
        fresh = [
            t.task_id for t in state.tasks if t.task_id not in known and t.role.value == "lead"
        ]
        return fresh[0] if fresh else None

    return await task_of(handle, await eventually(check))


async def finish(stack: Stack, task: TaskState, outcome: str, accept: bool = True) -> None:
    who = task.handlers[0]
    if accept:
        await act(stack, task.task_id, "accept", AcceptInput(actor=who))
    await act(
        stack, task.task_id, "complete", CompleteInput(actor=who, outcome=outcome, reply="已答复")
    )


async def callback(handle: Any, result: str) -> None:
    await wait_status(handle, "awaiting_callback")
    await handle.execute_update("callback", CallbackInput(actor=CLERK, result=result))


async def test_rates_of_cases_run_through_the_workflows(clock_stack: Stack) -> None:
    stack = clock_stack
    await travel_to(stack, T0)
    cases = {name: await open_case(stack, intake(**HOUSING)) for name in "ABCDEFGH"}
    lead = {name: await lead_of(h) for name, h in cases.items()}
    assert (lead["A"].department, lead["A"].region) == ("housing", "440106")
    who = lead["A"].handlers[0]

    await finish(stack, lead["A"], "resolved")
    await callback(cases["A"], "satisfied")

    await finish(stack, lead["B"], "unresolvable")
    await callback(cases["B"], "unsatisfied")
    b2 = await new_lead(cases["B"], {lead["B"].task_id})
    await finish(stack, b2, "resolved")
    await callback(cases["B"], "satisfied")

    d = lead["D"].task_id
    await act(stack, d, "accept", AcceptInput(actor=who))
    await act(stack, d, "request_info", RequestInfoInput(actor=who, question="请提供租赁合同"))
    await act(stack, d, "extend", ExtendInput(actor=who, period="5wd", reason="需现场核查"))
    await act(stack, d, "deny_extension", DecideExtensionInput(actor=SUP, reason="暂停已足够"))

    e = lead["E"].task_id
    await act(stack, e, "accept", AcceptInput(actor=who))
    await act(stack, e, "extend", ExtendInput(actor=who, period="5wd", reason="需调取档案"))
    await act(stack, e, "approve_extension", DecideExtensionInput(actor=SUP))

    await cases["F"].execute_update("withdraw", WithdrawInput(actor=CLERK, reason="已自行解决"))

    g = lead["G"].task_id
    await act(stack, g, "accept", AcceptInput(actor=who))
    await act(
        stack, g, "return", ReturnInput(actor=who, reason="属欠薪纠纷，应由人社办理", owner="hrss")
    )
    g2 = await new_lead(cases["G"], {g})
    assert (g2.department, g2.region) == ("hrss", "440106")
    await cases["G"].execute_update(
        "designate",
        DesignateInput(actor=SUP, department="housing", region="440106", reason="属住房保障"),
    )
    g3 = await new_lead(cases["G"], {g, g2.task_id})
    await finish(stack, g3, "resolved")

    h = lead["H"].task_id
    await act(stack, h, "accept", AcceptInput(actor=who))
    await act(
        stack,
        h,
        "transfer",
        TransferInput(actor=who, department="hrss", region="440106", reason="实为工资争议"),
    )
    h2 = await new_lead(cases["H"], {h})

    # A week and a half later: C at last, D's material arrives, E within its extension.
    for handle in cases.values():  # everything said so far has landed before time runs
        await projected(stack, handle.id)
    await skip_to(stack, LATER)
    await finish(stack, lead["C"], "resolved")
    await callback(cases["C"], "unreachable")
    await act(stack, d, "provide_info", ProvideInfoInput(actor=CLERK, text="合同复印件两页"))
    await act(stack, d, "complete", CompleteInput(actor=who, outcome="resolved", reply="已答复"))
    await callback(cases["D"], "satisfied")
    await act(
        stack, e, "complete", CompleteInput(actor=who, outcome="partially_resolved", reply="已答复")
    )
    await callback(cases["E"], "satisfied")
    for handle in cases.values():
        await projected(stack, handle.id)

    window = Window(at("2026-12-01T00:00").date(), at("2026-12-31T00:00").date())
    with Session(stack.engine) as session:
        rows = {r.key: r for r in figures(session=session, by=Dimension.office, window=window)}
        x = rows["housing.tianhe"]
        hrss = rows["hrss.tianhe"]
        late_total, late = drill(
            session=session, by=Dimension.office, key=x.key, metric="rung_1", window=window
        )
        wrong_total, wrong = drill(
            session=session, by=Dimension.office, key=x.key, metric="wrongful_returns",
            window=window,
        )  # fmt: skip
    c = x.counts
    assert c["received"] == 10
    assert (c["signed_on_time"], c["sign_due"]) == (8, 9)
    assert x.rate("sign_rate") == pytest.approx(8 / 9)
    assert (c["replied_on_time"], c["reply_due"]) == (6, 7)
    assert (c["resolved"], c["replies"]) == (5, 7)
    assert (c["satisfied"], c["callbacks"]) == (4, 5)
    assert x.rate("satisfaction_rate") == pytest.approx(0.8)
    assert (c["returns_given"], c["wrongful_returns"], c["transfers_given"]) == (1, 1, 1)
    assert (c["designations_received"], c["returns_received"]) == (1, 0)
    assert (c["extensions_asked"], c["extensions_granted"]) == (2, 1)
    assert (c["rung_1"], c["rung_3"]) == (1, 1)
    assert late_total == 1 and late[0].task_id == lead["C"].task_id
    assert wrong_total == 1 and wrong[0].task_id == g
    # Nine signed: eight within a minute or two of receipt, C after 49.5 office hours.
    assert x.minutes["sign_p50"] is not None and x.minutes["sign_p50"] <= 2
    assert x.minutes["sign_p90"] is not None and abs(x.minutes["sign_p90"] - 2970) <= 2
    assert hrss.counts["received"] == 2
    assert (hrss.counts["returns_received"], hrss.counts["transfers_received"]) == (1, 1)
    assert h2.task_id in {t.task_id for t in (await case_state(cases["H"])).tasks}

    # Derived again from scratch (appeals report-rebuild), the figures are the same.
    with Session(stack.engine) as session:
        session.execute(delete(TaskFigureRow))
        session.commit()
    # As `appeals report-rebuild` does, with the deployment's calendar file.
    calendar = CalendarSource(stack.settings.rules_dir / "calendar.yaml")
    assert rebuild(stack.engine, FigureMath(calendar, SH)) == 8
    with Session(stack.engine) as session:
        again = {r.key: r for r in figures(session=session, by=Dimension.office, window=window)}
    assert again["housing.tianhe"].counts == c
    assert again["housing.tianhe"].minutes == x.minutes
