"""Replay de-duplication: one INSERT ... ON CONFLICT DO NOTHING, exactly one winner, durable."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.channels.zalo.dedup import first_time, only_first, prune
from bot.channels.zalo.updates import parse_update
from storage.db import Database
from storage.models.zalo import ZaloSeen


async def _first(db: Database, bot_id: str, message_id: str, clock) -> bool:
    async with db.session() as session:
        return await first_time(session, bot_id, message_id, clock)


async def test_first_time_then_never_again(db, clock):
    assert await _first(db, "bot1", "m1", clock) is True
    assert await _first(db, "bot1", "m1", clock) is False
    assert await _first(db, "bot2", "m1", clock) is True  # another bot, another message space
    assert await _first(db, "bot1", "m2", clock) is True
    async with db.session() as session:
        assert (await session.execute(select(func.count()).select_from(ZaloSeen))).scalar_one() == 3


async def test_concurrent_duplicates_have_exactly_one_winner(db, clock):
    for round_ in range(3):
        results = await asyncio.gather(*(_first(db, "bot1", f"race-{round_}", clock) for _ in range(8)))
        assert sorted(results) == [False] * 7 + [True]


async def test_survives_a_new_database_on_the_same_storage(db, db_url, clock):
    assert await _first(db, "bot1", "before-restart", clock) is True
    await db.dispose()
    again = Database(db_url)
    try:
        assert await _first(again, "bot1", "before-restart", clock) is False
        assert await _first(again, "bot1", "after-restart", clock) is True
    finally:
        await again.dispose()


async def test_prune_forgets_only_old_ids(db, clock):
    assert await _first(db, "bot1", "old", clock)
    clock.advance(days=6)
    assert await _first(db, "bot1", "recent", clock)
    clock.advance(days=2)
    async with db.session() as session:
        assert await prune(session, clock) == 1
    assert await _first(db, "bot1", "recent", clock) is False
    assert await _first(db, "bot1", "old", clock) is True  # forgotten, so new again


async def test_only_first_drops_replays(db, clock):
    handled: list[str] = []

    async def handler(update):
        handled.append(update.message_id)

    wrapped = only_first(db, "bot1", handler, clock)
    one = parse_update({"event_name": "message.text.received", "message": {"message_id": "x1", "text": "1"}})
    two = parse_update({"event_name": "message.text.received", "message": {"message_id": "x2", "text": "2"}})
    no_id = parse_update({"event_name": "message.text.received", "message": {"text": "?"}})
    for update in (one, one, two, one, two, no_id):
        await wrapped(update)
    assert handled == ["x1", "x2", None]
