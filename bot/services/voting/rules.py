"""A vote's rules: the bloc's defaults, the rule of a vote, its time zone."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from bot.services.tally import BLANK_MODES, Rule
from storage.models import Bloc, Poll

PAYLOAD_PREFIX = "v_"
KINDS = ("flag", "merit", "head", "deputy", "custom", "approval")
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
    "blank_allowed": True,  # before blank_mode: False reads as "refused"
    "blank_mode": None,  # valid | invalid | refused (tally.BLANK_MODES); None: from blank_allowed
    "cap_flag": 1,
    "cap_head": 1,
    "cap_deputy": 1,
    "cap_merit": None,  # None: as many as may be chosen; a count (3) or a share of the remaining units ("20%")
    "remind_before_minutes": 60,
    "publish_board": False,
    "merit_skip_flag": True,  # the unit proposed for the flag is not a merit candidate (one achievement, one reward)
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


def is_share(raw: Any) -> bool:
    """ "50%" or "1/2": a quota, a share of the units not already proposed (not a number of units)."""
    text = str(raw or "").strip()
    return text.endswith("%") or "/" in text


def blank_mode(d: dict[str, Any]) -> str:
    mode = d.get("blank_mode")
    if mode in BLANK_MODES:
        return str(mode)
    return "valid" if d.get("blank_allowed", True) else "refused"


def default_rule(bloc: Bloc, kind: str, max_choices: int, unit_count: int, proposed_before: int = 0) -> Rule:
    """The bloc's rule for a new vote. `proposed_before`: units already proposed for a higher reward
    (the flag unit, left out of a merit vote); a merit quota ("50%") is a share of the others."""
    d = vote_defaults(bloc)
    blank = Rule.blank_fields(blank_mode(d))
    cap_share = None
    cap: int
    if kind == "merit":
        if is_share(d["cap_merit"]):
            cap, cap_share = max_choices, _fraction(d["cap_merit"])
        else:
            count = resolve_cap(d["cap_merit"], unit_count)
            cap = max_choices if count is None else min(count, max_choices)
    elif kind in ("custom", "approval"):
        cap = max_choices
    else:
        cap = resolve_cap(d.get(f"cap_{kind}"), unit_count) or 1
    return Rule(max_choices=max_choices, threshold=_fraction(d["threshold"]), strict=bool(d["strict"]),
                base=d["base"], quorum=_fraction(d["quorum"]), self_vote=bool(d["self_vote"]),
                cap=cap, cap_share=cap_share, proposed_before=proposed_before if cap_share is not None else 0,
                **blank)


_RULES: dict[tuple, Rule] = {}  # a poll's rule (JSON) -> Rule, read once: a ballot's every press asks


def rule_of(poll: Poll) -> Rule:
    try:
        key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in poll.rule.items()))
        hash(key)
    except TypeError:  # a value that is not plain data: no memo
        return Rule.from_json(poll.rule)
    rule = _RULES.get(key)
    if rule is None:
        if len(_RULES) >= 1000:
            _RULES.clear()
        rule = _RULES[key] = Rule.from_json(poll.rule)
    return rule
