"""Generated intakes and actions (Hypothesis, bench/chaos/intents.py) sent through the
API of a live stack, one after another, as clerks, handlers, supervisors and the rest
of the directory: every answer must be under 500, without a stack trace, every refusal
one line in ``{"detail": …}``, and a refused action must leave nothing in the history of
the workflow it was aimed at (no accepted Update), a refused intake no workflow at all.

It runs in a thread of its own (Hypothesis is synchronous); ``history`` reads a
workflow's accepted Updates through the caller's Temporal client."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from bench.chaos.intents import REUSE, intakes, verb_bodies
from bench.chaos.load import API, CLERK, HTTP_TIMEOUT
from bench.chaos.stack import PASSWORD, Stack
from client import connect
from models.case import case_id_for
from routing_rules import RuleSet, load_ruleset
from services.actions import CASE_VERBS, TASK_VERBS

STEPS = 10  # steps per Hypothesis example
# Task verbs, the everyday ones more often, so that tasks move on and later verbs meet
# tasks in every state.
TASK_MIX = sorted(TASK_VERBS) + ["accept"] * 3 + ["note", "complete", "return", "request-info"]
SUPERVISOR = "sup.zhang"
# Extra keys a refusal may carry beside "detail" (services/places.py: an address's choices).
EXTRAS = {"field", "reason", "candidates"}

History = Callable[[str], int | None]  # accepted Updates of a workflow; None: no such one


@dataclass
class Tally:
    steps: int = 0
    answers: Counter[str] = field(default_factory=Counter)  # "open 201", "accept 409", …
    history_checked: int = 0  # refusals whose workflow's history was compared
    problems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(n for k, n in self.answers.items() if k.split()[-1].startswith("2"))


@dataclass
class World:
    """What exists so far, to aim the next steps at."""

    cases: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)  # request ids sent
    updates: dict[str, int] = field(default_factory=dict)  # workflow → accepted Updates


class Generated:
    def __init__(self, base: str, password: str, rules: RuleSet, history: History) -> None:
        self.http = httpx.Client(base_url=base + API, timeout=HTTP_TIMEOUT, trust_env=False)
        self.password, self.rules, self.history = password, rules, history
        self.tokens: dict[str, str] = {}
        self.world = World()
        self.tally = Tally()
        self.staff = sorted(rules.staff)
        self.bodies = verb_bodies(rules)

    def close(self) -> None:
        self.http.close()

    def token(self, staff: str) -> str:
        if staff not in self.tokens:
            r = self.http.post("/token", data={"username": staff, "password": self.password})
            if r.status_code != 200:
                raise RuntimeError(f"{staff} cannot log in: {r.status_code} {r.text[:200]}")
            self.tokens[staff] = str(r.json()["access_token"])
        return self.tokens[staff]

    def send(
        self, what: str, staff: str, method: str, path: str, body: Any = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(staff)}"}
        r = self.http.request(method, path, json=body, headers=headers)
        self.tally.answers[f"{what} {r.status_code}"] += 1
        self.tally.problems += [f"{what} {method} {path}: {p}" for p in answer_problems(r)]
        return r

    # ---- steps -------------------------------------------------------------------

    def intake(self, body: dict[str, Any]) -> None:
        rid = body.get("request_id")
        fresh = isinstance(rid, str) and rid not in self.world.used
        if isinstance(rid, str):
            self.world.used.add(rid)
        r = self.send("open", CLERK, "POST", "/cases", body)
        if r.status_code == 201:
            case_id = str(r.json()["case_id"])
            if case_id not in self.world.cases:
                self.world.cases.append(case_id)
            if isinstance(body.get("phone"), str):
                self.world.phones.append(body["phone"])
        elif fresh and isinstance(rid, str):
            self.tally.history_checked += 1
            if self.history(case_id_for(rid)) is not None:
                self.tally.problems.append(
                    f"open {r.status_code}, yet workflow {case_id_for(rid)} runs"
                )

    def tasks_of(self, case_id: str) -> list[dict[str, Any]]:
        r = self.send("read", CLERK, "GET", f"/cases/{case_id}")
        return list(r.json().get("tasks", [])) if r.status_code == 200 else []

    def action(self, verb: str, target: str, staff: str, body: dict[str, Any]) -> None:
        kind = "tasks" if verb in TASK_VERBS else "cases"
        before = self.world.updates.get(target)
        if before is None:
            before = self.history(target)
        r = self.send(verb, staff, "POST", f"/{kind}/{target}/{verb}", body)
        if r.status_code < 300:
            self.world.updates.pop(target, None)  # an action was taken
            return
        if before is None:
            return  # no such workflow: nothing to leave anything in
        after = self.history(target)
        self.tally.history_checked += 1
        if after != before:
            self.tally.problems.append(
                f"{verb} on {target} refused ({r.status_code}), yet its history took "
                f"{(after or 0) - before} Update(s)"
            )
        self.world.updates[target] = after if after is not None else before

    def step(self, data: st.DataObject) -> None:
        """One step. Every step draws the same things in the same order, whatever exists
        so far (Hypothesis requires that drawing not depend on outside state), and picks
        among what exists by index."""
        self.tally.steps += 1
        intake = data.draw(intakes(self.rules), label="intake")
        kind = data.draw(st.integers(0, 9), label="kind")  # 0-2 intake, 3-7 task, 8-9 case
        pick = data.draw(st.lists(st.integers(0, 1 << 16), min_size=4, max_size=4), label="pick")
        task_verb = data.draw(st.sampled_from(TASK_MIX), label="task verb")
        case_verb = data.draw(st.sampled_from(sorted(CASE_VERBS)), label="case verb")
        aim = data.draw(st.integers(0, 9), label="aim")
        own = data.draw(st.integers(0, 3), label="own") > 0
        verb = task_verb if kind < 8 else case_verb
        body = data.draw(self.bodies[verb], label="body")
        world = self.world
        if kind < 3 or not world.cases:
            if intake.get("phone") == REUSE:
                phones = world.phones or ["13800138001"]
                intake["phone"] = phones[pick[3] % len(phones)]
            self.intake(intake)
            return
        case_id = world.cases[pick[0] % len(world.cases)]
        if kind < 8:
            tasks = self.tasks_of(case_id)
            task = tasks[pick[1] % len(tasks)] if tasks and aim < 8 else None
            target = task["id"] if task else [case_id, f"{case_id}-T99", "x"][aim % 3]
            # Mostly one of the task's own handlers; else anyone in the directory.
            who = self.staff
            if task and own:
                who = self.rules.handlers_of(str(task["office"])) or self.staff
        else:
            target = case_id
            who = [SUPERVISOR, CLERK] if own else self.staff
        self.action(verb, str(target), who[pick[2] % len(who)], body)

    def run(self, examples: int, seed_value: int) -> Tally:
        """``examples`` × STEPS steps, drawn from ``seed_value``."""

        @seed(seed_value)
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            # No shrinking: on a live stack every replay changes state; the problems
            # name the request as sent.
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def batch(data: st.DataObject) -> None:
            for _ in range(STEPS):
                self.step(data)

        random.seed(seed_value)
        batch()
        return self.tally


def answer_problems(r: httpx.Response) -> list[str]:
    """What is wrong with an answer: a 5xx, a stack trace, a refusal not one line."""
    problems = []
    text = r.text
    if r.status_code >= 500:
        problems.append(f"server error {r.status_code}: {text[:300]}")
    if "Traceback" in text:
        problems.append("a stack trace in the answer")
    if r.status_code >= 400:
        try:
            body = r.json()
        except ValueError:
            return [*problems, f"a refusal that is not JSON: {text[:200]}"]
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(body, dict) or not set(body) - {"detail"} <= EXTRAS:
            problems.append(f"a refusal that is not {{'detail': …}}: {text[:200]}")
        elif not isinstance(detail, str) or not detail.strip() or "\n" in detail:
            problems.append(f"a refusal whose detail is not one line: {detail!r}")
    return problems


async def accepted_updates(client: Client, workflow_id: str) -> int | None:
    try:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as e:
        if e.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT):
            return None
        raise
    return sum(
        1
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    )


def tracebacks(*logs: Path) -> list[str]:
    """The lines naming an exception after each "Traceback" in the parts' logs."""
    found = []
    for log in logs:
        lines = log.read_text("utf-8", "replace").splitlines() if log.exists() else []
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                last = next((x for x in lines[i + 1 :] if x and not x[0].isspace()), "")
                found.append(f"{log.name}: {last[:200]}")
    return found


async def generate(stack: Stack, examples: int, seed_value: int) -> Tally:
    """``examples`` × STEPS generated steps against ``stack`` (started, no faults);
    tracebacks in its API's and worker's logs count as problems."""
    loop = asyncio.get_running_loop()
    client = await connect(stack.settings)

    def history(workflow_id: str) -> int | None:
        return asyncio.run_coroutine_threadsafe(accepted_updates(client, workflow_id), loop).result(
            60
        )

    rules = load_ruleset(stack.settings.rules_dir)
    runner = Generated(stack.api_base, PASSWORD, rules, history)
    try:
        tally = await asyncio.to_thread(runner.run, examples, seed_value)
    finally:
        runner.close()
    tally.problems += [f"traceback in {t}" for t in tracebacks(stack.api.log, stack.worker.log)]
    return tally
