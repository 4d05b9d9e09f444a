"""A vote's rules: the bloc's defaults, the rule of a vote, its time zone."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from bot.services.tally import Rule
from storage.models import Bloc, Poll

PAYLOAD_PREFIX = "v_"
KINDS = ("flag", "merit", "head", "deputy", "custom")
UNIT_KINDS = ("flag", "merit", "head", "deputy")
MAX_QUESTION = 300
MAX_OPTION = 100
MAX_OPTIONS = 60
MAX_DAYS = 90

# Rule defaults of a bloc, kept in Bloc.settings["vote"] (the /settings command edits them).
DEFAULTS: dict[str, Any] = {
    "threshold": "1/2",  # share a candidate needs
    "strict": True,  # more than the threshold (True) or at least (False)
    "base": "eligible",  # eligible | returned | valid ballots
    "quorum": "2/3",  # of eligible units returning a ballot
    "self_vote": True,
    "blank_allowed": True,
    "cap_flag": 1,
    "cap_head": 1,
    "cap_deputy": 1,
    "cap_merit": None,  # None: as many as may be chosen; a count (3) or a share of the remaining units ("20%")
    "remind_before_minutes": 60,
    "publish_board": False,
}


def vote_defaults(bloc: Bloc) -> dict[str, Any]:
    """The bloc's vote rule defaults: its own values over the built-in ones."""
    settings = bloc.settings or {}
    own = settings.get("vote") or {}
    flat = {key[len("vote."):]: value for key, value in settings.items() if key.startswith("vote.")}
    return {**DEFAULTS, **{k: v for k, v in {**own, **flat}.items() if k in DEFAULTS}}


def _fraction(raw: Any) -> Fraction:
    text = str(raw).strip().replace(",", ".")
    if text.endswith("%"):
        return Fraction(text[:-1]) / 100
    return Fraction(text)


def resolve_cap(raw: Any, remaining: int) -> int | None:
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if text.endswith("%"):
        return max(1, int(_fraction(text) * remaining))
    return int(text)


def default_rule(bloc: Bloc, kind: str, max_choices: int, unit_count: int) -> Rule:
    d = vote_defaults(bloc)
    if kind == "merit":
        cap = resolve_cap(d["cap_merit"], max(0, unit_count - 1))
        cap = max_choices if cap is None else min(cap, max_choices)
    elif kind == "custom":
        cap = max_choices
    else:
        cap = resolve_cap(d.get(f"cap_{kind}"), unit_count) or 1
    return Rule(max_choices=max_choices, threshold=_fraction(d["threshold"]), strict=bool(d["strict"]),
                base=d["base"], quorum=_fraction(d["quorum"]), self_vote=bool(d["self_vote"]),
                blank_allowed=bool(d["blank_allowed"]), cap=cap)


def rule_of(poll: Poll) -> Rule:
    return Rule.from_json(poll.rule)
