"""accounts and tokens (the front door)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 14:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import db.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'accounts',
        sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('failed_logins', sa.Integer(), nullable=False),
        sa.Column('locked_until', db.types.UtcDateTime(), nullable=True),
        sa.Column('dev_seeded', sa.Boolean(), nullable=False),
        sa.Column('created_at', db.types.UtcDateTime(), nullable=False),
        sa.Column('password_changed_at', db.types.UtcDateTime(), nullable=True),
        sa.Column('last_login_at', db.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('staff_id'),
    )
    op.create_table(
        'tokens',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column('staff_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', db.types.UtcDateTime(), nullable=False),
        sa.Column('expires_at', db.types.UtcDateTime(), nullable=False),
        sa.Column('revoked_at', db.types.UtcDateTime(), nullable=True),
        sa.Column('last_used_at', db.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_tokens_staff_id', 'tokens', ['staff_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tokens_staff_id', table_name='tokens')
    op.drop_table('tokens')
    op.drop_table('accounts')
