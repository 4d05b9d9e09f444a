"""The migrations build exactly the schema the models describe (run `make migration` if not)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401


async def test_migrated_schema_matches_models(db):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], f"models and migrations differ; run `make migration`: {changes}"
