"""Per-bloc settings (/settings). Each feature registers the knobs it reads; values live in
Bloc.settings (JSON) under their key, defaults come from the registry, so a bloc that changed
nothing follows the current defaults."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import N_, _
from bot.services.errors import UserError
from bot.views import usage as views  # refusals that name a command (no cycle)
from storage.db import begin_write
from storage.models import AuditEvent, Bloc


@dataclass(frozen=True)
class SettingSpec:
    key: str
    label: str  # msgid, translated when shown
    default: Any
    parse: Callable[[str], Any]  # raises UserError with a localized hint
    show: Callable[[Any], str] = str
    example: str = ""


REGISTRY: dict[str, SettingSpec] = {}


def register(spec: SettingSpec) -> SettingSpec:
    REGISTRY[spec.key] = spec
    return spec


def value(bloc: Bloc, key: str) -> Any:
    spec = REGISTRY[key]
    return (bloc.settings or {}).get(key, spec.default)


def folded(raw: str) -> str:
    """A typed value without case, diacritics or spaces: "Số phiếu hợp lệ" -> "sophieuhople"."""
    text = unicodedata.normalize("NFD", raw.strip().casefold().replace("đ", "d"))
    return "".join(c for c in text if not unicodedata.combining(c) and not c.isspace())


def parse_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in ("1", "yes", "y", "on", "true", "có", "co", "bật", "bat"):
        return True
    if text in ("0", "no", "n", "off", "false", "không", "khong", "tắt", "tat"):
        return False
    raise UserError(_("Answer yes or no (có / không)."))


def show_bool(flag: bool) -> str:
    return _("yes") if flag else _("no")


def _parse_tz(raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(_("Unknown time zone “{value}”. Example: Asia/Ho_Chi_Minh").format(
            value=raw.strip()[:40])) from None
    return raw.strip()


def _parse_locale(raw: str) -> str:
    if raw.strip().lower() not in ("vi", "en"):
        raise UserError(_("The language is vi or en."))
    return raw.strip().lower()


def _parse_bloc_word(raw: str) -> str:
    word = folded(raw)
    if word in ("khoi", "bloc", "khoithidua"):
        return "khối"
    if word in ("cum", "cluster", "cumthidua"):
        return "cụm"
    raise UserError(_("Write khối or cụm."))


# Columns of Bloc that are also settings.
COLUMN_KEYS = {"timezone": "timezone", "language": "locale"}
register(SettingSpec("language", N_("bloc language"), "vi", _parse_locale, example="vi"))
register(SettingSpec("timezone", N_("time zone"), "Asia/Ho_Chi_Minh", _parse_tz, example="Asia/Ho_Chi_Minh"))
register(SettingSpec("bloc_word", N_("the bloc is called: khối (bloc), or cụm (cluster: cụm thi đua, Trưởng cụm)"),
                     "khối", _parse_bloc_word, example="cụm"))


def current(bloc: Bloc, key: str) -> Any:
    if key in COLUMN_KEYS:
        return getattr(bloc, COLUMN_KEYS[key])
    return value(bloc, key)


async def set_value(session: AsyncSession, clock: Clock, bloc: Bloc, key: str, raw: str, actor_id: int) -> Any:
    spec = REGISTRY.get(key)
    if spec is None:

        raise UserError(views.no_such_setting(key[:40]))
    parsed = spec.parse(raw)
    await begin_write(session)
    fresh = await session.get(Bloc, bloc.id, populate_existing=True)
    assert fresh is not None  # the caller's bloc, reloaded
    if key in COLUMN_KEYS:
        setattr(fresh, COLUMN_KEYS[key], parsed)
    else:
        fresh.settings = {**(fresh.settings or {}), key: parsed}
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=actor_id, action="settings.set",
                           detail={"key": key, "value": parsed}))
    await session.commit()
    return parsed
