"""The per-update actor (person, bloc, membership) is served from a cache while, and only while,
nothing behind it can have changed: any write to people, blocs, units or representatives drops it,
in this process and, on PostgreSQL, from another process (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.conversations.context import ActorCache, resolve_actor
from bot.conversations.core import Chat
from bot.services import blocs as bloc_service
from bot.services.blocs import Role
from bot.services.people import set_person_locale
from storage.db import Database, changes_of
from tests.support.textbloc import GROUP_ID, text_bloc

GROUP = Chat("text", GROUP_ID, False)


async def _resolve(db: Database, clock, user_id: int, name: str):
    async with db.session() as session:
        actor = await resolve_actor(session, clock, GROUP, user_id, name)
        return actor, session, ActorCache.of(session)


async def test_second_update_is_a_hit_and_gets_its_own_attached_copies(db, clock, settings):
    bloc = await text_bloc(db, clock, settings, reps=1)
    first, _s, cache = await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
    assert cache is not None and first.member is not None and first.member.role is Role.representative
    hits = cache.hits
    async with db.session() as session:
        again = await resolve_actor(session, clock, GROUP, bloc.reps[0], "Đại diện 1")
        assert cache.hits == hits + 1
        assert again.member is not None and again.member.role is Role.representative
        assert again.member.unit is not None and again.member.unit.id == first.member.unit.id
        assert again.person is not first.person and again.person in session  # a fresh copy, in this session
        # and it writes like a loaded row does
        await set_person_locale(session, again.person, "en")
    async with db.session() as session:
        reread = await resolve_actor(session, clock, GROUP, bloc.reps[0], "Đại diện 1")
        assert reread.person is not None and reread.person.locale == "en"


async def test_a_write_anywhere_drops_the_copies(db, clock, settings):
    bloc = await text_bloc(db, clock, settings, reps=1)
    actor, _s, cache = await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
    assert actor.member is not None and actor.member.role is Role.representative
    await _resolve(db, clock, bloc.reps[0], "Đại diện 1")  # cached now
    async with db.session() as session:  # the head makes this unit the deputy, in another session
        assert actor.member.unit is not None
        await bloc_service.set_post(session, clock, actor.member.bloc, Role.deputy, actor.member.unit, 1)
    after, _s, _c = await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
    assert after.member is not None and after.member.role is Role.deputy
    async with db.engine.begin() as conn:  # even raw SQL on this engine counts
        await conn.execute(text("UPDATE representative SET revoked_at = CURRENT_TIMESTAMP"))
    gone, _s, _c = await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
    assert gone.member is not None and gone.member.role is Role.outsider


async def test_a_new_name_is_written_not_served_from_the_cache(db, clock, settings):
    bloc = await text_bloc(db, clock, settings, reps=1)
    await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
    await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
    renamed, _s, _c = await _resolve(db, clock, bloc.reps[0], "Nguyễn Văn Mới")
    assert renamed.person is not None and renamed.person.full_name == "Nguyễn Văn Mới"
    async with db.session() as session:
        name = (await session.execute(text("SELECT full_name FROM person WHERE external_id = :x"),
                                      {"x": bloc.reps[0]})).scalar()
    assert name == "Nguyễn Văn Mới"


async def test_another_process_writing_drops_the_copies(db, db_url, clock, settings):
    """Two Database objects on one PostgreSQL stand for two processes: a write through one drops
    the other's copies (NOTIFY at commit). SQLite allows one process per file (bot/locking.py), so
    its feed never needs to listen."""
    bloc = await text_bloc(db, clock, settings, reps=1)
    async with db.session() as session:
        feed = changes_of(session)
    assert feed is not None
    if not feed.remote:
        assert feed.usable
        return
    await _resolve(db, clock, bloc.reps[0], "Đại diện 1")  # starts listening
    for _ in range(200):
        if feed.usable:
            break
        await asyncio.sleep(0.02)
    assert feed.usable
    await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
    actor, _s, cache = await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
    assert cache is not None and cache.hits >= 1
    other = Database(db_url)
    try:
        before = feed.generation
        async with other.session() as session:
            assert actor.member is not None and actor.member.unit is not None
            await bloc_service.set_post(session, clock, actor.member.bloc, Role.deputy, actor.member.unit, 1)
        for _ in range(200):
            if feed.generation != before:
                break
            await asyncio.sleep(0.02)
        after, _s, _c = await _resolve(db, clock, bloc.reps[0], "Đại diện 1")
        assert after.member is not None and after.member.role is Role.deputy
    finally:
        await other.dispose()


async def test_a_private_first_update_reads_person_and_memberships_in_one_query(db, clock, settings):
    """A representative's first update in private (an actor-cache miss): one query finds the person,
    their memberships and so the bloc, unit and role, while nothing about the person changed; a
    revoked membership and an inactive bloc count for nothing; a new name is still written."""
    from sqlalchemy import event

    from tests.support.textbloc import CHANNEL

    bloc = await text_bloc(db, clock, settings, reps=2)
    private = Chat(CHANNEL, bloc.reps[0], True)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with db.session() as session:
            ActorCache.of(session).entries.clear()
            actor = await resolve_actor(session, clock, private, bloc.reps[0], "Đại diện 1")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert actor.bloc is not None and actor.bloc.id == bloc.bloc_id
    assert actor.member is not None and actor.member.role is Role.representative and actor.member.unit is not None

    async with db.engine.begin() as conn:  # the second representative's membership is revoked
        await conn.execute(text("UPDATE representative SET revoked_at = CURRENT_TIMESTAMP "
                                "WHERE person_id = (SELECT id FROM person WHERE external_id = :x)"),
                           {"x": bloc.reps[1]})
    async with db.session() as session:
        revoked = await resolve_actor(session, clock, Chat(CHANNEL, bloc.reps[1], True), bloc.reps[1], "Đại diện 2")
    assert revoked.person is not None and (revoked.member is None or revoked.member.unit is None)

    async with db.engine.begin() as conn:  # the bloc is closed: no bloc in private for its members
        await conn.execute(text("UPDATE bloc SET is_active = :no"), {"no": False})
    async with db.session() as session:
        closed = await resolve_actor(session, clock, private, bloc.reps[0], "Đại diện 1")
    assert closed.person is not None and closed.bloc is None

    async with db.session() as session:  # a new name in private: written, then the memberships read
        renamed = await resolve_actor(session, clock, private, bloc.reps[0], "Trần Thị Mới")
    assert renamed.person is not None and renamed.person.full_name == "Trần Thị Mới"
    async with db.session() as session:
        name = (await session.execute(text("SELECT full_name FROM person WHERE external_id = :x"),
                                      {"x": bloc.reps[0]})).scalar()
    assert name == "Trần Thị Mới"
