"""Reminders before meetings and deadlines: the deadline-source registry and the planner.

How another feature (votes, assessment rounds, the pledge) gets reminders
------------------------------------------------------------------------
1. Describe the item kind once and declare it on the feature's conversation (the texts come from
   its views; no registration side effects at import)::

       from bot.services.reminders import DeadlineItem, DeadlineSource

       async def _load(session, vote_id) -> DeadlineItem | None:
           poll = await session.get(Poll, vote_id)
           if poll is None or poll.closed_at or poll.closing_at is None:
               return None                     # nothing to remind about (closed, no deadline)
           bloc = await session.get(Bloc, poll.bloc_id)
           return DeadlineItem("vote", poll.id, bloc, poll.closing_at, version=poll.revision,
                               title=poll.title, obj=poll)

       async def _pending(session, item) -> list[Unit]:   # units that have NOT voted yet
           ...

       def _group(item, pending, now) -> Reply: ...         # called inside the bloc's locale
       def _private(item, unit, now) -> Reply: ...          # called inside the recipient's locale

       conv.deadline(DeadlineSource("vote", _load, _pending, _group, _private))

   bot/conversations/table.py build_table() registers every source of the table (`register_source`) in every
   process that builds the app, so the outbox worker finds them without importing any feature.
2. In the service, in the same transaction that creates or changes the item (before commit)::

       await reminders.plan_item(session, clock, "vote", poll.id)     # created / deadline changed
       await reminders.cancel_item(session, "vote", poll.id)          # closed early / cancelled

   Change `version` whenever the due time moves: reminders of the old version are cancelled,
   new ones planned; rows already sent stay sent (never sent twice for one version).

What is planned: for each offset of the bloc (`/settings reminders`, default 3d,1d,2h) one
"group" row (to the bloc's chat) and one "fanout" row. When a fanout row falls due, the worker
asks the source which units have still not acted *at that moment* and inserts one "private" row
per representative of those units (minus people who muted this item), rendered in each
recipient's locale, in the same transaction. So a unit that answered yesterday gets nothing, a
representative who joined after planning is included, and the UNIQUE dedup_key makes the
expansion idempotent.

Quiet hours (`/settings quiet_hours`, default 21:00-07:00, in the bloc's zone): a non-urgent
reminder falling inside them moves to the morning; if the morning is already too late (the
item is due before), it moves to the evening before the quiet hours begin instead. Urgent
reminders (offset <= 3 hours) keep their time: moving a "2 hours before" reminder to 07:00
would send it after an 06:00 deadline.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.clock import Clock
from bot.i18n import N_, _, normalize_locale, use_locale
from bot.services import settings as settings_service
from bot.services.errors import UserError
from bot.views import usage  # refusals that name a command (no cycle)
from storage.db import is_sqlite, rowcount, write
from storage.models import Bloc, OutboxMessage, Person, ReminderMute, Representative, Unit

URGENT = timedelta(hours=3)
DEFAULT_OFFSETS = "3d,1d,2h"
DEFAULT_QUIET = "21:00-07:00"
ACTIVE = ("pending", "claimed")

# -- per-bloc settings ------------------------------------------------------------------------
_OFFSET = re.compile(r"^(\d{1,3})\s*([dhm])$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60}


def parse_offsets(raw: str) -> str:
    text = raw.strip().lower().replace(" ", "")
    if text in ("off", "0", "none", "không", "khong", "tắt", "tat"):
        return "off"
    parts = [p for p in re.split(r"[,;]", text) if p]
    seconds = []
    for part in parts:
        m = _OFFSET.match(part.replace("ngày", "d").replace("giờ", "h").replace("phút", "m"))
        if not m or int(m.group(1)) == 0:
            raise UserError(usage.reminder_offsets_format())
        seconds.append(int(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    if not seconds or len(seconds) > 6 or max(seconds) > 60 * 86400:
        raise UserError(usage.reminder_offsets_range())
    return ",".join(_offset_code(s) for s in sorted(set(seconds), reverse=True))


def _offset_code(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds // 60}m"


def offsets_of(value: str) -> list[timedelta]:
    if not value or value == "off":
        return []
    out = []
    for part in value.split(","):
        m = _OFFSET.match(part.strip())
        if m:
            out.append(timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[m.group(2)]))
    return sorted(out, reverse=True)


_HHMM = re.compile(r"^(\d{1,2})[:h](\d{2})$")


def _parse_hhmm(text: str) -> time:
    m = _HHMM.match(text.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(text)
    return time(int(m.group(1)), int(m.group(2)))


def parse_quiet(raw: str) -> str:
    text = raw.strip().lower().replace(" ", "")
    if text in ("off", "none", "không", "khong", "tắt", "tat"):
        return "off"
    try:
        start, end = text.split("-")
        a, b = _parse_hhmm(start), _parse_hhmm(end)
    except ValueError:
        raise UserError(usage.quiet_hours_format()) from None
    if a == b:
        raise UserError(usage.quiet_hours_format())
    return f"{a:%H:%M}-{b:%H:%M}"


def quiet_of(value: str) -> tuple[time, time] | None:
    if not value or value == "off":
        return None
    start, end = value.split("-")
    return _parse_hhmm(start), _parse_hhmm(end)


def show_offsets(value: str) -> str:
    """ "3d,1d,2h" -> "3 ngày, 1 ngày, 2 giờ" (plain words in /settings); "off" -> "tắt"."""
    words = {"d": N_("{n} day(s)"), "h": N_("{n} hour(s)"), "m": N_("{n} minute(s)")}
    parts = [_OFFSET.match(p.strip()) for p in (value or "").split(",")]
    shown = [_(words[m.group(2)]).format(n=int(m.group(1))) for m in parts if m]
    return ", ".join(shown) if shown else _("off")


def show_quiet(value: str) -> str:
    return _("off") if not value or value == "off" else value


settings_service.register(settings_service.SettingSpec(
    "reminders", N_("reminders before meetings and deadlines"), DEFAULT_OFFSETS, parse_offsets, show_offsets,
    example="3d,1d,2h"))
settings_service.register(settings_service.SettingSpec(
    "quiet_hours", N_("quiet hours (no reminders)"), DEFAULT_QUIET, parse_quiet, show_quiet, example="21:00-07:00"))


# -- the registry -----------------------------------------------------------------------------
@dataclass
class DeadlineItem:
    kind: str  # "meeting", "vote", "assessment", "pledge" (<= 16 chars)
    item_id: int
    bloc: Bloc
    due_at: datetime  # aware UTC
    version: int = 1  # change it when due_at moves
    title: str = ""
    obj: Any = None  # the feature's own row, for its texts


@dataclass(frozen=True)
class DeadlineSource:
    kind: str
    load: Callable[[AsyncSession, int], Awaitable[DeadlineItem | None]]
    pending_units: Callable[[AsyncSession, DeadlineItem], Awaitable[list[Unit]]]
    group_text: Callable[[DeadlineItem, list[Unit], datetime], Any]  # -> bot.views.base.Reply
    private_text: Callable[[DeadlineItem, Unit, datetime], Any]  # -> Reply


SOURCES: dict[str, DeadlineSource] = {}


def register_source(source: DeadlineSource) -> DeadlineSource:
    SOURCES[source.kind] = source
    return source


def source(kind: str) -> DeadlineSource:
    """The registered source of `kind`: bot/conversations/table.build_table registers every
    feature's `conv.deadline` sources (the composition root builds the table first)."""
    return SOURCES[kind]


