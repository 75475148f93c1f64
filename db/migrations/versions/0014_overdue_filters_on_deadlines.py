"""overdue list: the task's department, region and category on its clocks

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 02:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# An office's overdue page started from the office's open tasks and joined them to every
# running clock in the window (35 ms of SQL at a million tasks on PostgreSQL). With the
# filters on the clock rows, each filter leads a partial index in the page's order and a
# page reads about 50 entries. The names and columns are db.tables.OVERDUE_INDEXES's,
# written out: a migration must not change when the models do.
COPIED = {'department': 40, 'region': 12, 'category': 40}
INDEXES = {
    'ix_deadlines_office_due': [
        'department', 'region', 'running_due_at', 'task_id', 'clock', 'category'
    ],
    'ix_deadlines_department_due': ['department', 'running_due_at', 'task_id', 'clock'],
    'ix_deadlines_dept_category_due': [
        'department', 'category', 'running_due_at', 'task_id', 'clock'
    ],
    'ix_deadlines_category_due': ['category', 'running_due_at', 'task_id', 'clock'],
}
RUNNING = sa.text('running_due_at IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        for name, length in COPIED.items():
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
    # The clocks already written take their task's values (every clock has its task:
    # the store writes both in one transaction).
    for name in COPIED:
        op.execute(
            f'UPDATE deadlines SET {name} = '
            f'(SELECT tasks.{name} FROM tasks WHERE tasks.task_id = deadlines.task_id)'
        )
    for name, columns in INDEXES.items():
        op.create_index(
            name, 'deadlines', columns, sqlite_where=RUNNING, postgresql_where=RUNNING
        )


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name='deadlines')
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        for name in COPIED:
            batch_op.drop_column(name)
