"""Blocs, roles and who may do what. Rights are checked here, on every action, not by hiding buttons."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.clock import Clock
from bot.i18n import _
from bot.services.errors import NotAllowed, UserError
from bot.views import usage as views  # refusals that name a command (no cycle)
from storage.db import abort, begin_write
from storage.models import AuditEvent, Bloc, Person, Representative, Unit

MAX_TITLE = 200
NO_GROUPS = frozenset({"zalo"})  # messengers on which a bot has no group (Zalo's are beta: @mentions only)


def off_group(bloc: Bloc, person: Person) -> bool:
    """This person does not read the bloc's group (the bloc has none, or they are on a messenger
    without groups): group posts reach them in private (bot/conversations/groupcopy.py)."""
    return not bloc.has_group or person.channel in NO_GROUPS


class Role(str, Enum):  # noqa: UP042 -- StrEnum would change str(role) and format()
    head = "head"
    deputy = "deputy"
    founder = "founder"  # the admin who ran /setup, until a head unit has a representative
    representative = "representative"
    outsider = "outsider"


@dataclass
class Member:
    """What one person is in one bloc."""

    bloc: Bloc
    person: Person
    unit: Unit | None
    role: Role

    @property
    def can_manage(self) -> bool:
        return self.role in (Role.head, Role.deputy, Role.founder)

    @property
    def is_representative(self) -> bool:
        return self.unit is not None


async def bloc_by_chat(session: AsyncSession, chat_id: int) -> Bloc | None:
    result = await session.execute(select(Bloc).where(Bloc.chat_id == chat_id))
    return result.scalar_one_or_none()


async def bloc_of(session: AsyncSession, bloc_id: int) -> Bloc:
    """The bloc a row points at: its bloc_id is a foreign key, so the bloc exists."""
    bloc = await session.get(Bloc, bloc_id)
    assert bloc is not None, bloc_id
    return bloc


async def bloc_by_id(session: AsyncSession, bloc_id: int) -> Bloc | None:
    return await session.get(Bloc, bloc_id)


def placeholder_chat_id() -> int:
    """A bloc without a group still needs a unique `chat_id`: a number far below any Telegram chat."""
    return -(1 << 62) - secrets.randbits(48)


async def setup_groupless_bloc(session: AsyncSession, clock: Clock, title: str, founder: Person, locale: str,
                               timezone: str) -> Bloc:
    """A bloc run from private chats (created on Zalo, where a bot has no groups): its group posts
    reach each member in private; the founder's private chat is now about it."""
    bloc = await setup_bloc(session, clock, placeholder_chat_id(), title, founder, locale, timezone, True,
                            has_group=False)
    await begin_write(session)
    fresh = await session.get(Person, founder.id, populate_existing=True)
    if fresh is not None:
        fresh.current_bloc_id = bloc.id
        founder.current_bloc_id = bloc.id
    await session.commit()
    return bloc


async def setup_bloc(session: AsyncSession, clock: Clock, chat_id: int, title: str, founder: Person,
                     locale: str, timezone: str, is_admin: bool, has_group: bool = True) -> Bloc:
    from bot.services.units import clean_name

    title = clean_name(title)
    if not is_admin:
        raise NotAllowed(_("Only an administrator of this group can set up the bloc."))
    if not title:
        raise UserError(views.setup_usage())
    if len(title) > MAX_TITLE:
        raise UserError(_("The bloc name is too long (at most {limit} characters).").format(limit=MAX_TITLE))
    await begin_write(session)
    existing = await bloc_by_chat(session, chat_id)
    if existing is not None and existing.is_active:
        await abort(session)
        raise UserError(views.already_a_bloc(existing.title))
    now = clock.now()
    if existing is not None:  # the bot was removed and added back: the bloc comes back, history kept
        existing.is_active, existing.title = True, title
        bloc = existing
    else:
        local_year = now.astimezone(_zone(timezone)).year
        bloc = Bloc(chat_id=chat_id, title=title, locale=locale, timezone=timezone, year=local_year,
                    founder_person_id=founder.id, created_at=now, has_group=has_group)
        session.add(bloc)
        await session.flush()
    session.add(AuditEvent(bloc_id=bloc.id, at=now, actor_person_id=founder.id, action="bloc.setup",
                           detail={"title": title}))
    await session.commit()
    return bloc


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


