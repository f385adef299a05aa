"""The alembic migrations build exactly the tables the code declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tether.runtime.store.database import Store
from tether.runtime.store.tables import METADATA


def test_migrating_an_empty_database_gives_the_declared_tables(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'tether.db'}")
    store.migrate()
    with store.writer.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), METADATA) == []
    store.dispose()
