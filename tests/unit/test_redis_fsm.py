"""REDIS_URL switches FSM storage to aiogram's RedisStorage, against a real Redis."""

from __future__ import annotations

import os

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from bot.app import make_storage
from bot.config import Settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def test_redis_storage_roundtrip():
    storage = make_storage(Settings(_env_file=None, redis_url=REDIS_URL))
    assert isinstance(storage, RedisStorage)
    key = StorageKey(bot_id=1, chat_id=-100123, user_id=777)
    try:
        await storage.set_state(key, "Form:score")
    except Exception as err:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {REDIS_URL} ({type(err).__name__}); CI requires it")
    await storage.set_data(key, {"criterion": 3})
    assert await storage.get_state(key) == "Form:score"
    assert await storage.get_data(key) == {"criterion": 3}
    await storage.set_state(key, None)
    await storage.set_data(key, {})
    assert await storage.get_state(key) is None
    await storage.close()


def test_memory_storage_by_default():
    from aiogram.fsm.storage.memory import MemoryStorage

    assert isinstance(make_storage(Settings(_env_file=None)), MemoryStorage)
