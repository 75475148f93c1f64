"""Scopes in SQL and in Python: which cases and tasks a person's scope reaches.

Lists are filtered in SQL (``task_clause``), single things are checked with the
predicates; both follow the same definitions in ``auth.policy.Scope``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, false, true
from sqlmodel import col

from auth.identity import Principal
from auth.policy import Action, Scope, scope_of
from db.tables import CaseRow, TaskRow
from services.errors import Forbidden

LEAD_GONE = ("returned", "transferred", "cancelled")


def liaison_office(platform: str | None) -> str:
    # The directory's synthesized liaison offices are "platform.<code>".
    return f"platform.{platform}"


def required_scope(p: Principal, action: Action) -> Scope:
    """The scope ``p`` needs for ``action``; 403 when their role may never do it."""
    scope = scope_of(action, p.role)
    if scope is None:
        raise Forbidden(f"a {p.role.value} may not {action.value} (see the README's matrix)")
    return scope


def task_in_scope(p: Principal, scope: Scope, task: TaskRow) -> bool:
    if scope is Scope.any:
        return True
    if scope is Scope.region:
        return p.in_region(task.region)
    if scope is Scope.office:
        return p.office is not None and task.office_id == p.office
    if scope is Scope.platform:
        return task.role == "liaison" and task.office_id == liaison_office(p.platform)
    return False


def case_in_scope(p: Principal, scope: Scope, case: CaseRow, tasks: Sequence[TaskRow]) -> bool:
    if scope is Scope.any:
        return True
    if scope is Scope.region:
        # A case lies where its offices work: not where a platform is registered (its
        # liaison task), nor where an office that gave it back sits — unless the case
        # is in dispatch review, where the returning offices are all it has.
        placed = [
            t
            for t in tasks
            if t.role != "liaison" and (case.status == "in_review" or t.status not in LEAD_GONE)
        ]
        return p.in_region(case.lead_region) or any(p.in_region(t.region) for t in placed)
    if scope is Scope.office:
        return any(task_in_scope(p, scope, t) for t in tasks)
    if scope is Scope.lead_office:
        return any(
            t.role == "lead" and t.status not in LEAD_GONE and t.office_id == p.office
            for t in tasks
        )
    if scope is Scope.platform:
        return any(task_in_scope(p, scope, t) for t in tasks)
    return False


def task_clause(p: Principal, scope: Scope) -> ColumnElement[bool]:
    """The SQL condition on ``tasks`` for the tasks in ``p``'s scope."""
    if scope is Scope.any or (scope is Scope.region and p.regions is None):
        return true()
    if scope is Scope.region:
        assert p.regions is not None
        return col(TaskRow.region).in_(sorted(p.regions))
    if scope is Scope.office:
        return col(TaskRow.office_id) == p.office if p.office else false()
    if scope is Scope.platform:
        return and_(
            col(TaskRow.role) == "liaison", col(TaskRow.office_id) == liaison_office(p.platform)
        )
    return false()


def case_task_clause(p: Principal, scope: Scope) -> ColumnElement[bool]:
    """The SQL condition on a case's tasks that puts the case in ``p``'s scope (for lists
    of cases): as ``task_clause``, but a platform's liaison task does not place a case."""
    return and_(task_clause(p, scope), col(TaskRow.role) != "liaison")


def check_task(p: Principal, action: Action, task: TaskRow) -> None:
    scope = required_scope(p, action)
    if not task_in_scope(p, scope, task):
        raise Forbidden(f"task {task.task_id} is outside your scope ({_scope_words(p, scope)})")


def check_case(p: Principal, action: Action, case: CaseRow, tasks: Sequence[TaskRow]) -> None:
    scope = required_scope(p, action)
    if not case_in_scope(p, scope, case, tasks):
        raise Forbidden(f"case {case.case_id} is outside your scope ({_scope_words(p, scope)})")


def _scope_words(p: Principal, scope: Scope) -> str:
    if scope is Scope.region:
        return f"region {p.region}"
    if scope in (Scope.office, Scope.lead_office):
        return f"{'lead ' if scope is Scope.lead_office else ''}office {p.office}"
    if scope is Scope.platform:
        return f"platform {p.platform}"
    return scope.value
