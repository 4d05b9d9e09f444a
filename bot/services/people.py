"""People who talk to the bot."""

from __future__ import annotations

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.clock import Clock
from storage.db import abort, begin_write, write
from storage.models import Person

_PERSON = select(Person).where(Person.channel == bindparam("channel"), Person.external_id == bindparam("external_id"))


async def get_person(session: AsyncSession, external_id: int, channel: str = "telegram") -> Person | None:
    result = await session.execute(_PERSON, {"channel": channel, "external_id": external_id})
    return result.scalar_one_or_none()


async def touch_person(
    session: AsyncSession,
    clock: Clock,
    external_id: int,
    full_name: str,
    username: str | None,
    language_code: str | None,
    channel: str = "telegram",
    private: bool = False,
) -> Person:
    """Find or create the person behind an update; refresh their name.

    Writing happens only when something changed, so most updates stay read-only."""
    person = await get_person(session, external_id, channel)
    if person is not None and not changes(person, full_name, username, language_code, private):
        return person
    # Something to write: take the write lock first (a deferred read-then-write transaction
    # fails at once with "database is locked" on SQLite when another update writes meanwhile).
    await begin_write(session)
    person = await get_person(session, external_id, channel)
    if person is None:
        person = Person(channel=channel, external_id=external_id, full_name=full_name[:256], username=username,
                        language_code=language_code, started=private, created_at=clock.now())
        session.add(person)
        try:
            await session.commit()
        except IntegrityError:
            # Two updates from a new person handled at once on PostgreSQL (aiogram runs updates
            # as concurrent tasks): the other one created the row first. Use theirs.
            await abort(session)
            theirs = await get_person(session, external_id, channel)
            assert theirs is not None  # the unique key that refused our row is theirs
            return theirs
        return person
    for attr, value in changes(person, full_name, username, language_code, private).items():
        setattr(person, attr, value)
    await session.commit()
    return person


def changes(person: Person, full_name: str, username: str | None, language_code: str | None,
             private: bool) -> dict:
    wanted: dict[str, object] = {"full_name": full_name[:256], "username": username, "language_code": language_code}
    changes: dict[str, object] = {k: v for k, v in wanted.items() if v is not None and getattr(person, k) != v}
    if private and (not person.started or person.blocked):
        changes.update(started=True, blocked=False)
    return changes


async def set_person_locale(session: AsyncSession, person: Person, locale: str) -> None:
    """In a write transaction of its own (what the update read before is committed first): flushed
    into a read transaction that another writer has passed, SQLite would refuse the UPDATE."""
    async with write(session):
        person.locale = locale
        session.add(person)


async def mark_blocked(session: AsyncSession, external_id: int, blocked: bool, channel: str = "telegram") -> None:
    async with write(session):
        person = await get_person(session, external_id, channel)
        if person is not None and person.blocked != blocked:
            person.blocked = blocked
            if not blocked:
                person.started = True
