"""The worker's shared sandbox mode (sandbox.py): the workflow code imported once and
shared by every run, which is how running processes hold it.

The rest of the suite runs the strict mode, where each run imports the code afresh under
the SDK's restrictions. Shared, one run could leak state into another through anything
the code keeps at module or class level, so the code keeps nothing mutable there."""

from __future__ import annotations

import ast
import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from sandbox import SHARED
from settings import Settings
from tests.conftest import Stack, running_stack
from tests.keys import sealed_converter
from tests.workflows import test_lifecycle
from worker import replayer

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
HISTORY = Path(__file__).parent / "histories" / "v10-one-history-case.json"

# Calls that build a container a run could change for the next.
MUTABLE_CALLS = {"list", "dict", "set", "defaultdict", "deque", "Counter", "OrderedDict"}
# Methods that change a container in place.
MUTATORS = {
    "append", "extend", "insert", "remove", "pop", "clear", "update", "add", "discard",
    "setdefault", "popitem", "sort", "reverse",
}  # fmt: skip
CACHES = {"cache", "lru_cache", "cached"}


def _mutable(value: ast.expr) -> bool:
    if isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp):
        return True
    if isinstance(value, ast.SetComp):
        return True
    if isinstance(value, ast.Call):
        return _name(value.func) in MUTABLE_CALLS
    return False


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _module_names(tree: ast.Module) -> set[str]:
    """What the module binds at its top: its constants, classes and imports, all of them
    shared by every run in the shared mode."""
    names: set[str] = set()
    for s in tree.body:
        if isinstance(s, ast.Assign):
            names |= {t.id for t in s.targets if isinstance(t, ast.Name)}
        elif isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name):
            names.add(s.target.id)
        elif isinstance(s, ast.ClassDef):
            names.add(s.name)
        elif isinstance(s, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in s.names}
    return names


def _kept_state(path: Path) -> list[str]:
    """Where a module keeps state one run could leak into another: a mutable container
    at module or class level, a change to anything bound at module level (its constants,
    such as a RetryPolicy, its classes, what it imports), a cache, a global."""
    tree = ast.parse(path.read_text(), filename=str(path))
    shared = _module_names(tree)
    found: list[str] = []

    def at(node: ast.AST, what: str) -> None:
        found.append(f"{path.name}:{getattr(node, 'lineno', 0)} {what}")

    def scan(body: list[ast.stmt], where: str) -> None:
        for s in body:
            if isinstance(s, ast.Assign | ast.AnnAssign) and s.value is not None:
                targets = s.targets if isinstance(s, ast.Assign) else [s.target]
                names = [ast.unparse(t) for t in targets]
                if names != ["__all__"] and _mutable(s.value):
                    at(s, f"{where} {', '.join(names)}")
            if isinstance(s, ast.ClassDef):
                scan(s.body, f"class {s.name}")

    scan(tree.body, "module")
    # Decorators run once, at import (workflow.update(...) is no dict's update).
    decorators = {
        id(d)
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for d in n.decorator_list
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Global | ast.Nonlocal):
            at(node, "global/nonlocal")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute | ast.Subscript) and _root(t) in shared:
                    at(node, f"changes {ast.unparse(t)}")
        elif isinstance(node, ast.Call) and id(node) not in decorators:
            f = node.func
            if isinstance(f, ast.Attribute) and f.attr in MUTATORS and _root(f) in shared:
                at(node, f"changes {ast.unparse(f.value)}")
            if _name(f) == "setattr" and node.args and _root(node.args[0]) in shared:
                at(node, f"changes {ast.unparse(node.args[0])}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for d in node.decorator_list:
                if _name(d.func if isinstance(d, ast.Call) else d) in CACHES:
                    at(d, f"cache on {node.name}")
    return found


def test_the_workflow_code_keeps_no_state_a_run_could_leak_into_another() -> None:
    files = sorted(WORKFLOWS.glob("*.py"))
    assert len(files) > 10
    kept = [k for f in files for k in _kept_state(f)]
    assert kept == [], "state one run could leak into another: " + "; ".join(kept)


def test_the_check_sees_kept_state(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import functools\nfrom x import RETRY\nSEEN = {}\n"
        "class W:\n    queue: list[int] = []\n"
        "def f():\n    global SEEN\n    RETRY.maximum_attempts = 3\n    SEEN.update(a=1)\n"
        "    setattr(W, 'queue', [])\n    W.queue += [1]\n"
        "@functools.lru_cache\ndef g(self):\n    self.seen = {}\n    self.seen.update(a=1)\n"
    )
    kept = _kept_state(bad)
    # Each of the eight, and not the instance's own state (self.seen).
    assert sorted(k.split(" ", 1)[1] for k in kept) == [
        "cache on g",
        "changes RETRY.maximum_attempts",
        "changes SEEN",
        "changes W",
        "changes W.queue",
        "class W queue",
        "global/nonlocal",
        "module SEEN",
    ], kept


_imports: list[set[str]] = []  # while a replay below watches: the modules imported
_hooks: list[object] = []  # the audit hook, once added (it cannot be removed)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "exec" and _imports:
        code = args[0]
        path = Path(getattr(code, "co_filename", ""))
        if getattr(code, "co_name", "") == "<module>" and path.parent == WORKFLOWS:
            _imports[-1].add(path.stem)


def _module_bodies_run(history: WorkflowHistory, sandbox: str) -> set[str]:
    """The workflows/ modules whose bodies ran (were imported) while replaying."""
    if _audit not in _hooks:
        sys.addaudithook(_audit)  # hooks stay for the process; it only counts when asked
        _hooks.append(_audit)
    _imports.append(set())
    try:
        asyncio.run(replayer(sealed_converter(), sandbox).replay_workflow(history))
        return _imports[-1]
    finally:
        _imports.pop()


def test_shared_runs_import_the_workflow_code_once_strict_ones_each_time() -> None:
    history = WorkflowHistory.from_json(HISTORY.stem, HISTORY.read_text())
    # Warm: the first replay of either kind may import what the process had not yet.
    _module_bodies_run(history, "shared")
    assert "grievance" in _module_bodies_run(history, "strict")
    assert _module_bodies_run(history, "shared") == set()


@pytest_asyncio.fixture
async def shared_stack(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Stack]:
    shared = settings.model_copy(update={"workflow_sandbox": "shared"})
    async with running_stack(env, shared) as s:
        yield s


async def test_a_case_lives_from_intake_to_close_on_the_shared_code(shared_stack: Stack) -> None:
    assert shared_stack.worker.config()["workflow_runner"] is SHARED
    await test_lifecycle.test_wage_arrears_from_intake_to_close(shared_stack)


def test_the_setting_refuses_a_mode_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="workflow_sandbox"):
        Settings(workflow_sandbox="loose")
