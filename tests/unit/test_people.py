import asyncio

from sqlmodel import select

from bot.services.people import touch_person
from storage.models import Person


async def test_concurrent_first_contact_creates_one_person(db, clock):
    async def touch():
        async with db.session() as s:
            person = await touch_person(s, clock, 777, "Lan", None, "vi")
            return person.id

    ids = await asyncio.gather(*(touch() for _ in range(8)))
    assert len(set(ids)) == 1
    async with db.session() as s:
        assert len((await s.execute(select(Person))).scalars().all()) == 1
