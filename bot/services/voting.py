"""Secret votes: open, cast (one ballot per unit), close, cancel, extend, count, runoff, bulletin board.

The ballot box of a vote is one row (storage/models/voting.py): cast ballots as [random id,
choices] sorted by the random id, and the sorted unit ids that have voted, rewritten together
in one write transaction (BEGIN IMMEDIATE on SQLite; the box row locked FOR UPDATE on
PostgreSQL). Nothing else is written at cast time: no audit event, no timestamp, no log line.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.clock import Clock
from bot.i18n import N_, _
from bot.services.blocs import Member, member_of, require_manager, require_representative
from bot.services import ballot_box
from bot.services import settings as settings_service
from bot.services.errors import NotAllowed, UserError
from bot.services.tally import Rule, TallyResult, tally
from bot.services.units import clean_name, list_units
from storage.db import abort, begin_write, is_sqlite, truncate_wal
from storage.models import AuditEvent, BallotBox, Bloc, Person, Poll, Representative, Unit

PAYLOAD_PREFIX = "v_"
KINDS = ("flag", "merit", "head", "deputy", "custom")
UNIT_KINDS = ("flag", "merit", "head", "deputy")
MAX_QUESTION = 300
MAX_OPTION = 100
MAX_OPTIONS = 60
MAX_DAYS = 90

# Rule defaults of a bloc, kept in Bloc.settings["vote"] (the /settings command edits them).
DEFAULTS: dict[str, Any] = {
    "threshold": "1/2",  # share a candidate needs
    "strict": True,  # more than the threshold (True) or at least (False)
    "base": "eligible",  # eligible | returned | valid ballots
    "quorum": "2/3",  # of eligible units returning a ballot
    "self_vote": True,
    "blank_allowed": True,
    "cap_flag": 1,
    "cap_head": 1,
    "cap_deputy": 1,
    "cap_merit": None,  # None: as many as may be chosen; a count (3) or a share of the remaining units ("20%")
    "remind_before_minutes": 60,
    "publish_board": False,
}


def vote_defaults(bloc: Bloc) -> dict[str, Any]:
    """The bloc's vote rule defaults: its own values over the built-in ones."""
    settings = bloc.settings or {}
    own = settings.get("vote") or {}
    flat = {key[len("vote."):]: value for key, value in settings.items() if key.startswith("vote.")}
    return {**DEFAULTS, **{k: v for k, v in {**own, **flat}.items() if k in DEFAULTS}}


def _fraction(raw: Any) -> Fraction:
    text = str(raw).strip().replace(",", ".")
    if text.endswith("%"):
        return Fraction(text[:-1]) / 100
    return Fraction(text)


def resolve_cap(raw: Any, remaining: int) -> int | None:
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if text.endswith("%"):
        return max(1, int(_fraction(text) * remaining))
    return int(text)


def default_rule(bloc: Bloc, kind: str, max_choices: int, unit_count: int) -> Rule:
    d = vote_defaults(bloc)
    if kind == "merit":
        cap = resolve_cap(d["cap_merit"], max(0, unit_count - 1))
        cap = max_choices if cap is None else min(cap, max_choices)
    elif kind == "custom":
        cap = max_choices
    else:
        cap = resolve_cap(d.get(f"cap_{kind}"), unit_count) or 1
    return Rule(max_choices=max_choices, threshold=_fraction(d["threshold"]), strict=bool(d["strict"]),
                base=d["base"], quorum=_fraction(d["quorum"]), self_vote=bool(d["self_vote"]),
                blank_allowed=bool(d["blank_allowed"]), cap=cap)


def rule_of(poll: Poll) -> Rule:
    return Rule.from_json(poll.rule)


def zone(bloc: Bloc) -> ZoneInfo:
    return ZoneInfo(bloc.timezone)


def local_text(bloc: Bloc, when: datetime | None) -> str:
    return when.astimezone(zone(bloc)).strftime("%d/%m/%Y %H:%M") if when else "—"


# -- the one-line form ------------------------------------------------------------------------

