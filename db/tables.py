"""The read model's tables: a projection of the workflows, never the truth."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from db.types import UtcDateTime


def _ts(*, nullable: bool) -> Column[datetime]:
    return Column(UtcDateTime(), nullable=nullable)


class CaseRow(SQLModel, table=True):
    __tablename__ = "cases"

    case_id: str = Field(primary_key=True, max_length=40)
    version: int = 0
    status: str = Field(index=True, max_length=24)
    request_id: str = Field(index=True, max_length=100)
    category: str = Field(index=True, max_length=40)
    occupation: str = Field(max_length=24)
    platform: str | None = Field(default=None, max_length=40)
    channel: str = Field(max_length=24)
    urgent: bool = False
    name: str = Field(max_length=50)
    phone: str = Field(max_length=20)
    id_number: str | None = Field(default=None, max_length=18)
    summary: str
    residence: str = Field(max_length=12)
    workplace: str = Field(max_length=12)
    incident: str | None = Field(default=None, max_length=12)
    opened_at: datetime = Field(sa_column=_ts(nullable=False))
    sla_plan: str | None = Field(default=None, max_length=40)
    rule_id: str | None = Field(default=None, max_length=80)
    rules_version: str | None = Field(default=None, max_length=40)
    routing_explanation: str | None = None
    lead_department: str | None = Field(default=None, max_length=40)
    lead_region: str | None = Field(default=None, max_length=12)
    reply: str | None = None
    callback: str | None = Field(default=None, max_length=24)
    callback_remark: str | None = None  # what the worker said at the callback (回访)
    priority: int = 0  # raised by each 督办
    closed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # The case's own clocks, while they run: dispatch review (派单异议审核) and callback (回访).
    review_due: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    callback_due: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # Keyed hashes (HMAC-SHA256, APPEALS_MATCH_KEY) of the phone and ID number: a repeat
    # appeal is found by these, never by the numbers themselves (services/repeats.py).
    phone_hash: str | None = Field(default=None, index=True, max_length=64)
    id_hash: str | None = Field(default=None, index=True, max_length=64)
    # The recently closed case this one repeats: figures count the two as one.
    repeat_of: str | None = Field(default=None, index=True, max_length=40)
    # Set by `appeals purge` (db/purge.py): the worker's personal data is gone from
    # this case's rows; its figures and its audit trail's shape remain.
    purged_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class TaskRow(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        # task_id last: the overdue page's tasks-first plans read only the index (0013).
        Index("ix_tasks_office_status", "department", "region", "status", "task_id"),
        Index("ix_tasks_department_category", "department", "category", "status", "task_id"),
    )

    task_id: str = Field(primary_key=True, max_length=48)
    case_id: str = Field(index=True, max_length=40)
    version: int = 0
    seq: int
    role: str = Field(max_length=8)
    status: str = Field(index=True, max_length=24)
    department: str = Field(max_length=40)
    region: str = Field(max_length=12)
    office_id: str = Field(max_length=80)
    office_name: str = Field(max_length=120)
    category: str = Field(max_length=40)
    dispatched_at: datetime = Field(sa_column=_ts(nullable=False))
    accepted_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    closed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    outcome: str | None = Field(default=None, max_length=24)
    reply: str | None = None
    priority: int = 0


RUNNING = text("running_due_at IS NOT NULL")
# The overdue page's filters, each leading an index in the page's order (0014); the
# trailing columns are filtered inside the index (an office's category or clock).
OVERDUE_INDEXES = {
    "ix_deadlines_office_due": "department region running_due_at task_id clock category".split(),
    "ix_deadlines_department_due": "department running_due_at task_id clock".split(),
    "ix_deadlines_dept_category_due": "department category running_due_at task_id clock".split(),
    "ix_deadlines_category_due": "category running_due_at task_id clock".split(),
}


class DeadlineRow(SQLModel, table=True):
    """One clock of one task. ``running_due_at`` is set only while the clock runs on
    an open task, so "what is overdue now" is a range scan on one index."""

    __tablename__ = "deadlines"
    __table_args__ = (
        # The overdue page's keys in its order, without reading the rows (0013): all
        # clocks, one clock (a clock filter walks only its own), one task's clocks.
        Index("ix_deadlines_running_due", "running_due_at", "task_id", "clock"),
        Index("ix_deadlines_clock_running_due", "clock", "running_due_at", "task_id"),
        Index("ix_deadlines_task_running_due", "task_id", "running_due_at", "clock"),
        # A filtered page walks only the matching running clocks in due order, so it
        # reads about its 50 index entries whatever the filter (0014). Partial: a closed
        # task's clocks (most rows) are in none of them.
        *(
            Index(name, *columns, sqlite_where=RUNNING, postgresql_where=RUNNING)
            for name, columns in OVERDUE_INDEXES.items()
        ),
    )

    task_id: str = Field(primary_key=True, max_length=48)
    clock: str = Field(primary_key=True, max_length=40)
    case_id: str = Field(index=True, max_length=40)
    label: str = Field(max_length=40)
    period: str = Field(max_length=16)
    status: str = Field(default="running", max_length=16)
    mode: str = Field(default="working", max_length=16)
    due_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    stopped_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    started_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    running_since: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    running_due_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    budget_seconds: int = 0
    spent_seconds: int = 0
    breached: bool = False
    detail: str | None = None  # JSON: pauses, extensions, warnings and rungs fired
    # The task's, copied by the store with every write of its clocks (0014): the
    # overdue page filters and orders on one index of this table.
    department: str | None = Field(default=None, max_length=40)
    region: str | None = Field(default=None, max_length=12)
    category: str | None = Field(default=None, max_length=40)


class EventRow(SQLModel, table=True):
    """Append-only audit trail; ``key`` makes a retried write a no-op."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("key", name="uq_events_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80)
    case_id: str = Field(index=True, max_length=40)
    task_id: str | None = Field(default=None, max_length=48)
    at: datetime = Field(sa_column=_ts(nullable=False))
    actor: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=40)
    detail: str | None = None
    data: str | None = None  # JSON text: portable across SQLite and PostgreSQL


