"""Member units: add (one, a list, a file), rename, deactivate, merge. History is never deleted."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from bot.clock import Clock
from bot.i18n import _
from bot.services import tables
from bot.services.errors import UserError
from bot.views import usage as views  # refusals that name a command (no cycle)
from storage.db import abort, begin_write
from storage.models import AuditEvent, Bloc, Poll, Representative, Unit

MAX_NAME = 120
MAX_CODE = 32
MAX_UNITS = 200
_SPACES = re.compile(r"\s+")


def clean_name(raw: str) -> str:
    """NFC (so 'Quảng Yên' typed with combining marks is the same text), trimmed, single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", raw)).strip()


def name_key(name: str) -> str:
    return clean_name(name).casefold()


def check_name(raw: str) -> str:
    name = clean_name(raw)
    if not name:
        raise UserError(_("A unit name cannot be empty."))
    if len(name) > MAX_NAME:
        raise UserError(_("The unit name is too long ({length} characters, at most {limit}).").format(
            length=len(name), limit=MAX_NAME))
    return name


@dataclass
class AddReport:
    added: list[Unit] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name as given, reason)


async def list_units(session: AsyncSession, bloc_id: int, active_only: bool = True) -> list[Unit]:
    query = select(Unit).where(Unit.bloc_id == bloc_id)
    if active_only:
        query = query.where(Unit.is_active == True)  # noqa: E712
    result = await session.execute(query.order_by(col(Unit.position), col(Unit.id)))
    return list(result.scalars())


async def units_and_reps(session: AsyncSession, bloc_id: int, extra: Sequence[Any] = ()
                         ) -> tuple[list[Unit], dict[int, int], tuple | None]:
    """The active units (as `list_units`) and how many active representatives each has, in one query;
    `extra` columns ride along (their values from the first row; None without units)."""
    reps = (select(func.count()).where(Representative.unit_id == Unit.id, Representative.revoked_at == None)  # noqa: E711
            .correlate(Unit).scalar_subquery())
    rows = (await session.execute(select(Unit, reps, *extra).where(Unit.bloc_id == bloc_id, Unit.is_active == True)  # noqa: E712
                                  .order_by(col(Unit.position), col(Unit.id)))).all()
    probed = tuple(rows[0][2:]) if rows and extra else None
    return [row[0] for row in rows], {row[0].id: row[1] for row in rows if row[1]}, probed


async def unit_by_number(session: AsyncSession, bloc_id: int, number: str | int) -> Unit:
    """Units are addressed by their number in `/units` (1-based)."""

    units = await list_units(session, bloc_id)
    try:
        index = int(str(number).strip().rstrip("."))
    except ValueError:
        raise UserError(views.not_a_unit_number(str(number)[:40])) from None
    if not 1 <= index <= len(units):
        raise UserError(views.no_such_unit(index))
    return units[index - 1]


def parse_lines(text: str) -> list[tuple[str, str | None]]:
    """One unit per line; an optional short code after a ';' or a tab ('TTYT Tiên Yên; TY')."""
    rows = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(\d+[.)]|[-•*])\s+", "", line)  # pasted numbered or bulleted lists
        if not line.strip():
            continue
        parts = re.split(r"[;\t]", line, maxsplit=1)
        code = parts[1].strip() if len(parts) > 1 else ""
        rows.append((parts[0], code or None))
    return rows


def parse_table_file(filename: str, data: bytes) -> list[tuple[str, str | None]]:
    """CSV or XLSX: first column the unit name, optional second column a short code.
    A first row that looks like a header ('tên', 'name', ...) is skipped."""
    rows = tables.read_rows(filename, data, _("Send the list as a .csv or .xlsx file (first column: unit name)."))
    parsed = []
    for i, row in enumerate(rows):
        name = row[0] if row else ""
        code = row[1] if len(row) > 1 else ""
        if i == 0 and clean_name(name).casefold() in {"tên", "tên đơn vị", "name", "unit", "đơn vị", "unit name"}:
            continue
        if clean_name(name):
            parsed.append((name, clean_name(code) or None))
    return parsed


async def add_units(
    session: AsyncSession, clock: Clock, bloc: Bloc, rows: list[tuple[str, str | None]], actor_id: int | None
) -> AddReport:
    """Add every acceptable row; report the others with the reason. One transaction."""
    await begin_write(session)
    existing = await list_units(session, bloc.id)
    keys = {u.name_key for u in existing}
    position = max((u.position for u in existing), default=0)
    report = AddReport()
    if len(existing) + len(rows) > MAX_UNITS:
        raise UserError(_("A bloc can have at most {limit} units.").format(limit=MAX_UNITS))
    for raw, code in rows:
        try:
            name = check_name(raw)
        except UserError as err:
            report.refused.append((raw.strip()[:60], err.message))
            continue
        if name_key(name) in keys:
            report.refused.append((name, _("already in the list")))
            continue
        if code and len(code) > MAX_CODE:
            code = code[:MAX_CODE]
        position += 1
        unit = Unit(bloc_id=bloc.id, name=name, name_key=name_key(name), code=code, position=position,
                    created_at=clock.now())
        session.add(unit)
        keys.add(name_key(name))
        report.added.append(unit)
    if report.added:
        await session.flush()
        session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action="units.add",
                               detail={"unit_ids": [u.id for u in report.added]}))
    await session.commit()
    return report


