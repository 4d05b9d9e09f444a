"""Candidates from the scores: the ranking of the bloc's last closed self-assessment round as the
candidate (or proposal) list of a vote, best first, ties in score kept together and marked."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import _
from bot.services import assessments
from bot.services.errors import UserError
from storage.models import AssessmentRound, Bloc


async def last_closed_round(session: AsyncSession, bloc: Bloc) -> AssessmentRound:
    rnd = (await session.execute(select(AssessmentRound).where(
        AssessmentRound.bloc_id == bloc.id, AssessmentRound.closed_at != None)  # noqa: E711
        .order_by(col(AssessmentRound.id).desc()).limit(1))).scalar_one_or_none()
    if rnd is None:
        raise UserError(_("No self-assessment round has been closed yet: close one with /assessment dong, "
                          "or list the units yourself."))
    return rnd


def ranked_options(rows: list[assessments.UnitStatus], top: int | None,
                   skip: Collection[int] = ()) -> list[dict[str, Any]]:
    """Options [{"label", "unit_id", "score", "rank", "tied"}] best first; with `top`, the first
    `top` units and every unit tied in score with the last of them."""
    ranks = assessments.ranking(rows)
    done = sorted((r for r in rows if r.unit.id in ranks and r.unit.is_active and r.unit.id not in skip),
                  key=lambda r: (ranks[r.unit.id], r.unit.position, r.unit.id))
    totals = [float(r.version.total) for r in done if r.version is not None]
    if top is not None and top < len(done):
        cut = totals[top - 1]
        done = [r for i, r in enumerate(done) if i < top or totals[i] == cut]
        totals = totals[:len(done)]
    return [{"label": r.unit.name, "unit_id": r.unit.id, "score": totals[i], "rank": ranks[r.unit.id],
             "tied": totals.count(totals[i]) > 1} for i, r in enumerate(done)]


async def candidates_from_scores(session: AsyncSession, bloc: Bloc, top: int | None,
                                 skip: Collection[int] = ()) -> tuple[AssessmentRound, list[dict[str, Any]]]:
    rnd = await last_closed_round(session, bloc)
    options = ranked_options(await assessments.overview(session, rnd), top, skip)
    if not options:
        raise UserError(_("No unit submitted its self-assessment in the last closed round."))
    return rnd, options