# -- the planner (pure) -------------------------------------------------------------------------
@dataclass(frozen=True)
class Planned:
    offset: timedelta
    at: datetime  # UTC
    urgent: bool

    @property
    def code(self) -> str:
        return _offset_code(int(self.offset.total_seconds()))


def in_quiet(local: datetime, quiet: tuple[time, time]) -> bool:
    start, end = quiet
    t = local.time()
    return (start <= t < end) if start < end else (t >= start or t < end)


def _morning(local: datetime, quiet: tuple[time, time]) -> datetime:
    start, end = quiet
    day = local.date()
    if start > end and local.time() >= start:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo)


def _evening_before(local: datetime, quiet: tuple[time, time]) -> datetime:
    start, end = quiet
    day = local.date()
    if start > end and local.time() < end:
        day -= timedelta(days=1)
    return datetime.combine(day, start, tzinfo=local.tzinfo) - timedelta(minutes=1)


def plan_times(due_at: datetime, now: datetime, offsets: list[timedelta], quiet: tuple[time, time] | None,
               zone: ZoneInfo) -> list[Planned]:
    """When each reminder goes out. Reminders already in the past are not planned."""
    planned: list[Planned] = []
    for offset in sorted(offsets, reverse=True):
        at = due_at - offset
        urgent = offset <= URGENT
        if quiet and not urgent:
            local = at.astimezone(zone)
            if in_quiet(local, quiet):
                moved = _morning(local, quiet)
                if moved >= due_at.astimezone(zone) - timedelta(minutes=30):
                    moved = _evening_before(local, quiet)
                at = moved.astimezone(due_at.tzinfo)
        if at <= now or at >= due_at:
            continue
        if any(p.at == at for p in planned):
            continue
        planned.append(Planned(offset, at, urgent))
    return planned


