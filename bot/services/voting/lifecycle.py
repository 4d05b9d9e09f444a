"""A vote's life: open (sealed, with its counting committee), close, cancel, extend, runoff, reminders."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.clock import Clock
from bot.i18n import _
from bot.services import ballot_box
from bot.services.blocs import Member, bloc_of, require_manager
from bot.services.errors import UserError
from bot.services.tally import Rule
from bot.services.timefmt import local_text
from bot.services.units import list_units
from bot.services.voting.casting import has_voted
from bot.services.voting.counting import outcome
from bot.services.voting.parse import VoteSpec, check_closing, usage
from bot.services.voting.polls import get_box, get_poll, is_open, open_polls
from bot.services.voting.quota import flag_proposed
from bot.services.voting.rules import (
    KINDS,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_QUESTION,
    default_rule,
    vote_defaults,
)
from bot.services.voting.scores import candidates_from_scores
from bot.views import usage as views  # refusals that name a command (no cycle: usage imports no service)
from storage.db import abort, begin_write, is_sqlite, rowcount
from storage.models import AuditEvent, BallotBox, Bloc, Person, Poll, Representative, Unit

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
            raise UserError(views.no_unit_number(number))
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
        raise UserError(views.committee_too_small(MIN_COMMITTEE))
    return chosen


def esc_name(name: str) -> str:
    return html.escape(name, quote=False)


async def representatives(session: AsyncSession, bloc_id: int) -> list[tuple[Person, Unit]]:
    rows = await session.execute(
        select(Person, Unit).join(Representative, col(Representative.person_id) == col(Person.id))
        .join(Unit, col(Unit.id) == col(Representative.unit_id))
        .where(Representative.bloc_id == bloc_id, Representative.revoked_at == None,  # noqa: E711
               Unit.is_active == True)  # noqa: E712
        .order_by(col(Unit.position), col(Unit.id), col(Person.id)))
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
        raise UserError(views.no_units_yet())
    flagged: list[tuple[int, int]] = []
    if spec.kind == "custom":
        if not spec.question:
            raise UserError(views.question_usage())
        if len(spec.question) > MAX_QUESTION:
            raise UserError(_("The question is too long (at most {limit} characters).").format(limit=MAX_QUESTION))
        labels = list(dict.fromkeys(spec.options))
        if len(labels) < 2:
            raise UserError(_("A custom question needs at least two different options, separated by “|”."))
        if len(labels) > MAX_OPTIONS or any(len(o) > MAX_OPTION for o in labels):
            raise UserError(_("At most {count} options of at most {limit} characters each.").format(
                count=MAX_OPTIONS, limit=MAX_OPTION))
        options: list[dict[str, Any]] = [{"label": o, "unit_id": None} for o in labels]
    else:
        for number in spec.exclude:
            if not 1 <= number <= len(units):
                raise UserError(views.no_unit_number(number))
        skip = {units[n - 1].id for n in spec.exclude}
        if spec.kind == "merit" and not spec.keep_flag and vote_defaults(bloc)["merit_skip_flag"]:
            # One achievement, one reward: the unit the bloc proposed for the flag is not a merit candidate.
            active = {u.id for u in units}
            flagged = [(u, p) for u, p in await flag_proposed(session, bloc, now) if u in active]
            skip |= {u for u, _p in flagged}
        if spec.kind == "approval":
            options = await _proposals(session, bloc, units, spec, skip)
        elif spec.from_scores:
            _round, options = await candidates_from_scores(session, bloc, spec.top, skip)
        else:
            options = [{"label": u.name, "unit_id": u.id} for u in units if u.id not in skip]
        if not options:
            raise UserError(_("No candidate is left after the exclusions."))
    default_max = {"flag": 1, "head": 1, "deputy": 1, "merit": 3, "custom": 1, "approval": len(options)}[spec.kind]
    max_choices = spec.max_choices if spec.kind in ("merit", "custom") and spec.max_choices else default_max
    if not 1 <= max_choices <= len(options):
        raise UserError(_("The number of choices must be between 1 and {count} (the number of candidates).").format(
            count=len(options)))
    committee = await _committee(session, member, units, spec.committee)
    rule = default_rule(bloc, spec.kind, max_choices, len(units), proposed_before=len(flagged))
    if spec.kind == "approval":
        rule = approval_rule(rule, spec)
    rule_json = rule.to_json()
    if flagged:
        names = {u.id: u.name for u in units}
        rule_json["flag_proposed"] = [{"unit_id": u, "poll_id": p, "label": names[u]} for u, p in flagged]
    publish = vote_defaults(bloc)["publish_board"] if spec.publish_board is None else spec.publish_board
    await begin_write(session)
    return await _create(session, now, member, Poll(
        bloc_id=bloc.id, kind=spec.kind, question=spec.question if spec.kind == "custom" else "",
        options=options, eligible=sorted(u.id for u in units), rule=rule_json,
        publish_board=bool(publish), opened_at=now, opened_by_person_id=member.person.id,
        closing_at=spec.closing_at), committee, "vote.open")


async def _proposals(session: AsyncSession, bloc: Bloc, units: list[Unit], spec: VoteSpec,
                     skip: set[int]) -> list[dict[str, Any]]:
    """An approval vote's proposals: the top of the last closed self-assessment ranking, units by
    number, or proposals written after "|"."""
    if spec.from_scores:
        return (await candidates_from_scores(session, bloc, spec.top, skip))[1]
    if spec.proposals:
        for number in spec.proposals:
            if not 1 <= number <= len(units):
                raise UserError(views.no_unit_number(number))
        chosen = [units[n - 1] for n in dict.fromkeys(spec.proposals)]
        return [{"label": u.name, "unit_id": u.id} for u in chosen if u.id not in skip]
    labels = list(dict.fromkeys(spec.options))
    if not labels:
        raise UserError(views.approval_usage())
    if len(labels) > MAX_OPTIONS or any(len(o) > MAX_OPTION for o in labels):
        raise UserError(_("At most {count} options of at most {limit} characters each.").format(
            count=MAX_OPTIONS, limit=MAX_OPTION))
    return [{"label": o, "unit_id": None} for o in labels]


def approval_rule(rule: Rule, spec: VoteSpec) -> Rule:
    """Agree / disagree per proposal: a ballot marks every proposal (unmarked: disagree), so an
    all-disagree ballot is valid; every proposal whose agree share reaches the threshold passes."""
    threshold = Fraction(spec.threshold) if spec.threshold else rule.threshold
    strict = rule.strict if spec.strict is None or spec.threshold is None else spec.strict
    return Rule(max_choices=rule.max_choices, threshold=threshold, strict=strict, base=rule.base,
                quorum=rule.quorum, self_vote=True, blank_allowed=True, blank_invalid=False, cap=None)


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
    seats = [Seat(index, person, unit, share)
             for (index, share), (person, unit) in zip(shares, committee, strict=False)]
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
    await session.execute(update(Poll).where(col(Poll.id) == poll_id).values(group_message_id=message_id))
    await session.commit()


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
    box.ballots, box.voters, box.cast_at = [], [], []
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
                                                         col(Poll.closing_at) <= now).order_by(col(Poll.closing_at)))
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
        bloc = await bloc_of(session, poll.bloc_id)
        lead = timedelta(minutes=int(vote_defaults(bloc)["remind_before_minutes"] or 0))
        closing_at = poll.closing_at
        if not lead or closing_at is None or closing_at - lead > now or closing_at <= now:  # None: see the query
            continue
        await begin_write(session)
        claimed = await session.execute(update(Poll).where(col(Poll.id) == poll.id, col(Poll.reminded_at) == None)  # noqa: E711
                                        .values(reminded_at=now))
        await session.commit()
        if rowcount(claimed) != 1:
            continue
        voters = set((await get_box(session, poll.id)).voters)
        missing = [u for u in poll.eligible if u not in voters]
        rows = (await session.execute(
            select(Person, Unit).join(Representative, col(Representative.person_id) == col(Person.id))
            .join(Unit, col(Unit.id) == col(Representative.unit_id))
            .where(Representative.bloc_id == bloc.id, Representative.revoked_at == None,  # noqa: E711
                   col(Representative.unit_id).in_(missing or [-1]), col(Person.started) == True,  # noqa: E712
                   Person.blocked == False))).all()  # noqa: E712
        jobs.append(ReminderJob(poll, bloc, [(p, u) for p, u in rows]))
    await session.commit()
    return jobs


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
