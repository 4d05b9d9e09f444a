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
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.clock import Clock
from bot.i18n import N_, _
from bot.services.blocs import Member, member_of, require_manager, require_representative
from bot.services import settings as settings_service
from bot.services.errors import NotAllowed, UserError
from bot.services.tally import Rule, TallyResult, tally
from bot.services.units import clean_name, list_units
from storage.db import abort, begin_write, is_sqlite
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
_TIME = re.compile(r"^(\d{1,2})[:hH](\d{2})$")
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?$")
_DURATION = re.compile(r"^\+?(\d{1,4})(m|h|d|p|g|ph|phut|phút|gio|giờ|ngay|ngày)$")
_EXCLUDE = re.compile(r"^-(\d{1,3}(?:,\d{1,3})*)$")
_NUMBER = re.compile(r"^\d{1,2}$")
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


def usage() -> str:
    return _("Examples:\n<code>/vote flag 18:00 25/12/2026</code> — emulation flag, choose 1\n"
             "<code>/vote merit 3</code> — certificate of merit, choose up to 3, closed with /close\n"
             "<code>/vote head 2h</code> — bloc head, closes in 2 hours\n"
             "<code>/vote flag -3,5</code> — units 3 and 5 are not candidates\n"
             "<code>/vote custom Question? | Option A | Option B</code>\n"
             "Add <code>board</code> to publish the receipt list after closing.")


def parse_vote_line(args: str, bloc: Bloc, now: datetime) -> VoteSpec:
    """`flag 18:00 25/12/2026`, `merit 3`, `head 2h -3,5`, `custom Question? | A | B` -> VoteSpec."""
    text = (args or "").strip()
    first, _sep, rest_lines = text.partition("\n")
    pieces = [p for p in re.split(r"\|", first)]
    head_tokens = pieces[0].split()
    extra = [p for p in pieces[1:]] + rest_lines.splitlines()
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
        if _TIME.match(token):
            clock_time = _TIME.match(token)
        elif _DATE.match(token):
            date = _DATE.match(token)
        elif (m := _DURATION.match(low)) and not _NUMBER.match(low):
            spec.closing_at = now + timedelta(minutes=int(m.group(1)) * _DURATION_UNITS[m.group(2)])
        elif _EXCLUDE.match(token):
            spec.exclude += [int(x) for x in _EXCLUDE.match(token).group(1).split(",")]
        elif low in ("trừ", "tru", "except") and i + 1 < len(head_tokens) and re.match(r"^[\d,]+$", head_tokens[i + 1]):
            spec.exclude += [int(x) for x in head_tokens[i + 1].split(",") if x]
            i += 1
        elif low in MANUAL_WORDS:
            spec.closing_at = None
        elif low in BOARD_WORDS:
            spec.publish_board = True
        elif _NUMBER.match(token) and spec.max_choices is None:
            spec.max_choices = int(token)
        else:
            spec.question = " ".join(head_tokens[i:])
            break
        i += 1
    if clock_time or date:
        spec.closing_at = _combine(clock_time, date, bloc, now)
    if kind == "custom":
        parts = [clean_name(p) for p in extra if clean_name(p)]
        if not spec.question and parts:
            spec.question, parts = parts[0], parts[1:]
        spec.question = clean_name(spec.question)
        spec.options = parts
    return spec


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

async def open_vote(session: AsyncSession, clock: Clock, member: Member, spec: VoteSpec) -> Poll:
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
                              "<code>/vote custom Question? | Option A | Option B</code>"))
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
    rule = default_rule(bloc, spec.kind, max_choices, len(units))
    publish = vote_defaults(bloc)["publish_board"] if spec.publish_board is None else spec.publish_board
    await begin_write(session)
    poll = Poll(bloc_id=bloc.id, kind=spec.kind, question=spec.question if spec.kind == "custom" else "",
                options=options, eligible=sorted(u.id for u in units), rule=rule.to_json(),
                publish_board=bool(publish), opened_at=now, opened_by_person_id=member.person.id,
                closing_at=spec.closing_at)
    session.add(poll)
    await session.flush()
    session.add(BallotBox(poll_id=poll.id, ballots=[], voters=[], version=0))
    session.add(AuditEvent(bloc_id=bloc.id, at=now, actor_person_id=member.person.id, action="vote.open",
                           detail={"poll_id": poll.id, "kind": spec.kind}))
    await session.commit()
    return poll


