"""Alembic, driven from code: the bot migrates on start and with `thidua migrate`.

Alembic (and Mako, which it imports) costs about a second and 15 MB to import, so it is imported
only when there is something to do: `is_current` compares the head revision, read from the
migration files' `revision = ...` lines, with the database's `alembic_version` in one SELECT."""

from __future__ import annotations

import ast
import asyncio
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncEngine

HERE = Path(__file__).resolve().parent
_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


@cache
def script_heads() -> frozenset[str]:
    """The head revisions of storage/migrations/versions, as Alembic would find them."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (HERE / "migrations" / "versions").glob("*.py"):
        found = dict((m.group(1), ast.literal_eval(m.group(2))) for m in _REVISION.finditer(path.read_text()))
        if "revision" not in found:
            continue
        revisions.add(found["revision"])
        down = found.get("down_revision")
        parents.update([down] if isinstance(down, str) else list(down or ()))
    return frozenset(revisions - parents)


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database is at the migrations' head (a missing table means it is not)."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except DBAPIError:
        return False
    return bool(rows) and frozenset(rows) == script_heads()


async def upgrade(url: str, revision: str = "head") -> None:
    from storage.db import create_engine

    engine = create_engine(url)  # also creates the SQLite folder and sets its pragmas
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_upgrade, url, revision)
    finally:
        await engine.dispose()


async def upgrade_if_needed(engine: AsyncEngine, url: str) -> bool:
    """Migrate unless the schema is already current (the usual start); True when it migrated."""
    if await is_current(engine):
        return False
    await upgrade(url)
    return True


def _run_upgrade(connection, url: str, revision: str) -> None:
    from alembic import command

    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def upgrade_sync(url: str) -> None:
    asyncio.run(upgrade(url))