class OutboxRow(SQLModel, table=True):
    """One e-mail notification and what became of it. ``id`` is the notification's
    id, so a retried queue or send activity finds the row instead of adding one, and a
    ``sent`` row tells a retried send that the mail already left.

    Statuses: ``queued`` → ``sent``, or ``queued`` → ``retrying`` (each failed
    attempt, or recipients the server refused, with ``attempts`` and ``last_error``)
    → ``sent`` (every recipient has it) or ``failed`` (the caller gave up, or the
    notification cannot be rendered). ``sent`` is final; ``appeals mail resend`` of a
    ``failed`` notification may still deliver it.
    """

    __tablename__ = "outbox"

    id: str = Field(primary_key=True, max_length=120)
    case_id: str = Field(index=True, max_length=40)
    task_id: str | None = Field(default=None, max_length=48)
    clock: str | None = Field(default=None, max_length=40)
    event: str = Field(max_length=40)
    kind: str = Field(max_length=16)
    recipients: str  # comma-separated addresses, for lists and audits
    subject: str
    status: str = Field(index=True, max_length=16)
    attempts: int = 0
    last_error: str | None = None
    message_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # JSON: each recipient's status ("sent" or "refused", the server's reply, when).
    delivery: str | None = None
    # JSON: the notification itself, so that a failed mail can be resent by hand.
    notification: str | None = None
    # Set only on rows the outbox relay sends (activities/relay.py; a task's mail since
    # patches.MAIL_THROUGH_OUTBOX): when it may next try. A lease while an attempt is
    # under way, a backoff after a failed one, NULL once sent or failed; rows a
    # NotificationWorkflow sends keep NULL, so the relay never sends them too.
    next_attempt_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))

    __table_args__ = (
        Index(
            "ix_outbox_next_attempt",
            "next_attempt_at",
            sqlite_where=text("next_attempt_at IS NOT NULL"),
            postgresql_where=text("next_attempt_at IS NOT NULL"),
        ),
    )