def bloc_plan(bloc: Bloc, due_at: datetime, now: datetime) -> list[Planned]:
    return plan_times(due_at, now, offsets_of(settings_service.value(bloc, "reminders")),
                      quiet_of(settings_service.value(bloc, "quiet_hours")), ZoneInfo(bloc.timezone))


# -- writing rows ---------------------------------------------------------------------------------
def key(kind: str, item_id: int, version: int, what: str, target: str) -> str:
    return f"{kind}:{item_id}:v{version}:{what}:{target}"


def reply_fields(reply) -> dict[str, Any]:
    """A Reply (bot.views.base) as the outbox columns text + actions."""
    return {"text": reply.text,
            "actions": [[[a.label, a.data, a.kind] + ([a.short] if a.short else []) for a in row]
                        for row in reply.actions]}


def notice_row(dedup_key: str, chat_id: int | str, person_id: int | None, reply, now: datetime,
               due_at: datetime | None = None, **columns: Any) -> dict[str, Any]:
    """One urgent private message for the outbox (kind "notice"), due now unless `due_at`; `columns`
    adds what the caller knows (bloc_id, item_kind, item_id, unit_id, payload, status...)."""
    return {"dedup_key": dedup_key, "kind": "notice", "chat_id": chat_id, "person_id": person_id,
            "due_at": due_at or now, "urgent": True, "created_at": now, **reply_fields(reply), **columns}


async def insert_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows; a row whose dedup_key exists already is left alone (idempotent)."""
    if not rows:
        return 0
    insert = sqlite_insert if is_sqlite(session) else pg_insert
    defaults: dict[str, Any] = {"bloc_id": None, "item_kind": "", "item_id": None, "item_version": 0, "chat_id": None,
                "person_id": None, "unit_id": None, "text": None, "actions": [], "payload": {}, "urgent": False,
                "status": "pending", "attempts": 0, "last_error": None, "sent_at": None}
    values = [{**defaults, **row} for row in rows]
    stmt = insert(OutboxMessage.__table__).values(values).on_conflict_do_nothing(index_elements=["dedup_key"])
    result = await session.execute(stmt)
    return rowcount(result)


async def cancel_item(session: AsyncSession, kind: str, item_id: int, keep: set[str] | None = None) -> int:
    """Withdraw the item's reminders not yet sent (call in the transaction that closes the item)."""
    stmt = (update(OutboxMessage)
            .where(col(OutboxMessage.item_kind) == kind, col(OutboxMessage.item_id) == item_id,
                   col(OutboxMessage.status) == "pending", col(OutboxMessage.kind).in_(("group", "fanout", "private")))
            .values(status="cancelled", last_error="item changed"))
    if keep:
        stmt = stmt.where(col(OutboxMessage.dedup_key).not_in(keep))
    result = await session.execute(stmt)
    return rowcount(result)


async def plan_item(session: AsyncSession, clock: Clock, kind: str, item_id: int) -> list[Planned]:
    """(Re)plan the reminders of one item. Idempotent; call it whenever the item is created or
    its due time, version or the bloc's reminder settings change, inside the write transaction."""
    item = await source(kind).load(session, item_id)
    if item is None:
        await cancel_item(session, kind, item_id)
        return []
    now = clock.now()
    plan = bloc_plan(item.bloc, item.due_at, now)
    rows: list[dict[str, Any]] = []
    for p in plan:
        base = {"bloc_id": item.bloc.id, "item_kind": kind, "item_id": item_id, "item_version": item.version,
                "due_at": p.at, "urgent": p.urgent, "created_at": now, "payload": {"offset": p.code}}
        rows.append({**base, "kind": "group", "chat_id": item.bloc.chat_id,
                     "dedup_key": key(kind, item_id, item.version, p.code, "g")})
        rows.append({**base, "kind": "fanout", "dedup_key": key(kind, item_id, item.version, p.code, "f")})
    await cancel_item(session, kind, item_id, keep={r["dedup_key"] for r in rows})
    await insert_rows(session, rows)
    return plan


