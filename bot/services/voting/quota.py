"""Rules blocs set once: the blank-ballot mode in plain words (/settings vote.blank_mode), and "one
achievement, one reward": the unit proposed for the flag is left out of the merit vote (unless the
head keeps it with `kemco` when opening), so a merit quota ("50%") is a share of the other units."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import N_, _
from bot.services import settings as settings_service
from bot.services.errors import UserError
from bot.services.tally import tally
from bot.services.voting.polls import get_box
from bot.services.voting.rules import DEFAULTS, rule_of
from storage.models import Bloc, Poll

FLAG_WINDOW = timedelta(days=180)  # a flag vote older than this belongs to another year's round

# What a head may type for each blank mode (folded: no diacritics, lower case).
BLANK_WORDS = {
    "valid": ("hop le", "cho phep", "co", "valid", "allowed", "yes"),
    "invalid": ("khong hop le", "tinh khong hop le", "cho phep nhung khong hop le", "invalid"),
    "refused": ("khong cho phep", "khong", "cam", "refused", "not allowed", "no"),
}
BLANK_LABELS = {
    "valid": N_("allowed, counted valid"),
    "invalid": N_("allowed, counted invalid"),
    "refused": N_("not allowed"),
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(ch for ch in text if unicodedata.category(ch) != "Mn").casefold().split())


def parse_blank_mode(raw: str) -> str:
    word = _fold(raw)
    for mode, words in BLANK_WORDS.items():
        if word in words:
            return mode
    raise UserError(_("Write one of: “hợp lệ” (blank ballots allowed and valid), “không hợp lệ” (allowed but "
                      "counted invalid), “không cho phép”."))


def show_blank_mode(mode: str | None) -> str:
    return _(BLANK_LABELS.get(mode or "valid", BLANK_LABELS["valid"]))


settings_service.register(settings_service.SettingSpec(
    "vote.blank_mode", N_("votes: blank ballots (hợp lệ / không hợp lệ / không cho phép)"), DEFAULTS["blank_mode"],
    parse_blank_mode, show_blank_mode, example="không hợp lệ"))
settings_service.register(settings_service.SettingSpec(
    "vote.merit_skip_flag", N_("votes: the unit proposed for the flag is not a candidate for the certificate of merit"),
    DEFAULTS["merit_skip_flag"], settings_service.parse_bool, settings_service.show_bool, example="có"))


def parse_text(raw: str) -> str | None:
    """A bloc-wide fact of the minutes (place, venue); "-" or "xóa" clears it."""
    text = " ".join(raw.split())
    if _fold(text) in ("-", "xoa", "khong", "none", "clear"):
        return None
    if len(text) > 200:
        raise UserError(_("Too long: at most {limit} characters.").format(limit=200))
    return text


def show_text(value: str | None) -> str:
    return value or "—"


settings_service.register(settings_service.SettingSpec(
    "vote.place", N_("minutes: place name of the header, for every vote (địa danh)"), None, parse_text, show_text,
    example="Quảng Ninh"))
settings_service.register(settings_service.SettingSpec(
    "vote.venue", N_("minutes: where the count takes place, for every vote (địa điểm)"), None, parse_text,
    show_text, example="Hội trường Sở Y tế"))


async def flag_proposed(session: AsyncSession, bloc: Bloc, now: datetime) -> list[tuple[int, int]]:
    """(unit id, vote id) of the units this bloc's counted flag votes of the last months proposed
    (a runoff's winners included): the merit vote leaves them out by default."""
    polls = (await session.execute(
        select(Poll).where(Poll.bloc_id == bloc.id, Poll.kind == "flag", Poll.status == "closed",
                           col(Poll.opened_at) >= now - FLAG_WINDOW).order_by(col(Poll.id)))).scalars().all()
    found: dict[int, int] = {}
    for poll in polls:
        box = await get_box(session, poll.id)
        result = tally(list(range(len(poll.options))), len(poll.eligible), [b[1] for b in box.ballots], rule_of(poll))
        for index in result.winners:
            unit_id = poll.options[index].get("unit_id")
            if unit_id is not None:
                found.setdefault(unit_id, poll.id)
    return list(found.items())