class AccountRow(SQLModel, table=True):
    """A person's local login, keyed by their staff id in the directory. The role and
    office come from the directory, so an account holds only what proves identity."""

    __tablename__ = "accounts"

    staff_id: str = Field(primary_key=True, max_length=64)
    password_hash: str | None = Field(default=None, max_length=200)
    disabled: bool = False
    failed_logins: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    # Seeded by the embedded dev stack with the shared dev password: never in production.
    dev_seeded: bool = False
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    password_changed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_login_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class TokenRow(SQLModel, table=True):
    """A bearer token: ``access`` from a login (hours), ``personal`` for scripts (days).
    Only a hash of the secret is kept; ``id`` is the public part used to find it."""

    __tablename__ = "tokens"

    id: str = Field(primary_key=True, max_length=24)
    staff_id: str = Field(index=True, max_length=64)
    kind: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=80)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ProjectionLagRow(SQLModel, table=True):
    """A workflow whose latest projection has not reached the read model: written by a
    failed projection attempt (in a transaction of its own), deleted by the next one
    that succeeds. ``since`` is when the oldest change still missing was made, so
    ``now - min(since)`` is how far behind the read model is."""

    __tablename__ = "projection_lag"

    workflow_id: str = Field(primary_key=True, max_length=48)
    case_id: str = Field(index=True, max_length=40)
    since: datetime = Field(sa_column=_ts(nullable=False))
    attempts: int = 0
    last_error: str | None = None
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class TaskFigureRow(SQLModel, table=True):
    """One task's contribution to the supervisors' figures, derived by the projection
    activity (activities/facts.py) from the task, its clocks and its case's events, so
    that every figure is one GROUP BY over this table. Working-hour durations need the
    calendar, which is why they are computed at projection time and not in SQL.

    ``sign_state`` / ``reply_state``: ``on_time``, ``late`` (done after the clock's
    due, or never done and the clock breached), or NULL (not yet due, or the task ended
    before its clock came due). ``origin``: how the office received the task — ``routed``,
    ``return`` (re-routed after another office's return), ``transfer``, ``designation``,
    ``reopen`` (the worker was not satisfied), ``added`` (a co-handler asked for later).
    """

    __tablename__ = "task_figures"
    __table_args__ = (
        Index("ix_task_figures_day_office", "received_day", "office_id"),
        Index("ix_task_figures_office_day", "office_id", "received_day"),
        Index("ix_task_figures_region_day", "region", "received_day"),
    )

    task_id: str = Field(primary_key=True, max_length=48)
    case_id: str = Field(index=True, max_length=40)
    office_id: str = Field(max_length=80)
    office_name: str = Field(max_length=120)
    department: str = Field(max_length=40)
    region: str = Field(max_length=12)
    category: str = Field(max_length=40)
    platform: str | None = Field(default=None, max_length=40)
    role: str = Field(max_length=8)
    status: str = Field(max_length=24)
    received_at: datetime = Field(sa_column=_ts(nullable=False))
    # Local (APPEALS_TIME_ZONE) calendar buckets of received_at: day, its ISO week's
    # Monday, its month's first day — portable GROUP BY keys for SQLite and PostgreSQL.
    received_day: date
    received_week: date
    received_month: date
    origin: str = Field(default="routed", max_length=16)
    sign_state: str | None = Field(default=None, max_length=8)
    reply_state: str | None = Field(default=None, max_length=8)
    sign_minutes: int | None = None  # office-time minutes from receipt to 签收
    reply_minutes: int | None = None  # office-time minutes from receipt to the reply
    outcome: str | None = Field(default=None, max_length=24)  # lead replies only
    callback: str | None = Field(default=None, max_length=24)  # the callback on its reply
    returned: bool = False
    transferred: bool = False
    wrongful_return: bool = False  # returned, then designated back to this office
    max_rung: int = 0  # the highest escalation rung any of its clocks reached
    extensions_asked: int = 0
    extensions_granted: int = 0


