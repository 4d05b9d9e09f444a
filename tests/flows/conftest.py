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
