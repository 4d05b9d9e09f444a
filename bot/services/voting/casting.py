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

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.clock import Clock
from bot.i18n import _
from bot.services import ballot_box
from bot.services.blocs import Member, member_of, require_representative
from bot.services.errors import NotAllowed, UserError
from bot.services.voting.polls import MAX_ID, get_poll, is_open
from bot.services.voting.rules import rule_of
from storage.db import abort, begin_write, is_sqlite
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


async def voter_and_voted(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
                          known: Member | None = None) -> tuple[Voter, bool]:
    """`voter_for` and "has this voter's unit voted?" in one round trip (the poll and the box's
    voter list), for the ballot's steps before the cast."""
    _poll_row(poll_id)
    query = (select(Poll, BallotBox.voters).join(BallotBox, BallotBox.poll_id == Poll.id)  # type: ignore[arg-type]
             .where(Poll.id == poll_id).execution_options(populate_existing=True))
    row = (await session.execute(query)).first()
    if row is None:
        raise UserError(_("This vote does not exist."))
    poll, voters = row
    voter = await voter_for(session, clock, poll_id, person, known, poll=poll)
    return voter, voter.unit.id in voters


async def cast(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
               choices: Sequence[int] | Callable[[Poll], Sequence[int]], known: Member | None = None) -> Receipt:
    """Put the unit's one ballot into the box. A second ballot of the unit (another representative,
    a double tap, a replayed button) raises AlreadyVoted and changes nothing. `choices` may be
    read off the poll (a ballot button's mask needs the number of options)."""
    _poll_row(poll_id)
    await begin_write(session)
    if not is_sqlite(session):
        # A closer holds the poll row FOR UPDATE while it closes: a cast waits for it, then sees
        # "closed", so no ballot slips in between the close and the count.
        await session.execute(select(Poll.id).where(Poll.id == poll_id).with_for_update(read=True))
    try:
        # The poll and its box in one round trip (the box row locked FOR UPDATE on PostgreSQL).
        query = (select(Poll, BallotBox).join(BallotBox, BallotBox.poll_id == Poll.id)  # type: ignore[arg-type]
                 .where(Poll.id == poll_id).execution_options(populate_existing=True))
        if not is_sqlite(session):
            query = query.with_for_update(of=BallotBox)
        row = (await session.execute(query)).first()
        if row is None:
            raise UserError(_("This vote does not exist."))
        voter = await voter_for(session, clock, poll_id, person, known, poll=row[0])
        unit = voter.unit
        box = row[1]
        if unit.id in box.voters:
            raise already_voted()
        chosen = check_choices(voter.poll, choices(voter.poll) if callable(choices) else choices, unit.id)
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
    box.cast_at = sorted([*(box.cast_at or []), cast_minute(clock.now())])  # sorted: names nobody
    box.version += 1
    voted = len(box.voters)
    await session.commit()
    return Receipt(code, poll, voter.bloc, unit, voted, len(poll.eligible))


async def has_voted(session: AsyncSession, poll_id: int, unit_id: int) -> bool:
    voters = (await session.execute(select(BallotBox.voters).where(BallotBox.poll_id == poll_id))).scalar_one()
    return unit_id in voters