async def notify_people(session: AsyncSession, clock: Clock, bloc: Bloc, kind: str, item_id: int, event: str,
                        render: Callable[[], Any]) -> int:
    """Queue one private message (rendered per recipient's locale by `render()`) to every active
    representative of the bloc, e.g. "the meeting was moved". Sent at once by the worker."""
    now = clock.now()
    rows = []
    for person, unit in await representatives(session, bloc.id):
        with use_locale(person_locale(person, bloc)):
            reply = render()
        rows.append(notice_row(key(kind, item_id, 0, event, f"p{person.id}"), person.external_id, person.id, reply,
                               now, bloc_id=bloc.id, item_kind=kind, item_id=item_id, unit_id=unit.id))
    return await insert_rows(session, rows)


async def queue_now(session: AsyncSession, clock: Clock, bloc: Bloc, kind: str, item_id: int, event: str,
                    targets: list[tuple[Person, Unit]], render: Callable[[Unit], Any]) -> int:
    """Queue one private message now for each (person, unit), rendered in the person's locale by
    `render(unit)` (a Reply). `event` is part of the dedup key: the same event never reaches a person
    twice (e.g. "now2026112509" = once per hour). Commits; returns the rows queued. The caller wakes
    the workers (bot.outbox.kick_all)."""
    now = clock.now()
    rows = []
    for person, unit in targets:
        with use_locale(person_locale(person, bloc)):
            reply = render(unit)
        rows.append(notice_row(key(kind, item_id, 0, event, f"p{person.id}"), person.external_id, person.id, reply,
                               now, bloc_id=bloc.id, item_kind=kind, item_id=item_id, unit_id=unit.id))
    async with write(session):
        queued = await insert_rows(session, rows)
    return queued


def hourly(clock: Clock) -> str:
    """An event name for "at most once an hour" reminders sent by hand."""
    return f"now{clock.now():%Y%m%d%H}"


def person_locale(person: Person, bloc: Bloc) -> str:
    return normalize_locale(person.locale or bloc.locale)


async def representatives(session: AsyncSession, bloc_id: int, unit_ids: list[int] | None = None
                          ) -> list[tuple[Person, Unit]]:
    stmt = (select(Person, Unit).join(Representative, col(Representative.person_id) == col(Person.id))
            .join(Unit, col(Unit.id) == col(Representative.unit_id))
            .where(Representative.bloc_id == bloc_id, Representative.revoked_at == None,  # noqa: E711
                   Unit.is_active == True)  # noqa: E712  (every channel: the outbox sends by Person.channel)
            .order_by(col(Unit.position), col(Unit.id), col(Person.id)))
    if unit_ids is not None:
        stmt = stmt.where(col(Unit.id).in_(unit_ids))
    return [(p, u) for p, u in (await session.execute(stmt)).all()]


async def off_group_members(session: AsyncSession, bloc: Bloc) -> list[tuple[Person, Unit | None]]:
    """(person, unit or None) for each active representative the bloc's group does not reach (on
    Zalo; everyone when the bloc has no group), and the founder while they represent no unit (the
    head of a bloc being set up on Zalo): they get the group's posts in private."""
    from bot.services.blocs import active_representation, off_group

    people: list[tuple[Person, Unit | None]] = [
        (p, u) for p, u in await representatives(session, bloc.id) if off_group(bloc, p)]
    if bloc.founder_person_id and all(p.id != bloc.founder_person_id for p, _u in people):
        founder = await session.get(Person, bloc.founder_person_id)
        if founder is not None and off_group(bloc, founder) \
                and await active_representation(session, bloc.id, founder.id) is None:
            people.append((founder, None))
    return people


# -- what the worker asks when a row falls due -------------------------------------------------------
@dataclass
class Prepared:
    send: bool
    reason: str = ""
    fields: dict[str, Any] | None = None  # text/actions when rendered now


