"""The approval rule over the tally: a ballot is the set of proposals it agrees with (unmarked is
disagree), so every ballot is valid, agree + disagree = valid ballots for each proposal, and every
proposal whose agree share reaches the threshold passes (no cap, no tie)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from bot.services.tally import Rule, tally
from bot.services.voting.lifecycle import approval_rule
from bot.services.voting.parse import VoteSpec


@given(st.integers(min_value=1, max_value=6).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(min_value=0, max_value=8),
    st.lists(st.sets(st.integers(min_value=0, max_value=n - 1)), max_size=20))),
    st.sampled_from(["eligible", "returned", "valid"]), st.sampled_from(["80%", "1/2", None]), st.booleans())
def test_approval_counts(case, base, threshold, strict):
    n, absent, ballots = case
    eligible = len(ballots) + absent
    spec = VoteSpec(kind="approval", threshold=threshold if threshold != "80%" else "4/5", strict=strict)
    bloc_rule = Rule(max_choices=n, base=base, blank_allowed=False, blank_invalid=True, self_vote=False, cap=1)
    rule = approval_rule(bloc_rule, spec)
    result = tally(list(range(n)), eligible, [sorted(b) for b in ballots], rule)
    assert result.invalid == 0 and result.valid == len(ballots)  # an all-disagree ballot is valid
    for count in result.counts:
        agree = sum(count.candidate in b for b in ballots)
        assert count.votes == agree and 0 <= result.valid - agree <= result.valid
    if result.quorum_met:
        base_count = {"eligible": eligible, "returned": len(ballots), "valid": len(ballots)}[base]
        share = rule.threshold
        passing = {c.candidate for c in result.counts if base_count and (
            Fraction(c.votes, base_count) > share if rule.strict else Fraction(c.votes, base_count) >= share)}
        assert set(result.winners) == passing and not result.tied
    if threshold is None:
        assert rule.threshold == bloc_rule.threshold and rule.strict == bloc_rule.strict
    else:
        assert rule.strict == strict


def test_eighty_percent_at_least():
    rule = approval_rule(Rule(max_choices=2), VoteSpec(kind="approval", threshold="4/5", strict=False))
    result = tally([0, 1], 10, [[0]] * 8 + [[1]] * 1 + [[]], rule)
    assert result.winners == [0] and result.valid == 10  # 8/10 = 80% reaches "từ 80% trở lên"; 1/10 does not
    stricter = approval_rule(Rule(max_choices=2), VoteSpec(kind="approval", threshold="4/5", strict=True))
    assert tally([0, 1], 10, [[0]] * 8 + [[1]] * 1 + [[]], stricter).winners == []  # "trên 80%": 8/10 is not
