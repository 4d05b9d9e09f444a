"""The apology for an unexpected failure must go out even when the failure left the update's rows
unreadable: a failed commit rolls the session back and expires the person and bloc, and a row that
is then detached cannot load its attributes again (the sandbox's vote results once ended that way,
and the error handler itself raised, so the user got nothing)."""

from __future__ import annotations

from sqlalchemy import inspect

from handlers.errors import _locale
from storage.models import Person


async def test_the_apology_language_survives_an_expired_detached_person(db, clock, settings):
    async with db.session() as session:
        person = Person(external_id=777, full_name="Lan", started=True, created_at=clock.now(), locale="en")
        session.add(person)
        await session.commit()
        assert _locale({"person": person, "settings": settings}) == "en"  # readable: the person's own
        session.expire(person)  # what a rollback does to it
        session.expunge(person)  # and the session is gone
    assert inspect(person).detached and "locale" not in inspect(person).dict
    assert _locale({"person": person, "bloc": None, "settings": settings}) == settings.default_locale
