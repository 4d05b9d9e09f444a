"""The facts of a vote's minutes (biên bản kiểm phiếu) that the bot cannot know by itself: the place
of the header, the venue, the conference that set up the counting committee, the committee when it
is not the sealed box's, witnesses, the units present, the conference's start (ballots cast before
it are counted as sent in advance), the document number and the copies. The head sets them with
`/bienban` in the group, one "field: value" per line; anything not set stays a dotted line.

Advance ballots are counted from the box's sorted cast times (BallotBox.cast_at) when the
conference's start is known (a sorted list of minutes names nobody), else as the units marked absent
("Có mặt: tất cả trừ 4,7") that are on the box's public turnout list; a ballot's content is never read."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import _
from bot.services.blocs import Member
from bot.services.errors import UserError
from bot.services.units import clean_name, list_units
from bot.services.voting.board import committee_names
from bot.services.voting.casting import cast_minute
from bot.services.voting.parse import _DATE, _TIME, _combine, _numbers
from bot.services.voting.polls import closed_polls, get_box, locked_polls, open_polls, poll_in_bloc
from bot.views import usage as views  # refusals that name a command (no cycle: usage imports no service)
from storage.db import abort, begin_write
from storage.models import AuditEvent, BallotBox, Bloc, Poll

MAX_TEXT = 200
MAX_PEOPLE = 9

# The fields a head types (folded: no diacritics, lower case) -> the key kept in Poll.minutes.
FIELD_WORDS = {
    "dia danh": "place", "place": "place",
    "dia diem": "venue", "noi kiem phieu": "venue", "venue": "venue",
    "hoi nghi": "assembly", "conference": "assembly",
    "so": "doc_number", "so bien ban": "doc_number", "number": "doc_number",
    "ban kiem phieu": "committee", "committee": "committee",
    "nhan chung": "witnesses", "chung kien": "witnesses", "witnesses": "witnesses",
    "co mat": "present", "don vi co mat": "present", "present": "present",
    "gio hop": "meeting_at", "khai mac": "meeting_at", "bat dau hop": "meeting_at", "meeting": "meeting_at",
    "so ban": "copies", "copies": "copies",
}
CLEAR_WORDS = {"-", "xoa", "bo", "mac dinh", "clear", "default"}
ALL_WORDS = {"tat ca", "du", "all"}
ROLES = ("head", "secretary", "member")


def fold(text: str) -> str:
    """ "Địa danh" -> "dia danh": what a head types, with or without diacritics."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").casefold()
    return " ".join(text.split())


def advance_count(cast_at: list[Any], meeting_at: datetime | None) -> int | None:
    """Ballots cast before the conference started (None when its start is not known)."""
    if meeting_at is None:
        return None
    start = cast_minute(meeting_at)
    return sum(1 for t in cast_at or [] if str(t) < start)


def _people(raw: str, committee: bool) -> list[Any]:
    """ "Nguyễn Văn An, TTYT Đông Triều; Trần Thị Bình, TTYT Hải Hà" -> the list kept."""
    entries = [clean_name(p) for p in re.split(r"[;\n]", raw) if clean_name(p)]
    if not entries or len(entries) > MAX_PEOPLE or any(len(e) > MAX_TEXT for e in entries):
        raise UserError(views.minutes_people_format())
    if not committee:
        return entries
    people = []
    for i, entry in enumerate(entries):
        name, _sep, unit = entry.partition(",")
        if not name.strip():
            raise UserError(views.minutes_people_format())
        role = ROLES[min(i, 2)]
        people.append({"name": clean_name(name), "unit": clean_name(unit), "role": role})
    return people


def _present(raw: str, units: int) -> int:
    text = fold(raw)
    if text in ALL_WORDS:
        return units
    m = re.fullmatch(r"(?:tat ca|all) (?:tru|except) (\d{1,3}(?:\s*,\s*\d{1,3})*)", text)
    if m:
        numbers = set(_numbers(m.group(1).replace(" ", "")))
        if any(not 1 <= n <= units for n in numbers):
            raise UserError(views.minutes_present_format(units))
        return units - len(numbers)
    if text.isdigit() and 0 <= int(text) <= units:
        return int(text)
    raise UserError(views.minutes_present_format(units))


def _absent_numbers(raw: str) -> list[int] | None:
    """ "tất cả trừ 4,7" -> [4, 7]; "tất cả" -> []; a bare count names no unit -> None."""
    text = fold(raw)
    if text in ALL_WORDS:
        return []
    m = re.fullmatch(r"(?:tat ca|all) (?:tru|except) ([\d,\s]+)", text)
    return sorted(set(_numbers(m.group(1).replace(" ", "")))) if m else None


def _moment(raw: str, bloc: Bloc, now: datetime) -> str:
    clock_time = date = None
    for token in raw.split():
        if m := _TIME.match(token):
            clock_time = m
        elif m := _DATE.match(token):
            date = m
        else:
            raise UserError(views.minutes_time_format())
    if clock_time is None or date is None:
        raise UserError(views.minutes_time_format())
    return _combine(clock_time, date, bloc, now).isoformat()


