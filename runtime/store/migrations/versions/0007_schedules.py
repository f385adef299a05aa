"""schedules: cron schedules of tasks, and which schedule and instant a run was fired for

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('environment_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('task_identifier', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('cron', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('deduplication_key', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True),
    sa.Column('slot', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slot')
    )
    op.create_index(op.f('ix_schedules_environment_id'), 'schedules', ['environment_id'], unique=False)
    op.create_index(op.f('ix_schedules_next_run_at'), 'schedules', ['next_run_at'], unique=False)
    with op.batch_alter_table('runs') as batch:
        batch.add_column(sa.Column('schedule_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column('schedule_instant', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_runs_schedule_instant', 'runs', ['schedule_id', 'schedule_instant'], unique=True)


def downgrade() -> None:
    op.drop_index('ix_runs_schedule_instant', table_name='runs')
    with op.batch_alter_table('runs') as batch:
        batch.drop_column('schedule_instant')
        batch.drop_column('schedule_id')
    op.drop_index(op.f('ix_schedules_next_run_at'), table_name='schedules')
    op.drop_index(op.f('ix_schedules_environment_id'), table_name='schedules')
    op.drop_table('schedules')
