"""overdue list: indexes that cover the first page's keys

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00

"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# The overdue page is chosen on (running_due_at, task_id, clock) and the tasks' filters
# before its rows are read (db.queries.iter_overdue_tasks): these indexes hold those
# keys, so choosing reads no table rows. A clock filter walks only that clock's
# deadlines; a department's category starts from its open tasks.
DEADLINES = {
    'ix_deadlines_running_due': (['running_due_at', 'task_id', 'clock'], ['running_due_at']),
    'ix_deadlines_clock_running_due': (['clock', 'running_due_at', 'task_id'], None),
    'ix_deadlines_task_running_due': (['task_id', 'running_due_at', 'clock'], None),
}
TASKS = {
    'ix_tasks_office_status': (
        ['department', 'region', 'status', 'task_id'],
        ['department', 'region', 'status'],
    ),
    'ix_tasks_department_category': (['department', 'category', 'status', 'task_id'], None),
}


def _swap(table: str, indexes: dict[str, tuple[list[str], list[str] | None]], up: bool) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, (new, old) in indexes.items():
            if up and old is not None:
                batch_op.drop_index(name)
            if not up:
                batch_op.drop_index(name)
            columns = new if up else old
            if columns is not None:
                batch_op.create_index(name, columns, unique=False)


def upgrade() -> None:
    _swap('deadlines', DEADLINES, up=True)
    _swap('tasks', TASKS, up=True)


def downgrade() -> None:
    _swap('tasks', TASKS, up=False)
    _swap('deadlines', DEADLINES, up=False)
