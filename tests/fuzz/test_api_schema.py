"""Every operation of /api/v1/openapi.json fuzzed (schemathesis, property-based) on a
real stack, as real people and as nobody: no 5xx, no stack trace anywhere (responses or
logs), every refusal ``{"detail": "<one line>"}``, and a refused action leaves nothing
in any workflow's history.

Each person gets APPEALS_FUZZ_EXAMPLES examples (default 30) of every operation their
role may do; the operations refused to them at the door, and every operation for nobody,
get a sixth of that. A longer run (more than the default) also gets schemathesis'
coverage cases: ``APPEALS_FUZZ_EXAMPLES=300 .venv/bin/pytest tests/fuzz``.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import Case
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response
from schemathesis.filters import HasAPIOperation
from schemathesis.specs.openapi.schemas import OpenApiSchema

from api.app import create_app
from auth.identity import principal_for
from auth.policy import Action, Role, scope_of
from models.tasks import TaskStatus
from routing_rules import DEFAULT_RULES_DIR, load_ruleset
from services.actions import CASE_VERBS, TASK_VERBS
from settings import Settings
from tests.fuzz.conftest import (
    ADMIN,
    API,
    BYSTANDER,
    CLERK,
    HANDLER,
    SUPERVISOR,
    Known,
    LogWatch,
    login,
)
from tests.fuzz.stack import ThreadedStack

DEFAULT_EXAMPLES = 30
EXAMPLES = int(os.environ.get("APPEALS_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
FEW = max(3, EXAMPLES // 6)
TOKEN, LOGOUT = f"POST {API}/token", f"DELETE {API}/token"

# The stack's own threads (the worker's mail, Temporal's workflows) draw from the global
# `random` while Hypothesis generates a case, which Hypothesis takes for the strategy's.
pytestmark = pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")


def served_schema() -> dict[str, Any]:
    """The app's OpenAPI document, built without a stack, so that the operations (and
    the test items) are known when pytest collects; a test checks that the running app
    serves this same document."""
    app = create_app(Settings(database_url="sqlite://"))
    try:
        return app.openapi()
    finally:
        app.state.ctx.engine.dispose()


SPEC = served_schema()


def loaded(*, coverage: bool) -> OpenApiSchema:
    config = {"phases": {"coverage": {"enabled": coverage}}}
    return schemathesis.openapi.from_dict(SPEC, config=SchemathesisConfig.from_dict(config))


# Where the role may act: generated examples, and in a long run also schemathesis'
# coverage cases (boundaries, each constraint broken in turn, other methods), which
# would double the default run. Refused at the door: a few generated examples.
full = loaded(coverage=EXAMPLES > DEFAULT_EXAMPLES)
light = loaded(coverage=False)

# The action each operation needs, as api/routes declare it (None: none but a token;
# the login needs no token at all).
NEEDS: dict[str, Action | None] = {
    TOKEN: None,
    LOGOUT: None,
    f"GET {API}/me": None,
    f"POST {API}/cases": Action.case_open,
    f"POST {API}/cases/repeats": Action.case_repeats,
    f"GET {API}/cases/{{case_id}}": Action.case_read,
    f"POST {API}/cases/{{case_id}}/reveal": Action.case_reveal,
    **{f"POST {API}/cases/{{case_id}}/{verb}": v.action for verb, v in CASE_VERBS.items()},
    f"GET {API}/tasks": Action.task_read,
    f"GET {API}/tasks/{{task_id}}": Action.task_read,
    **{f"POST {API}/tasks/{{task_id}}/{verb}": v.action for verb, v in TASK_VERBS.items()},
    f"GET {API}/supervision/overdue": Action.overdue_read,
    f"GET {API}/supervision/overdue.csv": Action.overdue_read,
    f"GET {API}/supervision/returns": Action.returns_read,
    f"GET {API}/supervision/board": Action.board_read,
    f"GET {API}/supervision/review": Action.queue_review,
    f"GET {API}/supervision/extensions": Action.queue_extensions,
    f"GET {API}/supervision/callbacks": Action.queue_callbacks,
    f"GET {API}/supervision/mail": Action.mail_read,
    f"GET {API}/reports/figures": Action.report_read,
    f"GET {API}/reports/drill": Action.report_drill,
    f"GET {API}/clusters": Action.cluster_read,
    f"GET {API}/clusters/{{cluster_id}}": Action.cluster_read,
    f"POST {API}/clusters/{{cluster_id}}/designate": Action.cluster_designate,
    f"POST {API}/clusters/{{cluster_id}}/reply": Action.cluster_reply,
    f"POST {API}/mail/{{notification_id}}/resend": Action.mail_resend,
    f"GET {API}/staff": Action.staff_read,
    f"GET {API}/rules/explain": Action.rules_explain,
    f"POST {API}/rules/reload": Action.rules_reload,
    f"GET {API}/sla/due": Action.sla_due,
    f"GET {API}/users": Action.users_admin,
    f"POST {API}/users/{{staff_id}}/disable": Action.users_admin,
    f"POST {API}/users/{{staff_id}}/enable": Action.users_admin,
    f"POST {API}/codec/decode": Action.codec_decode,
    f"POST {API}/codec/encode": Action.codec_encode,
    f"POST {API}/admin/purge": Action.admin_purge,
}


RULES = load_ruleset(DEFAULT_RULES_DIR)
REGIONS, DEPARTMENTS, PLANS = sorted(RULES.regions), sorted(RULES.departments), sorted(RULES.plans)
# Edges of time: Python's, the epoch's, and the 1970-2100 that dates must lie in.
MOMENTS = ["0001-01-01", "9999-12-31T23:59", "1970-01-01T00:00", "2100-12-31T23:59-12:00"]
# Values the directory knows, by field or query parameter name: most examples get them
# for every such field they have, so that they pass the directory's checks and reach
# the workflows (generated values alone almost never name a known region or category).
SEEDS: dict[str, list[Any]] = {
    "category": sorted(RULES.categories),
    "platform": sorted(RULES.platforms),
    "sla_plan": PLANS,
    "plan": PLANS,
    "residence": REGIONS,
    "workplace": REGIONS,
    "incident": REGIONS,
    "region": REGIONS,
    "department": DEPARTMENTS,
    "owner": DEPARTMENTS,
    "to": DEPARTMENTS + [f"{d}@{r}" for d in ("hrss", "transport") for r in ("440106", "440111")],
    "phone": ["13800138001", "020-83123456"],
    "id_number": [None, "11010519491231002X"],
    "status": [s.value for s in TaskStatus],
    "clock": ["reply", "accept"],
    "period": ["5wd", "1d", "24h", "3wh", "30m", "100000wd", "100000d"],
    "within": ["1wd", "3d", "100000wd"],
    "start": [*MOMENTS, "2026-10-08T09:00", "2026-09-30T17:59+08:00"],
    "since": [*MOMENTS, "2026-10-01", "2026-10-01T00:00+08:00"],
}


def role_of(staff_id: str) -> Role:
    principal = principal_for(RULES, staff_id)
    assert principal is not None, staff_id
    return principal.role


ROLES = {staff_id: role_of(staff_id) for staff_id in (CLERK, HANDLER, SUPERVISOR, ADMIN)}


def may(staff_id: str, label: str) -> bool:
    """The person's role may do the operation somewhere (an operation missing from
    NEEDS counts as allowed: fuzzed in full until it is added there)."""
    action = NEEDS.get(label)
    return action is None or scope_of(action, ROLES[staff_id]) is not None


@dataclass
class Fuzzer:
    stack: ThreadedStack
    tokens: dict[str, str]
    known: Known
    logs: LogWatch
    session: requests.Session
    http: httpx.Client
    updates: dict[str, int] = field(default_factory=dict)  # per workflow, last seen

    def steer(self, case: Case[Any]) -> str | None:
        """Most examples get ids that exist in their path (the live case and its lead
        task, ones seen before, finished ones among them, one of the other kind) and
        known values in their fields (SEEDS). Every choice is made from the generated
        case itself, so a failing example replays. Returns the workflow an action on
        the case or task would go to."""
        digest = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
        for values in (case.query, case.body):
            if digest % 3 and isinstance(values, dict):
                seed(values, digest)
        target = None
        for name in list(case.path_parameters or {}):
            pick = (digest >> 4) % 6
            if name == "staff_id" and pick < 2:
                case.path_parameters[name] = BYSTANDER
            if name == "notification_id" and pick < 4 and (mail := self.known.mail_ids()):
                case.path_parameters[name] = mail[digest % len(mail)]
            if name not in ("case_id", "task_id") or pick == 5:
                continue  # as generated: unknown, or malformed in a negative example
            live_case, live_task = self.known.live()
            if name == "case_id":
                seen = self.known.cases[digest % len(self.known.cases)]
                target = [live_case, seen, seen, seen, live_task][pick]
            else:
                seen = self.known.tasks[digest % len(self.known.tasks)]
                target = [live_task, seen, seen, seen, live_case][pick]
            case.path_parameters[name] = target
        return target

    def accepted_updates(self, workflow_id: str) -> int:
        """How many updates the workflow's history holds: a refused one must add none."""
        handle = self.stack.door.stack.client.get_workflow_handle(workflow_id)
        history = self.stack.run(handle.fetch_history())
        return sum(
            1
            for e in history.events
            if e.HasField("workflow_execution_update_accepted_event_attributes")
        )

    def exercise(self, case: Case[Any], user: str | None) -> None:
        target = self.steer(case)
        acts = target is not None and case.method.upper() == "POST"
        if target is not None and acts and target not in self.updates:
            self.updates[target] = self.accepted_updates(target)
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        response = case.call(
            base_url=self.stack.base_url, session=self.session, headers=headers, timeout=60
        )
        sent = response.request
        if user and sent.method == "DELETE" and urlsplit(str(sent.url)).path == f"{API}/token":
            if response.status_code < 300:
                self.tokens[user] = login(self.http, user)  # logged out: log in again
        problems = check_response(response)
        if user is None and not answers_nobody(case, response):
            problems.append("someone not logged in was answered with other than 401")
        if target is not None and acts:
            if response.status_code >= 400:
                before, after = self.updates[target], self.accepted_updates(target)
                if after != before:
                    problems.append(
                        f"refused, yet {after - before} update(s) were accepted "
                        f"in {target}'s history"
                    )
                self.updates[target] = after
            else:
                del self.updates[target]  # an action was taken
                self.known.stale = True  # and the live case may have ended
        problems += [f"logged: {line}" for line in self.logs.take()]
        if problems:
            # Let the server finish logging first: Python 3.11 may fail ("AST constructor
            # recursion depth mismatch") when two threads format tracebacks at once.
            time.sleep(0.3)
            raise AssertionError(report(response, user, problems))


