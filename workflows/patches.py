"""The ``workflow.patched`` ids of changes made after the v1 histories were saved.

A case that started on older code replays its history with the old branch; a new
case takes the new one and records the id as a marker. Each id here must appear
in a saved history (tests/workflows/histories/v2-* and later), and the replay test checks
that it does, so a patch can never ship without proof that both branches replay.
Never rename or reuse an id: running cases already carry them.

Workflow code asks ``taken(id)``, not ``workflow.patched(id)`` itself: a run that
continued as new from one that took a patch takes it too, without a marker.
"""

from __future__ import annotations

from collections.abc import Collection

from temporalio import workflow

INHERITED = "inherited_patches"
"""The attribute of a workflow instance that holds the ids its previous run took."""


def taken(patch_id: str) -> bool:
    """``workflow.patched(patch_id)``, except:

    - in a run continued as new from one that took the patch (its ids in the workflow's
      ``inherited_patches``, from the carried input, so the same in replay): that run
      takes it too, and records no marker;
    - for an id of ``BUNDLED``, in a run that took ``AS_ONE``: taken, without a marker
      of its own.

    Each marker costs two events (the marker and the TemporalChangeVersion upsert the
    SDK adds to it), 58 a run with every id of BUNDLED decided at its start. An id the
    previous run did not know (added to the code since) is decided here, with its
    marker, as in any run."""
    inherited: Collection[str] = getattr(workflow.instance(), INHERITED, ())
    if patch_id in inherited:
        return True
    if patch_id in BUNDLED and (AS_ONE in inherited or workflow.patched(AS_ONE)):
        return True
    return workflow.patched(patch_id)


DRILL_SPECIAL_TASKS = "drill-special-tasks-stay-on-drill"
"""A drill's external hand-offs and liaison tasks run on the drill's minutes too,
rather than on the hand-off or liaison plan (days), which escalated for real."""

DESIGNATION_FIELD = "routing-needs-designation-field"
"""Whether re-routing needs a supervisor's designation is read from the decision's
``needs_designation`` field, not from the words of its fallback reason."""

SET_PLAN_SKIPS_HANDOFFS = "set-plan-skips-external-handoffs"
"""A plan change leaves external hand-offs on their own plan, as it did liaison tasks:
their ladder escalates to 社会工作部, never to the other region's hotline."""

REVIEW_NOTICE_PER_REVIEW = "review-notice-id-per-review"
"""Each dispatch review's overdue notice has an id of its own; the id counted returns,
so a second review after no new return reused the first's id and was never sent."""

COHANDLER_REQUESTS_QUEUED = "cohandler-requests-in-main-loop"
"""The lead's request for another co-handler is queued and handled by the case's
main loop, between task results, and acknowledged to the lead, which cannot reply
before; the signal handler resolved it on its own and raced the lead's reply."""

URGE_ONE_TIMELINE_ROW = "urge-one-timeline-row"
"""A 督办 is one row in the case's timeline: the case records it; each open task mails
its office and projects its new priority without an audit row of its own (each task
wrote an identical "urged" row, so one 督办 showed two or three times)."""

BREACH_NOTED_AT_ONCE = "breach-noted-at-once"
"""A rung whose mail waits for office hours (a non-urgent breach at night) is written
to the timeline when the clock crosses it ("breached"), not only when it is mailed."""
PROJECTION_IN_BACKGROUND = "projection-in-background"
"""Projections are queued and written by a background projector that retries with
backoff (the newest state superseding what is still unwritten); an action waits for
its projection at most PROJECTION_WAIT. Before, every action awaited a projection
that retried forever, so a read model that refused one write froze the task."""

CLOCKS_FIRE_OUTSIDE_LOCK = "clocks-fire-outside-lock"
"""A clock event is claimed under the clocks' lock but fired (mailed, recorded)
after it is released; before, it fired holding the lock that every action needs."""

COMPUTE_BOUNDED = "compute-retry-bounded"
"""Calendar and routing computations retry with backoff for COMPUTE_GIVE_UP, then give
up safely: a clock keeps its previous deadline (an action that needed a new one is
refused, nothing changed) and the timeline says so ("clock_failed"). Before, they
retried forever, and one that held the clocks' lock froze every action on the task."""
CLUSTER_FEED = "case-joins-clusters"
"""A routed case joins the concentrated-grievance clusters (集中诉求) its key falls
under: one ``join_clusters`` activity (signal-with-start of each ClusterWorkflow)
after its first tasks are started. Older cases never joined one."""

NEW_TASK_MAIL = "new-task-mail"
"""A new task is mailed to its office (during its office hours unless urgent): what to
do and each clock's due time. Before, an office learned of a task only from its
warnings, half-way through the sign-for clock."""

EXTENSION_NOTICE = "extension-request-notice"
"""An extension request is mailed to the supervisors whose region covers the task, who
decide it; before, it waited on the board until someone looked."""

CALLBACK_CLOCK = "callback-clock"
"""After the reply, the callback (回访) runs on the plan's callback period; a callback
still not recorded when it runs out is written to the timeline and mailed to the head
of the office of the clerk who opened the case."""

