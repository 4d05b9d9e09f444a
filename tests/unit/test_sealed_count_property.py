"""For random votes: the count from the decrypted ballots equals the count from the published board
equals the count of the choices as cast (hypothesis; no database: the sealing, the board and the tally)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services import ballot_box
from bot.services import voting as svc
from bot.services.tally import Rule, tally


@st.composite
def votes(draw):
    options = draw(st.integers(min_value=2, max_value=20))
    max_choices = draw(st.integers(min_value=1, max_value=options))
    ballots = draw(st.lists(st.lists(st.integers(0, options - 1), max_size=max_choices, unique=True).map(sorted),
                            min_size=0, max_size=30))
    k = draw(st.integers(min_value=2, max_value=5))
    n = draw(st.integers(min_value=k, max_value=7))
    return options, max_choices, ballots, k, n


@settings(max_examples=40, deadline=None)
@given(votes())
def test_decrypted_count_equals_board_equals_cast(vote):
    options, max_choices, cast, k, n = vote
    secret = ballot_box.new_secret()
    public = ballot_box.public_key_b64(secret)
    shares = ballot_box.split(secret, k, n)
    sealed, receipts = [], []
    for choices in cast:
        receipt = ballot_box.new_receipt()
        receipts.append(receipt)
        sealed.append(ballot_box.seal(public, ballot_box.encode_ballot(options, choices, receipt)))
    assert len({len(c) for c in sealed}) <= 1  # one size per vote, whatever the choices
    key = ballot_box.private_key(ballot_box.combine(shares[-k:]))  # any k shares
    board = sorted(ballot_box.decode_ballot(ballot_box.unseal(key, c), options) for c in sealed)
    assert sorted(r for r, _c in board) == sorted(receipts)
    rule = Rule(max_choices=max_choices, cap=max_choices)
    eligible = max(len(cast), 1)
    direct = tally(list(range(options)), eligible, cast, rule)
    decrypted = tally(list(range(options)), eligible, [c for _r, c in board], rule)
    option_rows = [{"label": f"Đơn vị {i}", "unit_id": i} for i in range(options)]
    recount = svc.recount_board(svc.board_csv(option_rows, board), options, eligible, rule)
    for result in (decrypted, recount):
        assert [(c.candidate, c.votes) for c in result.counts] == [(c.candidate, c.votes) for c in direct.counts]
        assert (result.valid, result.blank, result.winners) == (direct.valid, direct.blank, direct.winners)
    if k > 2:  # fewer than k shares rebuild another key, which opens nothing
        wrong = ballot_box.private_key(ballot_box.combine(shares[: k - 1]))
        assert all(ballot_box.unseal(wrong, c) is None for c in sealed)


def test_receipt_codes_use_every_base32_character_in_every_place():
    """A receipt is 10 random base32 characters, XXXXX-XXXXX: none repeats in 2,000 codes, and each of
    the 32 characters turns up in each of the 10 places (a bias, e.g. hex digits only or a constant
    place, would leave some out: about 62 of each are expected)."""
    import re
    import string

    codes = [ballot_box.new_receipt() for _ in range(2000)]
    assert all(re.fullmatch(r"[A-Z2-7]{5}-[A-Z2-7]{5}", code) for code in codes)
    assert len(set(codes)) == len(codes)
    alphabet = set(string.ascii_uppercase + "234567")
    places = [{code.replace("-", "")[i] for code in codes} for i in range(ballot_box.RECEIPT_LEN)]
    assert all(place == alphabet for place in places)
