"""End to end: the real bot (polling over HTTP, startup hooks: APScheduler + outbox worker)
against the fake Bot API. A meeting is scheduled, units answer, the clock jumps to each
reminder time, and exactly the units that have not answered get private reminders."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.conversations.reminders import Mute
from storage.models import Bloc, OutboxMessage, Person, Representative, Unit
from tests.e2e.harness import running_bot

VN = ZoneInfo("Asia/Ho_Chi_Minh")
UNITS = ["TTYT thị xã Đông Triều", "TTYT thị xã Quảng Yên", "TTYT thành phố Uông Bí", "TTYT huyện Hải Hà",
         "TTYT huyện Tiên Yên"]


def vn(*args) -> datetime:
    return datetime(*args, tzinfo=VN).astimezone(UTC)


async def seed(db, clock, tg):
    head = tg.add_user("Lan")
    reps = [tg.add_user(f"Đại diện {i + 1}") for i in range(len(UNITS))]
    for user in [head, *reps[:4]]:
        tg.started.add(user["id"])  # the fifth representative never pressed Start
    # The bot is put in the group without the "added" updates: the rows are seeded below instead.
    group = await tg.create_group("Khối thi đua TTYT", head, members=reps, admins=[head], with_bot=False)
    tg.bot_in.add(group["id"])
    async with db.session() as s:
        people = {}
        for user in [head, *reps]:
            person = Person(external_id=user["id"], full_name=user["first_name"], language_code="vi",
                            started=user["id"] in tg.started,
                            created_at=clock.now())
            s.add(person)
            people[user["id"]] = person
        await s.flush()
        bloc = Bloc(chat_id=group["id"], title="Khối thi đua TTYT", year=2026,
                    founder_person_id=people[head["id"]].id, created_at=clock.now())
        s.add(bloc)
        await s.flush()
        for i, (name, user) in enumerate(zip(UNITS, reps, strict=False)):
            unit = Unit(bloc_id=bloc.id, name=name, name_key=name.casefold(), position=i, created_at=clock.now())
            s.add(unit)
            await s.flush()
            s.add(Representative(bloc_id=bloc.id, unit_id=unit.id, person_id=people[user["id"]].id,
                                 joined_at=clock.now()))
        await s.commit()
    return head, reps, group


def reminders_in(tg, chat_id) -> list[str]:
    return [t for t in tg.bot_texts(chat_id) if "Nhắc lịch" in t]


async def fire(running, clock, when, expect_group: int):
    """Jump the clock to a reminder time, wake the worker, wait until the group got its reminder."""
    clock.set(when)
    running.app.extras["outbox"].kick()
    await running.tg.wait_for(lambda: len(reminders_in(running.tg, running.group_id)) >= expect_group, timeout=10)
    await running.app.extras["outbox"].worker.drain()  # the private ones of this fan-out are through too


async def test_meeting_rsvp_and_reminders_reach_exactly_the_non_responders(db, db_url, clock):
    clock.set(vn(2026, 11, 23, 9))
    async with running_bot(db, db_url, clock) as running:
        tg = running.tg
        head, reps, group = await seed(db, clock, tg)
        running.group_id = group["id"]

        await tg.send_text(head, group, "/meeting 11/12/2026 08:00 | Hội trường TTYT Tiên Yên | "
                                        "Hội nghị tổng kết năm 2026")
        card = await tg.wait_bot_message(group["id"], "Hội nghị tổng kết năm 2026")
        buttons = {b["text"]: b["callback_data"] for row in card["reply_markup"]["inline_keyboard"] for b in row}
        await tg.click(reps[0], card, buttons["✅ Tham dự"])
        await tg.click(reps[1], card, buttons["❌ Vắng mặt"])
        await tg.wait_for(lambda: "Chưa trả lời (3/5)" in (tg.messages(group["id"])[card_index(tg, group, card)]
                                                           .get("text") or ""))

        # 3 days before (08/12 08:00): group + units 3, 4 (5 never started: 403, failed)
        await fire(running, clock, vn(2026, 12, 8, 8), expect_group=1)
        assert "còn 3 ngày" in reminders_in(tg, group["id"])[0]
        assert [len(reminders_in(tg, r["id"])) for r in reps] == [0, 0, 1, 1, 0]

        # unit 3 answers from its private reminder; unit 4 mutes this meeting
        private3 = [m for m in tg.messages(reps[2]["id"], from_bot=True) if "Nhắc lịch" in (m.get("text") or "")][-1]
        data3 = {b["text"]: b["callback_data"] for row in private3["reply_markup"]["inline_keyboard"] for b in row}
        await tg.click(reps[2], private3, data3["✅ Tham dự"])
        await tg.wait_for(lambda: "Chưa trả lời (2/5)" in (tg.messages(group["id"])[card_index(tg, group, card)]
                                                           .get("text") or ""))

        # 1 day before: group + unit 4 only
        await fire(running, clock, vn(2026, 12, 10, 8), expect_group=2)
        assert [len(reminders_in(tg, r["id"])) for r in reps] == [0, 0, 1, 2, 0]
        private4 = [m for m in tg.messages(reps[3]["id"], from_bot=True) if "Nhắc lịch" in (m.get("text") or "")][-1]
        mute = [b["callback_data"] for row in private4["reply_markup"]["inline_keyboard"] for b in row
                if Mute.matches(b["callback_data"])][0]
        await tg.click(reps[3], private4, mute)
        await tg.wait_for(lambda: any("không nhận tin nhắc riêng" in (c.get("text") or "")
                                      for c in tg.answered_callbacks))

        # 2 hours before (06:00, urgent: inside quiet hours but kept): group only
        await fire(running, clock, vn(2026, 12, 11, 6), expect_group=3)
        assert "còn 2 giờ" in reminders_in(tg, group["id"])[2]
        assert [len(reminders_in(tg, r["id"])) for r in reps] == [0, 0, 1, 2, 0]

        async with db.session() as s:
            rows = (await s.execute(select(OutboxMessage))).scalars().all()
        private = [r for r in rows if r.kind == "private"]
        # units 3+4+5, then 4+5, then 5: unit 5's rows are failed (one real 403, then not tried again)
        assert sorted(r.status for r in private) == ["failed"] * 3 + ["sent"] * 3
        assert all(r.last_error.startswith("403") and r.chat_id == reps[4]["id"] for r in private
                   if r.status == "failed")
        assert sum(1 for m, code in tg.calls if m == "sendmessage" and code == 403) == 1
        assert not [r for r in rows if r.status in ("pending", "claimed") and r.due_at <= clock.now()]

        await tg.send_text(head, group, "/status")
        status = await tg.wait_bot_message(group["id"], "không gửi được")
        assert "Đại diện 5" in status["text"]


def card_index(tg, group, card) -> int:
    ids = [m["message_id"] for m in tg.messages(group["id"])]
    return ids.index(card["message_id"])