async def set_group_message(session: AsyncSession, poll_id: int, message_id: int) -> None:
    await begin_write(session)
    await session.execute(update(Poll).where(Poll.id == poll_id).values(group_message_id=message_id))
    await session.commit()


# -- reading ----------------------------------------------------------------------------------

def parse_payload(payload: str) -> int:
    rest = payload[len(PAYLOAD_PREFIX):] if payload.startswith(PAYLOAD_PREFIX) else ""
    if not rest.isdigit() or len(rest) > 12:
        raise UserError(_("This voting link is not valid. Open the “Vote” button in the bloc's group."))
    return int(rest)


async def get_poll(session: AsyncSession, poll_id: int) -> Poll:
    poll = await session.get(Poll, poll_id, populate_existing=True)
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
        poll = await session.get(Poll, int(raw))
        if poll is None or poll.bloc_id != bloc.id:
            raise UserError(_("There is no vote number {number} in this bloc.").format(number=int(raw)))
        return poll
    polls = await open_polls(session, bloc.id) if status == "open" else await closed_polls(session, bloc.id, 1)
    if not polls:
        raise UserError(_("There is no open vote.") if status == "open" else _("No vote has been closed yet."))
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
    """A short code derived from the ballot's random id (one-way: the code does not reveal the id)."""
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
    ballot_id = secrets.token_bytes(16).hex()
    box.ballots = sorted([*box.ballots, [ballot_id, chosen]], key=lambda b: b[0])
    box.voters = sorted([*box.voters, unit.id])
    box.version += 1
    voted = len(box.voters)
    await session.commit()
    return Receipt(receipt_code(ballot_id), voter.poll, voter.bloc, unit, voted, len(voter.poll.eligible))


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
    poll.status, poll.closed_at = "closed", now
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
        if poll.status != "open":
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


async def open_runoff(session: AsyncSession, clock: Clock, poll_id: int, member: Member) -> Poll:
    """A new vote among the tied candidates, same rule, for the seats left. One per vote."""
    poll = await get_poll(session, poll_id)
    _check_manager(member, poll)
    result = (await outcome(session, poll)).result
    if not result.tied:
        raise UserError(_("This vote has no tie to settle."))
    await begin_write(session)
    existing = (await session.execute(select(Poll).where(Poll.runoff_of_id == poll.id))).scalar()
    if existing is not None:
        await abort(session)
        raise UserError(_("The runoff of this vote is already open (vote #{number}).").format(number=existing.id))
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
    session.add(runoff)
    await session.flush()
    session.add(BallotBox(poll_id=runoff.id, ballots=[], voters=[], version=0))
    session.add(AuditEvent(bloc_id=poll.bloc_id, at=now, actor_person_id=member.person.id, action="vote.runoff",
                           detail={"poll_id": runoff.id, "of": poll.id}))
    await session.commit()
    return runoff


async def polls_for_unit(session: AsyncSession, clock: Clock, bloc: Bloc, unit: Unit) -> list[tuple[Poll, bool]]:
    """Open votes of the bloc the unit may vote in, with whether it has voted."""
    out = []
    for poll in await open_polls(session, bloc.id):
        if is_open(poll, clock.now()) and unit.id in poll.eligible:
            out.append((poll, await has_voted(session, poll.id, unit.id)))
    return out


# -- the bulletin board (verifiable, optional per vote) --------------------------------------------

BOARD_HEADER = ["receipt", "choices", "choices_text"]


def board_csv(options: Sequence[dict], ballots: Sequence[Sequence[Any]]) -> bytes:
    """Every receipt code with its choices (1-based numbers and names), sorted by code."""
    rows = sorted((receipt_code(bid), choice) for bid, choice in ballots)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(BOARD_HEADER)
    for code, choice in rows:
        writer.writerow([code, " ".join(str(c + 1) for c in choice),
                         " | ".join(options[c]["label"] for c in choice)])
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
    return board_csv(poll.options, box.ballots)


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