async def prepare(session: AsyncSession, clock: Clock, row: OutboxMessage) -> Prepared:
    """Inside a write transaction: render a group row, or expand a fanout row into private rows.
    Returns whether `row` itself is to be sent."""
    if row.text is not None:
        return Prepared(True)
    if row.kind not in ("group", "fanout"):
        return Prepared(False, "nothing to send")
    src = source(row.item_kind)
    item_id = row.item_id
    assert item_id is not None  # group and fanout rows are planned for an item (plan_item)
    item = await src.load(session, item_id)
    if item is None or item.version != row.item_version:
        return Prepared(False, "item closed or changed")
    now = clock.now()
    pending = await src.pending_units(session, item)
    if row.kind == "group":
        # Members the group does not reach (on Zalo; everyone when the bloc has no group) get the
        # group's reminder in private, unless their unit still has to act: they get the private
        # reminder of the fanout row at the same time instead (one message per person per reminder).
        waiting = {u.id for u in pending}
        copies = []
        for person, unit in await off_group_members(session, item.bloc):
            if unit is not None and unit.id in waiting or person.blocked:
                continue
            with use_locale(person_locale(person, item.bloc)):
                reply = src.group_text(item, pending, now)
            copies.append({"dedup_key": f"{row.dedup_key}:p{person.id}"[:200], "bloc_id": item.bloc.id,
                           "item_kind": row.item_kind, "item_id": row.item_id, "item_version": row.item_version,
                           "kind": "private", "chat_id": person.external_id, "person_id": person.id,
                           "unit_id": unit.id if unit else None, "due_at": now, "urgent": row.urgent,
                           "created_at": now, "payload": dict(row.payload), **reply_fields(reply)})
        copied = await insert_rows(session, copies)
        if not item.bloc.has_group:
            return Prepared(False, f"no group; copied to {copied}")
        with use_locale(item.bloc.locale):
            return Prepared(True, fields=reply_fields(src.group_text(item, pending, now)))
    muted = set((await session.execute(select(ReminderMute.person_id).where(
        ReminderMute.item_kind == row.item_kind, ReminderMute.item_id == row.item_id))).scalars().all())
    rows = []
    offset = row.payload.get("offset", "x")
    for person, unit in await representatives(session, item.bloc.id, [u.id for u in pending]):
        if person.id in muted:
            continue
        with use_locale(person_locale(person, item.bloc)):
            reply = src.private_text(item, unit, now)
        extra = {}
        if person.blocked:  # Telegram said 403 before: recorded (the head sees it), not sent again
            extra = {"status": "failed", "last_error": "403 blocked earlier; not sent", "sent_at": now}
        rows.append({"dedup_key": key(row.item_kind, item_id, row.item_version, offset, f"p{person.id}"),
                     "bloc_id": item.bloc.id, "item_kind": row.item_kind, "item_id": row.item_id,
                     "item_version": row.item_version, "kind": "private", "chat_id": person.external_id,
                     "person_id": person.id, "unit_id": unit.id, "due_at": now, "urgent": row.urgent,
                     "created_at": now, "payload": {"offset": offset}, **reply_fields(reply), **extra})
    count = await insert_rows(session, rows)
    return Prepared(False, f"expanded into {count}")


# -- mute, and what /status shows ----------------------------------------------------------------------
async def mute(session: AsyncSession, clock: Clock, person: Person, kind: str, item_id: int) -> bool:
    """No more private reminders about this item for this person. Returns False if already muted."""
    async with write(session):
        exists = (await session.execute(select(ReminderMute.id).where(
            ReminderMute.person_id == person.id, ReminderMute.item_kind == kind,
            ReminderMute.item_id == item_id))).first()
        if exists is None:
            session.add(ReminderMute(person_id=person.id, item_kind=kind, item_id=item_id, created_at=clock.now()))
            await session.execute(update(OutboxMessage).where(
                col(OutboxMessage.person_id) == person.id, col(OutboxMessage.item_kind) == kind,
                col(OutboxMessage.item_id) == item_id, col(OutboxMessage.kind) == "private",
                col(OutboxMessage.status) == "pending").values(status="cancelled", last_error="muted"))
    return exists is None


@dataclass
class FailedDelivery:
    person: Person | None
    unit: Unit | None
    reason: str
    count: int


def failed_probe(bloc_id: int, since: datetime):
    """/status: true when `failed_deliveries` finds a row (one SELECT with the other features')."""
    return select(OutboxMessage.id).where(
        OutboxMessage.bloc_id == bloc_id, OutboxMessage.status == "failed",
        or_(col(OutboxMessage.sent_at) == None, col(OutboxMessage.sent_at) >= since)).exists()  # noqa: E711


async def failed_deliveries(session: AsyncSession, bloc_id: int, since: datetime) -> list[FailedDelivery]:
    rows = (await session.execute(
        select(OutboxMessage.person_id, OutboxMessage.unit_id, OutboxMessage.last_error, func.count())
        .where(OutboxMessage.bloc_id == bloc_id, OutboxMessage.status == "failed",
               or_(col(OutboxMessage.sent_at) == None, col(OutboxMessage.sent_at) >= since))  # noqa: E711
        .group_by(col(OutboxMessage.person_id), col(OutboxMessage.unit_id), col(OutboxMessage.last_error)))).all()
    out = []
    for person_id, unit_id, reason, count in rows:
        person = await session.get(Person, person_id) if person_id else None
        unit = await session.get(Unit, unit_id) if unit_id else None
        out.append(FailedDelivery(person, unit, reason or "", count))
    return out
