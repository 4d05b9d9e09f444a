"""Meetings: schedule, answer (attend / absent / substitute), reschedule, cancel; and the
meeting's deadline source for reminders (units that have not answered)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.clock import Clock
from bot.i18n import _
from bot.services import reminders
from bot.services.blocs import Member, bloc_of, member_of, require_manager
from bot.services.errors import NotAllowed, UserError
from bot.services.timefmt import date_first, local_text, zone  # noqa: F401  (the meeting views use svc.local_text)
from storage.db import abort, begin_write
from storage.models import AuditEvent, Bloc, Meeting, MeetingRsvp, Person, Unit

KIND = "meeting"
ANSWERS = ("attend", "absent", "substitute")
MAX_TITLE, MAX_PLACE, MAX_AGENDA, MAX_NAME = 200, 200, 2000, 120
FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M", "%d-%m-%Y %H:%M", "%d/%m/%Y %H.%M")
EXAMPLE = "08:00 11/12/2026"  # the time first, as every date-time is printed (timefmt)
MAX_AHEAD = timedelta(days=730)


class BadWhen(UserError):
    """A date and time that cannot be used; the message says why (plain text, may be empty): the
    caller adds how to write one (bot/views/meetings.format_hint)."""


class BadOneLine(UserError):
    """/meeting's one line lacks its parts: the caller shows the usage (bot/views/meetings.one_line_usage)."""


class BadNumber(UserError):
    """Not the number of an upcoming meeting; `count` upcoming meetings exist."""

    def __init__(self, count: int) -> None:
        super().__init__(_("There is no upcoming meeting.") if not count else
                         _("Write the meeting's number (1 to {n}).").format(n=count))
        self.count = count


def parse_when(raw: str, bloc: Bloc, now: datetime) -> datetime:
    """HH:MM dd/mm/yyyy (or dd/mm/yyyy HH:MM) in the bloc's zone -> aware UTC. Bad format, impossible date,
    past: UserError."""
    text = date_first(re.sub(r"\s+", " ", (raw or "").strip()))
    if not re.match(r"^\d{1,2}[/-]\d{1,2}[/-]\d{4} \d{1,2}[:h.]\d{2}$", text):
        raise BadWhen(_("I could not read “{value}” as a date and time.").format(value=_esc(text[:40])))
    parsed = None
    for fmt in FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        raise BadWhen(_("“{value}” is not a real date or time.").format(value=_esc(text)))
    when = parsed.replace(tzinfo=zone(bloc)).astimezone(UTC)
    if when <= now:
        raise BadWhen(_("{value} is already past.").format(value=_esc(text)))
    if when - now > MAX_AHEAD:
        raise BadWhen(_("{value} is more than two years away.").format(value=_esc(text)))
    return when


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=False)


@dataclass
class Draft:
    when: datetime | None = None
    place: str = ""
    title: str = ""
    agenda: str = ""
    file_id: str | None = None
    file_name: str | None = None


def clean(text: str, limit: int, what: str) -> str:
    value = re.sub(r"[ \t]+", " ", (text or "").strip())
    if len(value) > limit:
        raise UserError(_("The {what} is too long (at most {limit} characters).").format(what=what, limit=limit))
    return value


def check_title(text: str) -> str:
    value = clean(text, MAX_TITLE, _("title"))
    if not value:
        raise UserError(_("The meeting needs a title, for example: Hội nghị tổng kết năm 2026."))
    return value


def check_place(text: str) -> str:
    value = clean(text, MAX_PLACE, _("place"))
    if not value:
        raise UserError(_("Write where the meeting takes place, for example: Hội trường TTYT Tiên Yên."))
    return value


def parse_one_line(args: str, bloc: Bloc, now: datetime) -> Draft:
    parts = [p.strip() for p in args.split("|")]
    if len(parts) < 3:
        raise BadOneLine(_("Write the time, the place and the title, separated by |."))
    draft = Draft(when=parse_when(parts[0], bloc, now), place=check_place(parts[1]), title=check_title(parts[2]))
    draft.agenda = clean("|".join(parts[3:]), MAX_AGENDA, _("agenda"))
    return draft


# -- queries -------------------------------------------------------------------------------------
async def active_units(session: AsyncSession, bloc_id: int) -> list[Unit]:
    result = await session.execute(select(Unit).where(Unit.bloc_id == bloc_id, Unit.is_active == True)  # noqa: E712
                                   .order_by(col(Unit.position), col(Unit.id)))
    return list(result.scalars().all())


async def upcoming(session: AsyncSession, bloc_id: int, now: datetime) -> list[Meeting]:
    result = await session.execute(select(Meeting).where(
        Meeting.bloc_id == bloc_id, Meeting.status == "scheduled", Meeting.starts_at > now - timedelta(hours=3))
        .order_by(col(Meeting.starts_at), col(Meeting.id)))
    return list(result.scalars().all())


