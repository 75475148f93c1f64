"""callback remark

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02 15:00:00

0004 (accounts and tokens) is being written on the main branch; when the branches
meet, this revision must revise '0004' instead, so the chain stays linear.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callback_remark', sqlmodel.sql.sqltypes.AutoString(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('callback_remark')
