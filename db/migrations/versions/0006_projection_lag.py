"""projection lag

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from db.types import UtcDateTime


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'projection_lag',
        sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
        sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('since', UtcDateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('workflow_id'),
    )
    op.create_index(op.f('ix_projection_lag_case_id'), 'projection_lag', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_projection_lag_case_id'), table_name='projection_lag')
    op.drop_table('projection_lag')
