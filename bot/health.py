"""Container healthcheck: configuration loads and the database answers."""

from __future__ import annotations

import asyncio


def check() -> int:
    from sqlalchemy import text

    from bot.config import get_settings
    from storage.db import create_engine

    async def ping() -> None:
        engine = create_engine(get_settings().database_url)
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        finally:
            await engine.dispose()

    try:
        asyncio.run(ping())
        return 0
    except Exception:
        return 1