def status_probe(bloc_id: int, now: datetime):
    """/status: true when `upcoming` finds a meeting (one SELECT with the other features')."""
    return select(Meeting.id).where(Meeting.bloc_id == bloc_id, Meeting.status == "scheduled",
                                    Meeting.starts_at > now - timedelta(hours=3)).exists()


async def meeting_by_number(session: AsyncSession, bloc: Bloc, raw: str, now: datetime) -> Meeting:
    meetings = await upcoming(session, bloc.id, now)
    text = (raw or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= len(meetings):
        raise BadNumber(len(meetings))
    return meetings[int(text) - 1]


@dataclass
class Tally:
    meeting: Meeting
    units: list[Unit]
    answers: dict[int, MeetingRsvp] = field(default_factory=dict)  # unit id -> answer

    def with_answer(self, answer: str) -> list[tuple[Unit, MeetingRsvp]]:
        return [(u, self.answers[u.id]) for u in self.units if u.id in self.answers
                and self.answers[u.id].answer == answer]

    @property
    def unanswered(self) -> list[Unit]:
        return [u for u in self.units if u.id not in self.answers]


async def tally(session: AsyncSession, meeting: Meeting) -> Tally:
    units = await active_units(session, meeting.bloc_id)
    rows = (await session.execute(select(MeetingRsvp).where(
        MeetingRsvp.meeting_id == meeting.id, MeetingRsvp.version == meeting.version))).scalars().all()
    return Tally(meeting, units, {r.unit_id: r for r in rows})


# -- changes -----------------------------------------------------------------------------------
def _audit(session: AsyncSession, clock: Clock, meeting: Meeting, actor: Person | None, action: str,
           **detail: Any) -> None:
    session.add(AuditEvent(bloc_id=meeting.bloc_id, at=clock.now(), actor_person_id=actor.id if actor else None,
                           action=action, detail={"meeting_id": meeting.id, **detail}))


async def create_meeting(session: AsyncSession, clock: Clock, member: Member, draft: Draft) -> Meeting:
    require_manager(member)
    if draft.when is None or draft.when <= clock.now():
        raise BadWhen("")
    now = clock.now()
    await begin_write(session)
    meeting = Meeting(bloc_id=member.bloc.id, title=draft.title, starts_at=draft.when, place=draft.place,
                      agenda=draft.agenda, file_id=draft.file_id, file_name=draft.file_name,
                      created_by_person_id=member.person.id, created_at=now, updated_at=now)
    session.add(meeting)
    await session.flush()
    _audit(session, clock, meeting, member.person, "meeting.create", starts_at=draft.when.isoformat())
    await reminders.plan_item(session, clock, KIND, meeting.id)
    await session.commit()
    return meeting


async def set_group_message(session: AsyncSession, meeting_id: int, message_id: int) -> None:
    await begin_write(session)
    meeting = await session.get(Meeting, meeting_id, populate_existing=True)
    if meeting is not None:
        meeting.group_message_id = message_id
    await session.commit()


async def _locked(session: AsyncSession, meeting_id: int) -> Meeting | None:
    result = await session.execute(select(Meeting).where(Meeting.id == meeting_id).with_for_update()
                                   .execution_options(populate_existing=True))
    return result.scalar_one_or_none()


async def reschedule(session: AsyncSession, clock: Clock, member: Member, meeting_id: int, when: datetime,
                     notice: Callable[[Meeting, datetime], Any]) -> tuple[Meeting, datetime]:
    """Move the meeting: answers are asked again (new version), reminders re-planned, every
    representative told in private (`notice(meeting, old_time)` renders the message)."""
    require_manager(member)
    await begin_write(session)
    meeting = await _locked(session, meeting_id)
    if meeting is None or meeting.bloc_id != member.bloc.id or meeting.status != "scheduled":
        await abort(session)
        raise UserError(_("This meeting was cancelled or does not exist."))
    if when == meeting.starts_at:
        await abort(session)
        raise UserError(_("The meeting is already at that time."))
    old = meeting.starts_at
    meeting.starts_at, meeting.version, meeting.updated_at = when, meeting.version + 1, clock.now()
    await session.flush()
    _audit(session, clock, meeting, member.person, "meeting.reschedule", old=old.isoformat(), new=when.isoformat())
    await reminders.plan_item(session, clock, KIND, meeting.id)
    await reminders.notify_people(session, clock, member.bloc, KIND, meeting.id, f"moved{meeting.version}",
                                  lambda: notice(meeting, old))
    await session.commit()
    return meeting, old


async def cancel(session: AsyncSession, clock: Clock, member: Member, meeting_id: int,
                 notice: Callable[[Meeting], Any]) -> Meeting:
    require_manager(member)
    await begin_write(session)
    meeting = await _locked(session, meeting_id)
    if meeting is None or meeting.bloc_id != member.bloc.id or meeting.status != "scheduled":
        await abort(session)
        raise UserError(_("This meeting was cancelled or does not exist."))
    meeting.status, meeting.updated_at = "cancelled", clock.now()
    await session.flush()
    _audit(session, clock, meeting, member.person, "meeting.cancel")
    await reminders.cancel_item(session, KIND, meeting.id)
    await reminders.notify_people(session, clock, member.bloc, KIND, meeting.id, "cancelled",
                                  lambda: notice(meeting))
    await session.commit()
    return meeting


@dataclass
class Answered:
    meeting: Meeting
    bloc: Bloc
    unit: Unit
    answer: str
    changed: bool


async def answer(session: AsyncSession, clock: Clock, meeting_id: int, version: int | None, person: Person,
                 answer_: str, substitute_name: str | None = None) -> Answered:
    """A representative answers for their unit (the latest answer of the unit counts)."""
    if answer_ not in ANSWERS:
        raise UserError(_("This button is no longer valid."))
    await begin_write(session)
    meeting = await _locked(session, meeting_id)
    if meeting is None or meeting.status != "scheduled":
        await abort(session)
        raise UserError(_("This meeting was cancelled or does not exist."))
    if version is not None and version != meeting.version:
        await abort(session)
        raise UserError(_("The meeting was moved; answer on the new announcement."))
    if meeting.starts_at <= clock.now():
        await abort(session)
        raise UserError(_("The meeting has already started."))
    bloc = await bloc_of(session, meeting.bloc_id)
    member = await member_of(session, bloc, person)
    if member.unit is None or not member.unit.is_active:
        await abort(session)
        raise NotAllowed(_("Only unit representatives can answer for their unit."))
    existing = (await session.execute(select(MeetingRsvp).where(
        MeetingRsvp.meeting_id == meeting.id, MeetingRsvp.version == meeting.version,
        MeetingRsvp.unit_id == member.unit.id))).scalar_one_or_none()
    changed = existing is None or existing.answer != answer_ or (
        substitute_name is not None and existing.substitute_name != substitute_name)
    if existing is None:
        session.add(MeetingRsvp(meeting_id=meeting.id, version=meeting.version, unit_id=member.unit.id,
                                answer=answer_, substitute_name=substitute_name, person_id=person.id,
                                answered_at=clock.now()))
    elif changed:
        existing.answer, existing.person_id, existing.answered_at = answer_, person.id, clock.now()
        if answer_ != "substitute":
            existing.substitute_name = None
        elif substitute_name is not None:
            existing.substitute_name = substitute_name
    if changed:
        # The unit has acted: its pending private reminders for this meeting are withdrawn.
        await _withdraw_private(session, meeting, member.unit.id)
    await session.commit()
    return Answered(meeting, bloc, member.unit, answer_, changed)


async def _withdraw_private(session: AsyncSession, meeting: Meeting, unit_id: int) -> None:
    from sqlalchemy import update

    from storage.models import OutboxMessage

    await session.execute(update(OutboxMessage).where(
        col(OutboxMessage.item_kind) == KIND, col(OutboxMessage.item_id) == meeting.id,
        col(OutboxMessage.unit_id) == unit_id,
        col(OutboxMessage.kind) == "private", col(OutboxMessage.status) == "pending").values(
        status="cancelled", last_error="answered"))


async def set_substitute(session: AsyncSession, clock: Clock, meeting_id: int, person: Person, name: str
                         ) -> Answered:
    name = clean(name, MAX_NAME, _("name"))
    if not name:
        raise UserError(_("Write the substitute's full name, for example: Nguyễn Văn An."))
    return await answer(session, clock, meeting_id, None, person, "substitute", substitute_name=name)


async def meeting_for(session: AsyncSession, meeting_id: int) -> tuple[Meeting, Bloc]:
    meeting = await session.get(Meeting, meeting_id, populate_existing=True)
    if meeting is None:
        raise UserError(_("This meeting was cancelled or does not exist."))
    return meeting, await bloc_of(session, meeting.bloc_id)


# -- the deadline source ------------------------------------------------------------------------
async def load_deadline(session: AsyncSession, meeting_id: int) -> reminders.DeadlineItem | None:
    meeting = await session.get(Meeting, meeting_id, populate_existing=True)
    if meeting is None or meeting.status != "scheduled":
        return None
    bloc = await session.get(Bloc, meeting.bloc_id)
    if bloc is None or not bloc.is_active:
        return None
    return reminders.DeadlineItem(KIND, meeting.id, bloc, meeting.starts_at, meeting.version, meeting.title, meeting)


async def pending_units(session: AsyncSession, item: reminders.DeadlineItem) -> list[Unit]:
    return (await tally(session, item.obj)).unanswered