def seed(values: dict[str, Any], digest: int) -> None:
    for key in values.keys() & SEEDS.keys():
        known = SEEDS[key]
        values[key] = known[zlib.crc32(f"{key}{digest}".encode()) % len(known)]


def answers_nobody(case: Case[Any], response: Response) -> bool:
    """Without a token only logging in is answered: anything else is 401 (405 for a
    method the path does not have, 413 for a body over the limit, and 400 or 422 for a
    body that cannot be parsed at all, which FastAPI refuses before any dependency)."""
    if case.operation.label == TOKEN or response.status_code in (401, 405, 413):
        return True
    unparsable = (b"JSON decode error", b"error parsing the body")
    return response.status_code in (400, 422) and any(m in response.content for m in unparsable)


def check_response(response: Response) -> list[str]:
    problems = []
    text = response.content.decode("utf-8", "replace")
    if response.status_code >= 500:
        problems.append(f"server error {response.status_code}")
    if "Traceback" in text:
        problems.append("a stack trace in the response")
    if response.status_code >= 400:
        try:
            body: Any = json.loads(text)
        except ValueError:
            problems.append("a refusal whose body is not JSON")
        else:
            detail = body.get("detail") if isinstance(body, dict) else None
            if not isinstance(body, dict) or set(body) != {"detail"}:
                problems.append('a refusal that is not {"detail": ...}')
            elif not isinstance(detail, str) or not detail.strip():
                problems.append("a refusal whose detail is not a non-empty string")
            elif "\n" in detail or "\r" in detail:
                problems.append("a refusal of more than one line")
    return problems


