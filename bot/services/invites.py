"""Join links: one per unit, unguessable (128 random bits), expiring, revocable.

The deep-link payload is `j_<token>`: 24 characters of [A-Za-z0-9_-], well under Telegram's 64.
Only sha256(token) is stored, so reading the database or a backup does not let anyone join."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.clock import Clock
from bot.i18n import _
from bot.services.blocs import active_representation
from bot.services.errors import UserError
from storage.db import abort, begin_write
from storage.models import AuditEvent, Bloc, Invite, Person, Representative, Unit

PREFIX = "j_"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class IssuedLink:
    unit: Unit
    payload: str


async def issue_links(session: AsyncSession, clock: Clock, bloc: Bloc, units: list[Unit], ttl_days: int,
                      actor_id: int | None) -> list[IssuedLink]:
    await begin_write(session)
    now = clock.now()
    links = []
    for unit in units:
        token = secrets.token_urlsafe(16)
        session.add(Invite(bloc_id=bloc.id, unit_id=unit.id, token_hash=_hash(token), created_by_person_id=actor_id,
                           created_at=now, expires_at=now + timedelta(days=ttl_days)))
        links.append(IssuedLink(unit=unit, payload=PREFIX + token))
    session.add(AuditEvent(bloc_id=bloc.id, at=now, actor_person_id=actor_id, action="invites.issue",
                           detail={"unit_ids": [u.id for u in units]}))
    await session.commit()
    return links


async def revoke_links(session: AsyncSession, clock: Clock, bloc: Bloc, actor_id: int | None) -> int:
    await begin_write(session)
    result = await session.execute(select(Invite).where(Invite.bloc_id == bloc.id, Invite.revoked_at == None))  # noqa: E711
    invites = [i for i in result.scalars() if i.expires_at > clock.now()]
    for invite in invites:
        invite.revoked_at = clock.now()
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action="invites.revoke",
                           detail={"count": len(invites)}))
    await session.commit()
    return len(invites)


def _bad_link() -> UserError:
    return UserError(_("This join link is not valid. Ask the bloc head for a new one."))


async def resolve(session: AsyncSession, clock: Clock, payload: str) -> tuple[Invite, Bloc, Unit]:
    """Check a join payload; raise a clear UserError for forged, expired or revoked links."""
    token = payload[len(PREFIX):] if payload.startswith(PREFIX) else ""
    if not _TOKEN.match(token):
        raise _bad_link()
    invite = (await session.execute(select(Invite).where(Invite.token_hash == _hash(token)))).scalar_one_or_none()
    if invite is None:
        raise _bad_link()
    if invite.revoked_at is not None:
        raise UserError(_("This join link was withdrawn by the bloc head. Ask for a new one."))
    if invite.expires_at <= clock.now():
        raise UserError(_("This join link has expired. Ask the bloc head for a new one."))
    bloc = await session.get(Bloc, invite.bloc_id)
    unit = await session.get(Unit, invite.unit_id)
    if bloc is None or not bloc.is_active or unit is None or not unit.is_active:
        raise UserError(_("This join link belongs to a unit or bloc that is no longer active."))
    return invite, bloc, unit


async def join(session: AsyncSession, clock: Clock, payload: str, person: Person) -> tuple[Bloc, Unit, bool]:
    """Register `person` as a representative. Returns (bloc, unit, newly_joined)."""
    await begin_write(session)
    try:
        invite, bloc, unit = await resolve(session, clock, payload)
        current = await active_representation(session, bloc.id, person.id)
        if current is not None and current.unit_id == unit.id:
            await abort(session)
            return bloc, unit, False
        if current is not None:
            other = await session.get(Unit, current.unit_id)
            raise UserError(_("You already represent “{unit}” in this bloc. A person represents one unit per bloc; "
                              "ask the bloc head to revoke that first.").format(unit=other.name))
    except UserError:
        await abort(session)
        raise
    now = clock.now()
    session.add(Representative(bloc_id=bloc.id, unit_id=unit.id, person_id=person.id, invite_id=invite.id,
                               joined_at=now))
    person.current_bloc_id = bloc.id
    session.add(person)
    session.add(AuditEvent(bloc_id=bloc.id, at=now, actor_person_id=person.id, action="reps.join",
                           detail={"unit_id": unit.id}))
    await session.commit()
    return bloc, unit, True


@dataclass
class RepRow:
    rep: Representative
    person: Person
    unit: Unit


async def list_representatives(session: AsyncSession, bloc_id: int) -> list[RepRow]:
    result = await session.execute(
        select(Representative, Person, Unit).join(Person, Person.id == Representative.person_id)
        .join(Unit, Unit.id == Representative.unit_id)
        .where(Representative.bloc_id == bloc_id, Representative.revoked_at == None)  # noqa: E711
        .order_by(Unit.position, Unit.id, Representative.joined_at)
    )
    return [RepRow(r, p, u) for r, p, u in result.all()]


async def revoke_representative(session: AsyncSession, clock: Clock, bloc: Bloc, number: str,
                                actor_id: int | None) -> RepRow:
    await begin_write(session)
    rows = await list_representatives(session, bloc.id)
    try:
        index = int(number.strip().rstrip("."))
        if not 1 <= index <= len(rows):
            raise ValueError
    except ValueError:
        await abort(session)
        raise UserError(_("There is no representative number “{value}”. Send /reps to see the numbers.").format(
            value=number.strip()[:20])) from None
    row = rows[index - 1]
    row.rep.revoked_at = clock.now()
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action="reps.revoke",
                           detail={"unit_id": row.unit.id, "person_id": row.person.id}))
    await session.commit()
    return row
