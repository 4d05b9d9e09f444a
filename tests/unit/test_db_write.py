"""storage.db.write: one write transaction, committed on success, rolled back on any exception."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.services.errors import UserError
from storage.db import write
from storage.models import Person


async def names(db) -> list[str]:
    async with db.session() as s:
        return [p.full_name for p in (await s.execute(select(Person).order_by(Person.id))).scalars()]


async def test_commits_on_success(db, clock):
    async with db.session() as session:
        async with write(session):
            session.add(Person(external_id=1, full_name="Lan", created_at=clock.now()))
        assert not session.in_transaction()
    assert await names(db) == ["Lan"]


@pytest.mark.parametrize("error", [UserError("không được"), RuntimeError("bug")])
async def test_rolls_back_on_any_exception_and_keeps_loaded_objects_readable(db, clock, error):
    async with db.session() as session:
        async with write(session):
            kept = Person(external_id=2, full_name="Mai", created_at=clock.now())
            session.add(kept)
        with pytest.raises(type(error)):
            async with write(session):
                session.add(Person(external_id=3, full_name="Hùng", created_at=clock.now()))
                await session.flush()
                raise error
        assert kept.full_name == "Mai"  # detached, not expired: still readable after the abort
    assert await names(db) == ["Mai"]


async def test_sqlite_write_takes_the_lock_up_front(db):
    if db.dialect != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite's")
    async with db.session() as session, write(session):
        conn = await session.connection()
        assert conn.sync_connection.get_execution_options().get("thidua_write") is True
