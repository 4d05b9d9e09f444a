"""The bloc's local time, one way for every feature: `zone(bloc)` and `local_text(bloc, when)`
("30/11/2026 17:00" in the bloc's time zone; "—" for no time)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from storage.models import Bloc

LOCAL_FORMAT = "%d/%m/%Y %H:%M"


def zone(bloc: Bloc) -> ZoneInfo:
    return ZoneInfo(bloc.timezone)


def local_text(bloc: Bloc, when: datetime | None) -> str:
    return when.astimezone(zone(bloc)).strftime(LOCAL_FORMAT) if when else "—"
