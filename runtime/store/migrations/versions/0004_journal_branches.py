"""run journal branches: slots are counted per branch of code the run executes in parallel

Revision ID: 0004
Revises: 0003

The primary key grows a column, which SQLite cannot alter in place: the table is rebuilt.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

COLUMNS = "run_id, slot, kind, name, output, attempt, created_at"


def _journal(name: str, *, branches: bool) -> None:
    op.create_table(name,
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    *([sa.Column('branch', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False)] if branches else []),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('output', sa.JSON(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('run_id', *(['branch'] if branches else []), 'slot', name=f'{name}_pkey')
    )


def upgrade() -> None:
    _journal('run_journal_v4', branches=True)
    op.execute(f"INSERT INTO run_journal_v4 (branch, {COLUMNS}) SELECT '', {COLUMNS} FROM run_journal")
    op.drop_table('run_journal')
    op.rename_table('run_journal_v4', 'run_journal')


def downgrade() -> None:
    _journal('run_journal_v3', branches=False)
    op.execute(f"INSERT INTO run_journal_v3 ({COLUMNS}) SELECT {COLUMNS} FROM run_journal WHERE branch = ''")
    op.drop_table('run_journal')
    op.rename_table('run_journal_v3', 'run_journal')
