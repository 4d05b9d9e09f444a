"""/status, asked again in a quiet bloc, is served from a memo of its text (storage.db.Memo) — and
never a stale one: any write to any table drops it at once, in this process and, on PostgreSQL,
from another process (NOTIFY with the tables written); a new minute of the clock or another
language reads the database again."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, text

from bot.services import units as unit_service
from bot.services.blocs import bloc_of
from storage.db import Database, Memo
from tests.support.textbloc import text_bloc


def _memo(db: Database) -> Memo:
    feed = db.changes
    memo = feed.caches.get("status")
    assert isinstance(memo, Memo)
    return memo


class _Statements:
    def __init__(self, db: Database) -> None:
        self.n = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.n += 1


async def test_a_quiet_bloc_status_reads_nothing_and_any_write_is_seen(db, clock, settings):
    bloc = await text_bloc(db, clock, settings, reps=1)
    say = bloc.front.say
    first = (await say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
    assert "Đơn vị: 5 · đã có đại diện: 2/5" in first
    memo = _memo(db)
    hits = memo.hits
    statements = _Statements(db)
    before = statements.n
    again = (await say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
    assert again == first and memo.hits == hits + 1
    assert statements.n - before <= 2  # the actor is cached too: at most BEGIN/COMMIT of the update

    # A write through another session (a pledge opened by the service, a unit added) shows at once.
    async with db.session() as session:
        found = await bloc_of(session, bloc.bloc_id)
        await unit_service.add_units(session, clock, found, [("TTYT huyện Bình Liêu", None)], 1)
    changed = (await say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
    assert "Đơn vị: 6 · đã có đại diện: 2/6" in changed and "TTYT huyện Bình Liêu" in changed

    # Even raw SQL on a table /status never shows (the memo does not guess which tables matter).
    cached = (await say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
    hits = memo.hits
    async with db.engine.begin() as conn:
        await conn.execute(text("UPDATE bloc SET title = 'Khối đổi tên' WHERE id = :id"), {"id": bloc.bloc_id})
    renamed = (await say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
    assert memo.hits == hits and renamed != cached and "Khối đổi tên" in renamed


async def test_a_new_minute_or_another_language_reads_again(db, clock, settings):
    bloc = await text_bloc(db, clock, settings, reps=1)
    say = bloc.front.say
    await say(bloc.head, "Lan", "/status", chat=bloc.group)
    memo = _memo(db)
    misses = memo.misses
    clock.advance(minutes=1)
    await say(bloc.head, "Lan", "/status", chat=bloc.group)
    assert memo.misses == misses + 1
    await say(bloc.head, "Lan", "/lang en", chat=bloc.group)
    english = (await say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
    assert "Units:" in english


async def test_another_process_writing_drops_the_memo(db, db_url, clock, settings):
    """Two Database objects on one PostgreSQL stand for two processes (SQLite: one process per file,
    bot/locking.py, so its feed never needs to listen)."""
    bloc = await text_bloc(db, clock, settings, reps=1)
    feed = db.changes
    if not feed.remote:
        assert feed.usable
        return
    await feed.listen()  # what the first update does; waits until the listening connection is up
    assert feed.usable
    say = bloc.front.say
    await say(bloc.head, "Lan", "/status", chat=bloc.group)
    first = (await say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
    assert _memo(db).hits >= 1
    other = Database(db_url)
    try:
        before = feed.version()
        async with other.engine.begin() as conn:
            await conn.execute(text("UPDATE bloc SET title = 'Khối ở tiến trình khác' WHERE id = :id"),
                               {"id": bloc.bloc_id})
        for _ in range(200):
            if feed.version() != before:
                break
            await asyncio.sleep(0.02)
        after = (await say(bloc.head, "Lan", "/status", chat=bloc.group))[-1]
        assert after != first and "Khối ở tiến trình khác" in after
        # a table outside who-is-who (the outbox: /status shows failed deliveries) counts as well
        await say(bloc.head, "Lan", "/status", chat=bloc.group)
        memo = _memo(db)
        misses, outbox = memo.misses, feed.version(("outbox",))
        async with other.engine.begin() as conn:
            await conn.execute(text("DELETE FROM outbox WHERE id = -1"))
        for _ in range(200):
            if feed.version(("outbox",)) != outbox:
                break
            await asyncio.sleep(0.02)
        await say(bloc.head, "Lan", "/status", chat=bloc.group)
        assert memo.misses == misses + 1
    finally:
        await other.dispose()