async def active_representation(session: AsyncSession, bloc_id: int, person_id: int) -> Representative | None:
    result = await session.execute(select(Representative).where(
        Representative.bloc_id == bloc_id, Representative.person_id == person_id,
        Representative.revoked_at == None))  # noqa: E711
    return result.scalars().first()


async def has_representative(session: AsyncSession, unit_id: int) -> bool:
    result = await session.execute(select(Representative.id).where(
        Representative.unit_id == unit_id, Representative.revoked_at == None).limit(1))  # noqa: E711
    return result.first() is not None


async def member_of(session: AsyncSession, bloc: Bloc, person: Person) -> Member:
    rep = await active_representation(session, bloc.id, person.id)
    unit = await session.get(Unit, rep.unit_id) if rep else None
    return await _member(session, bloc, person, unit)


async def _member(session: AsyncSession, bloc: Bloc, person: Person, unit: Unit | None) -> Member:
    if unit is not None and unit.id == bloc.head_unit_id:
        role = Role.head
    elif unit is not None and unit.id == bloc.deputy_unit_id:
        role = Role.deputy
    elif person.id == bloc.founder_person_id and (
        bloc.head_unit_id is None or not await has_representative(session, bloc.head_unit_id)
    ):
        role = Role.founder
    elif unit is not None:
        role = Role.representative
    else:
        role = Role.outsider
    return Member(bloc=bloc, person=person, unit=unit, role=role)


async def group_context(
    session: AsyncSession, chat_id: int, person: Person | None
) -> tuple[Bloc | None, Member | None]:
    """The group's bloc and the sender's membership in one query (this runs on every update)."""
    if person is None:
        return await bloc_by_chat(session, chat_id), None
    result = await session.execute(
        select(Bloc, Unit)
        .outerjoin(Representative, (col(Representative.bloc_id) == Bloc.id)
                   & (col(Representative.person_id) == person.id)
                   & (Representative.revoked_at == None))  # noqa: E711
        .outerjoin(Unit, col(Unit.id) == col(Representative.unit_id))
        .where(Bloc.chat_id == chat_id)
    )
    row = result.first()
    if row is None:
        return None, None
    bloc, unit = row
    return bloc, await _member(session, bloc, person, unit)


def require_manager(member: Member) -> None:
    if not member.can_manage:
        raise NotAllowed(_("Only the bloc head or deputy can do this."))


def require_representative(member: Member) -> Unit:
    if member.unit is None:
        raise NotAllowed(_("You are not registered as the representative of a unit in this bloc. "
                           "Ask the bloc head for your unit's join link."))
    return member.unit


_BLOCS_OF_PERSON = (  # built once: every representative's first private update asks
    select(Bloc, Unit).join(Representative, col(Representative.bloc_id) == col(Bloc.id))
    .join(Unit, col(Unit.id) == col(Representative.unit_id))
    .where(Representative.person_id == bindparam("person_id"), Representative.revoked_at == None,  # noqa: E711
           Bloc.is_active == True)  # noqa: E712
    .order_by(col(Representative.joined_at).desc()))


async def blocs_of_person(session: AsyncSession, person: Person) -> list[tuple[Bloc, Unit]]:
    result = await session.execute(_BLOCS_OF_PERSON, {"person_id": person.id})
    return [(b, u) for b, u in result.all()]


async def private_bloc(session: AsyncSession, person: Person) -> Bloc | None:
    """Which bloc a private chat is about: the one chosen last, else the latest joined, else one
    the person founded."""
    bloc, _unit = await _private_choice(session, person, await blocs_of_person(session, person))
    return bloc


async def _private_choice(session: AsyncSession, person: Person,
                          memberships: list[tuple[Bloc, Unit]]) -> tuple[Bloc | None, Unit | None]:
    """`private_bloc` read off the person's memberships (and the unit they represent there)."""
    if person.current_bloc_id:
        for bloc, unit in memberships:
            if bloc.id == person.current_bloc_id:
                return bloc, unit
        chosen = await session.get(Bloc, person.current_bloc_id)
        if chosen is not None and chosen.is_active:
            return chosen, None  # the founder's bloc, where they represent no unit (yet)
    if memberships:
        return memberships[0]
    founded = await session.execute(select(Bloc).where(Bloc.founder_person_id == person.id, Bloc.is_active == True))  # noqa: E712
    return founded.scalars().first(), None


