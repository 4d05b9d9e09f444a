"""The bulletin board: a verifiable, formula-safe list of receipts and choices (optional per vote)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import N_, _
from bot.services import settings as settings_service
from bot.services.errors import UserError
from bot.services.tally import Rule, TallyResult, tally
from bot.services.voting.casting import receipt_code
from bot.services.voting.polls import get_box
from bot.services.voting.rules import DEFAULTS, _fraction, resolve_cap
from storage.models import Person, Poll, Unit

# -- the bulletin board (verifiable, optional per vote) --------------------------------------------

BOARD_HEADER = ["receipt", "choices", "choices_text"]


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A spreadsheet must not run a unit's name as a formula."""
    return "'" + text if text.startswith(_FORMULA) else text


def board_entries(poll: Poll, ballots: Sequence[Sequence[Any]]) -> list[tuple[str, list[int]]]:
    """(receipt code, choices) of a counted box, sorted by code."""
    if poll.public_key:
        return sorted((code, list(choice)) for code, choice in ballots)
    return sorted((receipt_code(bid), list(choice)) for bid, choice in ballots)


def board_csv(options: Sequence[dict], rows: Sequence[tuple[str, list[int]]]) -> bytes:
    """Every receipt code with its choices (1-based numbers and names), sorted by code."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(BOARD_HEADER)
    for code, choice in rows:
        writer.writerow([code, " ".join(str(c + 1) for c in choice),
                         _cell(" | ".join(options[c]["label"] for c in choice if 0 <= c < len(options)))])
    return out.getvalue().encode("utf-8-sig")


def recount_board(data: bytes, option_count: int, eligible: int, rule: Rule) -> TallyResult[int]:
    """Anybody's recount from the published board."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    next(reader)
    ballots = [[int(x) - 1 for x in row[1].split()] for row in reader if row]
    return tally(list(range(option_count)), eligible, ballots, rule)


async def board(session: AsyncSession, poll: Poll) -> bytes:
    if poll.status != "closed":
        raise UserError(_("Results are shown only after the vote is closed."))
    if not poll.publish_board:
        raise UserError(_("The receipt list is not published for this vote."))
    box = await get_box(session, poll.id)
    return board_csv(poll.options, board_entries(poll, box.ballots))


# -- /settings keys (bot/services/settings.py registry) -----------------------------------------
def _parse_share(raw: str) -> str:
    try:
        value = _fraction(raw)
    except (ValueError, ZeroDivisionError):
        value = Fraction(-1)
    if not 0 < value <= 1:
        raise UserError(_("Write a share such as 1/2, 2/3 or 50%."))
    return raw.strip()


# The base of the share in the words a bloc uses; the old keywords stay accepted.
BASE_WORDS = {"eligible": "eligible", "tongsodonvi": "eligible", "tongso": "eligible", "donvi": "eligible",
              "tong": "eligible", "returned": "returned", "sophieuthuve": "returned", "phieuthuve": "returned",
              "thuve": "returned", "valid": "valid", "sophieuhople": "valid", "phieuhople": "valid",
              "hople": "valid"}
BASE_SHOWN = {"eligible": N_("all units"), "returned": N_("ballots returned"), "valid": N_("valid ballots")}


def _parse_base(raw: str) -> str:
    base = BASE_WORDS.get(settings_service.folded(raw))
    if base is None:
        raise UserError(_("The base is eligible, returned or valid."))
    return base


def _show_base(base: str) -> str:
    return _(BASE_SHOWN.get(base, BASE_SHOWN["eligible"]))


def _parse_strict(raw: str) -> bool:
    """ "trên" (more than the share: trên 1/2) or "từ" (the share or more: từ 2/3 trở lên); yes/no as before."""
    word = settings_service.folded(raw)
    if word in ("tren", "hon", "more", "morethan", "above"):
        return True
    if word in ("tu", "tutrolen", "trolen", "dat", "atleast"):
        return False
    return settings_service.parse_bool(raw)


def _show_strict(strict: bool) -> str:
    return _("more than the share (more than 1/2)") if strict else _("the share or more (2/3 or more)")


def _parse_cap(raw: str) -> str | None:
    text = raw.strip().lower()
    if text in ("none", "-", "không"):
        return None
    try:
        resolve_cap(text, 10)
    except (ValueError, ZeroDivisionError):
        raise UserError(_("Write a number of units (3) or a share of the other units (20%), or none.")) from None
    return text


def _parse_minutes(raw: str) -> int:
    if not raw.strip().isdigit() or not 0 <= int(raw.strip()) <= 7 * 24 * 60:
        raise UserError(_("Write a number of minutes, for example 60."))
    return int(raw.strip())


for _key, _label, _parse, _show in (
    ("threshold", N_("votes: share a candidate needs"), _parse_share, str),
    ("strict", N_("votes: more than the share (yes) or at least (no)"), _parse_strict, _show_strict),
    ("base", N_("votes: base of the share (eligible, returned, valid)"), _parse_base, _show_base),
    ("quorum", N_("votes: quorum, share of eligible units"), _parse_share, str),
    ("self_vote", N_("votes: a unit may vote for itself"), settings_service.parse_bool, settings_service.show_bool),
    ("cap_merit", N_("votes: most units proposed for the certificate of merit"), _parse_cap, str),
    ("remind_before_minutes", N_("votes: reminder before closing (minutes)"), _parse_minutes, str),
    ("publish_board", N_("votes: publish the receipt list after closing"), settings_service.parse_bool,
     settings_service.show_bool),
):
    settings_service.register(settings_service.SettingSpec(f"vote.{_key}", _label, DEFAULTS[_key], _parse, _show))


async def committee_names(session: AsyncSession, poll: Poll) -> list[tuple[str, str]]:
    """(person, unit) names of the counting committee, in seat order (two queries, whatever its size:
    the vote card shows them on every refresh)."""
    entries = sorted(poll.committee, key=lambda c: c["seat"])
    person_ids = {e["person_id"] for e in entries}
    unit_ids = {e["unit_id"] for e in entries if e.get("unit_id")}
    people: dict[int, str] = {}
    units: dict[int, str] = {}
    if person_ids:
        query = select(Person.id, Person.full_name).where(col(Person.id).in_(person_ids))
        people = {pid: name for pid, name in (await session.execute(query)).all()}
    if unit_ids:
        units = {uid: name for uid, name in (await session.execute(
            select(Unit.id, Unit.name).where(col(Unit.id).in_(unit_ids)))).all()}
    return [(people.get(e["person_id"], "?"), units.get(e["unit_id"], "") if e.get("unit_id") else "")
            for e in entries]


async def committee_people(session: AsyncSession, poll: Poll) -> list[tuple[Person, Unit | None, dict]]:
    out = []
    for entry in sorted(poll.committee, key=lambda c: c["seat"]):
        person = await session.get(Person, entry["person_id"])
        if person is not None:
            out.append((person, await session.get(Unit, entry["unit_id"]) if entry.get("unit_id") else None, entry))
    return out
