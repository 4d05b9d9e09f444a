"""Input of the result renderers (chart PNG, vote-count minutes DOCX).

Plain frozen dataclasses with no dependency on the rest of the app: the voting service maps
its tally into a `ResultSheet`, the renderers only format it. Everything textual that comes
from the bloc (names, question, rule texts) arrives already written in the reader's language;
the renderers add their own labels through gettext in the current locale.

Text is normalised to Unicode NFC on construction: names typed on some phones arrive
decomposed (base letter + combining marks), which fonts without shaping draw badly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from bot.i18n import _, current_locale
from bot.views.numbers import format_decimal, format_percent

ROLE_HEAD = "head"
ROLE_SECRETARY = "secretary"
ROLE_MEMBER = "member"
ROLES = (ROLE_HEAD, ROLE_SECRETARY, ROLE_MEMBER)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def share_of(votes: int, base: int) -> Decimal:
    """Percentage of `votes` over `base`, rounded half-up to 2 decimals (0 when base is 0)."""
    if base <= 0:
        return Decimal("0.00")
    return (Decimal(votes) * 100 / Decimal(base)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def threshold_votes_for(fraction: Decimal | float, base_count: int) -> float:
    """Number of votes at the threshold line: `fraction` (0.5 for 50%) of `base_count`.

    Whether a unit must exceed it (> 50%) or only reach it (>= 2/3) is said by the rule text.
    What the minutes and the chart print is `ResultSheet.min_votes` (see tally.min_votes).
    """
    return float(Decimal(str(fraction)) * base_count)


def kind_heading(kind: str, year: int | None, unknown: str = "…") -> str:
    """What the bloc decided, per kind of vote, in chat and in the minutes: a proposal, never the award
    itself ("suy tôn" only for the flag). `year` fills "Trưởng khối năm {year}" (`unknown` when None)."""
    if kind == "flag":
        return _("Unit honoured as the bloc's leading unit, proposed for the Emulation Flag:")
    if kind == "merit":
        return _("Units proposed for the Certificate of Merit:")
    if kind == "head":
        return _("Unit elected bloc head for {year}:").format(year=year or unknown)
    if kind == "deputy":
        return _("Unit elected deputy bloc head for {year}:").format(year=year or unknown)
    if kind == "custom":
        return _("Option adopted:")
    if kind == "approval":
        return _("Proposals passed:")
    return _("Units honoured / proposed:")


def bloc_phrase(title: str, word: str = "khối") -> str:
    """ "khối {title}" unless the title already starts with "khối"/"cụm" (no "khối Khối …")."""
    title = _nfc(title).strip()
    if title.split(" ", 1)[0].lower() in ("khối", "cụm", "bloc", "cluster"):
        return title
    return f"{word} {title}"


@dataclass(frozen=True)
class CommitteeMember:
    """A member of the counting committee (Ban kiểm phiếu). role: "head" | "secretary" | "member"."""

    name: str
    role: str = ROLE_MEMBER
    unit: str = ""  # the member unit the person works for

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"committee role must be one of {ROLES}, not {self.role!r}")
        object.__setattr__(self, "name", _nfc(self.name))
        object.__setattr__(self, "unit", _nfc(self.unit))


@dataclass(frozen=True)
class ResultRow:
    """One candidate line. `share` is the percentage (33.33 for 33.33%) on the sheet's base."""

    no: int
    name: str
    votes: int
    share: Decimal
    reached: bool = False

    def __post_init__(self) -> None:
        if self.votes < 0:
            raise ValueError("votes must not be negative")
        object.__setattr__(self, "name", _nfc(self.name))
        object.__setattr__(self, "share", Decimal(self.share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ResultSheet:
    """A closed secret vote, ready to print.

    Counts: `issued` ballots sent out (units entitled to vote), `returned` cast, of which
    `valid` and `invalid`; `blank` (no choice ticked) is printed on its own line, whether it is
    also counted in `valid` is the service's rule. Nothing is cross-checked here.
    Percentages in `rows[].share` are of `base_count`, described by `base_label` (e.g.
    "trên tổng số đơn vị được phát phiếu"). `threshold_votes` is where the chart draws the
    threshold line (see `threshold_votes_for`); None draws no line.
    `committee` may be empty: the minutes then leave blank lines to fill by hand.

    Optional facts of the minutes (None / empty: a dotted line to fill by hand):
    `venue` where the count took place; `place` the locality of the header ("Quảng Ninh");
    `doc_number` ("12" -> "Số: 12/BB-KP"); `assembly` the conference that set up the committee
    (default "Hội nghị {khối …}"); `witnesses` names (with their unit); `member_units` units of
    the bloc (default `issued`), `units_present` at the conference, `advance_ballots` cast before
    it; `copies` of the minutes. `kind` ("flag" | "merit" | "head" | "deputy" | "custom") picks
    the conclusion's heading, `year` fills "Trưởng khối năm {year}". `min_votes` is the fewest
    votes that reach the threshold (tally.min_votes), printed and drawn instead of
    `threshold_votes`. `outside_cap`: names that reached the threshold but are beyond the number
    of units that may be proposed.
    """

    bloc_title: str
    question: str
    kind_label: str
    opened_at: datetime
    closed_at: datetime
    tz: str
    issued: int
    returned: int
    valid: int
    invalid: int
    base_label: str
    base_count: int
    threshold: str
    rows: Sequence[ResultRow]
    adopted_at: datetime
    blank: int = 0
    venue: str | None = None
    committee: Sequence[CommitteeMember] = ()
    method: str | None = None
    quorum: str | None = None
    threshold_votes: float | None = None
    quorum_met: bool = True
    valid_result: bool = True
    reached: Sequence[str] = ()
    ties: Sequence[str] = ()
    notes: Sequence[str] = field(default_factory=tuple)
    kind: str = ""
    year: int | None = None
    min_votes: int | None = None
    outside_cap: Sequence[str] = ()
    place: str | None = None
    doc_number: str | None = None
    assembly: str | None = None
    witnesses: Sequence[str] = ()
    member_units: int | None = None
    units_present: int | None = None
    advance_ballots: int | None = None
    copies: int | None = None

    def __post_init__(self) -> None:
        for name in ("opened_at", "closed_at", "adopted_at"):
            _aware(getattr(self, name), name)
        ZoneInfo(self.tz)  # raises on an unknown zone name
        for name in ("issued", "returned", "valid", "invalid", "blank", "base_count"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        committee = tuple(m if isinstance(m, CommitteeMember) else CommitteeMember(*m) for m in self.committee)
        object.__setattr__(self, "committee", committee)
        object.__setattr__(self, "rows", tuple(self.rows))
        for name in ("member_units", "units_present", "advance_ballots", "copies", "min_votes"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("reached", "ties", "notes", "outside_cap", "witnesses"):
            object.__setattr__(self, name, tuple(_nfc(s) for s in getattr(self, name)))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str):
                object.__setattr__(self, f.name, _nfc(value))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def threshold_line(self) -> float | None:
        """Where the chart draws the threshold: the minimum votes when known."""
        return float(self.min_votes) if self.min_votes is not None else self.threshold_votes


# --- formatting shared by the renderers (current locale from bot.i18n) -------------------------

_VI_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_VI_GROUPS = ("", "nghìn", "triệu", "tỷ")


def _vi_triple(n: int, full: bool) -> list[str]:
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if full or hundreds:
        words += [_VI_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if full or hundreds:
                words.append("linh")
            words.append(_VI_DIGITS[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else _VI_DIGITS[units])
    else:
        words += [_VI_DIGITS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 4: "tư", 5: "lăm"}.get(units, _VI_DIGITS[units]))
    return words


def words_vi(n: int) -> str:
    """Vietnamese reading of a non-negative integer: 14 -> "mười bốn", 105 -> "một trăm linh năm"."""
    if n < 0:
        raise ValueError("negative")
    if n == 0:
        return "không"
    groups = []
    while n:
        groups.append(n % 1000)
        n //= 1000
    if len(groups) > len(_VI_GROUPS):
        raise ValueError("number too large")
    words: list[str] = []
    top = len(groups) - 1
    for index in range(top, -1, -1):
        value = groups[index]
        if value == 0:
            continue
        words += _vi_triple(value, full=index != top)
        if _VI_GROUPS[index]:
            words.append(_VI_GROUPS[index])
    return " ".join(words)


_EN_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_GROUPS = ("", "thousand", "million", "billion")


def _en_below_1000(n: int) -> str:
    parts = []
    if n >= 100:
        parts.append(f"{_EN_SMALL[n // 100]} hundred")
        n %= 100
    if n >= 20:
        parts.append(_EN_TENS[n // 10] + (f"-{_EN_SMALL[n % 10]}" if n % 10 else ""))
    elif n or not parts:
        parts.append(_EN_SMALL[n])
    return " ".join(parts)


def words_en(n: int) -> str:
    """English reading of a non-negative integer: 14 -> "fourteen", 121 -> "one hundred twenty-one"."""
    if n < 0:
        raise ValueError("negative")
    if n == 0:
        return "zero"
    parts = []
    index = 0
    while n:
        value = n % 1000
        if value:
            parts.append(_en_below_1000(value) + (f" {_EN_GROUPS[index]}" if _EN_GROUPS[index] else ""))
        n //= 1000
        index += 1
        if index > len(_EN_GROUPS) and n:
            raise ValueError("number too large")
    return " ".join(reversed(parts))


def number_words(n: int, locale: str | None = None) -> str:
    return words_vi(n) if (locale or current_locale()) == "vi" else words_en(n)


def format_count(n: int | float, locale: str | None = None) -> str:
    """1234 -> "1.234" (vi) / "1,234" (en); 7.5 -> "7,5" / "7.5"."""
    return format_decimal(n, locale)


def format_share(share: Decimal, locale: str | None = None) -> str:
    """Decimal("33.33") -> "33,33%" (vi) / "33.33%" (en): always 2 decimals."""
    return format_percent(Decimal(share), locale)


def format_datetime(value: datetime, tz: str) -> str:
    """ "08:00 ngày 20/12/2025" in the bloc's zone: the product's one date-time order (bot/services/timefmt.py)."""
    from bot.services.timefmt import clock_text

    return clock_text(value.astimezone(ZoneInfo(tz)))
