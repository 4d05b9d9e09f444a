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


# -- minimum votes, blank modes, quotas -----------------------------------------------------------

from bot.services.tally import BLANK_MODES, min_votes, quota_cap  # noqa: E402


def test_minimum_votes_to_reach_the_threshold():
    assert min_votes(14, Fraction(1, 2), strict=True) == 8  # more than 50% of 14: 7 is not enough
    assert min_votes(14, Fraction(2, 3), strict=False) == 10  # at least 2/3 of 14 (9.33 -> 10)
    assert min_votes(15, Fraction(1, 2), strict=True) == 8
    assert min_votes(12, Fraction(1, 2), strict=False) == 6
    assert min_votes(9, Fraction(2, 3), strict=False) == 6 and min_votes(9, Fraction(2, 3), strict=True) == 7
    assert min_votes(0, Fraction(1, 2), strict=True) is None
    assert min_votes(5, Fraction(1), strict=True) is None  # more than 100%: nobody can
    assert min_votes(5, Fraction(0), strict=False) == 0
    r = tally(C, 14, ballots(("A", 8), ("B", 7)), Rule())
    assert r.min_votes == 8 and r.reached == ["A"]


@settings(max_examples=300, deadline=None)
@given(base=st.integers(1, 200), num=st.integers(0, 12), den=st.integers(1, 12), strict=st.booleans())
def test_minimum_votes_is_the_smallest_count_that_reaches(base, num, den, strict):
    threshold = Fraction(min(num, den), den)
    rule = Rule(threshold=threshold, strict=strict)
    needed = min_votes(base, threshold, strict)
    reaching = [v for v in range(base + 1) if tally_reaches(v, base, rule)]
    assert needed == (reaching[0] if reaching else None)


def tally_reaches(votes, base, rule):
    from bot.services.tally import reaches
    return reaches(votes, base, rule)


def test_blank_ballots_in_three_modes():
    bs = ballots(("A", 5), ("", 3))
    valid = tally(C, 8, bs, Rule(base="valid", **Rule.blank_fields("valid")))
    counted_invalid = tally(C, 8, bs, Rule(base="valid", **Rule.blank_fields("invalid")))
    refused = tally(C, 8, bs, Rule(base="valid", **Rule.blank_fields("refused")))
    assert (valid.valid, valid.blank, valid.invalid) == (8, 3, 0)
    assert (counted_invalid.valid, counted_invalid.blank, counted_invalid.invalid) == (5, 3, 3)
    assert (refused.valid, refused.blank, refused.invalid) == (5, 0, 3)
    assert counted_invalid.counts[0].share == Decimal("100.00")
    assert [Rule(**Rule.blank_fields(m)).blank_mode for m in BLANK_MODES] == list(BLANK_MODES)
    assert Rule().blank_mode == "valid"  # the default is unchanged
    with pytest.raises(ValueError):
        Rule.blank_fields("maybe")
    rule = Rule(**Rule.blank_fields("invalid"))
    assert Rule.from_json(rule.to_json()) == rule
    assert Rule.from_json({"blank_allowed": True}).blank_mode == "valid"  # rules stored before the mode


@settings(max_examples=200, deadline=None)
@given(choices=st.lists(st.lists(st.sampled_from(C), max_size=2, unique=True), max_size=20),
       mode=st.sampled_from(BLANK_MODES))
def test_every_ballot_is_valid_or_invalid_whatever_the_blank_mode(choices, mode):
    rule = Rule(max_choices=2, **Rule.blank_fields(mode))
    r = tally(C, len(choices), choices, rule)
    blanks = sum(1 for c in choices if not c)
    assert r.valid + r.invalid == r.returned == len(choices)
    assert r.blank == (0 if mode == "refused" else blanks)
    if mode != "valid":
        assert r.valid == len(choices) - blanks


def test_quota_of_the_units_not_already_proposed():
    # Quảng Ninh: 14 units, 1 proposed for the flag, Bằng khen for at most 50% of the other 13 -> 6
    assert quota_cap(Fraction(1, 2), 14, 1) == 6
    assert quota_cap(Fraction(1, 2), 14) == 7
    assert quota_cap(Fraction(1, 5), 4, 1) == 0
    assert quota_cap(Fraction(1, 2), 1, 3) == 0
    bs = [["A", "B", "C"]] * 7 + [["A", "B"]] * 3 + [["A"]] * 2
    rule = Rule(max_choices=3, cap_share=Fraction(1, 5), proposed_before=1, base="eligible")  # 20% of 11 -> 2
    r = tally(C, 12, bs, rule)
    assert r.cap == 2 and r.reached == ["A", "B", "C"] and r.winners == ["A", "B"] and r.outside_cap == ["C"]
    both = tally(C, 12, bs, Rule(max_choices=3, cap=1, cap_share=Fraction(1, 2), proposed_before=1))
    assert both.cap == 1 and both.winners == ["A"]
    assert Rule.from_json(rule.to_json()) == rule
    with pytest.raises(ValueError):
        Rule(cap_share=Fraction(3, 2))


@settings(max_examples=200, deadline=None)
@given(units=st.integers(0, 60), before=st.integers(0, 5),
       share=st.sampled_from([Fraction(1, 2), Fraction(1, 5), Fraction(1, 3), Fraction(1), Fraction(0)]))
def test_quota_never_exceeds_the_share_of_the_remaining_units(units, before, share):
    seats = quota_cap(share, units, before)
    remaining = max(0, units - before)
    assert 0 <= seats <= remaining
    assert Fraction(seats) <= share * remaining < Fraction(seats + 1)


def test_winners_never_exceed_the_effective_cap_and_outside_cap_is_the_rest():
    bs = [["A", "B", "C", "D"]] * 9 + [["A"]] * 1
    r = tally(C, 10, bs, Rule(max_choices=4, cap_share=Fraction(1, 2), proposed_before=4))  # 50% of 6 -> 3
    assert r.cap == 3 and r.winners == ["A"] and sorted(r.tied) == ["B", "C", "D"] and r.seats_left == 2
    assert r.outside_cap == []
    r = tally(C, 10, [["A", "B"]] * 6 + [["A"]] * 4, Rule(max_choices=2, cap=1))
    assert r.winners == ["A"] and r.outside_cap == ["B"]


def test_sheet_facts_name_every_outcome_for_the_minutes():
    from bot.services.tally import sheet_facts

    r = tally(C, 10, [["A", "B"]] * 6 + [["A"]] * 4, Rule(max_choices=2, cap=1))
    facts = sheet_facts(r, str.lower)
    assert facts == {"min_votes": 6, "quorum_met": True, "valid_result": True, "reached": ["a"], "ties": [],
                     "outside_cap": ["b"]}
