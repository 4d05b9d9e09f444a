"""The approval ballot in plain text (TextFront, the Zalo path): proposals by unit number, each
representative switches a proposal to "Đồng ý" by typing its number, casts, gets a receipt; the
committee opens the box and the group gets agree/disagree per proposal."""

from __future__ import annotations

import re

from bot.app import build_table
from bot.channels.textfront import TextFront
from bot.conversations import voting
from bot.conversations.core import Chat
from tests.support.textbloc import JobApp
from tests.unit.test_voting_text import GROUP, HEAD, REPS, Choices, _seed, number_of


async def test_approval_vote_in_plain_text(db, clock, settings):
    front = TextFront(build_table(), db, clock, settings, pending=Choices(clock=clock))
    group = Chat("text", GROUP, False)
    await _seed(front, clock)
    await front.say(HEAD, "Lan", "/vote dongy 1,2 2h", chat=group)
    card = front.last_to(GROUP)
    assert "Danh sách đề nghị" in card and "1. TTYT 1" in card and "2. TTYT 2" in card and "TTYT 3" not in card
    codes = {person: re.search(r"(K1-\d-[A-Z2-7-]+)", t).group(1)
             for person in (HEAD, *REPS) for t in front.texts_to(person) if t.startswith("🔑")}
    for i, rep in enumerate(REPS):
        name = f"Đại diện {i + 1}"
        ballot = (await front.say(rep, name, "phieu 1"))[-1]
        assert "Không đồng ý: TTYT 1" in ballot and "Không đồng ý: TTYT 2" in ballot
        if i < 2:  # two of three agree with TTYT 1; nobody agrees with TTYT 2
            ballot = (await front.say(rep, name, number_of(ballot, "TTYT 1")))[-1]
            assert "Đồng ý: TTYT 1" in ballot and "Đồng ý: 1 · Không đồng ý: 1" in ballot
        review = (await front.say(rep, name, number_of(ballot, "Tiếp tục")))[-1]
        done = (await front.say(rep, name, number_of(review, "phiếu")))[-1]
        assert "Mã biên nhận" in done
    clock.advance(hours=3)
    assert await voting.tick(JobApp(front)) == 1
    for person, code in list(codes.items())[:2]:
        await front.say(person, "x", code)
    results = [t for t in front.texts_to(GROUP) if "Kết quả bỏ phiếu" in t][-1]
    assert "1. TTYT 1: đồng ý 2/3 (66,67%), không đồng ý 1 ✅" in results
    assert "2. TTYT 2: đồng ý 0/3 (0,00%), không đồng ý 3" in results
