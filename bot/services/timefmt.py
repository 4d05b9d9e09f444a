"""The bloc's local time, one way for every feature: `zone(bloc)` and `local_text(bloc, when)`.

One order everywhere, the one Vietnamese administrative text uses: the time, then the date —
"18:00 ngày 25/12/2026" ("18:00, 25/12/2026" in English); "—" for no time. Votes, meetings,
self-assessments, pledges, reminders and the minutes all print through `clock_text`.

What people type may come in either order: `date_first(text)` turns "18:00 25/12/2026" (or
"18:00 ngày 25/12/2026") into "25/12/2026 18:00" for the parsers that read the date first."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.i18n import _

if TYPE_CHECKING:
    from storage.models import Bloc

TIME_FORMAT = "%H:%M"
DATE_FORMAT = "%d/%m/%Y"
_TIME_FIRST = re.compile(r"^(\d{1,2}[:h.]\d{2}(?::\d{2})?),?\s+(?:ngày\s+|ngay\s+)?(\d{1,2}[/-]\d{1,2}[/-]\d{4})$",
                         re.IGNORECASE)


def zone(bloc: Bloc) -> ZoneInfo:
    return ZoneInfo(bloc.timezone)


def clock_text(local: datetime) -> str:
    """An already local datetime as "18:00 ngày 25/12/2026" in the current language."""
    return _("{time} on {date}").format(time=local.strftime(TIME_FORMAT), date=local.strftime(DATE_FORMAT))


def local_text(bloc: Bloc, when: datetime | None) -> str:
    return clock_text(when.astimezone(zone(bloc))) if when else "—"


def date_first(text: str) -> str:
    """ "18:00 25/12/2026" -> "25/12/2026 18:00"; anything else is returned unchanged."""
    match = _TIME_FIRST.match(re.sub(r"\s+", " ", text.strip()))
    return f"{match.group(2)} {match.group(1)}" if match else text
