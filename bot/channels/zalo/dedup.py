"""Durable replay de-duplication for Zalo updates.

Zalo's getUpdates has no offset (an update already read can come back) and a webhook may be
redelivered, so every update is checked against `zalo_seen` before it is handled. The check is
ONE statement, `INSERT ... ON CONFLICT (bot_id, message_id) DO NOTHING RETURNING id`: of any
number of concurrent callers (several workers, a poller racing a webhook) exactly one gets the
row back, on SQLite and on PostgreSQL alike, and the answer survives a restart.

An update is marked before it is handled (at most once): a crash in the middle loses that one
message rather than, say, casting a ballot twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.channels.zalo.updates import ZaloUpdate
from bot.clock import Clock, SystemClock
from storage.db import Database, begin_write, is_sqlite, rowcount
from storage.models.zalo import ZaloSeen

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)  # how long a handled message id is remembered
_SYSTEM_CLOCK = SystemClock()


async def first_time(session: AsyncSession, bot_id: str, message_id: str, clock: Clock = _SYSTEM_CLOCK) -> bool:
    """Record (bot_id, message_id) as seen; True only for the first caller ever. Commits."""
    insert = sqlite.insert if is_sqlite(session) else postgresql.insert
    statement = (
        insert(ZaloSeen)
        .values(bot_id=str(bot_id), message_id=str(message_id), seen_at=clock.now())
        .on_conflict_do_nothing(index_elements=["bot_id", "message_id"])
        .returning(col(ZaloSeen.id))
    )
    await begin_write(session)
    inserted = (await session.execute(statement)).first() is not None
    await session.commit()
    return inserted


async def prune(session: AsyncSession, clock: Clock = _SYSTEM_CLOCK, keep: timedelta = KEEP) -> int:
    """Forget message ids seen longer ago than `keep`; returns how many rows went."""
    await begin_write(session)
    result = await session.execute(delete(ZaloSeen).where(col(ZaloSeen.seen_at) < clock.now() - keep))
    await session.commit()
    return rowcount(result)


UpdateHandler = Callable[[ZaloUpdate], Awaitable[None]]


def only_first(db: Database, bot_id: str, handler: UpdateHandler, clock: Clock = _SYSTEM_CLOCK) -> UpdateHandler:
    """Wrap an update handler so that a replayed update (same message_id) is dropped.

    Updates without a message_id cannot be told apart and are passed through."""

    async def wrapped(update: ZaloUpdate) -> None:
        if update.message_id is not None:
            async with db.session() as session:
                if not await first_time(session, bot_id, update.message_id, clock):
                    log.debug("zalo: replayed update dropped (%s)", update.event_name)
                    return
        await handler(update)

    return wrapped
