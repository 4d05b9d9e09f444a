from __future__ import annotations

import pytest
from aiogram.fsm.storage.memory import MemoryStorage

from bot.app import build_dispatcher
from storage.db import Database
from tests.support.flow import Flow


@pytest.fixture
async def flow(db: Database, settings, clock) -> Flow:
    app = build_dispatcher(settings, db, clock=clock, storage=MemoryStorage())
    return Flow(app)


@pytest.fixture
def fetch(db: Database):
    """Read with a fresh session: sees everything the bot committed (no stale snapshot)."""

    async def _fetch(statement):
        async with db.session() as s:
            return (await s.execute(statement)).scalars().all()

    return _fetch
