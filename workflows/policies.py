"""Retry policies and timeouts for activity calls, named so that their intent is clear."""

from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from temporalio.common import RetryPolicy

# The read model and the rules are local; a failure is a glitch (locked SQLite,
# a restarting PostgreSQL). Retry for a long time: the case must not fail because
# a projection is late, and the writes are idempotent.
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
STORE_TIMEOUT = timedelta(seconds=30)

# Routing and calendar arithmetic are pure functions of files on disk: a failure
# that is not a business error (those are non-retryable) is worth retrying.
COMPUTE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=20),
    non_retryable_error_types=["RoutingError"],
)
COMPUTE_TIMEOUT = timedelta(seconds=30)
# … but not forever (patches.COMPUTE_BOUNDED): a calendar that cannot compute for this
# long is broken, not glitching; the workflow keeps its previous deadlines and says so.
# Short, because an action holding the clocks' lock waits for it.
COMPUTE_GIVE_UP = timedelta(minutes=2)

# One local attempt (in the worker, within the workflow task) of a short, idempotent
# activity, without retries: a retry waits in the activity queue instead, so a failing
# activity never holds its workflow task through a backoff (which stalled the
# time-skipping test server: see workflows/compute.py). Two seconds is well inside the
# workflow task's timeout (10 s). Read-only: every run shares it (sandbox.py).
LOCAL_ONCE: Mapping[str, Any] = MappingProxyType(
    {
        "start_to_close_timeout": timedelta(seconds=2),
        "schedule_to_close_timeout": timedelta(seconds=2),
        "retry_policy": RetryPolicy(maximum_attempts=1),
    }
)

# A mail's workflow started through the activity queue, from a workflow task that
# accepts an Update (workflows/after_commit.py): a client call, retried until it runs.
MAIL_START_TIMEOUT = timedelta(seconds=10)

# Projections in the background (patches.PROJECTION_IN_BACKGROUND): one round of
# attempts is short and bounded, so that between rounds the projector can take the
# newest state (a later projection supersedes an earlier one) and back off.
PROJECT_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=5),
)
PROJECT_ROUND = timedelta(seconds=60)  # schedule-to-close of one round
PROJECT_BACKOFF = timedelta(seconds=10)  # between rounds, doubling …
PROJECT_BACKOFF_MAX = timedelta(minutes=2)  # … up to this, so a mended database is seen soon
# An action (an Update) waits this long for its projection, so a person reads their
# own write when the read model is well, and never waits longer when it is not.
PROJECTION_WAIT = timedelta(seconds=5)