async def rename_unit(session: AsyncSession, clock: Clock, bloc: Bloc, number: str, new_name: str,
                      actor_id: int | None) -> tuple[str, Unit]:
    name = check_name(new_name)
    await begin_write(session)
    unit = await unit_by_number(session, bloc.id, number)
    clash = await session.execute(select(Unit).where(
        Unit.bloc_id == bloc.id, Unit.is_active == True, Unit.name_key == name_key(name), Unit.id != unit.id))  # noqa: E712
    if clash.first():
        await abort(session)
        raise UserError(_("Another unit is already called “{name}”.").format(name=name))
    old = unit.name
    unit.name, unit.name_key = name, name_key(name)
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action="units.rename",
                           detail={"unit_id": unit.id, "old": old, "new": name}))
    await session.commit()
    return old, unit


async def _refuse_if_voting(session: AsyncSession, bloc: Bloc, *units: Unit) -> None:
    """A unit entitled to a ballot in a vote not yet counted keeps its place until the count: merging
    or removing it then would give one person two ballots or lock a unit out."""
    polls = (await session.execute(select(Poll).where(Poll.bloc_id == bloc.id,
                                                      col(Poll.status).in_(("open", "locked"))))).scalars().all()
    for poll in polls:
        for unit in units:
            candidates = {o.get("unit_id") for o in poll.options or []}
            if unit.id in (poll.eligible or []) or unit.id in candidates:
                await abort(session)
                raise UserError(_("“{name}” is on the list of vote #{number}, which is not finished. Merge or remove "
                                  "it after the count.").format(name=unit.name, number=poll.id))


async def deactivate_unit(session: AsyncSession, clock: Clock, bloc: Bloc, number: str,
                          actor_id: int | None) -> Unit:
    await begin_write(session)
    unit = await unit_by_number(session, bloc.id, number)
    await _refuse_if_voting(session, bloc, unit)
    if unit.id in (bloc.head_unit_id, bloc.deputy_unit_id):
        await abort(session)
        raise UserError(_("“{name}” holds the head or deputy post this year. Hand the post to another unit first.")
                        .format(name=unit.name))
    unit.is_active, unit.deactivated_at = False, clock.now()
    await _revoke_reps_of(session, clock, unit.id)
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action="units.deactivate",
                           detail={"unit_id": unit.id}))
    await session.commit()
    return unit


async def merge_units(session: AsyncSession, clock: Clock, bloc: Bloc, source_no: str, target_no: str,
                      actor_id: int | None) -> tuple[Unit, Unit]:
    """Unit `source` joins `target`: it is deactivated and points at the target; its
    representatives now represent the target. Past records keep the source's id."""
    await begin_write(session)
    source = await unit_by_number(session, bloc.id, source_no)
    target = await unit_by_number(session, bloc.id, target_no)
    if source.id == target.id:
        await abort(session)
        raise UserError(_("A unit cannot be merged into itself."))
    await _refuse_if_voting(session, bloc, source, target)
    reps = (await session.execute(select(Representative).where(
        Representative.unit_id == source.id, Representative.revoked_at == None))).scalars().all()  # noqa: E711
    for rep in reps:
        rep.revoked_at = clock.now()
        session.add(Representative(bloc_id=bloc.id, unit_id=target.id, person_id=rep.person_id,
                                   joined_at=clock.now()))
    for post in ("head_unit_id", "deputy_unit_id"):
        if getattr(bloc, post) == source.id:
            setattr(bloc, post, target.id)
            session.add(bloc)
    source.is_active, source.deactivated_at, source.merged_into_id = False, clock.now(), target.id
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action="units.merge",
                           detail={"source": source.id, "target": target.id}))
    await session.commit()
    return source, target


async def _revoke_reps_of(session: AsyncSession, clock: Clock, unit_id: int) -> None:
    reps = (await session.execute(select(Representative).where(
        Representative.unit_id == unit_id, Representative.revoked_at == None))).scalars().all()  # noqa: E711
    for rep in reps:
        rep.revoked_at = clock.now()


async def count_units(session: AsyncSession, bloc_id: int) -> int:
    result = await session.execute(select(func.count()).select_from(Unit).where(
        Unit.bloc_id == bloc_id, Unit.is_active == True))  # noqa: E712
    return int(result.scalar_one())
