"""/status is the bloc's dashboard: each feature area contributes its lines here."""

from __future__ import annotations

from typing import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from storage.models import Bloc

StatusSource = Callable[[AsyncSession, Clock, Bloc], Awaitable[list[str]]]
SOURCES: list[StatusSource] = []


def status_source(fn: StatusSource) -> StatusSource:
    """Decorator: a feature registers a coroutine returning its (already localized) lines."""
    SOURCES.append(fn)
    return fn


async def status_lines(session: AsyncSession, clock: Clock, bloc: Bloc) -> list[str]:
    lines: list[str] = []
    for source in SOURCES:
        lines += await source(session, clock, bloc)
    return lines
