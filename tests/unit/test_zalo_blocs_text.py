"""Issue 13 in plain text (TextFront, no aiogram, no HTTP): join codes on the invite row, a bloc
without a group run from a private chat (and "which bloc?" for a head of two), group posts copied
to members off the group through the outbox (once per event, in their language), the Zalo usage
count and its status line."""

from __future__ import annotations

import re

from sqlmodel import select

from bot.channels.textfront import TextFront
from bot.conversations.table import build_table
from bot.i18n import use_locale
from bot.services import invites, zalo_usage
from bot.services.people import touch_person
from bot.views import core as views
from storage.models import Bloc, Invite, OutboxMessage, Person
from tests.support.textbloc import text_bloc

CODE = re.compile(r"\b([2-9A-Z]{4}-[2-9A-Z]{4})\b")


def test_codes_are_read_in_any_case_with_or_without_the_dash():
    assert invites.normalize_code("7kq2-mxp4") == "7KQ2MXP4"
    assert invites.normalize_code(" 7KQ2 MXP4 ") == "7KQ2MXP4"
    assert invites.normalize_code("7KQ2MXP") is None  # too short
    assert invites.normalize_code("OKQ2-MXP4") is None  # O is not in the alphabet (read as 0)
    assert re.match(invites.CODE_PATTERN, "dk 7kq2-mxp4") and not re.match(invites.CODE_PATTERN, "xin chao")


async def test_join_code_is_the_invite_single_use_and_revocable(db, clock, settings):
    tb = await text_bloc(db, clock, settings, reps=0)
    front = tb.front
    await front.say(tb.head, "Lan", "/start")
    await front.say(tb.head, "Lan", "/invite", chat=tb.group)
    sent = "\n".join(front.texts_to(tb.head))
    codes = CODE.findall(sent)
    assert "Mã Zalo" in sent and "start=j_" in sent  # the head sees link and code for each unit
    assert len(codes) == 5
    async with db.session() as session:  # each invite row carries both: no second table of codes
        rows = (await session.execute(select(Invite))).scalars().all()
        assert rows and all(r.code_hash and r.token_hash for r in rows)

    said = await front.say(201, "Mai", codes[1].lower())  # typed alone, lower case
    assert "TTYT thị xã Đông Triều" in said[-1] and "1 · " in said[-1]
    said = await front.say(201, "Mai", "1")
    assert said[-1].startswith("✅ Từ nay bạn là đại diện của TTYT thị xã Đông Triều")
    # The same unit's code (or its Telegram link: the same invite) for a second person: refused, head told.
    await front.say(202, "Hùng", f"dk {codes[1]}")
    said = await front.say(202, "Hùng", "1")
    assert said[-1].startswith("Link tham gia này đã được sử dụng")
    assert "Hùng" in front.last_to(tb.head)

    await front.say(tb.head, "Lan", "/revokelinks", chat=tb.group)
    said = await front.say(203, "Thảo", codes[2])
    assert "Trưởng khối đã thu hồi" in said[-1]
    await front.say(tb.head, "Lan", "/invite 4", chat=tb.group)
    fresh = CODE.findall(front.last_to(tb.head))[-1]
    clock.advance(days=settings.invite_ttl_days + 1)
    said = await front.say(203, "Thảo", fresh)
    assert "đã hết hạn" in said[-1]


async def test_a_bloc_without_a_group_is_run_from_private_and_asks_which_bloc(db, clock, settings):
    front = TextFront(build_table(), db, clock, settings, channel="zalo")
    head = 301
    said = await front.say(head, "Lan", "setup Khối thi đua Y tế")
    assert "Đã lập khối" in said[-1]
    said = await front.say(head, "Lan", "addunit\nTTYT A\nTTYT B")
    assert "Đã thêm 2 đơn vị" in said[-1]
    said = await front.say(head, "Lan", "units")  # a group command, in private: no "works in the group"
    assert "TTYT A" in said[-1]
    said = await front.say(head, "Lan", "help")  # the group's commands are listed here too
    assert "/addunit" in said[-1] and "/vote" in said[-1] and "/whoami" in said[-1]
    said = await front.say(head, "Lan", "setup Khối thi đua Giáo dục")
    assert "Giáo dục" in said[-1]
    said = await front.say(head, "Lan", "status")
    assert "Bạn đang ở 2 khối" in said[-1] and "1 · Khối thi đua Y tế" in said[-1]
    said = await front.say(head, "Lan", "1")
    assert "Khối thi đua Y tế" in said[-1] and "Đơn vị: 2" in said[-1]
    async with db.session() as session:
        blocs = (await session.execute(select(Bloc))).scalars().all()
        assert [b.has_group for b in blocs] == [False, False]
    # Telegram blocs live in their group: there, /setup in private still says so.
    tg = TextFront(build_table(), db, clock, settings, channel="telegram")
    said = await tg.say(401, "Khoa", "/setup Khối X")
    assert "nhóm" in said[-1]


async def test_group_posts_reach_zalo_members_once_per_event_in_their_language(db, clock, settings):
    tb = await text_bloc(db, clock, settings, reps=1)  # a group on the text channel, one rep there
    async with db.session() as session:
        bloc = await session.get(Bloc, tb.bloc_id)
        units = (await invites.list_representatives(session, bloc.id))
        from bot.services import units as unit_service

        unit3 = (await unit_service.list_units(session, bloc.id))[2]
        link = (await invites.issue_links(session, clock, bloc, [unit3], 14, None))[0]
        mai = await touch_person(session, clock, 7001, "Mai", None, None, channel="zalo", private=True)
        mai.locale = "en"
        session.add(mai)
        await session.commit()
        await invites.join(session, clock, link.payload, mai)
        assert len(units) == 2
    said = await tb.front.say(tb.head, "Lan", "/pledge Giao ước năm 2026", chat=tb.group)
    assert "Giao ước thi đua" in said[-1]  # the group still gets its card
    async with db.session() as session:
        rows = (await session.execute(select(OutboxMessage))).scalars().all()
        people = {p.id: p for p in (await session.execute(select(Person))).scalars()}
    assert [people[r.person_id].channel for r in rows] == ["zalo"]  # only the member off the group
    assert "pledge" in rows[0].text.lower() and "Giao ước năm 2026" in rows[0].text  # in her language
    # A representative confirms: the card is edited, nothing more is queued for Mai.
    await tb.front.say(tb.reps[0], "Đại diện 1", "/sign")
    await tb.front.say(tb.reps[0], "Đại diện 1", "1")
    assert tb.front.refreshed
    async with db.session() as session:
        assert len((await session.execute(select(OutboxMessage))).all()) == 1


async def test_usage_is_counted_and_warns_once(db, clock):
    assert await zalo_usage.count_sent(db, clock, "42", 10, "Asia/Ho_Chi_Minh", 7) is False
    assert await zalo_usage.count_sent(db, clock, "42", 10, "Asia/Ho_Chi_Minh") is True  # 8 of 10: 80%
    assert await zalo_usage.count_sent(db, clock, "42", 10, "Asia/Ho_Chi_Minh") is False  # once
    async with db.session() as session:
        usage = await zalo_usage.this_month(session, clock, "Asia/Ho_Chi_Minh")
    assert usage is not None and usage.sent == 9
    with use_locale("vi"):
        assert views.zalo_usage_line(1234, 3000) == "Zalo: 1.234/3.000 tin nhắn tháng này"
    with use_locale("en"):
        assert views.zalo_usage_line(1234, 3000) == "Zalo: 1,234/3,000 messages this month"
