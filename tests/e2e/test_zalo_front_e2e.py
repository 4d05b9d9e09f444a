"""A Zalo representative confirms the bloc's pledge over HTTP: the fake Zalo Bot API, our httpx
client, the long-poll loop with durable de-duplication, and the conversation table run as plain
text (numbered choices instead of buttons, a typed word instead of a deep link)."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.front import ZaloFront
from bot.channels.zalo.poller import ZaloPoller
from bot.fakeapi.zalo import FakeZalo
from bot.services import invites, pledge, units
from bot.services.blocs import member_of
from bot.services.people import touch_person
from storage.models import Bloc, PledgeSignature
from tests.support.textbloc import text_bloc

TOKEN = "7070707070:front-secret"


@pytest.fixture
async def zalo():
    async with FakeZalo(token=TOKEN, poll_timeout=0.02) as fake:
        yield fake


async def test_zalo_representative_confirms_the_pledge(zalo, db, clock, settings):
    tb = await text_bloc(db, clock, settings, reps=0)
    user = zalo.add_user("Chị Mai")
    async with ZaloClient(TOKEN, zalo.base_url) as client:
        front = ZaloFront(client, tb.front.table, db, clock, settings)
        number = await front.number_of(user["id"])
        async with db.session() as session:  # Mai joined unit 3 (the Zalo join code is issue 13's)
            bloc = await session.get(Bloc, tb.bloc_id)
            unit3 = (await units.list_units(session, bloc.id))[2]
            link = (await invites.issue_links(session, clock, bloc, [unit3], 14, None))[0]
            mai = await touch_person(session, clock, number, "Chị Mai", None, None, channel="zalo", private=True)
            await invites.join(session, clock, link.payload, mai)
            head = await touch_person(session, clock, tb.head, "Lan", None, None, channel="text")
            member = await member_of(session, bloc, head)
            posted = await pledge.post_pledge(session, clock, member, "Cam kết hoàn thành chỉ tiêu", None, None)
        poller = ZaloPoller(client, front.handle, db,
                            poll_timeout=1, clock=clock)
        task = asyncio.create_task(poller.run())
        try:
            first = await zalo.send_text(user, f"camket {posted.id}")  # the word instead of the link
            prompt = await zalo.wait_for(lambda: zalo.texts_to(user["id"]))
            assert "1 · ✍️ TTYT thị xã Quảng Yên xác nhận tham gia giao ước" in prompt[-1]
            assert "<b>" not in prompt[-1] and "Trả lời bằng số" in prompt[-1]
            await zalo.send_text(user, "1")
            done = await zalo.wait_for(lambda: zalo.texts_to(user["id"])[1:])
            assert "TTYT thị xã Quảng Yên đã xác nhận tham gia giao ước" in done[-1]
            await zalo.replay(first)  # Zalo serves an old update again: handled once only
            await zalo.send_sticker(user)
            sticker = await zalo.wait_for(lambda: zalo.texts_to(user["id"])[2:])
            assert "chỉ đọc được tin nhắn chữ" in sticker[-1]
            assert len(zalo.texts_to(user["id"])) == 3
        finally:
            poller.stop()
            await asyncio.wait_for(task, 5)
    async with db.session() as session:
        assert len((await session.execute(select(PledgeSignature))).scalars().all()) == 1
