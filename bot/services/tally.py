"""Counting a secret vote: pure functions, no database, no I/O.

`tally(candidates, eligible, ballots, rule)` turns the ballots of a closed vote into counts,
shares, who reached the threshold, who wins within the cap, and ties at the cut-off.

Definitions (the vote-count minutes use the same words):
- issued   = eligible units (one ballot each);
- returned = ballots cast;
- a ballot is INVALID when it names an unknown candidate, names one twice, names more than
  `max_choices`, or is blank while blank ballots are not allowed; otherwise VALID (a blank ballot
  is valid when allowed, and counts in the "valid" base);
- quorum: returned >= quorum x issued;
- a candidate REACHES the threshold when votes / base > threshold (strict) or >= (at least),
  base being issued, returned or valid ballots, compared exactly (fractions, no float);
- winners: those reaching it, most votes first, at most `cap`; when the cap cuts through a group
  with equal votes, that group is a TIE: the clear winners above it win, the tied ones go to a
  runoff for the seats left.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Hashable, Iterable, Sequence

BASES = ("eligible", "returned", "valid")


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", Fraction(self.threshold))
        object.__setattr__(self, "quorum", Fraction(self.quorum))
        if self.base not in BASES:
            raise ValueError(f"base must be one of {BASES}")
        if self.max_choices < 1:
            raise ValueError("max_choices must be at least 1")
        if not 0 <= self.threshold <= 1 or not 0 <= self.quorum <= 1:
            raise ValueError("threshold and quorum are shares between 0 and 1")
        if self.cap is not None and self.cap < 0:
            raise ValueError("cap must not be negative")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["threshold"] = f"{self.threshold.numerator}/{self.threshold.denominator}"
        data["quorum"] = f"{self.quorum.numerator}/{self.quorum.denominator}"
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Rule":
        values = dict(data)
        values["threshold"] = Fraction(values.get("threshold", "1/2"))
        values["quorum"] = Fraction(values.get("quorum", "2/3"))
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Count:
    candidate: Hashable
    votes: int
    share: Decimal  # percent of the base, 2 decimals
    reached: bool


@dataclass
class TallyResult:
    issued: int
    returned: int
    valid: int
    blank: int
    invalid: int
    base: str
    base_count: int
    counts: list[Count]  # most votes first; equal votes keep the candidates' order
    quorum_met: bool
    reached: list[Hashable] = field(default_factory=list)
    winners: list[Hashable] = field(default_factory=list)
    tied: list[Hashable] = field(default_factory=list)
    seats_left: int = 0  # seats the tied candidates compete for in a runoff

    @property
    def valid_result(self) -> bool:
        return self.quorum_met

    def votes_of(self, candidate: Hashable) -> int:
        return next(c.votes for c in self.counts if c.candidate == candidate)


def share(votes: int, base: int) -> Decimal:
    if base <= 0:
        return Decimal("0.00")
    return (Decimal(votes) * 100 / Decimal(base)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


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
        return rule.blank_allowed
    return all(c in candidates for c in choices)


def tally(candidates: Sequence[Hashable], eligible: int, ballots: Iterable[Sequence[Hashable]],
          rule: Rule) -> TallyResult:
    known = set(candidates)
    votes = {c: 0 for c in candidates}
    returned = valid = blank = invalid = 0
    for choices in ballots:
        returned += 1
        choices = list(choices)
        if not is_valid(choices, known, rule):
            invalid += 1
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
                         quorum_met=quorum_met(returned, eligible, rule))
    if not result.quorum_met:
        return result
    reached = [c.candidate for c in counts if c.reached]
    result.reached = reached
    cap = len(reached) if rule.cap is None else rule.cap
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
    result.winners = [c for c in reached if votes[c] > cut_votes]
    result.tied = [c for c in reached if votes[c] == cut_votes]
    result.seats_left = cap - len(result.winners)
    return result
