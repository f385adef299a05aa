"""initial schema

Revision ID: 0001
Revises: (none)
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('attempts',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'number')
    )
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attempts_run_id'), ['run_id'], unique=False)

    op.create_table('batches',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('environment_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('run_count', sa.Integer(), nullable=False),
    sa.Column('items_accepted', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batches_environment_id'), ['environment_id'], unique=False)

    op.create_table('environments',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('secret_key', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('concurrency_limit', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('secret_key'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('queues',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('environment_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('concurrency_limit', sa.Integer(), nullable=True),
    sa.Column('concurrency_key_limit', sa.Integer(), nullable=False),
    sa.Column('limit_override', sa.Integer(), nullable=True),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment_id', 'name')
    )
    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queues_environment_id'), ['environment_id'], unique=False)

    op.create_table('run_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_events_run_id'), ['run_id'], unique=False)

    op.create_table('run_logs',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    with op.batch_alter_table('run_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_logs_run_id'), ['run_id'], unique=False)

    op.create_table('run_tags',
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'tag')
    )
    with op.batch_alter_table('run_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_run_tags_tag'), ['tag'], unique=False)

    op.create_table('runs',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('environment_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('task_identifier', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('output', sa.JSON(), nullable=True),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('metadata', sa.JSON(), nullable=True),
    sa.Column('tags', sa.JSON(), nullable=True),
    sa.Column('options', sa.JSON(), nullable=True),
    sa.Column('queue', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('concurrency_key', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('priority', sa.Float(), nullable=False),
    sa.Column('dequeue_rank', sa.Float(), nullable=False),
    sa.Column('machine', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=True),
    sa.Column('max_duration', sa.Float(), nullable=True),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('lock_to_version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('attempt_count', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=True),
    sa.Column('idempotency_slot', sa.Text(), nullable=True),
    sa.Column('idempotency_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delay_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ttl', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatch_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('batch_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('parent_run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('root_run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('trigger_function', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('replayed_from', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_slot')
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_runs_dequeue', ['status', 'environment_id', 'queue', 'concurrency_key', 'dequeue_rank'], unique=False)
        batch_op.create_index('ix_runs_env_created', ['environment_id', 'id'], unique=False)
        batch_op.create_index('ix_runs_lease', ['status', 'lease_expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_parent_run_id'), ['parent_run_id'], unique=False)

    op.create_table('worker_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('environment_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('project_root', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('modules', sa.JSON(), nullable=True),
    sa.Column('manifest', sa.JSON(), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('environment_id', 'version')
    )
    with op.batch_alter_table('worker_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_versions_environment_id'), ['environment_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('worker_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_versions_environment_id'))

    op.drop_table('worker_versions')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_runs_parent_run_id'))
        batch_op.drop_index('ix_runs_lease')
        batch_op.drop_index('ix_runs_env_created')
        batch_op.drop_index('ix_runs_dequeue')
        batch_op.drop_index(batch_op.f('ix_runs_batch_id'))

    op.drop_table('runs')
    with op.batch_alter_table('run_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_tags_tag'))

    op.drop_table('run_tags')
    with op.batch_alter_table('run_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_logs_run_id'))

    op.drop_table('run_logs')
    with op.batch_alter_table('run_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_run_events_run_id'))

    op.drop_table('run_events')
    with op.batch_alter_table('queues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queues_environment_id'))

    op.drop_table('queues')
    op.drop_table('environments')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batches_environment_id'))

    op.drop_table('batches')
    with op.batch_alter_table('attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempts_run_id'))

    op.drop_table('attempts')