async def private_context(session: AsyncSession, person: Person) -> tuple[Bloc | None, Member | None]:
    """The bloc a private chat is about and the person's membership in it: one query for someone
    who represents a unit (their memberships, latest first), as `group_context` is for a group."""
    return await private_context_of(session, person, await blocs_of_person(session, person))


_PERSON_AND_BLOCS = (  # a private update's person and their memberships, latest first, in one query
    select(Person, Bloc, Unit).select_from(Person)
    .outerjoin(Representative, (col(Representative.person_id) == col(Person.id))
               & (col(Representative.revoked_at) == None))  # noqa: E711
    .outerjoin(Bloc, (col(Bloc.id) == col(Representative.bloc_id)) & (col(Bloc.is_active) == True))  # noqa: E712
    .outerjoin(Unit, col(Unit.id) == col(Representative.unit_id))
    .where(Person.channel == bindparam("channel"), Person.external_id == bindparam("external_id"))
    .order_by(col(Representative.joined_at).desc()))


async def person_and_blocs(session: AsyncSession, channel: str,
                           external_id: int) -> tuple[Person | None, list[tuple[Bloc, Unit]]]:
    """`get_person` and `blocs_of_person` in one round trip (a representative's private update)."""
    rows = (await session.execute(_PERSON_AND_BLOCS, {"channel": channel, "external_id": external_id})).all()
    if not rows:
        return None, []
    return rows[0][0], [(b, u) for _p, b, u in rows if b is not None and u is not None]


async def private_context_of(session: AsyncSession, person: Person,
                             memberships: list[tuple[Bloc, Unit]]) -> tuple[Bloc | None, Member | None]:
    """`private_context` with the person's memberships already read (`person_and_blocs`)."""
    bloc, unit = await _private_choice(session, person, memberships)
    if bloc is None:
        return None, None
    return bloc, await _member(session, bloc, person, unit)


async def choose_bloc(session: AsyncSession, person: Person, bloc_id: int, allowed: list[int]) -> None:
    """The bloc a private chat is about from now on (one of `allowed`, the person's own)."""
    if bloc_id not in allowed:
        raise UserError(_("You are not a member of that bloc."))
    await begin_write(session)
    fresh = await session.get(Person, person.id, populate_existing=True)
    assert fresh is not None  # the acting person
    fresh.current_bloc_id = bloc_id
    await session.commit()


async def set_post(session: AsyncSession, clock: Clock, bloc: Bloc, post: Role, unit: Unit, actor_id: int) -> None:
    await begin_write(session)
    fresh = await session.get(Bloc, bloc.id, populate_existing=True)
    assert fresh is not None  # the caller's bloc, reloaded
    bloc = fresh
    other = bloc.deputy_unit_id if post is Role.head else bloc.head_unit_id
    if other == unit.id:
        await abort(session)
        raise UserError(_("One unit cannot be both head and deputy."))
    if post is Role.head:
        bloc.head_unit_id = unit.id
    else:
        bloc.deputy_unit_id = unit.id
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action=f"bloc.{post.value}",
                           detail={"unit_id": unit.id}))
    await session.commit()


async def migrate_chat(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> Bloc | None:
    """Telegram turned the group into a supergroup: the bloc follows it."""
    await begin_write(session)
    bloc = await bloc_by_chat(session, old_chat_id)
    if bloc is None or await bloc_by_chat(session, new_chat_id) is not None:
        await abort(session)
        return None
    bloc.chat_id = new_chat_id
    await session.commit()
    return bloc


async def set_bloc_active(session: AsyncSession, clock: Clock, chat_id: int, active: bool) -> Bloc | None:
    await begin_write(session)
    bloc = await bloc_by_chat(session, chat_id)
    if bloc is None or bloc.is_active == active:
        await abort(session)
        return bloc
    bloc.is_active = active
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), action="bloc.active" if active else "bloc.inactive"))
    await session.commit()
    return bloc


async def set_bloc_locale(session: AsyncSession, bloc: Bloc, locale: str) -> None:
    await begin_write(session)
    fresh = await session.get(Bloc, bloc.id, populate_existing=True)
    assert fresh is not None  # the caller's bloc, reloaded
    bloc = fresh
    bloc.locale = locale
    await session.commit()
