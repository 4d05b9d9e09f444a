"""Alembic, driven from code: the bot migrates on start and with `thidua migrate`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


async def upgrade(url: str, revision: str = "head") -> None:
    from storage.db import create_engine

    engine = create_engine(url)  # also creates the SQLite folder and sets its pragmas
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_upgrade, url, revision)
    finally:
        await engine.dispose()


def _run_upgrade(connection, url: str, revision: str) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def upgrade_sync(url: str) -> None:
    asyncio.run(upgrade(url))