def report(response: Response, user: str | None, problems: list[str]) -> str:
    """The request and the answer, as needed to reproduce it."""
    request = response.request
    return "\n".join(
        [
            "; ".join(problems),
            f"as: {user or 'nobody (no token)'}",
            f"request: {text(request.method)} {request.url}",
            f"  content-type: {text(request.headers.get('content-type'))}",
            f"  body: {text(request.body)[:2000]}",
            f"response: {response.status_code}",
            f"  body: {text(response.content)[:2000]}",
        ]
    )


def text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@pytest.fixture(scope="module")
def fuzzer(
    fuzz_stack: ThreadedStack,
    tokens: dict[str, str],
    known: Known,
    log_watch: LogWatch,
    http: httpx.Client,
) -> Fuzzer:
    return Fuzzer(fuzz_stack, tokens, known, log_watch, requests.Session(), http)


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # No shrinking: on a live stack every step replays requests that change state
        # (and a slow refusal makes it endless); the report shows the request as sent.
        phases=[Phase.explicit, Phase.generate, Phase.target],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def fuzz_as(user: str, *, allowed: bool) -> Callable[..., None]:
    """The test of every operation ``user``'s role may do (``allowed``), or of every
    operation refused to it by role."""

    def chosen(ctx: HasAPIOperation) -> bool:
        label = ctx.operation.label
        return label != TOKEN and may(user, label) is allowed

    selected = (full if allowed else light).include(func=chosen)

    @selected.parametrize()
    @fuzz_settings(EXAMPLES if allowed else FEW)
    def test(case: Case[Any], fuzzer: Fuzzer) -> None:
        fuzzer.exercise(case, user)

    made: Callable[..., None] = test
    return made


