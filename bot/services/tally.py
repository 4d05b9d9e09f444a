"""Counting a secret vote: pure functions, no database, no I/O.

`tally(candidates, eligible, ballots, rule)` turns the ballots of a closed vote into counts,
shares, who reached the threshold, who wins within the cap, and ties at the cut-off.

Definitions (the vote-count minutes use the same words):
- issued   = eligible units (one ballot each);
- returned = ballots cast;
- a ballot is INVALID when it names an unknown candidate, names one twice, names more than
  `max_choices`, or is blank while blank ballots are not allowed; otherwise VALID;
- blank ballots (no choice) follow one of three modes (`Rule.blank_mode`):
  "valid" (allowed and valid, counted in the "valid" base; the default),
  "invalid" (the bot accepts them, but they are counted INVALID, as the Election Law and Party
  rules count a fully crossed-out ballot; they are also reported in `blank`),
  "refused" (the bot refuses to cast them; one that still arrives is invalid and not in `blank`);
- quorum: returned >= quorum x issued;
- a candidate REACHES the threshold when votes / base > threshold (strict) or >= (at least),
  base being issued, returned or valid ballots, compared exactly (fractions, no float);
- minimum votes: the smallest whole number of votes that reaches the threshold on a base
  (`min_votes`): more than 1/2 of 14 -> 8, at least 2/3 of 14 -> 10;
- the cap: `cap` seats, and/or a quota `cap_share` of the units not already proposed
  (`eligible - proposed_before`, rounded down: "Bằng khen for at most 50% of the remaining units
  after the flag unit"); with both, the smaller wins;
- winners: those reaching it, most votes first, at most the cap; when the cap cuts through a group
  with equal votes, that group is a TIE: the clear winners above it win, the tied ones go to a
  runoff for the seats left.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Generic, TypeVar

BASES = ("eligible", "returned", "valid")
BLANK_MODES = ("valid", "invalid", "refused")


@dataclass(frozen=True)
class Rule:
    max_choices: int = 1
    threshold: Fraction = Fraction(1, 2)
    strict: bool = True  # True: more than the threshold; False: at least
    base: str = "eligible"  # eligible | returned | valid
    quorum: Fraction = Fraction(2, 3)
    self_vote: bool = True
    blank_allowed: bool = True
    cap: int | None = None  # most winners; None: everyone who reaches the threshold
    blank_invalid: bool = False  # with blank_allowed: blank ballots are accepted but counted invalid
    cap_share: Fraction | None = None  # quota: at most this share of the units not already proposed
    proposed_before: int = 0  # units already proposed for a higher reward (e.g. the flag unit)

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", Fraction(self.threshold))
        object.__setattr__(self, "quorum", Fraction(self.quorum))
        if self.cap_share is not None:
            object.__setattr__(self, "cap_share", Fraction(self.cap_share))
            if not 0 <= self.cap_share <= 1:
                raise ValueError("cap_share is a share between 0 and 1")
        if self.proposed_before < 0:
            raise ValueError("proposed_before must not be negative")
        if self.base not in BASES:
            raise ValueError(f"base must be one of {BASES}")
        if self.max_choices < 1:
            raise ValueError("max_choices must be at least 1")
        if not 0 <= self.threshold <= 1 or not 0 <= self.quorum <= 1:
            raise ValueError("threshold and quorum are shares between 0 and 1")
        if self.cap is not None and self.cap < 0:
            raise ValueError("cap must not be negative")

    @property
    def blank_mode(self) -> str:
        """"valid" | "invalid" | "refused" (see the module docstring)."""
        if not self.blank_allowed:
            return "refused"
        return "invalid" if self.blank_invalid else "valid"

    @staticmethod
    def blank_fields(mode: str) -> dict[str, bool]:
        """The Rule fields of a blank mode: `Rule(**Rule.blank_fields("invalid"))`."""
        if mode not in BLANK_MODES:
            raise ValueError(f"blank mode must be one of {BLANK_MODES}")
        return {"blank_allowed": mode != "refused", "blank_invalid": mode == "invalid"}

    def min_votes(self, base_count: int) -> int | None:
        """The smallest number of votes that reaches this rule's threshold on `base_count`."""
        return min_votes(base_count, self.threshold, self.strict)

    def effective_cap(self, eligible: int) -> int | None:
        """The seats: `cap` and the quota on the units not already proposed, the smaller of both."""
        caps = [] if self.cap is None else [self.cap]
        if self.cap_share is not None:
            caps.append(quota_cap(self.cap_share, eligible, self.proposed_before))
        return min(caps) if caps else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["threshold"] = f"{self.threshold.numerator}/{self.threshold.denominator}"
        data["quorum"] = f"{self.quorum.numerator}/{self.quorum.denominator}"
        if self.cap_share is not None:
            data["cap_share"] = f"{self.cap_share.numerator}/{self.cap_share.denominator}"
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Rule":
        values = dict(data)
        values["threshold"] = Fraction(values.get("threshold", "1/2"))
        values["quorum"] = Fraction(values.get("quorum", "2/3"))
        if values.get("cap_share") is not None:
            values["cap_share"] = Fraction(values["cap_share"])
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


C = TypeVar("C", bound=Hashable)  # a candidate: an option index for a poll


@dataclass(frozen=True)
class Count(Generic[C]):
    candidate: C
    votes: int
    share: Decimal  # percent of the base, 2 decimals
    reached: bool