class ClusterRow(SQLModel, table=True):
    """A concentrated grievance (集中诉求): one episode of a ClusterWorkflow, projected.

    ``id`` is the workflow id and the first member's time, so a key that clusters again
    after a quiet spell gets a row of its own. Statuses: ``forming`` (fewer members
    than the rule's threshold within its window), ``formed``, ``designated`` (a lead
    office for all members, 联合处置), ``replied`` (the coordinated reply was given),
    ``ended`` (quiet for a window; the workflow finished)."""

    __tablename__ = "clusters"

    id: str = Field(primary_key=True, max_length=120)
    workflow_id: str = Field(index=True, max_length=100)
    version: int = 0
    rule: str = Field(max_length=40)
    category: str = Field(max_length=40)
    platform: str | None = Field(default=None, max_length=40)
    place: str | None = Field(default=None, max_length=12)
    status: str = Field(index=True, max_length=16)
    size: int = 0
    threshold: int = 0
    window: str = Field(max_length=16)
    first_at: datetime = Field(sa_column=_ts(nullable=False))
    last_at: datetime = Field(sa_column=_ts(nullable=False))
    formed_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    lead_office_id: str | None = Field(default=None, max_length=80)
    lead_office_name: str | None = Field(default=None, max_length=120)
    designated_by: str | None = Field(default=None, max_length=64)
    reply: str | None = None
    replied_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class ClusterMemberRow(SQLModel, table=True):
    """A case in a cluster: ``region`` is its lead office's region (for scope), ``place``
    where it happened (the incident place, else the workplace)."""

    __tablename__ = "cluster_members"

    cluster_id: str = Field(primary_key=True, max_length=120)
    case_id: str = Field(primary_key=True, index=True, max_length=40)
    joined_at: datetime = Field(sa_column=_ts(nullable=False))
    region: str = Field(index=True, max_length=12)
    place: str = Field(max_length=12)
    department: str | None = Field(default=None, max_length=40)


class CodecAccessRow(SQLModel, table=True):
    """One call of the Temporal Web UI's codec endpoint (/api/v1/codec): who asked,
    when, for which namespace, how many payloads and under which key ids. Never the
    payloads themselves: this table must not become a copy of what the codec unseals."""

    __tablename__ = "codec_access"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(nullable=False))
    staff_id: str = Field(index=True, max_length=64)
    operation: str = Field(max_length=8)  # decode | encode
    namespace: str = Field(max_length=255)
    payloads: int = 0
    # Comma-separated, sorted: the key ids of the sealed payloads (decode) or the key
    # that sealed them (encode); empty when every payload was plain.
    key_ids: str = Field(default="", max_length=400)
    outcome: str = Field(max_length=16)  # ok | refused (a key the process lacks, …)
    via: str = Field(max_length=8)  # bearer | cookie
    origin: str | None = Field(default=None, max_length=200)


class PurgeRow(SQLModel, table=True):
    """One run of ``appeals purge`` (by hand, by the daily schedule or through the API):
    who ran it, when, the cutoffs it used and which cases it touched. Written in the
    same transaction as the purge itself, so a row here means the purge happened."""

    __tablename__ = "purges"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(nullable=False))
    actor: str = Field(max_length=80)
    # Cases closed before ``cutoff`` lost their personal data; cases closed before
    # ``hash_cutoff`` (the repeat window) lost their repeat-matching hashes.
    cutoff: datetime = Field(sa_column=_ts(nullable=False))
    hash_cutoff: datetime = Field(sa_column=_ts(nullable=False))
    cases: int = 0
    case_ids: str = "[]"  # JSON list
    hashes_cleared: int = 0
    hash_case_ids: str = "[]"  # JSON list
