"""Test databases: a migrated SQLite file per test, or a fresh PostgreSQL database per test run.

With TEST_DATABASE_URL set (postgresql+asyncpg://...), every database test runs on PostgreSQL;
if that server cannot be reached the tests FAIL (CI expects PostgreSQL), they never skip."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from storage.migrate import upgrade

PG_ENV = "TEST_DATABASE_URL"


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def make_sqlite_template(folder: Path) -> Path:
    path = folder / "template.sqlite3"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


def sqlite_copy(template: Path, folder: Path) -> str:
    target = folder / "test.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


async def _admin(url: str):
    import asyncpg

    parsed = make_url(url)
    return await asyncpg.connect(user=parsed.username or "postgres", password=parsed.password,
                                 host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                 database=parsed.database or "postgres")


def create_pg_database(base_url: str) -> str:
    """CREATE DATABASE thidua_test_<random>, migrated; returns its URL."""
    name = f"thidua_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def create() -> None:
        conn = await _admin(base_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(upgrade(url))
    return url


def drop_pg_database(base_url: str, url: str) -> None:
    name = make_url(url).database

    async def drop() -> None:
        conn = await _admin(base_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


async def truncate_all(db) -> None:
    import storage.models  # noqa: F401

    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
