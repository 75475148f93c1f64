"""codec access: who read Temporal histories through the Web UI's codec endpoint

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from db.types import UtcDateTime


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'codec_access',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UtcDateTime(), nullable=False),
        sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('operation', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('namespace', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('payloads', sa.Integer(), nullable=False),
        sa.Column('key_ids', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_codec_access_staff_id'), 'codec_access', ['staff_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_codec_access_staff_id'), table_name='codec_access')
    op.drop_table('codec_access')
