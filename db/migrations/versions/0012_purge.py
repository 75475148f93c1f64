"""retention: cases.purged_at and the purges audit table

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09 10:00:00

"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from db.types import UtcDateTime


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', UtcDateTime(), nullable=True))
    op.create_table(
        'purges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('cutoff', UtcDateTime(), nullable=False),
        sa.Column('hash_cutoff', UtcDateTime(), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.Column('case_ids', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('hashes_cleared', sa.Integer(), nullable=False),
        sa.Column('hash_case_ids', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('purges')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