NEW_TASK_MAIL_SETTLES = "new-task-mail-settles"
"""A task that ends while its new-task mail is still being sent waits up to MAIL_SETTLE
for it before returning, so the mail's workflow seldom outlives its task (the
time-skipping test server stalls on a child still running after its parent closed)."""

LOCAL_ACTIVITIES = "perf-local-activities"
"""Routing look-ups, deadline computations (not a clock's own operations) and read-model
projections run as local activities (in the worker, within the workflow task) instead
of through the server's activity queue: an action took three workflow tasks and two
queue round trips. A local attempt gets two seconds; then the activity queue, as before."""

CASE_TOLD_IN_BACKGROUND = "perf-case-told-in-background"
"""A task tells its case of a change from a background sender (in order, the newest
state superseding one not sent yet) instead of awaiting the signal inside the action:
waiting for the server to confirm the signal cost the action one more workflow task.
The case's view of a task (its state query) follows a moment after the action."""

PII_MASKED_FOR_OTHERS = "pii-masked-for-others"
"""What the case hands to other workflows and activities has the worker's name, phones
and ID numbers masked (王**, 139****5678): the summary routing reads for its keywords,
the summary each task gets (and mails, e.g. to another region's hotline at a hand-off),
a repeat call's words mailed to the offices, a 督办's text. In a task: its clock
operations get the ledger without the words typed in it (questions, reasons; put back
from the task's own ledger after), and the texts of its mails have phones and ID
numbers masked before the mail's activities get them. Before, all of it went as typed.
Only the read model's projection gets the worker."""

TASK_TELLS_STATUS = "task-tells-case-status-only"
"""A task tells its case only of a change of its status, by id, status and version
(models.tasks.TaskChanged); the case holds a brief of each task (TaskBrief). Before,
every change (each note, extension, clock event) sent the whole TaskState, so the
task's and the case's histories grew with the square of the task's notes."""

TASK_CONTINUES_AS_NEW = "task-continues-as-new"
"""A task whose run has TASK_CONTINUE_AFTER events (or that the server suggests should)
continues as new between actions, carrying its state (models.tasks.TaskCarry): clocks,
co-handling, the numbering of its events and projections, the latest notes. The
task's notes kept in its state are trimmed to NOTES_KEPT (the timeline keeps them all).
Before, a long-lived task's history grew without bound."""

CASE_HISTORY_SLIM = "case-history-slim"
"""The case's Updates answer with an acknowledgement (models.case.CaseAck), not the whole
CaseState, which went into the history with every action; the lead task hears its
co-handlers' status only when it changed; a re-routing's result leaves out the roster
(only the first routing's is used)."""

MAIL_QUEUED_LOCALLY = "mail-queued-locally"
"""A NotificationWorkflow queues its outbox row with one local attempt of
``queue_notification`` (in the worker, within its first workflow task), and only if that
attempt is slow or fails for a reason a retry may mend, through the activity queue as
before: the queue's round trip cost every e-mail one activity task and one workflow task."""

TASK_MAIL_STARTED_LOCALLY = "task-mail-started-locally"
"""A task hands an e-mail to its NotificationWorkflow through one local attempt of
``start_notification`` (a client start, id ``mail-<notification id>``), not as a child:
the parent of a child wakes for one workflow task when the child starts and one more
when it ends, two of the six a rung cost. If the local attempt fails, the child start
as before. The mail's workflow, no longer a child, never holds up the task's end."""

CLOCK_OP_LOCAL_ONCE = "clock-op-local-once"
"""A clock's own operation (``clock_op``) gets one local attempt, without retries, and
only if that fails the activity queue with its retries, as before: the queue cost each
clock start, pause and extension one activity task and one workflow task. (Retried
locally, a failing calendar held the workflow task through its retries; see
workflows/compute.py.)"""

JOIN_CLUSTERS_LOCAL_ONCE = "join-clusters-local-once"
"""A routed case joins its clusters through one local attempt of ``join_clusters``
(signal-with-start of each ClusterWorkflow, which takes a member once however often it
is told), then the activity queue with its retries as before: the queue cost every
case one activity task and one workflow task to hear the result."""

ROUTE_UNTIL_ROUTED = "route-until-routed"
"""A new case whose routing timed out (no worker took ``route_case`` within its give-up:
workers killed, busy catching up, or waiting for the read model's database) asks
again, every ROUTE_AGAIN, until the rules answer, with one ``routing_delayed`` event;
before, the case failed ("the case could not be routed") and the grievance was lost to
the read model. The fault harness lost 31 of 1,000 intakes so. A rules' refusal
(RoutingError) still ends as before."""

UPDATES_AFTER_COMMIT = "updates-after-commit"
"""In the workflow task that accepts a case's or task's Update, its projection and a
mail's start go through the activity queue, scheduled with the Update, and the Update
answers with the projection's version, for which the API waits
(workflows/after_commit.py). Before, they ran locally inside that task: a task that
timed out and was not retried with the Update left the read model an action (a row,
an audit row) that never happened."""

