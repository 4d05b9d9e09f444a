"""Reading votes: by id, by number in a bloc, open/locked/closed lists, turnout."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import _
from bot.services.errors import UserError
from bot.services.voting.rules import PAYLOAD_PREFIX
from bot.views import usage as views  # refusals that name a command (no cycle: usage imports no service)
from storage.db import is_sqlite
from storage.models import BallotBox, Bloc, Poll

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
    """(units voted, units eligible): the box's voter list only, not its ballots."""
    voters = (await session.execute(select(BallotBox.voters).where(BallotBox.poll_id == poll.id))).scalar_one()
    return len(voters), len(poll.eligible)


async def open_polls(session: AsyncSession, bloc_id: int) -> list[Poll]:
    result = await session.execute(select(Poll).where(Poll.bloc_id == bloc_id, Poll.status == "open")
                                   .order_by(col(Poll.id)))
    return list(result.scalars())


async def locked_polls(session: AsyncSession, bloc_id: int) -> list[Poll]:
    result = await session.execute(select(Poll).where(Poll.bloc_id == bloc_id, Poll.status == "locked")
                                   .order_by(col(Poll.id)))
    return list(result.scalars())


def status_probe(bloc_id: int, now: datetime):
    """/status: true when `open_polls` or `locked_polls` finds a vote (one SELECT with the other
    features')."""
    return select(Poll.id).where(Poll.bloc_id == bloc_id, col(Poll.status).in_(("open", "locked"))).exists()


async def all_locked_polls(session: AsyncSession) -> list[Poll]:
    return list((await session.execute(
        select(Poll).where(col(Poll.status) == "locked").order_by(col(Poll.id)))).scalars())


async def closed_polls(session: AsyncSession, bloc_id: int, limit: int = 10) -> list[Poll]:
    result = await session.execute(select(Poll).where(Poll.bloc_id == bloc_id, Poll.status == "closed")
                                   .order_by(col(Poll.id).desc()).limit(limit))
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
        raise UserError(views.several_open(polls[0].id))
    return polls[0]
