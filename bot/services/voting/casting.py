"""The ballot box at cast time: who may vote, the selection checked, one ballot per unit.

The ballot box of a vote is one row (storage/models/voting.py): cast ballots as [random id,
choices] sorted by the random id, and the sorted unit ids that have voted, rewritten together
in one write transaction (BEGIN IMMEDIATE on SQLite; the box row locked FOR UPDATE on
PostgreSQL). Nothing else is written at cast time but the minute of the cast, into the box's SORTED
list of cast times (the minutes count ballots sent before the conference): no audit event, no log line."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.clock import Clock
from bot.i18n import _
from bot.services import ballot_box
from bot.services.blocs import Member, member_of, require_representative
from bot.services.errors import NotAllowed, UserError
from bot.services.voting.polls import MAX_ID, get_poll, is_open
from bot.services.voting.rules import rule_of
from storage.db import Memo, abort, begin_write, detached_copy, is_sqlite, rowcount
from storage.models import BallotBox, Bloc, Person, Poll, Unit

CAST_MINUTE = "%Y-%m-%dT%H:%M"  # the cast times' format (UTC): sorts as it compares


def cast_minute(when: datetime) -> str:
    """A cast time as kept in the box: the UTC minute."""
    return when.astimezone(UTC).strftime(CAST_MINUTE)


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

    @property
    def unit(self) -> Unit:
        """The voter's unit (voter_for made sure the person represents one)."""
        return require_representative(self.member)


async def voter_for(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
                    known: Member | None = None, poll: Poll | None = None) -> Voter:
    """May this person vote in this poll now, for their unit? Clear UserErrors otherwise.
    `known`: the membership the middleware already loaded (reused when it is the poll's bloc);
    `poll`: the poll already read in this transaction."""
    if poll is None:
        poll = await get_poll(session, poll_id)
    if known is not None and known.bloc.id == poll.bloc_id and known.person.id == person.id:
        bloc, member = known.bloc, known
    else:
        found = await session.get(Bloc, poll.bloc_id)
        assert found is not None  # a foreign key
        bloc = found
        member = await member_of(session, bloc, person)
    unit = require_representative(member)
    if poll.status == "cancelled":
        raise UserError(_("This vote was cancelled."))
    if not is_open(poll, clock.now()):
        raise UserError(_("This vote is closed."))
    if unit.id not in poll.eligible:
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


def _poll_row(poll_id: int) -> None:
    if not 0 < poll_id <= MAX_ID:
        raise UserError(_("This vote does not exist."))


POLL_MEMO_TTL = 30.0  # seconds
# The hot statements are Core statements on the tables, built once and run on the session's
# connection: no ORM compile or execution state for a row we only read columns of or rewrite.
_BOXES = BallotBox.__table__  # type: ignore[attr-defined]
_POLLS = Poll.__table__  # type: ignore[attr-defined]
_VOTERS = select(_BOXES.c.voters).where(_BOXES.c.poll_id == bindparam("poll_id"))


def _poll_memo(session: AsyncSession) -> Memo | None:
    """Polls as the ballot's steps read them: copies, dropped at any write to the poll table (an
    open, a close, a cancel, an extension), in this process or, on PostgreSQL, another one."""
    return Memo.of(session, "ballot-polls", tables=("poll",), ttl=POLL_MEMO_TTL)


async def _read_poll(session: AsyncSession, memo: Memo | None, poll_id: int) -> Poll:
    """The poll from the database, its copy kept in the memo."""
    stamp = memo.stamp() if memo is not None else None
    poll = await get_poll(session, poll_id)
    if memo is not None:
        memo.put(poll_id, stamp, detached_copy(poll))
    return poll


async def voter_and_voted(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
                          known: Member | None = None) -> tuple[Voter, bool]:
    """`voter_for` and "has this voter's unit voted?", for opening the ballot: one round trip (the
    box's voter list) while the poll is memoized; otherwise one (poll and voters together)."""
    _poll_row(poll_id)
    memo = _poll_memo(session)
    poll = memo.get(poll_id) if memo is not None else None
    if poll is not None:
        voters = (await (await session.connection()).execute(_VOTERS, {"poll_id": poll_id})).scalar()
        if voters is None:
            raise UserError(_("This vote does not exist."))
    else:
        stamp = memo.stamp() if memo is not None else None
        query = (select(Poll, BallotBox.voters).join(BallotBox, BallotBox.poll_id == Poll.id)  # type: ignore[arg-type]
                 .where(Poll.id == poll_id).execution_options(populate_existing=True))
        row = (await session.execute(query)).first()
        if row is None:
            raise UserError(_("This vote does not exist."))
        poll, voters = row
        if memo is not None:
            memo.put(poll_id, stamp, detached_copy(poll))
    voter = await voter_for(session, clock, poll_id, person, known, poll=poll)
    return voter, voter.unit.id in voters


