"""repeat appeals (keyed hashes, repeat_of) and concentrated grievances (clusters)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from db.types import UtcDateTime


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('id_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('repeat_of', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_phone_hash'), ['phone_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_id_hash'), ['id_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_repeat_of'), ['repeat_of'], unique=False)
    op.create_table(
        'clusters',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('threshold', sa.Integer(), nullable=False),
        sa.Column('window', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('first_at', UtcDateTime(), nullable=False),
        sa.Column('last_at', UtcDateTime(), nullable=False),
        sa.Column('formed_at', UtcDateTime(), nullable=True),
        sa.Column('lead_office_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column('lead_office_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column('designated_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('reply', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('replied_at', UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_clusters_status'), 'clusters', ['status'], unique=False)
    op.create_index(op.f('ix_clusters_workflow_id'), 'clusters', ['workflow_id'], unique=False)
    op.create_table(
        'cluster_members',
        sa.Column('cluster_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('joined_at', UtcDateTime(), nullable=False),
        sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('department', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.PrimaryKeyConstraint('cluster_id', 'case_id'),
    )
    op.create_index(op.f('ix_cluster_members_case_id'), 'cluster_members', ['case_id'], unique=False)
    op.create_index(op.f('ix_cluster_members_region'), 'cluster_members', ['region'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cluster_members_region'), table_name='cluster_members')
    op.drop_index(op.f('ix_cluster_members_case_id'), table_name='cluster_members')
    op.drop_table('cluster_members')
    op.drop_index(op.f('ix_clusters_workflow_id'), table_name='clusters')
    op.drop_index(op.f('ix_clusters_status'), table_name='clusters')
    op.drop_table('clusters')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_repeat_of'))
        batch_op.drop_index(batch_op.f('ix_cases_id_hash'))
        batch_op.drop_index(batch_op.f('ix_cases_phone_hash'))
        batch_op.drop_column('repeat_of')
        batch_op.drop_column('id_hash')
        batch_op.drop_column('phone_hash')
