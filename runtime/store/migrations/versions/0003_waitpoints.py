"""waitpoints: what WAITING runs wait for

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
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('complete_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('awaited_run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('output', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('waitpoints', schema=None) as batch_op:
        batch_op.create_index('ix_waitpoints_due', ['status', 'complete_after'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitpoints_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitpoints_awaited_run_id'), ['awaited_run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('waitpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitpoints_awaited_run_id'))
        batch_op.drop_index(batch_op.f('ix_waitpoints_run_id'))
        batch_op.drop_index('ix_waitpoints_due')
    op.drop_table('waitpoints')
