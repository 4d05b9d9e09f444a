"""Writes that come after an update's reads. The update's session has a read transaction open (it
read the person, the form, ...); meanwhile another update writes and commits. Flushed into that
stale read transaction, SQLite refuses the write at once ("database is locked", no busy wait), and
the representative gets an apology for a language switch, an upload link or a block notice. Each of
these paths opens its own write transaction (storage.db.write) after committing what was read."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import select

from bot.services import uploads
from bot.services.people import get_person, mark_blocked, set_person_locale, touch_person
from storage.models import UploadTicket
from tests.unit.test_upload_page import _open_form


async def _reads_then_another_writes(db, clock, session) -> None:
    await session.execute(text("SELECT count(*) FROM person"))  # the update's reads so far
    async with db.session() as other:  # another update writes and commits meanwhile
        await touch_person(other, clock, 90_000 + clock.now().second, "Người khác", None, "vi")


async def test_a_language_switch_after_reads_that_another_writer_passed(db, clock):
    async with db.session() as s:
        person = await touch_person(s, clock, 501, "Lan", None, "vi")
    async with db.session() as session:
        person = await get_person(session, 501)
        await _reads_then_another_writes(db, clock, session)
        await set_person_locale(session, person, "en")
    async with db.session() as s:
        assert (await get_person(s, 501)).locale == "en"


async def test_a_block_notice_after_reads_that_another_writer_passed(db, clock):
    async with db.session() as s:
        await touch_person(s, clock, 502, "Mai", None, "vi", private=True)
    async with db.session() as session:
        await _reads_then_another_writes(db, clock, session)
        await mark_blocked(session, 502, True)
    async with db.session() as s:
        assert (await get_person(s, 502)).blocked is True


async def test_an_upload_link_and_the_pruning_after_reads_that_another_writer_passed(db, clock, settings):
    from bot.services import assessments as svc
    from bot.services import blocs
    from tests.unit.test_assessment_text import GROUP_ID

    await _open_form(db, clock, settings)
    async with db.session() as session:
        rnd = await svc.open_round_of(session, (await blocs.bloc_by_chat(session, GROUP_ID)).id)
        await _reads_then_another_writes(db, clock, session)
        token = await uploads.issue(session, clock, rnd.id, 1)
        assert await uploads.ticket(session, clock, token) is not None
    clock.advance(minutes=40)
    async with db.session() as session:
        await _reads_then_another_writes(db, clock, session)
        assert await uploads.prune(session, clock) == 1
    async with db.session() as s:
        assert (await s.execute(select(UploadTicket))).scalars().all() == []
