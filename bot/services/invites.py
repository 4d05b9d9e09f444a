"""Join links: one per unit, unguessable (128 random bits), expiring, revocable.

The deep-link payload is `j_<token>`: 24 characters of [A-Za-z0-9_-], well under Telegram's 64.
Only sha256(token) is stored, so reading the database or a backup does not let anyone join.

The same invite row also carries a **join code** for channels whose bot links have no start
payload (Zalo): 8 characters of an unambiguous alphabet (no 0/O, 1/I/L, U), shown as `7KQ2-MXP4`,
typed as `dk 7KQ2-MXP4` or alone, case- and dash-insensitive (40 bits; single-use and expiring
like the link, so it cannot be guessed in its lifetime). Only sha256 of the normalized code is
stored; the payload of a code is `j_<code>` (`j_7KQ2MXP4`), resolved to the same row: one
invite, one person, the same refusals and /revokelinks for both."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.clock import Clock
from bot.i18n import _
from bot.services.blocs import active_representation
from bot.services.errors import UserError
from bot.views import usage as views  # refusals that name a command (no cycle)
from storage.db import abort, begin_write, is_sqlite
from storage.models import AuditEvent, Bloc, Invite, Person, Representative, Unit

PREFIX = "j_"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22}$")
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
# A code typed alone: 8 characters of the alphabet, an optional dash (or space) in the middle.
CODE_PATTERN = r"(?i)^\s*(?:dk\s+)?[2-9a-hjkmnp-tv-z]{4}[\s-]?[2-9a-hjkmnp-tv-z]{4}\s*$"


def normalize_code(text: str) -> str | None:
    """"7kq2-mxp4", "7KQ2 MXP4", "7KQ2MXP4" -> "7KQ2MXP4"; None when it cannot be a code."""
    code = re.sub(r"[\s-]", "", text).upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def show_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class IssuedLink:
    unit: Unit
    payload: str
    code: str = ""  # the join code of the same invite, normalized ("7KQ2MXP4")

    @property
    def shown_code(self) -> str:
        return show_code(self.code) if self.code else ""


async def issue_links(session: AsyncSession, clock: Clock, bloc: Bloc, units: list[Unit], ttl_days: int,
                      actor_id: int | None) -> list[IssuedLink]:
    await begin_write(session)
    now = clock.now()
    links = []
    for unit in units:
        token, code = secrets.token_urlsafe(16), _new_code()
        session.add(Invite(bloc_id=bloc.id, unit_id=unit.id, token_hash=_hash(token), code_hash=_hash(code),
                           created_by_person_id=actor_id, created_at=now, expires_at=now + timedelta(days=ttl_days)))
        links.append(IssuedLink(unit=unit, payload=PREFIX + token, code=code))
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


class LinkUsed(UserError):
    """The link was already used by its person; the head is told of the attempt."""

    def __init__(self, bloc: Bloc, unit: Unit) -> None:
        super().__init__(_("This join link has already been used. A link works once, for one person: ask the bloc "
                           "head for a link of your own."))
        self.bloc, self.unit = bloc, unit


def _bad_link() -> UserError:
    return UserError(_("This join link is not valid. Ask the bloc head for a new one."))


async def resolve(session: AsyncSession, clock: Clock, payload: str, lock: bool = False) -> tuple[Invite, Bloc, Unit]:
    """Check a join payload (`j_<token>` or `j_<code>`); raise a clear UserError for forged,
    expired or revoked links and codes."""
    token = payload[len(PREFIX):] if payload.startswith(PREFIX) else ""
    code = normalize_code(token)
    if code is not None:
        query = select(Invite).where(Invite.code_hash == _hash(code))
    elif _TOKEN.match(token):
        query = select(Invite).where(Invite.token_hash == _hash(token))
    else:
        raise _bad_link()
    if lock and not is_sqlite(session):
        query = query.with_for_update()  # two people opening one link at once: one of them joins
    invite = (await session.execute(query)).scalar_one_or_none()
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
        invite, bloc, unit = await resolve(session, clock, payload, lock=True)
        current = await active_representation(session, bloc.id, person.id)
        if current is not None and current.unit_id == unit.id:
            await abort(session)
            return bloc, unit, False
        used_by = (await session.execute(select(Representative.person_id).where(
            Representative.invite_id == invite.id))).scalars().all()
        if used_by:
            # A link works once and for one person: a forwarded link cannot add a second
            # representative who could cast the unit's only ballot first.
            raise LinkUsed(bloc, unit)
        if current is not None:
            other = await session.get(Unit, current.unit_id)
            assert other is not None  # a foreign key
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
        select(Representative, Person, Unit).join(Person, col(Person.id) == col(Representative.person_id))
        .join(Unit, col(Unit.id) == col(Representative.unit_id))
        .where(Representative.bloc_id == bloc_id, Representative.revoked_at == None)  # noqa: E711
        .order_by(col(Unit.position), col(Unit.id), col(Representative.joined_at))
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
        raise UserError(views.no_such_rep(number.strip()[:20])) from None
    row = rows[index - 1]
    row.rep.revoked_at = clock.now()
    if row.rep.invite_id is not None:  # the link the person used dies with the representation
        invite = await session.get(Invite, row.rep.invite_id)
        if invite is not None and invite.revoked_at is None:
            invite.revoked_at = clock.now()
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action="reps.revoke",
                           detail={"unit_id": row.unit.id, "person_id": row.person.id}))
    await session.commit()
    return row


async def managers(session: AsyncSession, bloc: Bloc) -> list[Person]:
    """Who is told of joins: the representatives of the head and deputy units, and the founder."""
    people: dict[int, Person] = {}
    unit_ids = [u for u in (bloc.head_unit_id, bloc.deputy_unit_id) if u]
    if unit_ids:
        rows = await session.execute(select(Person).join(
            Representative, col(Representative.person_id) == Person.id).where(
            col(Representative.bloc_id) == bloc.id, col(Representative.unit_id).in_(unit_ids),
            Representative.revoked_at == None))  # noqa: E711
        people.update({p.id: p for p in rows.scalars()})
    if bloc.founder_person_id and (founder := await session.get(Person, bloc.founder_person_id)) is not None:
        people.setdefault(founder.id, founder)
    return list(people.values())


async def rep_counts(session: AsyncSession, bloc_id: int) -> dict[int, int]:
    """How many active representatives each unit has."""
    result = await session.execute(
        select(Representative.unit_id, func.count()).where(
            Representative.bloc_id == bloc_id, Representative.revoked_at == None)  # noqa: E711
        .group_by(col(Representative.unit_id)))
    return {unit_id: count for unit_id, count in result.all()}
