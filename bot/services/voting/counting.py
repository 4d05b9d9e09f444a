"""The count of a closed vote (bot/services/tally.py applied to the box)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.i18n import _
from bot.services.blocs import bloc_of
from bot.services.errors import UserError
from bot.services.tally import Rule, TallyResult, tally
from bot.services.voting.minutes import minutes_facts
from bot.services.voting.polls import get_box
from bot.services.voting.rules import rule_of
from storage.models import Bloc, Poll

# -- counting ---------------------------------------------------------------------------------

@dataclass
class Outcome:
    poll: Poll
    bloc: Bloc
    result: TallyResult[int]
    rule: Rule
    runoff_id: int | None = None
    minutes: dict[str, Any] = field(default_factory=dict)  # the minutes' facts (voting/minutes.py)


async def outcome(session: AsyncSession, poll: Poll) -> Outcome:
    """The count of a CLOSED vote (never of an open one: no partial results, to anyone)."""
    if poll.status != "closed":
        raise UserError(_("Results are shown only after the vote is closed."))
    box = await get_box(session, poll.id)
    bloc = await bloc_of(session, poll.bloc_id)
    rule = rule_of(poll)
    result = tally(list(range(len(poll.options))), len(poll.eligible), [b[1] for b in box.ballots], rule)
    runoff = (await session.execute(select(Poll.id).where(Poll.runoff_of_id == poll.id))).scalar()
    return Outcome(poll, bloc, result, rule, runoff, await minutes_facts(session, poll, bloc))
