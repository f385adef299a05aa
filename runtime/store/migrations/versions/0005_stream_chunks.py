"""stream chunks: what runs stream (model tokens, progress lines), kept for readers who come late

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stream_chunks',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('stream_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('chunk', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_stream_chunks_run_key_seq', 'stream_chunks', ['run_id', 'stream_key', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_stream_chunks_run_key_seq', table_name='stream_chunks')
    op.drop_table('stream_chunks')
