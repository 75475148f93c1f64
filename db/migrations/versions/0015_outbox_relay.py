"""outbox: when the relay may next try a row (activities/relay.py)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 15:00:00

"""
import sqlalchemy as sa
from alembic import op

import db.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

# Partial: the relay's poll reads only the rows still to send, however many were sent.
PENDING = sa.text('next_attempt_at IS NOT NULL')


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', db.types.UtcDateTime(), nullable=True))
    op.create_index(
        'ix_outbox_next_attempt',
        'outbox',
        ['next_attempt_at'],
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index('ix_outbox_next_attempt', table_name='outbox')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
