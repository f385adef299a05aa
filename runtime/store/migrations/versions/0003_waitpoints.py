"""waitpoints: what WAITING runs wait for (moments, other runs, tokens), and which runs they block

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('waitpoints',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('environment_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('complete_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('awaited_run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('output', sa.JSON(), nullable=True),
    sa.Column('output_is_error', sa.Boolean(), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
    sa.Column('idempotency_key_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=True),
    sa.Column('callback_secret', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment_id', 'idempotency_key')
    )
    with op.batch_alter_table('waitpoints', schema=None) as batch_op:
        batch_op.create_index('ix_waitpoints_due', ['status', 'complete_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitpoints_awaited_run_id'), ['awaited_run_id'], unique=False)

    op.create_table('run_waitpoints',
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('waitpoint_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'waitpoint_id')
    )
    with op.batch_alter_table('run_waitpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_waitpoints_waitpoint_id'), ['waitpoint_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('run_waitpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_waitpoints_waitpoint_id'))
    op.drop_table('run_waitpoints')
    with op.batch_alter_table('waitpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitpoints_awaited_run_id'))
        batch_op.drop_index('ix_waitpoints_due')
    op.drop_table('waitpoints')
