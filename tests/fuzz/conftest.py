"""The fuzzer's world: the stack in its own thread, a token per person, cases that
exist (so that deep paths are reached), and a watch on the logs."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from settings import Settings
from tests.frontdoor import INTAKE, PASSWORD
from tests.fuzz.stack import ThreadedStack
from tests.smtp import SmtpServer

API = "/api/v1"
CLERK, HANDLER, SUPERVISOR, ADMIN = "clerk.li", "hrss.tianhe.wang", "sup.zhang", "admin.ops"
# An account no fuzzed request authenticates as: the admin's run may disable and enable it.
BYSTANDER = "hrss.panyu.feng"
FINISHED_CASE = ("closed", "withdrawn")
OPEN_TASK = ("dispatched", "accepted", "waiting_on_worker")
AHEAD = 4  # cases opened at once when the live one has ended


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedStack]:
    smtp = SmtpServer()
    smtp.start()
    data = tmp_path_factory.mktemp("fuzz")
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'appeals.db'}",
        smtp_host=smtp.host,
        smtp_port=smtp.port,
    )
    stack = ThreadedStack(settings)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        smtp.stop()


@pytest.fixture(scope="module")
def http(fuzz_stack: ThreadedStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_stack.base_url, timeout=60) as client:
        yield client


def login(http: httpx.Client, staff_id: str) -> str:
    r = http.post(f"{API}/token", data={"username": staff_id, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture(scope="module")
def tokens(http: httpx.Client) -> dict[str, str]:
    return {staff_id: login(http, staff_id) for staff_id in (CLERK, HANDLER, SUPERVISOR, ADMIN)}


@dataclass
class Known:
    """Ids that exist: a live case with its open lead task, every id seen before
    (finished ones among them) and mail, so that path parameters reach past "unknown"."""

    http: httpx.Client
    tokens: dict[str, str]  # the clerk's, renewed when a fuzzed logout revokes it
    case: str = ""
    task: str = ""
    cases: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    reserve: list[tuple[str, str]] = field(default_factory=list)
    mail: list[str] = field(default_factory=list)
    stale: bool = False

    def _get(self, path: str, staff_id: str = CLERK) -> Any:
        r = self.http.get(path, headers={"Authorization": f"Bearer {self.tokens[staff_id]}"})
        assert r.status_code == 200, r.text
        return r.json()

    def mail_ids(self) -> list[str]:
        """Ids of e-mails in the outbox (the cases opened so far sent some)."""
        if not self.mail:
            self.mail = [str(m["id"]) for m in self._get(f"{API}/supervision/mail", ADMIN)]
        return self.mail

    def open(self) -> tuple[str, str]:
        """Open a case as the clerk; wait for its lead task."""
        r = self.http.post(
            f"{API}/cases",
            # Each fuzz target is a matter of its own for the same worker: said so, or
            # the repeat check refuses the second one with a 409 naming the first.
            json=INTAKE | {"request_id": f"fuzz-{uuid.uuid4().hex}", "not_repeat": True},
            headers={"Authorization": f"Bearer {self.tokens[CLERK]}"},
        )
        assert r.status_code == 201, r.text
        case_id = str(r.json()["case_id"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            tasks = self._get(f"{API}/cases/{case_id}")["tasks"]
            lead = next((str(t["id"]) for t in tasks if t["role"] == "lead"), None)
            if lead is not None:
                self.cases.append(case_id)
                self.tasks.extend(str(t["id"]) for t in tasks)
                return case_id, lead
            time.sleep(0.05)
        raise AssertionError(f"case {case_id} got no lead task in 30 s")

    def still_live(self) -> bool:
        """The live case is not finished and its lead task is open (and note its tasks)."""
        case = self._get(f"{API}/cases/{self.case}")
        self.tasks.extend(str(t["id"]) for t in case["tasks"] if t["id"] not in self.tasks)
        lead = next((t for t in case["tasks"] if t["id"] == self.task), None)
        return bool(case["status"] not in FINISHED_CASE and lead and lead["status"] in OPEN_TASK)

    def live(self) -> tuple[str, str]:
        """A case that is not finished and its lead task, still open: the one before
        unless an action may have ended it, else one opened ahead (several at once, as
        opening waits for the workflow more than it works)."""
        while not self.case or (self.stale and not self.still_live()):
            if not self.reserve:
                with ThreadPoolExecutor(max_workers=AHEAD) as pool:
                    self.reserve = list(pool.map(lambda _: self.open(), range(AHEAD)))
            self.case, self.task = self.reserve.pop()
            self.stale = True  # fuzzed as a seen one meanwhile, perhaps
        self.stale = False
        return self.case, self.task


@pytest.fixture(scope="module")
def known(http: httpx.Client, tokens: dict[str, str]) -> Known:
    ids = Known(http=http, tokens=tokens)
    # A finished case from the start: refusals of actions on closed things are reached too.
    withdrawn, _ = ids.open()
    r = http.post(
        f"{API}/cases/{withdrawn}/withdraw",
        json={"reason": "劳动者撤回诉求"},
        headers={"Authorization": f"Bearer {tokens[CLERK]}"},
    )
    assert r.status_code == 200, r.text
    ids.live()
    return ids


class LogWatch(logging.Handler):
    """Every record logged with a stack trace, or at ERROR and above, by any thread
    (the app, uvicorn, the Temporal worker): the fuzz must leave none."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def take(self) -> list[str]:
        taken, self.records = self.records, []
        out = []
        for r in taken:
            line = f"{r.name} {r.levelname}: {r.getMessage()}"
            if r.exc_info and r.exc_info[1] is not None:
                line += f" ({type(r.exc_info[1]).__name__}: {r.exc_info[1]})"
            out.append(" ".join(line.split()))
        return out


@pytest.fixture(scope="module")
def log_watch() -> Iterator[LogWatch]:
    watch = LogWatch()
    root = logging.getLogger()
    root.addHandler(watch)
    yield watch
    root.removeHandler(watch)
