"""task_figures: each task's contribution to the supervisors' figures

Filled by the projection activity as cases move; `appeals report-rebuild` (local)
derives it for tasks projected before this table existed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from db.types import UtcDateTime


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        'task_figures',
        sa.Column('task_id', s(length=48), nullable=False),
        sa.Column('case_id', s(length=40), nullable=False),
        sa.Column('office_id', s(length=80), nullable=False),
        sa.Column('office_name', s(length=120), nullable=False),
        sa.Column('department', s(length=40), nullable=False),
        sa.Column('region', s(length=12), nullable=False),
        sa.Column('category', s(length=40), nullable=False),
        sa.Column('platform', s(length=40), nullable=True),
        sa.Column('role', s(length=8), nullable=False),
        sa.Column('status', s(length=24), nullable=False),
        sa.Column('received_at', UtcDateTime(), nullable=False),
        sa.Column('received_day', sa.Date(), nullable=False),
        sa.Column('received_week', sa.Date(), nullable=False),
        sa.Column('received_month', sa.Date(), nullable=False),
        sa.Column('origin', s(length=16), nullable=False),
        sa.Column('sign_state', s(length=8), nullable=True),
        sa.Column('reply_state', s(length=8), nullable=True),
        sa.Column('sign_minutes', sa.Integer(), nullable=True),
        sa.Column('reply_minutes', sa.Integer(), nullable=True),
        sa.Column('outcome', s(length=24), nullable=True),
        sa.Column('callback', s(length=24), nullable=True),
        sa.Column('returned', sa.Boolean(), nullable=False),
        sa.Column('transferred', sa.Boolean(), nullable=False),
        sa.Column('wrongful_return', sa.Boolean(), nullable=False),
        sa.Column('max_rung', sa.Integer(), nullable=False),
        sa.Column('extensions_asked', sa.Integer(), nullable=False),
        sa.Column('extensions_granted', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('task_id'),
    )
    op.create_index('ix_task_figures_case_id', 'task_figures', ['case_id'])
    op.create_index('ix_task_figures_day_office', 'task_figures', ['received_day', 'office_id'])
    op.create_index('ix_task_figures_office_day', 'task_figures', ['office_id', 'received_day'])
    op.create_index('ix_task_figures_region_day', 'task_figures', ['region', 'received_day'])


def downgrade() -> None:
    op.drop_table('task_figures')