ANSWER_CARRIES_PROJECTION = "answer-carries-projection"
"""A task's Update accepted in this workflow task answers with its own projection (the
task's row at the answer's version and the audit events the action recorded), so the
API writes it to the read model at once, through the store's idempotent upserts, and
the person reads their own write without waiting for the projection's activity, which
writes the same rows again (or first). The answer comes only after the workflow task
completed, so what the API writes is in the history. Before, the API looked for the
activity's write every 5–50 ms: most of an action's time on a quiet machine."""

MAIL_THROUGH_OUTBOX = "task-mail-through-outbox"
"""A task's e-mails (new task, warnings, rungs, 督办, hand-offs, extension requests) are
queued in the outbox by the task's own projection, in the transaction that writes the
state that decided them, and sent by the worker's outbox relay (activities/relay.py).
Before, each mail started a NotificationWorkflow of its own: with 5,000 clocks falling
due together, its start, two workflow tasks and a queued activity a rung held the engine
to about 7 rungs a second."""

CLUSTER_BOUNDED_HISTORY = "cluster-continues-by-history"
"""A ClusterWorkflow continues as new once its run's history reaches the input's
``continue_after_events`` events (or the server suggests it), as well as after
``continue_after`` joins and actions, carrying the joins it has not taken yet (a busy
cluster's inbox is seldom empty between two workflow tasks, and the old branch waited
for it to be); and a run continued from one that projected every member, and told each
of a designated lead office, neither sends the whole member list again nor tells every
member of the lead again (the old branch did both at each run's start). Before, a run
took 400 joins, about 4,800 events: a worker that had let the cluster leave its sticky
cache (or whose workflow task timed out) replayed them all for the next join, 2.4 s at
500 members on a quiet machine (bench/cluster_growth.py), and a busy worker fell behind
in a cascade of timed-out workflow tasks. Only the cluster workflow asks for it (see
CLUSTER_ONLY)."""

CLUSTER_SLIM_MEMBERS = "cluster-keeps-formed-members-by-id"
"""A formed ClusterWorkflow keeps a member by its case id alone once the member is in
the read model (ClusterState.ids): forming is the last step that reads a member's
places, offices and heads, and the read model has them. Before, a run carried every
member whole into the next (about 210 bytes each, 115 KiB at 545 members) until the
cluster was quiet for its window. Cluster only (CLUSTER_ONLY); asked with
CLUSTER_BOUNDED_HISTORY."""

AS_ONE = "patches-decided-as-one"
"""Every id of BUNDLED is taken at once, by this one marker, when a run starts
(workflows.compute.decide_patches_first asks for it first). Before, a new run recorded
each id's marker and the SDK's search-attribute upsert beside it: 58 of a new case's
history events, and as many again in each of its tasks, before it did anything."""

# The ids AS_ONE takes together. Never add to it: a run that took AS_ONE must take
# the same ids on replay. A patch added later gets its own marker (ALL, below).
BUNDLED = (
    DRILL_SPECIAL_TASKS,
    DESIGNATION_FIELD,
    SET_PLAN_SKIPS_HANDOFFS,
    REVIEW_NOTICE_PER_REVIEW,
    COHANDLER_REQUESTS_QUEUED,
    URGE_ONE_TIMELINE_ROW,
    BREACH_NOTED_AT_ONCE,
    PROJECTION_IN_BACKGROUND,
    CLOCKS_FIRE_OUTSIDE_LOCK,
    COMPUTE_BOUNDED,
    LOCAL_ACTIVITIES,
    CASE_TOLD_IN_BACKGROUND,
    NEW_TASK_MAIL,
    EXTENSION_NOTICE,
    CALLBACK_CLOCK,
    NEW_TASK_MAIL_SETTLES,
    CLUSTER_FEED,
    PII_MASKED_FOR_OTHERS,
    TASK_TELLS_STATUS,
    TASK_CONTINUES_AS_NEW,
    CASE_HISTORY_SLIM,
    MAIL_QUEUED_LOCALLY,
    TASK_MAIL_STARTED_LOCALLY,
    CLOCK_OP_LOCAL_ONCE,
    JOIN_CLUSTERS_LOCAL_ONCE,
    ROUTE_UNTIL_ROUTED,
    UPDATES_AFTER_COMMIT,
    ANSWER_CARRIES_PROJECTION,
    MAIL_THROUGH_OUTBOX,
)

# Every id goes into ALL: runs that took LOCAL_ACTIVITIES decide all of ALL when they
# start (workflows.compute.decide_patches_first), so a new id must be here to be safe.
# AS_ONE comes first: a run decides it before any id it bundles.
ALL = (AS_ONE, *BUNDLED)

# Patches only the ClusterWorkflow asks for. Not in ALL: cases and tasks decide ALL when
# they start, and would pay a marker each for a change that is not theirs.
CLUSTER_ONLY = (CLUSTER_BOUNDED_HISTORY, CLUSTER_SLIM_MEMBERS)