@dataclass
class TallyResult(Generic[C]):
    issued: int
    returned: int
    valid: int
    blank: int
    invalid: int
    base: str
    base_count: int
    counts: list[Count[C]]  # most votes first; equal votes keep the candidates' order
    quorum_met: bool
    reached: list[C] = field(default_factory=list)
    winners: list[C] = field(default_factory=list)
    tied: list[C] = field(default_factory=list)
    seats_left: int = 0  # seats the tied candidates compete for in a runoff
    cap: int | None = None  # the seats applied (None: no cap)
    min_votes: int | None = None  # fewest votes that reach the threshold (None: none can)

    @property
    def valid_result(self) -> bool:
        return self.quorum_met

    @property
    def outside_cap(self) -> list[C]:
        """Reached the threshold but left out by the cap (not tied): "Đạt tỷ lệ, ngoài số lượng đề nghị"."""
        return [c for c in self.reached if c not in self.winners and c not in self.tied]

    def votes_of(self, candidate: C) -> int:
        return next(c.votes for c in self.counts if c.candidate == candidate)


def share(votes: int, base: int) -> Decimal:
    if base <= 0:
        return Decimal("0.00")
    return (Decimal(votes) * 100 / Decimal(base)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def min_votes(base_count: int, threshold: Fraction, strict: bool) -> int | None:
    """The smallest whole number of votes v with v/base > threshold (strict) or >= threshold.

    More than 1/2 of 14 -> 8; at least 2/3 of 14 -> 10; more than 1/2 of 15 -> 8; None when no
    count up to `base_count` can reach it (an empty base, or "more than 100%").
    """
    if base_count <= 0:
        return None
    exact = Fraction(threshold) * base_count
    floor = exact.numerator // exact.denominator
    needed = floor + 1 if strict else (floor if exact == floor else floor + 1)
    return needed if needed <= base_count else None


def quota_cap(share: Fraction, units: int, proposed_before: int = 0) -> int:
    """At most `share` of the units not already proposed, rounded down: 50% of 14 - 1 -> 6."""
    remaining = max(0, units - proposed_before)
    seats = Fraction(share) * remaining
    return seats.numerator // seats.denominator


def reaches(votes: int, base: int, rule: Rule) -> bool:
    if base <= 0:
        return False
    ratio = Fraction(votes, base)
    return ratio > rule.threshold if rule.strict else ratio >= rule.threshold


def quorum_met(returned: int, issued: int, rule: Rule) -> bool:
    return issued > 0 and Fraction(returned, issued) >= rule.quorum


def is_valid(choices: Sequence[Hashable], candidates: set, rule: Rule) -> bool:
    if len(choices) != len(set(choices)) or len(choices) > rule.max_choices:
        return False
    if not choices:
        return rule.blank_allowed and not rule.blank_invalid
    return all(c in candidates for c in choices)


def tally(candidates: Sequence[C], eligible: int, ballots: Iterable[Sequence[C]],
          rule: Rule) -> TallyResult[C]:
    known = set(candidates)
    votes = {c: 0 for c in candidates}
    returned = valid = blank = invalid = 0
    for choices in ballots:
        returned += 1
        choices = list(choices)
        if not is_valid(choices, known, rule):
            invalid += 1
            if not choices and rule.blank_allowed:
                blank += 1  # accepted blank, counted invalid
            continue
        valid += 1
        if not choices:
            blank += 1
        for choice in choices:
            votes[choice] += 1
    base_count = {"eligible": eligible, "returned": returned, "valid": valid}[rule.base]
    order = {c: i for i, c in enumerate(candidates)}
    ranked = sorted(candidates, key=lambda c: (-votes[c], order[c]))
    counts = [Count(c, votes[c], share(votes[c], base_count), reaches(votes[c], base_count, rule)) for c in ranked]
    result = TallyResult(issued=eligible, returned=returned, valid=valid, blank=blank, invalid=invalid,
                         base=rule.base, base_count=base_count, counts=counts,
                         quorum_met=quorum_met(returned, eligible, rule),
                         cap=rule.effective_cap(eligible), min_votes=rule.min_votes(base_count))
    if not result.quorum_met:
        return result
    reached = [c.candidate for c in counts if c.reached]
    result.reached = reached
    cap = len(reached) if result.cap is None else result.cap
    if len(reached) <= cap:
        result.winners = reached
        return result
    cut_votes = votes[reached[cap - 1]] if cap > 0 else None
    if cap > 0 and votes[reached[cap]] != cut_votes:
        result.winners = reached[:cap]
        return result
    # The cap falls inside a group with equal votes: those above win, the group is tied.
    if cap == 0:
        return result
    assert cut_votes is not None  # cap > 0 here
    result.winners = [c for c in reached if votes[c] > cut_votes]
    result.tied = [c for c in reached if votes[c] == cut_votes]
    result.seats_left = cap - len(result.winners)
    return result


def sheet_facts(result: TallyResult, label_of) -> dict[str, Any]:
    """The tally's part of the minutes' ResultSheet (bot/render/model.py), names through `label_of`:
    `ResultSheet(..., **sheet_facts(r, lambda i: poll.options[i]["label"]))`."""
    return {
        "min_votes": result.min_votes,
        "quorum_met": result.quorum_met,
        "valid_result": result.valid_result,
        "reached": [label_of(c) for c in result.winners],
        "ties": [label_of(c) for c in result.tied],
        "outside_cap": [label_of(c) for c in result.outside_cap],
    }
