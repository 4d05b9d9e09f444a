"""The count of a secret vote, rule by rule (pure: bot/services/tally.py), and the published
receipt list always recounting to the announced tally."""

from __future__ import annotations

import secrets
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services import voting as svc
from bot.services.tally import Rule, tally

C = ["A", "B", "C", "D", "E"]


def ballots(*spec):
    """("A", 3) -> three ballots for A; a tuple of names is one multi-choice ballot."""
    out = []
    for item, times in spec:
        out += [list(item) if isinstance(item, tuple) else ([] if item == "" else [item])] * times
    return out


def test_counts_shares_and_sorting_on_eligible_base():
    r = tally(C, 14, ballots(("A", 8), ("B", 4), ("", 1)), Rule())
    assert (r.issued, r.returned, r.valid, r.blank, r.invalid) == (14, 13, 13, 1, 0)
    assert [(c.candidate, c.votes) for c in r.counts][:2] == [("A", 8), ("B", 4)]
    assert r.counts[0].share == Decimal("57.14") and r.counts[1].share == Decimal("28.57")
    assert r.quorum_met and r.winners == ["A"] and r.reached == ["A"]


def test_equal_votes_keep_candidate_order():
    r = tally(C, 5, ballots(("C", 2), ("A", 2), ("E", 1)), Rule(base="returned", threshold=Fraction(0)))
    assert [c.candidate for c in r.counts] == ["A", "C", "E", "B", "D"]


@pytest.mark.parametrize("base,expected_base,reached", [
    ("eligible", 14, False),  # 7/14 is not more than 50%
    ("returned", 12, True),   # 7/12 > 50%
    ("valid", 10, True),      # 7/10
])
def test_threshold_bases(base, expected_base, reached):
    bs = ballots(("A", 7), ("B", 3), ("", 0)) + [["A", "A"], ["Z"]]  # two invalid ballots
    r = tally(C, 14, bs, Rule(base=base, blank_allowed=True))
    assert r.base_count == expected_base and r.invalid == 2 and r.valid == 10
    assert (r.winners == ["A"]) is reached


def test_strict_more_than_versus_at_least():
    bs = ballots(("A", 7), ("B", 7))
    assert tally(C, 14, bs, Rule(strict=True)).reached == []
    assert tally(C, 14, bs, Rule(strict=False)).reached == ["A", "B"]
    two_thirds = Rule(threshold=Fraction(2, 3), strict=False, base="returned")
    assert tally(C, 9, ballots(("A", 6), ("B", 3)), two_thirds).reached == ["A"]  # exactly 2/3, no float error


def test_quorum():
    rule = Rule()  # 2/3 of eligible
    assert not tally(C, 14, ballots(("A", 9)), rule).quorum_met  # 9/14 < 2/3
    fail = tally(C, 14, ballots(("A", 9)), rule)
    assert fail.winners == [] and not fail.valid_result
    assert tally(C, 15, ballots(("A", 10)), rule).quorum_met  # exactly 2/3
    assert not tally(C, 0, [], rule).quorum_met


def test_blank_ballots_allowed_or_not():
    bs = ballots(("A", 5), ("", 3))
    allowed = tally(C, 8, bs, Rule(base="valid"))
    assert (allowed.valid, allowed.blank, allowed.invalid) == (8, 3, 0) and allowed.winners == ["A"]
    refused = tally(C, 8, bs, Rule(base="valid", blank_allowed=False))
    assert (refused.valid, refused.blank, refused.invalid) == (5, 0, 3)
    assert refused.counts[0].share == Decimal("100.00")


def test_invalid_ballots():
    bs = [["A", "B"], ["A", "A"], ["Q"], ["A"]]
    r = tally(C, 4, bs, Rule(max_choices=1, base="returned", quorum=Fraction(0)))
    assert (r.valid, r.invalid) == (1, 3) and r.votes_of("A") == 1 and r.votes_of("B") == 0


def test_cap_keeps_the_top_and_reports_no_tie_when_clear():
    rule = Rule(max_choices=3, cap=2, base="returned")
    bs = [["A", "B", "C"]] * 6 + [["A", "B"]] * 2 + [["A"]] * 1
    r = tally(C, 9, bs, rule)
    assert r.reached == ["A", "B", "C"] and r.winners == ["A", "B"] and r.tied == []


def test_tie_at_the_cut_off():
    rule = Rule(max_choices=3, cap=2, base="returned")
    bs = [["A", "B", "C"]] * 6 + [["A"]] * 2
    r = tally(C, 8, bs, rule)
    assert r.winners == ["A"] and sorted(r.tied) == ["B", "C"] and r.seats_left == 1
    flag = tally(C, 4, ballots(("A", 2), ("B", 2)), Rule(cap=1, base="returned", strict=False))
    assert flag.winners == [] and flag.tied == ["A", "B"] and flag.seats_left == 1


def test_tie_below_the_cap_is_not_a_tie():
    r = tally(C, 4, ballots(("A", 2), ("B", 2)), Rule(cap=2, base="returned", strict=False))
    assert r.winners == ["A", "B"] and r.tied == []


def test_runoff_rule_settles_the_tie():
    first = tally(C, 6, ballots(("A", 3), ("B", 3)), Rule(cap=1, base="returned", strict=False))
    runoff_rule = Rule(cap=first.seats_left, max_choices=first.seats_left, base="returned", strict=False)
    second = tally(first.tied, 6, ballots(("A", 4), ("B", 2)), runoff_rule)
    assert second.winners == ["A"] and second.tied == []


def test_cap_from_a_share_of_the_remaining_units():
    assert svc.resolve_cap("20%", 13) == 2
    assert svc.resolve_cap("50%", 13) == 6
    assert svc.resolve_cap("3", 13) == 3
    assert svc.resolve_cap(None, 13) is None


def test_rule_json_round_trip():
    rule = Rule(max_choices=3, threshold=Fraction(2, 3), strict=False, base="valid", quorum=Fraction(1, 2),
                self_vote=False, blank_allowed=False, cap=2)
    assert Rule.from_json(rule.to_json()) == rule


# -- property: the published receipt list recounts to the published tally -------------------------

rules = st.builds(
    Rule,
    max_choices=st.integers(1, 4),
    threshold=st.sampled_from([Fraction(1, 2), Fraction(2, 3), Fraction(1, 3), Fraction(0)]),
    strict=st.booleans(),
    base=st.sampled_from(["eligible", "returned", "valid"]),
    quorum=st.sampled_from([Fraction(2, 3), Fraction(1, 2), Fraction(0)]),
    blank_allowed=st.booleans(),
    cap=st.one_of(st.none(), st.integers(0, 5)),
)


@settings(max_examples=200, deadline=None)
@given(rule=rules, n_options=st.integers(2, 6), data=st.data())
def test_board_recount_equals_tally(rule, n_options, data):
    options = [{"label": f"Đơn vị, \"số\" {i} | x", "unit_id": i} for i in range(n_options)]
    choice = st.lists(st.integers(0, n_options - 1), max_size=rule.max_choices, unique=True).map(sorted)
    cast = data.draw(st.lists(choice, max_size=25))
    eligible = data.draw(st.integers(len(cast), len(cast) + 5))
    box = sorted(([secrets.token_bytes(16).hex(), c] for c in cast), key=lambda b: b[0])
    published = tally(list(range(n_options)), eligible, [c for _id, c in box], rule)
    board = svc.board_csv(options, box)
    recount = svc.recount_board(board, n_options, eligible, rule)
    assert recount == published
    assert len(board.decode("utf-8-sig").strip().splitlines()) == len(cast) + 1