async def voter_at_step(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
                        known: Member | None = None) -> Voter:
    """`voter_for` for a ballot's tick and review (after `voter_and_voted` opened it): the poll from
    the memo, nothing else read, so a tick costs no database round trip. Whether the unit voted
    meanwhile (from another phone, or its other representative) is the cast's to say: it reads the
    box under the write lock and refuses a second ballot (AlreadyVoted)."""
    _poll_row(poll_id)
    memo = _poll_memo(session)
    poll = memo.get(poll_id) if memo is not None else None
    if poll is None:
        poll = await _read_poll(session, memo, poll_id)
    return await voter_for(session, clock, poll_id, person, known, poll=poll)


_BOX = select(_BOXES.c.ballots, _BOXES.c.voters, _BOXES.c.cast_at, _BOXES.c.version) \
    .where(_BOXES.c.poll_id == bindparam("poll_id"))
_BOX_LOCKED = _BOX.with_for_update()
# PostgreSQL: a closer holds the poll row FOR UPDATE while it closes: a cast waits for it here, then
# sees "closed", so no ballot slips in between the close and the count.
_POLL_STATE = select(_POLLS.c.status, _POLLS.c.closing_at).where(_POLLS.c.id == bindparam("poll_id")) \
    .with_for_update(read=True)
_PUT = (update(_BOXES)
        .where(_BOXES.c.poll_id == bindparam("box"), _BOXES.c.version == bindparam("was"))
        .values(ballots=bindparam("new_ballots"), voters=bindparam("new_voters"),
                cast_at=bindparam("new_cast_at"), version=bindparam("new_version")))


async def _poll_at_cast(session: AsyncSession, poll_id: int) -> Poll:
    """The poll as the cast must see it, inside the write transaction. SQLite: the memoized copy (one
    process writes the file, and every write to the poll table committed before this transaction
    began has dropped the memo). PostgreSQL: the poll's state read under FOR SHARE (another process
    may have closed, cancelled or extended it a moment ago, before its NOTIFY reached us); the memo's
    copy is used only if its state is that one."""
    memo = _poll_memo(session)
    poll = memo.get(poll_id) if memo is not None else None
    if not is_sqlite(session):
        state = (await (await session.connection()).execute(_POLL_STATE, {"poll_id": poll_id})).first()
        if state is None:
            raise UserError(_("This vote does not exist."))
        if poll is not None and (poll.status, poll.closing_at) != tuple(state):
            poll = None
    if poll is None:
        poll = await _read_poll(session, memo, poll_id)
    return poll


async def cast(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
               choices: Sequence[int] | Callable[[Poll], Sequence[int]], known: Member | None = None) -> Receipt:
    """Put the unit's one ballot into the box. A second ballot of the unit (another representative,
    a double tap, a replayed button) raises AlreadyVoted and changes nothing. `choices` may be
    read off the poll (a ballot button's mask needs the number of options).

    The box is read and rewritten with two plain statements (no ORM unit of work): its columns
    under the write lock (BEGIN IMMEDIATE on SQLite; FOR UPDATE on PostgreSQL), then one UPDATE
    guarded by the version read."""
    _poll_row(poll_id)
    await begin_write(session)
    try:
        poll = await _poll_at_cast(session, poll_id)
        conn = await session.connection()
        box = (await conn.execute(_BOX if is_sqlite(session) else _BOX_LOCKED, {"poll_id": poll_id})).first()
        if box is None:
            raise UserError(_("This vote does not exist."))
        voter = await voter_for(session, clock, poll_id, person, known, poll=poll)
        unit = voter.unit
        ballots, voters, cast_at, version = box
        if unit.id in voters:
            raise already_voted()
        chosen = check_choices(poll, choices(poll) if callable(choices) else choices, unit.id)
    except UserError:
        await abort(session)
        raise
    if poll.public_key:
        code = ballot_box.new_receipt()
        sealed = ballot_box.seal(poll.public_key, ballot_box.encode_ballot(len(poll.options), chosen, code))
        ballots = sorted([*ballots, sealed])
    else:  # a vote opened before the sealed box
        ballot_id = secrets.token_bytes(16).hex()
        code = receipt_code(ballot_id)
        ballots = sorted([*ballots, [ballot_id, chosen]], key=lambda b: b[0])
    voters = sorted([*voters, unit.id])
    cast_at = sorted([*(cast_at or []), cast_minute(clock.now())])  # sorted: names nobody
    put = await conn.execute(_PUT, {"box": poll_id, "was": version, "new_ballots": ballots, "new_voters": voters,
                                    "new_cast_at": cast_at, "new_version": version + 1})
    if rowcount(put) != 1:  # cannot happen under the lock; never count a ballot that was not stored
        await abort(session)
        raise RuntimeError("the ballot box changed under the write lock")
    await session.commit()
    return Receipt(code, poll, voter.bloc, unit, len(voters), len(poll.eligible))


async def has_voted(session: AsyncSession, poll_id: int, unit_id: int) -> bool:
    voters = (await session.execute(select(BallotBox.voters).where(BallotBox.poll_id == poll_id))).scalar_one()
    return unit_id in voters
