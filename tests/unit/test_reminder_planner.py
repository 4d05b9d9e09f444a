"""The reminder planner: offsets, quiet hours, reschedule, cancel (FakeClock, real database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.services import meetings as svc
from bot.services import reminders
from bot.services.blocs import Member, Role
from bot.services.errors import UserError
from bot.views import meetings as meeting_views
from storage.models import Bloc, OutboxMessage, Person

VN = ZoneInfo("Asia/Ho_Chi_Minh")
QUIET = reminders.quiet_of("21:00-07:00")
OFFSETS = reminders.offsets_of("3d,1d,2h")


def vn(y, mo, d, h, mi=0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=VN).astimezone(UTC)


def local(at: datetime) -> str:
    return at.astimezone(VN).strftime("%d/%m %H:%M")


def test_default_offsets_outside_quiet_hours():
    plan = reminders.plan_times(vn(2026, 12, 11, 14), vn(2026, 12, 1, 9), OFFSETS, QUIET, VN)
    assert [local(p.at) for p in plan] == ["08/12 14:00", "10/12 14:00", "11/12 12:00"]
    assert [p.urgent for p in plan] == [False, False, True]


def test_quiet_hours_move_to_morning_but_not_urgent_ones():
    # Meeting at 08:00: 3 days and 1 day before fall at 08:00 (fine); 2 h before = 06:00 (urgent, kept).
    plan = reminders.plan_times(vn(2026, 12, 11, 8), vn(2026, 12, 1, 9), OFFSETS, QUIET, VN)
    assert [local(p.at) for p in plan] == ["08/12 08:00", "10/12 08:00", "11/12 06:00"]
    # Meeting at 23:00: 3d and 1d before fall at 23:00 -> next morning 07:00.
    plan = reminders.plan_times(vn(2026, 12, 11, 23), vn(2026, 12, 1, 9), OFFSETS, QUIET, VN)
    assert [local(p.at) for p in plan] == ["09/12 07:00", "11/12 07:00", "11/12 21:00"]


def test_quiet_reminder_whose_morning_is_too_late_goes_the_evening_before():
    # Deadline 06:30; "1 day before" is 06:30 (quiet); 07:00 the next morning would be after it? No:
    # the morning after 06:30 on the 10th is 07:00 on the 10th, fine. Use a 12 h offset instead:
    plan = reminders.plan_times(vn(2026, 12, 11, 6, 30), vn(2026, 12, 1, 9), [timedelta(hours=12)], QUIET, VN)
    # 18:30 the day before is outside quiet hours: unchanged.
    assert [local(p.at) for p in plan] == ["10/12 18:30"]
    plan = reminders.plan_times(vn(2026, 12, 11, 6, 30), vn(2026, 12, 1, 9), [timedelta(hours=5)], QUIET, VN)
    # 01:30 is quiet, 07:00 is after the deadline: 20:59 the evening before.
    assert [local(p.at) for p in plan] == ["10/12 20:59"]


def test_past_reminders_are_not_planned_and_quiet_off():
    now = vn(2026, 12, 10, 12)
    plan = reminders.plan_times(vn(2026, 12, 11, 23), now, OFFSETS, None, VN)
    assert [local(p.at) for p in plan] == ["10/12 23:00", "11/12 21:00"]


def test_settings_parse_and_reject():
    assert reminders.parse_offsets("2h, 3d ,1d") == "3d,1d,2h"
    assert reminders.parse_offsets("off") == "off"
    assert reminders.parse_quiet("22:00 - 6:30") == "22:00-06:30"
    for bad in ("3x", "0d", ""):
        with pytest.raises(UserError):
            reminders.parse_offsets(bad)
    with pytest.raises(UserError):
        reminders.parse_quiet("25:00-07:00")


# -- with the database ----------------------------------------------------------------------------
async def _bloc(session, clock, **settings) -> tuple[Bloc, Member]:
    person = Person(external_id=5001, full_name="Lan", created_at=clock.now(), started=True)
    session.add(person)
    await session.flush()
    bloc = Bloc(chat_id=-100500, title="Khối A", year=2026, founder_person_id=person.id, created_at=clock.now(),
                settings=settings)
    session.add(bloc)
    await session.commit()
    return bloc, Member(bloc=bloc, person=person, unit=None, role=Role.founder)


async def _rows(db, **where) -> list[OutboxMessage]:
    async with db.session() as s:
        stmt = select(OutboxMessage).order_by(OutboxMessage.due_at, OutboxMessage.kind)
        for name, value in where.items():
            stmt = stmt.where(getattr(OutboxMessage, name) == value)
        return list((await s.execute(stmt)).scalars().all())


async def test_create_plans_group_and_fanout_rows_once(db, session, clock):
    clock.set(vn(2026, 12, 1, 9))
    bloc, member = await _bloc(session, clock)
    draft = svc.Draft(when=vn(2026, 12, 11, 14), place="Hội trường", title="Tổng kết")
    meeting = await svc.create_meeting(session, clock, member, draft)
    rows = await _rows(db, status="pending")
    assert [(r.kind, local(r.due_at)) for r in rows] == [
        ("fanout", "08/12 14:00"), ("group", "08/12 14:00"), ("fanout", "10/12 14:00"), ("group", "10/12 14:00"),
        ("fanout", "11/12 12:00"), ("group", "11/12 12:00")]
    assert all(r.chat_id == bloc.chat_id for r in rows if r.kind == "group")
    # planning again changes nothing (UNIQUE dedup_key)
    await reminders.plan_item(session, clock, "meeting", meeting.id)
    await session.commit()
    assert len(await _rows(db)) == 6


async def test_per_bloc_offsets(db, session, clock):
    clock.set(vn(2026, 12, 1, 9))
    bloc, member = await _bloc(session, clock, reminders="5d,30m", quiet_hours="off")
    await svc.create_meeting(session, clock, member, svc.Draft(when=vn(2026, 12, 11, 22), place="P", title="T"))
    rows = await _rows(db, kind="group")
    assert [local(r.due_at) for r in rows] == ["06/12 22:00", "11/12 21:30"]


async def test_reschedule_replans_and_cancel_withdraws(db, session, clock):
    clock.set(vn(2026, 12, 1, 9))
    bloc, member = await _bloc(session, clock)
    meeting = await svc.create_meeting(session, clock, member,
                                       svc.Draft(when=vn(2026, 12, 11, 14), place="P", title="T"))
    moved, old = await svc.reschedule(session, clock, member, meeting.id, vn(2026, 12, 18, 9),
                                      lambda m, o: _reply("moved"))
    assert moved.version == 2 and old == vn(2026, 12, 11, 14)
    pending = await _rows(db, status="pending", kind="group")
    assert [local(r.due_at) for r in pending] == ["15/12 09:00", "17/12 09:00", "18/12 07:00"]
    assert all(r.item_version == 2 for r in pending)
    cancelled = await _rows(db, status="cancelled")
    assert len(cancelled) == 6 and all(r.item_version == 1 for r in cancelled)

    await svc.cancel(session, clock, member, meeting.id, lambda m: _reply("cancelled"))
    assert await _rows(db, status="pending", kind="group") == []
    assert await _rows(db, status="pending", kind="fanout") == []


async def test_late_reschedule_plans_only_reminders_still_ahead(db, session, clock):
    clock.set(vn(2026, 12, 1, 9))
    bloc, member = await _bloc(session, clock)
    meeting = await svc.create_meeting(session, clock, member,
                                       svc.Draft(when=vn(2026, 12, 11, 14), place="P", title="T"))
    # a later clock: only the reminders still ahead are planned for a changed meeting
    clock.set(vn(2026, 12, 10, 20))
    moved, _old = await svc.reschedule(session, clock, member, meeting.id, vn(2026, 12, 11, 15),
                                       lambda m, o: _reply("moved"))
    pending = await _rows(db, status="pending", kind="group")
    assert [local(r.due_at) for r in pending] == ["11/12 13:00"]  # 3d and 1d before are past


def _reply(text):
    from bot.views.base import Reply

    return Reply(text)


def test_parse_when_examples(clock):
    bloc = Bloc(chat_id=-1, title="x", year=2026, created_at=clock.now())
    now = vn(2026, 11, 23, 9)
    assert svc.parse_when("11/12/2026 08:00", bloc, now) == vn(2026, 12, 11, 8)
    for bad, _words in (("31/02/2027 08:00", "không"), ("2026-12-11 08:00", "dd/mm/yyyy"),
                       ("01/01/2026 08:00", "đã qua")):
        with pytest.raises(UserError) as err:
            svc.parse_when(bad, bloc, now)
        assert "<code>" not in err.value.message  # the view adds the format hint
        assert "08:00 11/12/2026" in meeting_views.bad_when(err.value.message)
