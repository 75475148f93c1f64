"""What each person may do: ONE table (action × role → scope) read by the services,
the API, the web screens, the README's matrix and the exhaustive test.

A role says what kind of work a person does; a scope says which cases and tasks that
work reaches. A missing entry means the role may never do the action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    clerk = "clerk"  # 受理员: opens cases, records callbacks and the worker's material
    handler = "handler"  # 承办人: their own office's tasks
    head = "head"  # 科室负责人: a handler who also sees the office's figures
    supervisor = "supervisor"  # 督办: cases in their region (the city's: all)
    liaison = "liaison"  # 平台联络员: their platform's liaison tasks, no personal data
    admin = "admin"  # 系统管理员: accounts and rules; case data only via the audited codec


class Scope(StrEnum):
    any = "any"  # no limit
    region = "region"  # the case or task lies in the person's region (city level: all)
    office = "office"  # the task is their office's, or the case has one
    lead_office = "lead_office"  # their office leads the case (主办)
    platform = "platform"  # a liaison task of their own platform


SCOPE_LABELS = {
    Scope.any: "all",
    Scope.region: "own region",
    Scope.office: "own office",
    Scope.lead_office: "lead office",
    Scope.platform: "own platform",
}


class Action(StrEnum):
    case_open = "case.open"
    case_read = "case.read"
    case_reveal = "case.reveal"
    case_withdraw = "case.withdraw"
    case_callback = "case.callback"
    case_urge = "case.urge"
    case_set_plan = "case.set_plan"
    case_proceed = "case.proceed"
    case_designate = "case.designate"
    case_repeats = "case.repeats"
    cluster_read = "cluster.read"
    cluster_designate = "cluster.designate"
    cluster_reply = "cluster.reply"
    task_read = "task.read"
    task_accept = "task.accept"
    task_note = "task.note"
    task_complete = "task.complete"
    task_return = "task.return"
    task_transfer = "task.transfer"
    task_request_info = "task.request_info"
    task_provide_info = "task.provide_info"
    task_extend = "task.extend"
    task_approve_extension = "task.approve_extension"
    task_deny_extension = "task.deny_extension"
    task_external_reply = "task.external_reply"
    task_liaison_reply = "task.liaison_reply"
    task_add_cohandler = "task.add_cohandler"
    overdue_read = "supervision.overdue"
    returns_read = "supervision.returns"
    board_read = "supervision.board"
    report_read = "report.read"
    report_drill = "report.drill"
    queue_review = "queue.review"
    queue_extensions = "queue.extensions"
    queue_callbacks = "queue.callbacks"
    mail_read = "mail.read"
    mail_resend = "mail.resend"
    staff_read = "staff.read"
    rules_explain = "rules.explain"
    rules_reload = "rules.reload"
    sla_due = "sla.due"
    users_admin = "users.admin"
    codec_decode = "codec.decode"
    codec_encode = "codec.encode"
    admin_purge = "admin.purge"


R, S = Role, Scope
_HANDLERS = {R.handler: S.office, R.head: S.office}

POLICY: dict[Action, dict[Role, Scope]] = {
    Action.case_open: {R.clerk: S.any},
    Action.case_read: {R.clerk: S.region, **_HANDLERS, R.supervisor: S.region},
    # The worker's name, phone and ID: the clerk who calls back, the lead office that
    # must call the worker. Every reveal is written to the case's audit trail.
    Action.case_reveal: {R.clerk: S.region, R.handler: S.lead_office, R.head: S.lead_office},
    Action.case_withdraw: {R.clerk: S.region},
    Action.case_callback: {R.clerk: S.region},
    Action.case_urge: {R.supervisor: S.region},
    Action.case_set_plan: {R.supervisor: S.region},
    Action.case_proceed: {R.supervisor: S.region},
    Action.case_designate: {R.supervisor: S.region},
    # Before submitting, the clerk sees which cases the call repeats (ids and status).
    Action.case_repeats: {R.clerk: S.any},
    # 集中诉求: a cluster lies in every region one of its members' offices works in; an
    # office reaches the clusters it leads (联合处置), and gives their one reply.
    Action.cluster_read: {**_HANDLERS, R.supervisor: S.region},
    Action.cluster_designate: {R.supervisor: S.region},
    Action.cluster_reply: dict(_HANDLERS),
    Action.task_read: {
        R.clerk: S.region,
        **_HANDLERS,
        R.supervisor: S.region,
        R.liaison: S.platform,
    },
    Action.task_accept: dict(_HANDLERS),
    Action.task_note: dict(_HANDLERS),
    Action.task_complete: dict(_HANDLERS),
    Action.task_return: dict(_HANDLERS),
    Action.task_transfer: dict(_HANDLERS),
    Action.task_request_info: dict(_HANDLERS),
    Action.task_provide_info: {R.clerk: S.region},
    Action.task_extend: dict(_HANDLERS),
    Action.task_approve_extension: {R.supervisor: S.region},
    Action.task_deny_extension: {R.supervisor: S.region},
    Action.task_external_reply: {R.clerk: S.region},
    Action.task_liaison_reply: {R.liaison: S.platform},
    Action.task_add_cohandler: dict(_HANDLERS),
    Action.overdue_read: {**_HANDLERS, R.supervisor: S.region},
    Action.returns_read: {R.head: S.office, R.supervisor: S.region},
    Action.board_read: {R.supervisor: S.region},
    # The figures assess offices: their head and the supervisors read them; a handler
    # reads their own tasks, not the office's assessment; clerks, liaisons and
    # administrators have no part in it.
    Action.report_read: {R.head: S.office, R.supervisor: S.region},
    Action.report_drill: {R.head: S.office, R.supervisor: S.region},
    # The queues people work from: cases in dispatch review (a supervisor designates),
    # extension requests (a supervisor decides; an office head sees their office's),
    # cases awaiting the callback (the clerks call; supervisors watch the clock).
    Action.queue_review: {R.supervisor: S.region},
    Action.queue_extensions: {R.head: S.office, R.supervisor: S.region},
    Action.queue_callbacks: {R.clerk: S.region, R.supervisor: S.region},
    Action.mail_read: {R.supervisor: S.region, R.admin: S.any},
    Action.mail_resend: {R.admin: S.any},
    Action.staff_read: {
        R.clerk: S.any,
        **dict.fromkeys(_HANDLERS, S.any),
        R.supervisor: S.any,
        R.admin: S.any,
    },
    Action.rules_explain: {R.clerk: S.any, R.supervisor: S.any, R.admin: S.any},
    Action.rules_reload: {R.admin: S.any},
    Action.sla_due: dict.fromkeys(Role, S.any),
    Action.users_admin: {R.admin: S.any},
    # The Temporal Web UI's codec endpoint: the histories an administrator inspects
    # when a workflow misbehaves, decoded (personal data included). Administrators
    # only, and every call is written to the codec_access table (who, when, how many
    # payloads, which key ids; never their content).
    Action.codec_decode: {R.admin: S.any},
    Action.codec_encode: {R.admin: S.any},
    # Retention: the personal data of long-closed cases leaves the read model (the
    # figures stay); the administrator runs it, as the nightly schedule does.
    Action.admin_purge: {R.admin: S.any},
}


def scope_of(action: Action, role: Role) -> Scope | None:
    """The scope in which ``role`` may do ``action``; None: never."""
    return POLICY[action].get(role)


def roles_for(action: Action) -> Iterable[Role]:
    return POLICY[action].keys()


@dataclass(frozen=True)
class MatrixRow:
    action: Action
    cells: dict[Role, str]


def matrix() -> list[MatrixRow]:
    """The policy as the README shows it: one row per action, a cell per role."""
    return [
        MatrixRow(
            action=action,
            cells={
                role: SCOPE_LABELS[scope] if (scope := POLICY[action].get(role)) else "—"
                for role in Role
            },
        )
        for action in Action
    ]


def matrix_markdown() -> str:
    head = "| action | " + " | ".join(r.value for r in Role) + " |"
    rule = "|---|" + "---|" * len(Role)
    rows = [
        f"| `{row.action.value}` | " + " | ".join(row.cells[r] for r in Role) + " |"
        for row in matrix()
    ]
    return "\n".join([head, rule, *rows])


if __name__ == "__main__":  # `python -m auth.policy` prints the README's matrix
    print(matrix_markdown())
