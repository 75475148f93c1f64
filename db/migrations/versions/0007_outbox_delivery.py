"""outbox: per-recipient delivery status and the notification, for resending

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 16:00:00

Branch `mail` (issue 11). 0006 is taken by a concurrent branch: when both merge,
re-chain this one (down_revision = '0006').
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column('notification', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('notification')
        batch_op.drop_column('delivery')
