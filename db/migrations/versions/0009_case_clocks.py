"""cases: the running review and callback clocks' due times (for the queues)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa

from db.types import UtcDateTime


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_due', UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('callback_due', UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('callback_due')
        batch_op.drop_column('review_due')
