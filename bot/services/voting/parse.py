"""The one-line form of /vote (`/vote co 18:00 25/12 bkp 2,5`) read into a VoteSpec."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction

from bot.i18n import _
from bot.services.errors import UserError
from bot.services.timefmt import local_text, zone
from bot.services.units import clean_name
from bot.services.voting.rules import MAX_DAYS
from bot.views import usage as views  # refusals that name a command (no cycle: usage imports no service)
from storage.models import Bloc

# -- the one-line form ------------------------------------------------------------------------

KIND_WORDS = {
    "flag": "flag", "co": "flag", "cờ": "flag", "cothidua": "flag", "cờthiđua": "flag",
    "merit": "merit", "bangkhen": "merit", "bằngkhen": "merit", "bk": "merit",
    "head": "head", "truong": "head", "trưởng": "head", "truongkhoi": "head", "trưởngkhối": "head",
    "truongcum": "head", "trưởngcụm": "head",
    "deputy": "deputy", "pho": "deputy", "phó": "deputy", "phokhoi": "deputy", "phókhối": "deputy",
    "photruong": "deputy", "phótrưởng": "deputy", "photruongkhoi": "deputy", "phótrưởngkhối": "deputy",
    "phocum": "deputy", "phócụm": "deputy", "photruongcum": "deputy", "phótrưởngcụm": "deputy",
    "custom": "custom", "khac": "custom", "khác": "custom", "hoi": "custom", "hỏi": "custom",
    "bieuquyet": "custom", "biểuquyết": "custom", "layykien": "custom", "lấyýkiến": "custom",
    "approval": "approval", "dongy": "approval", "đồngý": "approval", "tanthanh": "approval", "tánthành": "approval",
}
SCORE_WORDS = {"diem", "điểm", "scores", "xephang", "xếphạng"}  # candidates: the last closed round's ranking
_SHARE = re.compile(r"^(>|>=|≥|tu|từ)?(\d{1,3}(?:[.,]\d{1,2})?)%$")  # approval: "80%" = at least 80%
MANUAL_WORDS = {"manual", "tay", "thucong", "thủcông", "thu-cong", "thủ-công"}
BOARD_WORDS = {"board", "congkhai", "côngkhai", "công-khai"}
EXCEPT_WORDS = {"trừ", "tru", "except"}
KEEP_FLAG_WORDS = {"kemco", "kèmcờ", "kem-co", "kèm-cờ", "withflag"}  # merit: keep the flag-proposed unit
COMMITTEE_WORDS = {"committee", "bankiemphieu", "bankiểmphiếu", "bkp", "kiemphieu", "kiểmphiếu"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")  # a clock time; "2h" is a duration and "2h30" is refused
_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})(?:/(\d{4}))?$")
_DATE_LIKE = re.compile(r"^\d{1,4}[-.]\d{1,2}([-.]\d{2,4})?$")
_DURATION = re.compile(r"^\+?(\d{1,4})(m|h|d|p|g|ph|phut|phút|gio|giờ|ngay|ngày)$")
_MIXED = re.compile(r"^\+?(\d{1,3})[hg](\d{1,2})(m|p|ph|phut|phút)$")  # 2h30m: 2 hours 30 minutes
_EXCLUDE = re.compile(r"^-(\d{1,3}(?:,\d{1,3})*)$")
_NUMBERS = re.compile(r"^\d{1,3}(?:,\d{1,3})*,?$")
_NUMBER = re.compile(r"^\d{1,3}$")
_DURATION_UNITS = {"m": 1, "p": 1, "ph": 1, "phut": 1, "phút": 1, "h": 60, "g": 60, "gio": 60, "giờ": 60,
                   "d": 1440, "ngay": 1440, "ngày": 1440}


@dataclass
class VoteSpec:
    kind: str
    max_choices: int | None = None
    closing_at: datetime | None = None  # None: closed by hand with /close
    exclude: list[int] = field(default_factory=list)  # unit numbers as in /units
    question: str = ""
    options: list[str] = field(default_factory=list)
    publish_board: bool | None = None
    committee: list[int] = field(default_factory=list)  # unit numbers as in /units; empty: the default
    keep_flag: bool = False  # merit: the unit proposed for the flag stays a candidate
    from_scores: bool = False  # candidates (proposals): the ranking of the last closed self-assessment round
    top: int | None = None  # with from_scores: the first `top` units (and those tied with the last)
    proposals: list[int] = field(default_factory=list)  # approval: unit numbers as in /units
    threshold: str | None = None  # approval: "4/5" (None: the bloc's threshold)
    strict: bool | None = None  # approval: more than (True) or at least (False) the threshold


def usage() -> str:
    return views.vote_usage()


def _numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def parse_vote_line(args: str, bloc: Bloc, now: datetime) -> VoteSpec:
    """`co 18:00 25/12/2026`, `bangkhen 3`, `truong +2h trừ 3,5`, `hoi Question? | A | B` -> VoteSpec.
    Anything it does not understand is refused with the reason and the examples, never guessed."""
    text = (args or "").strip()
    first, _sep, rest_lines = text.partition("\n")
    pieces = first.split("|")
    head_tokens = pieces[0].split()
    extra = pieces[1:] + rest_lines.splitlines()
    if not head_tokens:
        raise UserError(usage())
    kind = KIND_WORDS.get(head_tokens[0].casefold())
    if kind is None:
        raise UserError(_("I do not know the vote kind “{word}”.").format(word=head_tokens[0][:30]) + "\n" + usage())
    spec = VoteSpec(kind=kind)
    clock_time = date = None
    i = 1
    while i < len(head_tokens):
        token = head_tokens[i]
        low = token.casefold()
        following = head_tokens[i + 1] if i + 1 < len(head_tokens) else ""
        if m := _TIME.match(token):
            clock_time = m
        elif m := _DATE.match(token):
            date = m
        elif m := _MIXED.match(low):
            spec.closing_at = now + timedelta(hours=int(m.group(1)), minutes=int(m.group(2)))
        elif m := _DURATION.match(low):
            spec.closing_at = now + timedelta(minutes=int(m.group(1)) * _DURATION_UNITS[m.group(2)])
        elif m := _EXCLUDE.match(token):
            spec.exclude += _numbers(m.group(1))
        elif low in EXCEPT_WORDS or low in COMMITTEE_WORDS:
            if not _NUMBERS.match(following):
                raise UserError(views.numbers_after(token[:20]) + "\n" + usage())
            target = spec.exclude if low in EXCEPT_WORDS else spec.committee
            while i + 1 < len(head_tokens) and _NUMBERS.match(head_tokens[i + 1]):
                target += _numbers(head_tokens[i + 1])
                i += 1
        elif low in MANUAL_WORDS:
            spec.closing_at = None
        elif low in BOARD_WORDS:
            spec.publish_board = True
        elif low in KEEP_FLAG_WORDS and kind == "merit":
            spec.keep_flag = True
        elif low in SCORE_WORDS and kind != "custom":
            spec.from_scores = True
            if _NUMBER.match(following):
                spec.top = int(following)
                i += 1
                if spec.top < 1:
                    raise UserError(views.numbers_after(token[:20]) + "\n" + usage())
        elif kind == "approval" and _NUMBERS.match(token):
            spec.proposals += _numbers(token)
        elif kind == "approval" and (m := _SHARE.match(low)):
            share = Fraction(m.group(2).replace(",", ".")) / 100
            if not 0 < share <= 1:
                raise UserError(_unknown(token))
            spec.threshold = f"{share.numerator}/{share.denominator}"
            spec.strict = m.group(1) in (">",)
        elif _NUMBER.match(token) and spec.max_choices is None and kind in ("merit", "custom"):
            spec.max_choices = int(token)
            if spec.max_choices < 1:
                raise UserError(_("The number of choices must be at least 1.") + "\n" + usage())
        elif kind == "custom" and not spec.question and not _looks_like_setting(token):
            spec.question = " ".join(head_tokens[i:])
            break
        else:
            raise UserError(_unknown(token))
        i += 1
    if clock_time or date:
        spec.closing_at = _combine(clock_time, date, bloc, now)
    if kind in ("custom", "approval"):
        parts = [clean_name(p) for p in extra if clean_name(p)]
        if not spec.question and parts and kind == "custom":
            spec.question, parts = parts[0], parts[1:]
        spec.question = clean_name(spec.question)
        spec.options = parts
    elif any(clean_name(p) for p in extra):
        raise UserError(views.options_only_for_question() + "\n" + usage())
    return spec


def _looks_like_setting(token: str) -> bool:
    return bool(_DATE_LIKE.match(token) or re.match(r"^\+?\d", token))


def _unknown(token: str) -> str:
    word = token[:30]
    if _DATE_LIKE.match(token):
        return _("I cannot read the date “{word}”: write it as dd/mm/yyyy, for example 25/12/2026.").format(
            word=word) + "\n" + usage()
    if re.match(r"^\+?\d+[hg]\d+$", token, re.I):
        return _("“{word}” is ambiguous: write a clock time as 18:00, or a duration as 2h30m or +2h.").format(
            word=word) + "\n" + usage()
    return _("I do not understand “{word}” in this command.").format(word=word) + "\n" + usage()


def _combine(clock_time, date, bloc: Bloc, now: datetime) -> datetime:
    local_now = now.astimezone(zone(bloc))
    hour, minute = (int(clock_time.group(1)), int(clock_time.group(2))) if clock_time else (23, 59)
    try:
        if date:
            year = int(date.group(3)) if date.group(3) else local_now.year
            local = datetime(year, int(date.group(2)), int(date.group(1)), hour, minute, tzinfo=zone(bloc))
        else:
            local = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if local <= local_now:
                local += timedelta(days=1)
    except ValueError:
        raise UserError(views.closing_time_format()) \
            from None
    return local.astimezone(now.tzinfo)


def check_closing(closing_at: datetime | None, bloc: Bloc, now: datetime) -> None:
    if closing_at is None:
        return
    if closing_at <= now:
        raise UserError(_("The closing time {when} is already past.").format(when=local_text(bloc, closing_at)))
    if closing_at > now + timedelta(days=MAX_DAYS):
        raise UserError(_("The closing time is too far away (at most {days} days).").format(days=MAX_DAYS))
