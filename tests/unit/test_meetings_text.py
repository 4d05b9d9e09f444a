"""Meetings in plain text (TextFront, no aiogram): the head schedules a meeting through the dialog
in the group, the representatives answer the private reminder by typing the number of a choice,
one sends a substitute whose name is asked in private."""

from __future__ import annotations

from sqlmodel import select

from bot.app import build_table
from bot.channels.textfront import Said, TextFront
from bot.conversations.core import Chat
from bot.conversations.meetings import conv as meetings_conv
from bot.services import meetings as svc
from storage.models import Bloc, Meeting, MeetingRsvp, Person, ReminderMute, Representative, Unit

GROUP_ID = -5001
HEAD = 11
REPS = {21: "TTYT thị xã Đông Triều", 22: "TTYT thị xã Quảng Yên", 23: "TTYT huyện Tiên Yên"}


async def seed(db, clock) -> None:
    async with db.session() as s:
        people = {}
        for uid, name in [(HEAD, "Lan"), (21, "Mai"), (22, "Hùng"), (23, "Thảo")]:
            people[uid] = Person(external_id=uid, channel="text", full_name=name, language_code="vi",
                                 started=True, created_at=clock.now())
            s.add(people[uid])
        await s.flush()
        bloc = Bloc(chat_id=GROUP_ID, title="Khối thi đua TTYT", year=2026, founder_person_id=people[HEAD].id,
                    created_at=clock.now())
        s.add(bloc)
        await s.flush()
        for i, (uid, name) in enumerate(REPS.items()):
            unit = Unit(bloc_id=bloc.id, name=name, name_key=name.casefold(), position=i, created_at=clock.now())
            s.add(unit)
            await s.flush()
            s.add(Representative(bloc_id=bloc.id, unit_id=unit.id, person_id=people[uid].id, joined_at=clock.now()))
        await s.commit()


async def remind_in_private(front: TextFront, db, meeting_id: int, uid: int) -> str:
    """What the outbox does on a text channel: the meeting's private reminder to one representative,
    its buttons remembered as that person's numbered choices."""
    (source,) = meetings_conv.deadline_sources
    async with db.session() as s:
        item = await source.load(s, meeting_id)
        rep = (await s.execute(select(Representative).join(Person).where(Person.external_id == uid))).scalar_one()
        unit = await s.get(Unit, rep.unit_id)
        reply = source.private_text(item, unit, front.clock.now())
    parts = front.pending.remember_reply(front.channel, str(uid), reply)
    front.said.extend(Said(uid, p) for p in parts)
    return "\n".join(parts)


async def test_schedule_by_dialog_and_answer_by_number(db, clock, settings):
    await seed(db, clock)
    front = TextFront(build_table(), db, clock, settings)
    # This branch's TextDelivery tests `if pending` and an empty PendingChoices is falsy (main tests
    # `is not None`): one unrelated entry keeps the store truthy.
    front.pending.remember(front.channel, "0", {1: "-"})
    group = Chat("text", GROUP_ID, False)

    # Only the head may schedule.
    out = await front.say(21, "Mai", "/meeting", chat=group)
    assert "Chỉ Trưởng khối" in out[-1]

    assert "Họp lúc nào" in (await front.say(HEAD, "Lan", "/meeting", chat=group))[-1]
    assert "không phải ngày giờ có thật" in (await front.say(HEAD, "Lan", "30/02/2027 08:00", chat=group))[-1]
    assert "Họp ở đâu" in (await front.say(HEAD, "Lan", "15/12/2026 14:00", chat=group))[-1]
    await front.say(HEAD, "Lan", "Phòng họp Sở Y tế", chat=group)
    assert "Nội dung họp" in (await front.say(HEAD, "Lan", "Sơ kết công tác thi đua", chat=group))[-1]
    card = "\n".join(await front.say(HEAD, "Lan", "-", chat=group))
    assert "Sơ kết công tác thi đua" in card and "14:00 Thứ Ba, ngày 15/12/2026" in card
    assert "Phòng họp Sở Y tế" in card and "Chưa trả lời (3/3)" in card
    assert "<b>" not in card  # plain text, no HTML
    assert "1 Dự · 2 Vắng · 3 Cử người thay" in card  # one line on a channel without buttons
    async with db.session() as s:
        (meeting,) = (await s.execute(select(Meeting))).scalars().all()
        assert meeting.group_message_id is not None  # the card was remembered

    # Each representative answers the private reminder by typing a number.
    reminder = await remind_in_private(front, db, meeting.id, 21)
    assert "Sơ kết công tác thi đua" in reminder and "4 · 🔕 Không nhắc việc này nữa" in reminder
    assert "tham dự" in (await front.say(21, "Mai", "1"))[-1]
    await remind_in_private(front, db, meeting.id, 22)
    assert "vắng mặt" in (await front.say(22, "Hùng", "Vắng"))[-1]  # the short label is a typed word too

    await remind_in_private(front, db, meeting.id, 23)
    said = await front.say(23, "Thảo", "3")
    assert any("cử người dự thay" in t for t in said)
    assert "họ tên" in front.last_to(23)  # the name is asked in private
    saved = await front.say(23, "Thảo", "Nguyễn Văn An, Phó Giám đốc")
    assert "Đã ghi nhận người dự thay: Nguyễn Văn An, Phó Giám đốc" in saved[-1]

    async with db.session() as s:
        rsvps = (await s.execute(select(MeetingRsvp).order_by(MeetingRsvp.unit_id))).scalars().all()
        assert [r.answer for r in rsvps] == ["attend", "absent", "substitute"]
        assert rsvps[2].substitute_name == "Nguyễn Văn An, Phó Giám đốc"
        tally = await svc.tally(s, await s.get(Meeting, meeting.id))
        assert tally.unanswered == []

    # "4" under a reminder mutes this meeting's private reminders for that person.
    await remind_in_private(front, db, meeting.id, 21)
    assert "không nhận tin nhắc riêng" in (await front.say(21, "Mai", "4"))[-1]
    async with db.session() as s:
        (mute,) = (await s.execute(select(ReminderMute))).scalars().all()
        assert (mute.item_kind, mute.item_id) == ("meeting", meeting.id)

    # /meetings in the group counts the answers.
    listing = (await front.say(HEAD, "Lan", "/meetings", chat=group))[-1]
    assert "Sơ kết công tác thi đua" in listing and "3/3" in listing