KIND_WORDS = {
    "flag": "flag", "co": "flag", "cờ": "flag", "cothidua": "flag", "cờthiđua": "flag",
    "merit": "merit", "bangkhen": "merit", "bằngkhen": "merit", "bk": "merit",
    "head": "head", "truong": "head", "trưởng": "head", "truongkhoi": "head", "trưởngkhối": "head",
    "deputy": "deputy", "pho": "deputy", "phó": "deputy", "phokhoi": "deputy", "phókhối": "deputy",
    "custom": "custom", "khac": "custom", "khác": "custom", "hoi": "custom", "hỏi": "custom",
}
MANUAL_WORDS = {"manual", "tay", "thucong", "thủcông", "thu-cong", "thủ-công"}
BOARD_WORDS = {"board", "congkhai", "côngkhai", "công-khai"}
EXCEPT_WORDS = {"trừ", "tru", "except"}
COMMITTEE_WORDS = {"committee", "bankiemphieu", "bankiểmphiếu", "bkp", "kiemphieu", "kiểmphiếu"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")  # a clock time; "2h" is a duration and "2h30" is refused
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?$")
_DATE_LIKE = re.compile(r"^\d{1,4}[-.]\d{1,2}([-.]\d{2,4})?$")
_DURATION = re.compile(r"^\+?(\d{1,4})(m|h|d|p|g|ph|phut|phút|gio|giờ|ngay|ngày)$")
_MIXED = re.compile(r"^\+?(\d{1,3})[hg](\d{1,2})(m|p|ph|phut|phút)$")  # 2h30m: 2 hours 30 minutes
_EXCLUDE = re.compile(r"^-(\d{1,3}(?:,\d{1,3})*)$")
_NUMBERS = re.compile(r"^\d{1,3}(?:,\d{1,3})*,?$")
_NUMBER = re.compile(r"^\d{1,3}$")
_DURATION_UNITS = {"m": 1, "p": 1, "ph": 1, "phut": 1, "phút": 1, "h": 60, "g": 60, "gio": 60, "giờ": 60,
                   "d": 1440, "ngay": 1440, "ngày": 1440}


@dataclass
class VoteSpec:
    kind: str
    max_choices: int | None = None
    closing_at: datetime | None = None  # None: closed by hand with /close
    exclude: list[int] = field(default_factory=list)  # unit numbers as in /units
    question: str = ""
    options: list[str] = field(default_factory=list)
    publish_board: bool | None = None
    committee: list[int] = field(default_factory=list)  # unit numbers as in /units; empty: the default


def usage() -> str:
    return _("Examples:\n<code>/vote co 18:00 25/12/2026</code> — emulation flag, choose 1\n"
             "<code>/vote bangkhen 3</code> — certificate of merit, choose up to 3, closed with /close\n"
             "<code>/vote truong +2h</code> — bloc head, closes in 2 hours\n"
             "<code>/vote co trừ 3,5</code> — units 3 and 5 are not candidates\n"
             "<code>/vote co bkp 2,5,9</code> — the counting committee: representatives of units 2, 5 and 9\n"
             "<code>/vote hoi Question? | Option A | Option B</code>\n"
             "Add <code>congkhai</code> to publish the receipt list after closing.")


def _numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parse_vote_line(args: str, bloc: Bloc, now: datetime) -> VoteSpec:
    """`co 18:00 25/12/2026`, `bangkhen 3`, `truong +2h trừ 3,5`, `hoi Question? | A | B` -> VoteSpec.
    Anything it does not understand is refused with the reason and the examples, never guessed."""
    text = (args or "").strip()
    first, _sep, rest_lines = text.partition("\n")
    pieces = first.split("|")
    head_tokens = pieces[0].split()
    extra = pieces[1:] + rest_lines.splitlines()
    if not head_tokens:
        raise UserError(usage())
    kind = KIND_WORDS.get(head_tokens[0].casefold())
    if kind is None:
        raise UserError(_("I do not know the vote kind “{word}”.").format(word=head_tokens[0][:30]) + "\n" + usage())
    spec = VoteSpec(kind=kind)
    clock_time = date = None
    i = 1
    while i < len(head_tokens):
        token = head_tokens[i]
        low = token.casefold()
        following = head_tokens[i + 1] if i + 1 < len(head_tokens) else ""
        if m := _TIME.match(token):
            clock_time = m
        elif m := _DATE.match(token):
            date = m
        elif m := _MIXED.match(low):
            spec.closing_at = now + timedelta(hours=int(m.group(1)), minutes=int(m.group(2)))
        elif m := _DURATION.match(low):
            spec.closing_at = now + timedelta(minutes=int(m.group(1)) * _DURATION_UNITS[m.group(2)])
        elif m := _EXCLUDE.match(token):
            spec.exclude += _numbers(m.group(1))
        elif low in EXCEPT_WORDS or low in COMMITTEE_WORDS:
            if not _NUMBERS.match(following):
                raise UserError(_("After “{word}” write unit numbers, for example <code>{word} 3,5</code>.").format(
                    word=token[:20]) + "\n" + usage())
            target = spec.exclude if low in EXCEPT_WORDS else spec.committee
            while i + 1 < len(head_tokens) and _NUMBERS.match(head_tokens[i + 1]):
                target += _numbers(head_tokens[i + 1])
                i += 1
        elif low in MANUAL_WORDS:
            spec.closing_at = None
        elif low in BOARD_WORDS:
            spec.publish_board = True
        elif _NUMBER.match(token) and spec.max_choices is None and kind in ("merit", "custom"):
            spec.max_choices = int(token)
            if spec.max_choices < 1:
                raise UserError(_("The number of choices must be at least 1.") + "\n" + usage())
        elif kind == "custom" and not spec.question and not _looks_like_setting(token):
            spec.question = " ".join(head_tokens[i:])
            break
        else:
            raise UserError(_unknown(token))
        i += 1
    if clock_time or date:
        spec.closing_at = _combine(clock_time, date, bloc, now)
    if kind == "custom":
        parts = [clean_name(p) for p in extra if clean_name(p)]
        if not spec.question and parts:
            spec.question, parts = parts[0], parts[1:]
        spec.question = clean_name(spec.question)
        spec.options = parts
    elif any(clean_name(p) for p in extra):
        raise UserError(_("Options after “|” are only for a question (<code>/vote hoi …</code>).") + "\n" + usage())
    return spec


def _looks_like_setting(token: str) -> bool:
    return bool(_DATE_LIKE.match(token) or re.match(r"^\+?\d", token))


def _unknown(token: str) -> str:
    word = token[:30]
    if _DATE_LIKE.match(token):
        return _("I cannot read the date “{word}”: write it as dd/mm/yyyy, for example 25/12/2026.").format(
            word=word) + "\n" + usage()
    if re.match(r"^\+?\d+[hg]\d+$", token, re.I):
        return _("“{word}” is ambiguous: write a clock time as 18:00, or a duration as 2h30m or +2h.").format(
            word=word) + "\n" + usage()
    return _("I do not understand “{word}” in this command.").format(word=word) + "\n" + usage()


def _combine(clock_time, date, bloc: Bloc, now: datetime) -> datetime:
    local_now = now.astimezone(zone(bloc))
    hour, minute = (int(clock_time.group(1)), int(clock_time.group(2))) if clock_time else (23, 59)
    try:
        if date:
            year = int(date.group(3)) if date.group(3) else local_now.year
            local = datetime(year, int(date.group(2)), int(date.group(1)), hour, minute, tzinfo=zone(bloc))
        else:
            local = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if local <= local_now:
                local += timedelta(days=1)
    except ValueError:
        raise UserError(_("Write the closing time as HH:MM dd/mm/yyyy, for example <code>18:00 25/12/2026</code>.")) \
            from None
    return local.astimezone(now.tzinfo)


def check_closing(closing_at: datetime | None, bloc: Bloc, now: datetime) -> None:
    if closing_at is None:
        return
    if closing_at <= now:
        raise UserError(_("The closing time {when} is already past.").format(when=local_text(bloc, closing_at)))
    if closing_at > now + timedelta(days=MAX_DAYS):
        raise UserError(_("The closing time is too far away (at most {days} days).").format(days=MAX_DAYS))


# -- opening ----------------------------------------------------------------------------------

@dataclass
class Seat:
    """One counting-committee member of a vote and the key share to hand them (in memory only)."""

    seat: int
    person: Person
    unit: Unit | None
    share: bytes


@dataclass
class Opened:
    poll: Poll
    seats: list[Seat]


MIN_COMMITTEE = 2


def committee_size_k(n: int) -> int:
    """Shares needed: a majority of the committee (2 of 3, 3 of 5)."""
    return n // 2 + 1


async def _committee(session: AsyncSession, member: Member, units: list[Unit],
                     numbers: list[int]) -> list[tuple[Person, Unit | None]]:
    """The counting committee: by default the head (the manager opening the vote) and representatives
    of two other units; or the representatives of the units named. Only people the bot can reach
    in private (they have opened the chat, not blocked it), one per unit."""
    reps = await representatives(session, member.bloc.id)
    reachable = [(p, u) for p, u in reps if p.started and not p.blocked]
    for number in numbers:
        if not 1 <= number <= len(units):
            raise UserError(_("There is no unit number {number}. Send /units to see the numbers.").format(
                number=number))
    if numbers:
        chosen: list[tuple[Person, Unit | None]] = []
        for number in dict.fromkeys(numbers):
            unit = units[number - 1]
            rep = next(((p, u) for p, u in reachable if u.id == unit.id), None)
            if rep is None:
                raise UserError(_("The counting committee needs a representative of {unit} who has opened the "
                                  "private chat with the bot.").format(unit=esc_name(unit.name)))
            chosen.append(rep)
    else:
        head = member.person
        chosen = [(head, member.unit)] if head.started and not head.blocked else []
        taken = {member.unit.id} if member.unit else set()
        deputy = member.bloc.deputy_unit_id
        ordered = sorted(reachable, key=lambda pu: (pu[1].id != deputy,))
        for person, unit in ordered:
            if len(chosen) >= 3:
                break
            if unit.id in taken or person.id in {p.id for p, _u in chosen}:
                continue
            chosen.append((person, unit))
            taken.add(unit.id)
    if len(chosen) < MIN_COMMITTEE:
        raise UserError(_("A secret ballot needs a counting committee of at least {n} people who have opened the "
                          "private chat with the bot (the ballot box is opened with their keys). Ask the "
                          "representatives to press Start in the bot's private chat, or name the units with "
                          "<code>bkp 2,5,9</code>.").format(n=MIN_COMMITTEE))
    return chosen


def esc_name(name: str) -> str:
    return html.escape(name, quote=False)


async def representatives(session: AsyncSession, bloc_id: int) -> list[tuple[Person, Unit]]:
    rows = await session.execute(
        select(Person, Unit).join(Representative, Representative.person_id == Person.id)
        .join(Unit, Unit.id == Representative.unit_id)
        .where(Representative.bloc_id == bloc_id, Representative.revoked_at == None,  # noqa: E711
               Unit.is_active == True)  # noqa: E712
        .order_by(Unit.position, Unit.id, Person.id))
    return [(p, u) for p, u in rows.all()]


async def open_vote(session: AsyncSession, clock: Clock, member: Member, spec: VoteSpec) -> Opened:
    """Open a vote with its box sealed: a fresh key, split among the counting committee. The
    private key is never stored; the caller hands each seat's share to its member and forgets it."""
    require_manager(member)
    bloc, now = member.bloc, clock.now()
    if spec.kind not in KINDS:
        raise UserError(usage())
    check_closing(spec.closing_at, bloc, now)
    units = await list_units(session, bloc.id)
    if not units:
        raise UserError(_("The bloc has no units yet. Add them with /addunit, one name per line."))
    if spec.kind == "custom":
        if not spec.question:
            raise UserError(_("Write the question and at least two options: "
                              "<code>/vote hoi Question? | Option A | Option B</code>"))
        if len(spec.question) > MAX_QUESTION:
            raise UserError(_("The question is too long (at most {limit} characters).").format(limit=MAX_QUESTION))
        labels = list(dict.fromkeys(spec.options))
        if len(labels) < 2:
            raise UserError(_("A custom question needs at least two different options, separated by “|”."))
        if len(labels) > MAX_OPTIONS or any(len(o) > MAX_OPTION for o in labels):
            raise UserError(_("At most {count} options of at most {limit} characters each.").format(
                count=MAX_OPTIONS, limit=MAX_OPTION))
        options = [{"label": o, "unit_id": None} for o in labels]
    else:
        for number in spec.exclude:
            if not 1 <= number <= len(units):
                raise UserError(_("There is no unit number {number}. Send /units to see the numbers.").format(
                    number=number))
        skip = {units[n - 1].id for n in spec.exclude}
        options = [{"label": u.name, "unit_id": u.id} for u in units if u.id not in skip]
        if not options:
            raise UserError(_("No candidate is left after the exclusions."))
    default_max = {"flag": 1, "head": 1, "deputy": 1, "merit": 3, "custom": 1}[spec.kind]
    max_choices = spec.max_choices if spec.kind in ("merit", "custom") and spec.max_choices else default_max
    if not 1 <= max_choices <= len(options):
        raise UserError(_("The number of choices must be between 1 and {count} (the number of candidates).").format(
            count=len(options)))
    committee = await _committee(session, member, units, spec.committee)
    rule = default_rule(bloc, spec.kind, max_choices, len(units))
    publish = vote_defaults(bloc)["publish_board"] if spec.publish_board is None else spec.publish_board
    await begin_write(session)
    return await _create(session, now, member, Poll(
        bloc_id=bloc.id, kind=spec.kind, question=spec.question if spec.kind == "custom" else "",
        options=options, eligible=sorted(u.id for u in units), rule=rule.to_json(),
        publish_board=bool(publish), opened_at=now, opened_by_person_id=member.person.id,
        closing_at=spec.closing_at), committee, "vote.open")


async def _create(session: AsyncSession, now: datetime, member: Member, poll: Poll,
                  committee: list[tuple[Person, Unit | None]], action: str) -> Opened:
    """Inside the caller's write transaction: seal the new vote's box and store it."""
    secret = ballot_box.new_secret()
    k = committee_size_k(len(committee))
    shares = ballot_box.split(secret, k, len(committee))
    poll.public_key = ballot_box.public_key_b64(secret)
    del secret  # from here on only the shares exist, and they leave with the caller
    poll.committee_k = k
    try:
        session.add(poll)
        await session.flush()
    except IntegrityError:
        await abort(session)
        raise UserError(_("The runoff of this vote is already open.")) from None
    seats = [Seat(index, person, unit, share) for (index, share), (person, unit) in zip(shares, committee)]
    poll.committee = [{"seat": seat.seat, "person_id": seat.person.id, "unit_id": seat.unit.id if seat.unit else None,
                       "hash": ballot_box.share_hash(poll.id, seat.seat, seat.share)} for seat in seats]
    session.add(BallotBox(poll_id=poll.id, ballots=[], voters=[], version=0))
    session.add(AuditEvent(bloc_id=poll.bloc_id, at=now, actor_person_id=member.person.id, action=action,
                           detail={"poll_id": poll.id, "kind": poll.kind,
                                   "committee": [c["person_id"] for c in poll.committee], "k": k}))
    try:
        await session.commit()
    except IntegrityError:
        await abort(session)
        raise UserError(_("The runoff of this vote is already open.")) from None
    return Opened(poll, seats)


async def record_share_messages(session: AsyncSession, poll_id: int, sent: dict[int, tuple[int, int]]) -> None:
    """Where each seat's share was sent (chat, message): the count takes those buttons away."""
    await begin_write(session)
    poll = await _lock_poll(session, poll_id)
    if poll is not None:
        poll.committee = [{**c, "chat_id": sent[c["seat"]][0], "message_id": sent[c["seat"]][1]}
                          if c["seat"] in sent else c for c in poll.committee]
    await session.commit()


async def set_group_message(session: AsyncSession, poll_id: int, message_id: int) -> None:
    await begin_write(session)
    await session.execute(update(Poll).where(Poll.id == poll_id).values(group_message_id=message_id))
    await session.commit()


# -- reading ----------------------------------------------------------------------------------

MAX_ID = 2**31 - 1  # ids are INTEGER on both databases: a larger number names nothing


def parse_payload(payload: str) -> int:
    rest = payload[len(PAYLOAD_PREFIX):] if payload.startswith(PAYLOAD_PREFIX) else ""
    if not rest.isdigit() or len(rest) > 12:
        raise UserError(_("This voting link is not valid. Open the “Vote” button in the bloc's group."))
    return int(rest)


async def get_poll(session: AsyncSession, poll_id: int) -> Poll:
    poll = await session.get(Poll, poll_id, populate_existing=True) if 0 < poll_id <= MAX_ID else None
    if poll is None:
        raise UserError(_("This vote does not exist."))
    return poll


async def get_box(session: AsyncSession, poll_id: int, lock: bool = False) -> BallotBox:
    query = select(BallotBox).where(BallotBox.poll_id == poll_id).execution_options(populate_existing=True)
    if lock and not is_sqlite(session):
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one()


def is_open(poll: Poll, now: datetime) -> bool:
    return poll.status == "open" and (poll.closing_at is None or poll.closing_at > now)


async def turnout(session: AsyncSession, poll: Poll) -> tuple[int, int]:
    box = await get_box(session, poll.id)
    return len(box.voters), len(poll.eligible)


async def open_polls(session: AsyncSession, bloc_id: int) -> list[Poll]:
    result = await session.execute(select(Poll).where(Poll.bloc_id == bloc_id, Poll.status == "open")
                                   .order_by(Poll.id))
    return list(result.scalars())


async def locked_polls(session: AsyncSession, bloc_id: int) -> list[Poll]:
    result = await session.execute(select(Poll).where(Poll.bloc_id == bloc_id, Poll.status == "locked")
                                   .order_by(Poll.id))
    return list(result.scalars())


async def all_locked_polls(session: AsyncSession) -> list[Poll]:
    return list((await session.execute(select(Poll).where(Poll.status == "locked").order_by(Poll.id))).scalars())


async def closed_polls(session: AsyncSession, bloc_id: int, limit: int = 10) -> list[Poll]:
    result = await session.execute(select(Poll).where(Poll.bloc_id == bloc_id, Poll.status == "closed")
                                   .order_by(Poll.id.desc()).limit(limit))
    return list(result.scalars())


async def poll_in_bloc(session: AsyncSession, bloc: Bloc, number: str | int | None, status: str) -> Poll:
    """The vote named by its number (#id), or the only one of that status in the bloc."""
    if number not in (None, ""):
        raw = str(number).strip().lstrip("#")
        if not raw.isdigit():
            raise UserError(_("“{value}” is not a vote number.").format(value=str(number)[:20]))
        poll = await session.get(Poll, int(raw)) if 0 < int(raw) <= MAX_ID else None
        if poll is None or poll.bloc_id != bloc.id:
            raise UserError(_("There is no vote number {number} in this bloc.").format(number=int(raw)))
        return poll
    if status == "locked":
        polls = await locked_polls(session, bloc.id)
    elif status == "unfinished":  # open or locked: what /vote cancel may cancel
        polls = await open_polls(session, bloc.id) + await locked_polls(session, bloc.id)
    else:
        polls = await open_polls(session, bloc.id) if status == "open" else await closed_polls(session, bloc.id, 1)
    if not polls:
        raise UserError({"open": _("There is no open vote."), "unfinished": _("There is no open vote."),
                         "locked": _("No ballot box is waiting to be opened.")}
                        .get(status, _("No vote has been closed yet.")))
    if len(polls) > 1:
        raise UserError(_("Several votes are open: write the number, for example <code>/close {number}</code>.")
                        .format(number=polls[0].id))
    return polls[0]


# -- casting ----------------------------------------------------------------------------------

class AlreadyVoted(UserError):
    pass


def already_voted() -> AlreadyVoted:
    return AlreadyVoted(_("Your unit has already voted. A unit has one ballot; it cannot be changed."))


@dataclass
class Voter:
    poll: Poll
    bloc: Bloc
    member: Member


async def voter_for(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
                    known: Member | None = None) -> Voter:
    """May this person vote in this poll now, for their unit? Clear UserErrors otherwise.
    `known`: the membership the middleware already loaded (reused when it is the poll's bloc)."""
    poll = await get_poll(session, poll_id)
    if known is not None and known.bloc.id == poll.bloc_id and known.person.id == person.id:
        bloc, member = known.bloc, known
    else:
        bloc = await session.get(Bloc, poll.bloc_id)
        member = await member_of(session, bloc, person)
    require_representative(member)
    if poll.status == "cancelled":
        raise UserError(_("This vote was cancelled."))
    if not is_open(poll, clock.now()):
        raise UserError(_("This vote is closed."))
    if member.unit.id not in poll.eligible:
        raise NotAllowed(_("Your unit is not on the list of units of this vote."))
    return Voter(poll, bloc, member)


def toggle(poll: Poll, selection: Sequence[int], index: int, unit_id: int | None) -> list[int]:
    """Tick or untick one candidate; refuse one more than allowed, or the own unit if self-vote is off."""
    rule = rule_of(poll)
    if not 0 <= index < len(poll.options):
        raise UserError(_("This button is no longer valid."))
    chosen = list(selection)
    if index in chosen:
        chosen.remove(index)
        return sorted(chosen)
    if not rule.self_vote and unit_id is not None and poll.options[index].get("unit_id") == unit_id:
        raise UserError(_("In this vote a unit may not vote for itself."))
    if len(chosen) >= rule.max_choices:
        raise UserError(_("You may choose at most {n}. Untick one first.").format(n=rule.max_choices))
    return sorted(chosen + [index])


def check_choices(poll: Poll, choices: Sequence[int], unit_id: int) -> list[int]:
    rule = rule_of(poll)
    chosen = sorted(set(int(c) for c in choices))
    if any(not 0 <= c < len(poll.options) for c in chosen):
        raise UserError(_("This button is no longer valid."))
    if len(chosen) > rule.max_choices:
        raise UserError(_("You may choose at most {n}. Untick one first.").format(n=rule.max_choices))
    if not chosen and not rule.blank_allowed:
        raise UserError(_("Blank ballots are not allowed in this vote: choose at least one."))
    if not rule.self_vote and any(poll.options[c].get("unit_id") == unit_id for c in chosen):
        raise UserError(_("In this vote a unit may not vote for itself."))
    return chosen


def receipt_code(ballot_id: str) -> str:
    """Receipt of a vote from before the sealed box: derived from the ballot's random id."""
    digest = hashlib.sha256(b"thidua-receipt:" + bytes.fromhex(ballot_id)).digest()
    code = base64.b32encode(digest).decode()[:10]
    return f"{code[:5]}-{code[5:]}"


@dataclass
class Receipt:
    code: str
    poll: Poll
    bloc: Bloc
    unit: Unit
    voted: int
    eligible: int


async def cast(session: AsyncSession, clock: Clock, poll_id: int, person: Person, choices: Sequence[int],
               known: Member | None = None) -> Receipt:
    """Put the unit's one ballot into the box. A second ballot of the unit (another representative,
    a double tap, a replayed button) raises AlreadyVoted and changes nothing."""
    await begin_write(session)
    if not is_sqlite(session):
        # A closer holds the poll row FOR UPDATE while it closes: a cast waits for it, then sees
        # "closed", so no ballot slips in between the close and the count.
        await session.execute(select(Poll.id).where(Poll.id == poll_id).with_for_update(read=True))
    try:
        voter = await voter_for(session, clock, poll_id, person, known)
        unit = voter.member.unit
        box = await get_box(session, poll_id, lock=True)
        if unit.id in box.voters:
            raise already_voted()
        chosen = check_choices(voter.poll, choices, unit.id)
    except UserError:
        await abort(session)
        raise
    poll = voter.poll
    if poll.public_key:
        code = ballot_box.new_receipt()
        sealed = ballot_box.seal(poll.public_key, ballot_box.encode_ballot(len(poll.options), chosen, code))
        box.ballots = sorted([*box.ballots, sealed])
    else:  # a vote opened before the sealed box
        ballot_id = secrets.token_bytes(16).hex()
        code = receipt_code(ballot_id)
        box.ballots = sorted([*box.ballots, [ballot_id, chosen]], key=lambda b: b[0])
    box.voters = sorted([*box.voters, unit.id])
    box.version += 1
    voted = len(box.voters)
    await session.commit()
    return Receipt(code, poll, voter.bloc, unit, voted, len(poll.eligible))


async def has_voted(session: AsyncSession, poll_id: int, unit_id: int) -> bool:
    return unit_id in (await get_box(session, poll_id)).voters


# -- closing ----------------------------------------------------------------------------------

async def _lock_poll(session: AsyncSession, poll_id: int) -> Poll | None:
    query = select(Poll).where(Poll.id == poll_id).execution_options(populate_existing=True)
    if not is_sqlite(session):
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def _check_manager(member: Member, poll: Poll) -> None:
    require_manager(member)
    if poll.bloc_id != member.bloc.id:
        raise UserError(_("There is no vote number {number} in this bloc.").format(number=poll.id))


async def close_vote(session: AsyncSession, clock: Clock, poll_id: int, member: Member | None = None) -> Poll | None:
    """Close an open vote. Idempotent: of two closers (the scheduler and /close, two instances)
    exactly one gets the poll back; the other gets None and announces nothing."""
    await begin_write(session)
    poll = await _lock_poll(session, poll_id)
    if poll is None or poll.status != "open":
        await abort(session)
        return None
    if member is not None:
        try:
            _check_manager(member, poll)
        except UserError:
            await abort(session)
            raise
    now = clock.now()
    # A sealed box is locked: no more ballots, and nothing to count until the committee opens it.
    poll.status, poll.closed_at = ("locked" if poll.public_key else "closed"), now
    session.add(AuditEvent(bloc_id=poll.bloc_id, at=now, actor_person_id=member.person.id if member else None,
                           action="vote.close", detail={"poll_id": poll.id}))
    await session.commit()
    return poll


async def cancel_vote(session: AsyncSession, clock: Clock, poll_id: int, member: Member) -> Poll:
    """Cancelled: nothing is counted, and the ballots already cast are destroyed."""
    await begin_write(session)
    poll = await _lock_poll(session, poll_id)
    try:
        if poll is None:
            raise UserError(_("This vote does not exist."))
        _check_manager(member, poll)
        if poll.status not in ("open", "locked"):
            raise UserError(_("This vote is already closed."))
    except UserError:
        await abort(session)
        raise
    box = await get_box(session, poll_id, lock=True)
    box.ballots, box.voters = [], []
    poll.status, poll.closed_at = "cancelled", clock.now()
    session.add(AuditEvent(bloc_id=poll.bloc_id, at=clock.now(), actor_person_id=member.person.id,
                           action="vote.cancel", detail={"poll_id": poll.id}))
    await session.commit()
    return poll


async def extend_vote(session: AsyncSession, clock: Clock, poll_id: int, member: Member,
                      closing_at: datetime | None) -> Poll:
    await begin_write(session)
    poll = await _lock_poll(session, poll_id)
    try:
        if poll is None:
            raise UserError(_("This vote does not exist."))
        _check_manager(member, poll)
        if not is_open(poll, clock.now()):
            raise UserError(_("This vote is already closed."))
        check_closing(closing_at, member.bloc, clock.now())
        if closing_at is not None and poll.closing_at is not None and closing_at <= poll.closing_at:
            raise UserError(_("The new closing time must be later than {when}.").format(
                when=local_text(member.bloc, poll.closing_at)))
    except UserError:
        await abort(session)
        raise
    poll.closing_at, poll.reminded_at = closing_at, None
    session.add(AuditEvent(bloc_id=poll.bloc_id, at=clock.now(), actor_person_id=member.person.id,
                           action="vote.extend", detail={"poll_id": poll.id}))
    await session.commit()
    return poll


async def due_polls(session: AsyncSession, now: datetime) -> list[int]:
    result = await session.execute(select(Poll.id).where(Poll.status == "open", Poll.closing_at != None,  # noqa: E711
                                                         Poll.closing_at <= now).order_by(Poll.closing_at))
    return list(result.scalars())


@dataclass
class ReminderJob:
    poll: Poll
    bloc: Bloc
    recipients: list[tuple[Person, Unit]]


async def claim_reminders(session: AsyncSession, clock: Clock) -> list[ReminderJob]:
    """Open votes closing within the bloc's reminder lead: claimed once (reminded_at), with the
    representatives of the units that have not voted yet."""
    now = clock.now()
    candidates = (await session.execute(select(Poll).where(
        Poll.status == "open", Poll.closing_at != None, Poll.reminded_at == None))).scalars().all()  # noqa: E711
    await session.commit()
    jobs = []
    for poll in candidates:
        bloc = await session.get(Bloc, poll.bloc_id)
        lead = timedelta(minutes=int(vote_defaults(bloc)["remind_before_minutes"] or 0))
        if not lead or poll.closing_at - lead > now or poll.closing_at <= now:
            continue
        await begin_write(session)
        claimed = await session.execute(update(Poll).where(Poll.id == poll.id, Poll.reminded_at == None)  # noqa: E711
                                        .values(reminded_at=now))
        await session.commit()
        if claimed.rowcount != 1:
            continue
        voters = set((await get_box(session, poll.id)).voters)
        missing = [u for u in poll.eligible if u not in voters]
        rows = (await session.execute(
            select(Person, Unit).join(Representative, Representative.person_id == Person.id)
            .join(Unit, Unit.id == Representative.unit_id)
            .where(Representative.bloc_id == bloc.id, Representative.revoked_at == None,  # noqa: E711
                   Representative.unit_id.in_(missing or [-1]), Person.started == True,  # noqa: E712
                   Person.blocked == False))).all()  # noqa: E712
        jobs.append(ReminderJob(poll, bloc, [(p, u) for p, u in rows]))
    await session.commit()
    return jobs


# -- opening the box: the counting committee hands back its shares -------------------------------

@dataclass
class Handed:
    poll: Poll
    have: int
    need: int
    counted: bool


def seat_of(poll: Poll, seat: int) -> dict | None:
    return next((c for c in poll.committee if c.get("seat") == seat), None)


async def hand_back(session: AsyncSession, clock: Clock, vault: ballot_box.KeyVault, poll_id: int, seat: int,
                    share: bytes, person: Person) -> Handed:
    """A committee member hands back their share. With k valid shares the box is opened and counted
    (in memory: the key is rebuilt, used and dropped). Wrong, reused or foreign shares are refused."""
    poll = await get_poll(session, poll_id)
    entry = seat_of(poll, seat)
    if not poll.public_key or entry is None or not ballot_box.share_matches(entry["hash"], poll.id, seat, share):
        raise UserError(_("This is not a key of the ballot box of vote #{number}.").format(number=poll.id))
    if entry["person_id"] != person.id:
        raise NotAllowed(_("This key was given to another member of the counting committee."))
    if poll.status == "open":
        raise UserError(_("The ballot box is still open. Hand your key back after the vote closes."))
    if poll.status == "cancelled":
        raise UserError(_("This vote was cancelled."))
    if poll.status == "closed":
        raise UserError(_("The ballot box of vote #{number} has already been opened.").format(number=poll.id))
    if not vault.add(poll.id, seat, share):
        raise UserError(_("You have already handed back your key ({have}/{need}).").format(
            have=vault.count(poll.id), need=poll.committee_k))
    have = vault.count(poll.id)
    if have < poll.committee_k:
        await session.commit()
        return Handed(poll, have, poll.committee_k, False)
    secret = ballot_box.combine(vault.shares(poll.id))
    vault.forget(poll.id)
    if ballot_box.public_key_b64(secret) != poll.public_key:  # cannot happen with hashed shares; never count garbage
        raise UserError(_("The keys do not open this ballot box. Ask the members to hand them back again."))
    counted = await count_box(session, clock, poll.id, ballot_box.private_key(secret))
    del secret
    return Handed(counted or poll, have, poll.committee_k, counted is not None)


INVALID_RECEIPT = "-----"


async def count_box(session: AsyncSession, clock: Clock, poll_id: int, key) -> Poll | None:
    """Open every sealed ballot and, in one transaction, replace the ciphertexts by the bulletin board
    (receipt code, choices) sorted by code. None when another counter got there first."""
    await begin_write(session)
    poll = await _lock_poll(session, poll_id)
    if poll is None or poll.status != "locked":
        await abort(session)
        return None
    box = await get_box(session, poll_id, lock=True)
    board = []
    for sealed in box.ballots:
        plain = ballot_box.unseal(key, sealed)
        try:
            code, choices = ballot_box.decode_ballot(plain or b"", len(poll.options))
        except ValueError:
            code, choices = INVALID_RECEIPT, [-1]  # counted as an invalid ballot
        board.append([code, choices])
    box.ballots = sorted(board)
    box.version += 1
    now = clock.now()
    poll.status, poll.counted_at = "closed", now
    session.add(AuditEvent(bloc_id=poll.bloc_id, at=now, actor_person_id=None, action="vote.count",
                           detail={"poll_id": poll.id, "ballots": len(board)}))
    await session.commit()
    await truncate_wal(session)
    return poll


# -- counting ---------------------------------------------------------------------------------

@dataclass
class Outcome:
    poll: Poll
    bloc: Bloc
    result: TallyResult
    rule: Rule
    runoff_id: int | None = None


async def outcome(session: AsyncSession, poll: Poll) -> Outcome:
    """The count of a CLOSED vote (never of an open one: no partial results, to anyone)."""
    if poll.status != "closed":
        raise UserError(_("Results are shown only after the vote is closed."))
    box = await get_box(session, poll.id)
    bloc = await session.get(Bloc, poll.bloc_id)
    rule = rule_of(poll)
    result = tally(list(range(len(poll.options))), len(poll.eligible), [b[1] for b in box.ballots], rule)
    runoff = (await session.execute(select(Poll.id).where(Poll.runoff_of_id == poll.id))).scalar()
    return Outcome(poll, bloc, result, rule, runoff)


async def open_runoff(session: AsyncSession, clock: Clock, poll_id: int, member: Member) -> Opened:
    """A new vote among the tied candidates, same rule, same committee, for the seats left. One per vote."""
    poll = await get_poll(session, poll_id)
    _check_manager(member, poll)
    result = (await outcome(session, poll)).result
    if not result.tied:
        raise UserError(_("This vote has no tie to settle."))
    await begin_write(session)
    # Two presses at once: the vote row is locked on PostgreSQL (BEGIN IMMEDIATE does it on SQLite),
    # and the unique index on runoff_of_id refuses a second runoff whatever happens.
    await _lock_poll(session, poll.id)
    existing = (await session.execute(select(Poll).where(Poll.runoff_of_id == poll.id))).scalar()
    if existing is not None:
        await abort(session)
        raise UserError(_("The runoff of this vote is already open (vote #{number}).").format(number=existing.id))
    committee = [(p, await session.get(Unit, c["unit_id"]) if c.get("unit_id") else None)
                 for c in poll.committee if (p := await session.get(Person, c["person_id"])) is not None]
    now = clock.now()
    seats = result.seats_left
    rule = Rule.from_json({**poll.rule, "max_choices": seats, "cap": seats})
    closing = None
    if poll.closing_at is not None:
        closing = now + max(timedelta(minutes=30), poll.closing_at - poll.opened_at)
    runoff = Poll(bloc_id=poll.bloc_id, kind=poll.kind, question=poll.question,
                  options=[poll.options[i] for i in sorted(result.tied)], eligible=list(poll.eligible),
                  rule=rule.to_json(), publish_board=poll.publish_board, opened_at=now,
                  opened_by_person_id=member.person.id, closing_at=closing, runoff_of_id=poll.id)
    if len(committee) < MIN_COMMITTEE:
        committee = await _committee(session, member, await list_units(session, poll.bloc_id), [])
    return await _create(session, now, member, runoff, committee, "vote.runoff")


async def polls_for_unit(session: AsyncSession, clock: Clock, bloc: Bloc, unit: Unit) -> list[tuple[Poll, bool]]:
    """Open votes of the bloc the unit may vote in, with whether it has voted."""
    out = []
    for poll in await open_polls(session, bloc.id):
        if is_open(poll, clock.now()) and unit.id in poll.eligible:
            out.append((poll, await has_voted(session, poll.id, unit.id)))
    return out


# -- the bulletin board (verifiable, optional per vote) --------------------------------------------

BOARD_HEADER = ["receipt", "choices", "choices_text"]


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A spreadsheet must not run a unit's name as a formula."""
    return "'" + text if text.startswith(_FORMULA) else text


def board_entries(poll: Poll, ballots: Sequence[Sequence[Any]]) -> list[tuple[str, list[int]]]:
    """(receipt code, choices) of a counted box, sorted by code."""
    if poll.public_key:
        return sorted((code, list(choice)) for code, choice in ballots)
    return sorted((receipt_code(bid), list(choice)) for bid, choice in ballots)


def board_csv(options: Sequence[dict], rows: Sequence[tuple[str, list[int]]]) -> bytes:
    """Every receipt code with its choices (1-based numbers and names), sorted by code."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(BOARD_HEADER)
    for code, choice in rows:
        writer.writerow([code, " ".join(str(c + 1) for c in choice),
                         _cell(" | ".join(options[c]["label"] for c in choice if 0 <= c < len(options)))])
    return out.getvalue().encode("utf-8-sig")


def recount_board(data: bytes, option_count: int, eligible: int, rule: Rule) -> TallyResult:
    """Anybody's recount from the published board."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    ballots = [[int(x) - 1 for x in row[1].split()] for row in reader if row]
    return tally(list(range(option_count)), eligible, ballots, rule)


async def board(session: AsyncSession, poll: Poll) -> bytes:
    if poll.status != "closed":
        raise UserError(_("Results are shown only after the vote is closed."))
    if not poll.publish_board:
        raise UserError(_("The receipt list is not published for this vote."))
    box = await get_box(session, poll.id)
    return board_csv(poll.options, board_entries(poll, box.ballots))


# -- /settings keys (bot/services/settings.py registry) -----------------------------------------
def _parse_share(raw: str) -> str:
    try:
        value = _fraction(raw)
    except (ValueError, ZeroDivisionError):
        value = Fraction(-1)
    if not 0 < value <= 1:
        raise UserError(_("Write a share such as 1/2, 2/3 or 50%."))
    return raw.strip()


def _parse_base(raw: str) -> str:
    if raw.strip() not in ("eligible", "returned", "valid"):
        raise UserError(_("The base is eligible, returned or valid."))
    return raw.strip()


def _parse_cap(raw: str) -> str | None:
    text = raw.strip().lower()
    if text in ("none", "-", "không"):
        return None
    try:
        resolve_cap(text, 10)
    except (ValueError, ZeroDivisionError):
        raise UserError(_("Write a number of units (3) or a share of the other units (20%), or none.")) from None
    return text


def _parse_minutes(raw: str) -> int:
    if not raw.strip().isdigit() or not 0 <= int(raw.strip()) <= 7 * 24 * 60:
        raise UserError(_("Write a number of minutes, for example 60."))
    return int(raw.strip())


for _key, _label, _parse, _show in (
    ("threshold", N_("votes: share a candidate needs"), _parse_share, str),
    ("strict", N_("votes: more than the share (yes) or at least (no)"), settings_service.parse_bool,
     settings_service.show_bool),
    ("base", N_("votes: base of the share (eligible, returned, valid)"), _parse_base, str),
    ("quorum", N_("votes: quorum, share of eligible units"), _parse_share, str),
    ("self_vote", N_("votes: a unit may vote for itself"), settings_service.parse_bool, settings_service.show_bool),
    ("blank_allowed", N_("votes: blank ballots are valid"), settings_service.parse_bool, settings_service.show_bool),
    ("cap_merit", N_("votes: most units proposed for the certificate of merit"), _parse_cap, str),
    ("remind_before_minutes", N_("votes: reminder before closing (minutes)"), _parse_minutes, str),
    ("publish_board", N_("votes: publish the receipt list after closing"), settings_service.parse_bool,
     settings_service.show_bool),
):
    settings_service.register(settings_service.SettingSpec(f"vote.{_key}", _label, DEFAULTS[_key], _parse, _show))


async def committee_names(session: AsyncSession, poll: Poll) -> list[tuple[str, str]]:
    """(person, unit) names of the counting committee, in seat order."""
    out = []
    for entry in sorted(poll.committee, key=lambda c: c["seat"]):
        person = await session.get(Person, entry["person_id"])
        unit = await session.get(Unit, entry["unit_id"]) if entry.get("unit_id") else None
        out.append((person.full_name if person else "?", unit.name if unit else ""))
    return out


async def committee_people(session: AsyncSession, poll: Poll) -> list[tuple[Person, Unit | None, dict]]:
    out = []
    for entry in sorted(poll.committee, key=lambda c: c["seat"]):
        person = await session.get(Person, entry["person_id"])
        if person is not None:
            out.append((person, await session.get(Unit, entry["unit_id"]) if entry.get("unit_id") else None, entry))
    return out