def test_the_schema_fuzzed_is_the_one_served(http: httpx.Client) -> None:
    r = http.get(f"{API}/openapi.json")
    assert r.status_code == 200
    assert r.json() == SPEC


def test_every_operation_says_what_it_needs() -> None:
    operations = {
        f"{method.upper()} {path}" for path, ops in SPEC["paths"].items() for method in ops
    }
    assert operations == set(NEEDS)


@full.include(method="POST", path=f"{API}/token").parametrize()
@fuzz_settings(EXAMPLES)
def test_login(case: Case[Any], fuzzer: Fuzzer) -> None:
    fuzzer.exercise(case, None)


@light.exclude(method="POST", path=f"{API}/token").parametrize()
@fuzz_settings(FEW)
def test_api_as_nobody(case: Case[Any], fuzzer: Fuzzer) -> None:
    fuzzer.exercise(case, None)


test_api_as_clerk = fuzz_as(CLERK, allowed=True)
test_api_refused_to_clerk = fuzz_as(CLERK, allowed=False)
test_api_as_handler = fuzz_as(HANDLER, allowed=True)
test_api_refused_to_handler = fuzz_as(HANDLER, allowed=False)
test_api_as_supervisor = fuzz_as(SUPERVISOR, allowed=True)
test_api_refused_to_supervisor = fuzz_as(SUPERVISOR, allowed=False)
test_api_as_admin = fuzz_as(ADMIN, allowed=True)
test_api_refused_to_admin = fuzz_as(ADMIN, allowed=False)
