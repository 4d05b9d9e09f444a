"""The emulation pledge (giao ước thi đua): the head posts it, each unit signs once, in private."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.clock import Clock
from bot.i18n import _
from bot.services import reminders
from bot.services.assessments import parse_deadline as _parse_deadline
from bot.services.blocs import Member, member_of, require_manager, require_representative
from bot.services.errors import UserError
from bot.services.units import list_units
from bot.views import usage  # refusals that name a command (no cycle)
from storage.db import write
from storage.models import AuditEvent, Bloc, Person, Pledge, PledgeSignature, Unit

PAYLOAD_PREFIX = "p_"
MAX_TEXT = 3500
KIND = "pledge"  # item kind of its deadline reminders (bot/services/reminders.py)


async def current_pledge(session: AsyncSession, bloc_id: int) -> Pledge | None:
    result = await session.execute(select(Pledge).where(Pledge.bloc_id == bloc_id, Pledge.is_active == True)  # noqa: E712
                                   .order_by(col(Pledge.id).desc()).limit(1))
    return result.scalar_one_or_none()


def status_probe(bloc_id: int, now: datetime):
    """/status: true when `current_pledge` finds a pledge (one SELECT with the other features')."""
    return select(Pledge.id).where(Pledge.bloc_id == bloc_id, Pledge.is_active == True).exists()  # noqa: E712


async def post_pledge(session: AsyncSession, clock: Clock, member: Member, text: str, file_id: str | None = None,
                      file_name: str | None = None) -> Pledge:
    """A new pledge replaces the previous one of the bloc (its signatures stay recorded)."""
    require_manager(member)
    text = (text or "").strip()
    if not text and not file_id:
        raise UserError(usage.pledge_usage())
    if len(text) > MAX_TEXT:
        raise UserError(_("The pledge text is too long (at most {limit} characters); send it as a file.").format(
            limit=MAX_TEXT))
    async with write(session):
        for old in (await session.execute(select(Pledge).where(Pledge.bloc_id == member.bloc.id,
                                                               Pledge.is_active == True))).scalars():  # noqa: E712
            old.is_active = False
            await reminders.cancel_item(session, KIND, old.id)  # the replaced pledge's reminders are withdrawn
        pledge = Pledge(bloc_id=member.bloc.id, year=member.bloc.year, text=text, file_id=file_id,
                        file_name=(file_name or "")[:256] or None, created_at=clock.now(),
                        created_by_person_id=member.person.id)
        session.add(pledge)
        await session.flush()
        session.add(AuditEvent(bloc_id=member.bloc.id, at=clock.now(), actor_person_id=member.person.id,
                               action="pledge.post", detail={"pledge_id": pledge.id}))
    return pledge


async def set_group_message(session: AsyncSession, pledge_id: int, message_id: int) -> None:
    async with write(session):
        pledge = await session.get(Pledge, pledge_id, populate_existing=True)
        assert pledge is not None  # the pledge this message was just posted for
        pledge.group_message_id = message_id


def parse_deadline(raw: str, bloc: Bloc, now: datetime) -> datetime:
    """'17:00 31/01/2027', '31/01/2027 17:00' or '31/01/2027' (end of day) in the bloc's zone, in the future."""
    return _parse_deadline(raw, bloc, now, usage.pledge_deadline_format())


async def set_deadline(session: AsyncSession, clock: Clock, member: Member, raw: str) -> Pledge:
    """The head sets (or moves) the signing deadline; reminders before it are (re)planned in the outbox:
    the group, and in private the representatives of units that have not signed when each falls due."""
    require_manager(member)
    pledge = await current_pledge(session, member.bloc.id)
    if pledge is None:
        raise UserError(usage.pledge_first())
    when = parse_deadline(raw, member.bloc, clock.now())
    async with write(session):
        fresh = await session.get(Pledge, pledge.id, populate_existing=True)
        assert fresh is not None  # loaded just above
        pledge = fresh
        pledge.deadline = when
        await session.flush()
        await reminders.plan_item(session, clock, KIND, pledge.id)
        session.add(AuditEvent(bloc_id=member.bloc.id, at=clock.now(), actor_person_id=member.person.id,
                               action="pledge.deadline",
                               detail={"pledge_id": pledge.id, "deadline": when.isoformat()}))
    return pledge


def parse_payload(payload: str) -> int:
    rest = payload[len(PAYLOAD_PREFIX):] if payload.startswith(PAYLOAD_PREFIX) else ""
    if not rest.isdigit() or len(rest) > 12:
        raise UserError(_("This link is not valid or has expired. Ask the bloc head for a new one."))
    return int(rest)


async def pledge_for(session: AsyncSession, pledge_id: int, person: Person) -> tuple[Pledge, Member]:
    pledge = await session.get(Pledge, pledge_id)
    if pledge is None or not pledge.is_active:
        raise UserError(_("This pledge is no longer current. Ask the bloc head for the current one."))
    bloc = await session.get(Bloc, pledge.bloc_id)
    assert bloc is not None  # a foreign key
    member = await member_of(session, bloc, person)
    require_representative(member)
    return pledge, member


@dataclass
class Signed:
    signature: PledgeSignature
    new: bool


async def sign(session: AsyncSession, clock: Clock, pledge_id: int, person: Person) -> tuple[Pledge, Unit, Signed]:
    """Once per unit; a second signature (same or another representative) changes nothing."""
    pledge, member = await pledge_for(session, pledge_id, person)
    unit = require_representative(member)  # pledge_for checked it already
    async with write(session):
        existing = (await session.execute(select(PledgeSignature).where(
            PledgeSignature.pledge_id == pledge.id, PledgeSignature.unit_id == unit.id))).scalar_one_or_none()
        if existing is not None:
            return pledge, unit, Signed(existing, False)  # nothing written; the empty transaction commits
        signature = PledgeSignature(pledge_id=pledge.id, unit_id=unit.id, person_id=person.id,
                                    signed_at=clock.now())
        session.add(signature)
        session.add(AuditEvent(bloc_id=pledge.bloc_id, at=clock.now(), actor_person_id=person.id,
                               action="pledge.sign", detail={"pledge_id": pledge.id, "unit_id": unit.id}))
    return pledge, unit, Signed(signature, True)


@dataclass
class PledgeStatus:
    signed: list[tuple[Unit, PledgeSignature]]
    unsigned: list[Unit]


async def status(session: AsyncSession, pledge: Pledge) -> PledgeStatus:
    units = await list_units(session, pledge.bloc_id)
    sigs = {s.unit_id: s for s in (await session.execute(select(PledgeSignature).where(
        PledgeSignature.pledge_id == pledge.id))).scalars()}
    return PledgeStatus(signed=[(u, sigs[u.id]) for u in units if u.id in sigs],
                        unsigned=[u for u in units if u.id not in sigs])