def parse_form(text: str, bloc: Bloc, units: int, now: datetime) -> dict[str, Any]:
    """ "Địa danh: Quảng Ninh\\nCó mặt: 12" -> {"place": "Quảng Ninh", "present": 12}; a value of
    "-" (or "xóa") clears a field (None). Anything not understood is refused, with the examples."""
    changes: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        label, sep, raw = line.partition(":")
        key = FIELD_WORDS.get(fold(label).strip(" -•*"))
        if not sep or key is None:
            raise UserError(views.minutes_unknown_line(line.strip()[:40]))
        raw = raw.strip()
        if fold(raw) in CLEAR_WORDS:
            changes[key] = None
            continue
        if not raw:
            raise UserError(views.minutes_unknown_line(line.strip()[:40]))
        if key in ("committee", "witnesses"):
            changes[key] = _people(raw, key == "committee")
        elif key == "present":
            changes[key] = _present(raw, units)
            changes["absent_numbers"] = _absent_numbers(raw)
        elif key == "meeting_at":
            changes[key] = _moment(raw, bloc, now)
        elif key == "copies":
            if not raw.isdigit() or not 1 <= int(raw) <= 20:
                raise UserError(views.minutes_copies_format())
            changes[key] = int(raw)
        else:
            value = clean_name(raw)
            if len(value) > MAX_TEXT or (key == "doc_number" and len(value) > 20):
                raise UserError(_("Too long: at most {limit} characters.").format(
                    limit=20 if key == "doc_number" else MAX_TEXT))
            changes[key] = value
    if not changes:
        raise UserError(views.minutes_usage())
    return changes


async def poll_for_minutes(session: AsyncSession, bloc: Bloc, number: str | None) -> Poll:
    """The vote named by its number, or the only open/locked one, or the last one closed."""
    if number:
        poll = await poll_in_bloc(session, bloc, number, "closed")
    else:
        running = await open_polls(session, bloc.id) + await locked_polls(session, bloc.id)
        if len(running) > 1:
            raise UserError(views.minutes_which_vote(running[0].id))
        closed = await closed_polls(session, bloc.id, 1)
        if not running and not closed:
            raise UserError(_("There is no vote yet."))
        poll = running[0] if running else closed[0]
    if poll.status == "cancelled":
        raise UserError(_("This vote was cancelled."))
    return poll


def split_number(args: str) -> tuple[str | None, str]:
    """ "12\\nĐịa danh: …" or "#12 Địa danh: …" -> ("12", "Địa danh: …"); no number -> (None, args)."""
    m = re.match(r"^\s*#?(\d{1,9})(?:\s+|$)", args)
    if m and ":" not in args[:m.end()]:
        return m.group(1), args[m.end():]
    return None, args


async def set_minutes(session: AsyncSession, clock: Clock, member: Member, args: str) -> Poll:
    """/bienban [number] + "field: value" lines: the facts are merged into the vote's minutes."""
    bloc = member.bloc
    number, form = split_number(args)
    poll = await poll_for_minutes(session, bloc, number)
    units = len(poll.eligible)
    changes = parse_form(form, bloc, units, clock.now())
    if "absent_numbers" in changes:  # unit numbers as in /units -> the absent units' ids
        numbers = changes.pop("absent_numbers")
        listed = await list_units(session, bloc.id)
        if numbers is not None and any(n > len(listed) for n in numbers):
            raise UserError(views.minutes_present_format(len(listed)))
        changes["absent"] = None if numbers is None else sorted(listed[n - 1].id for n in numbers)
    await begin_write(session)
    fresh = await session.get(Poll, poll.id, populate_existing=True)
    if fresh is None:
        await abort(session)
        raise UserError(_("This vote does not exist."))
    merged = {**(fresh.minutes or {}), **changes}
    fresh.minutes = {k: v for k, v in merged.items() if v is not None}
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=member.person.id,
                           action="vote.minutes", detail={"poll_id": fresh.id, "fields": sorted(changes)}))
    await session.commit()
    return fresh


def advance_ballots(box: BallotBox, poll: Poll, absent: list[int] | None) -> int | None:
    """Ballots sent before the conference: cast before its start when the start is known (counted from
    the sorted cast times), else the units marked absent that voted (the turnout list is public); a
    ballot's content is never looked at."""
    start = meeting_start(poll)
    if start is not None:
        return advance_count(box.cast_at, start)
    if absent is not None:
        return len(set(absent) & set(box.voters))
    return None


def meeting_start(poll: Poll) -> datetime | None:
    raw = (poll.minutes or {}).get("meeting_at")
    return datetime.fromisoformat(raw) if raw else None


async def minutes_facts(session: AsyncSession, poll: Poll, bloc: Bloc | None = None) -> dict[str, Any]:
    """The ResultSheet fields (bot/render/model.py) the head set, with the sealed box's committee
    by default: (name, role, unit) tuples, the first seat chairs it, the second keeps the record.
    Place and venue fall back to the bloc's own (/settings vote.place, vote.venue)."""
    own = (bloc.settings or {}) if bloc is not None else {}
    facts = {"place": own.get("vote.place"), "venue": own.get("vote.venue"),
             **{k: v for k, v in (poll.minutes or {}).items() if v is not None}}
    committee = facts.get("committee")
    if committee:
        people = [(c["name"], c.get("role", "member"), c.get("unit", "")) for c in committee]
    else:
        names = await committee_names(session, poll)
        people = [(person, ROLES[min(i, 2)], unit) for i, (person, unit) in enumerate(names)]
    box = await get_box(session, poll.id)
    return {
        "place": facts.get("place"), "venue": facts.get("venue"), "assembly": facts.get("assembly"),
        "doc_number": facts.get("doc_number"), "witnesses": tuple(facts.get("witnesses") or ()),
        "committee": tuple(people), "member_units": len(poll.eligible), "units_present": facts.get("present"),
        "advance_ballots": advance_ballots(box, poll, facts.get("absent")), "copies": facts.get("copies"),
    }
