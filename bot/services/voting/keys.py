"""Opening the box: the counting committee hands back its key shares; the k-th opens and counts it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import _
from bot.services import ballot_box
from bot.services.errors import NotAllowed, UserError
from bot.services.voting.lifecycle import _lock_poll
from bot.services.voting.polls import get_box, get_poll
from storage.db import abort, begin_write, truncate_wal
from storage.models import AuditEvent, Person, Poll

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
