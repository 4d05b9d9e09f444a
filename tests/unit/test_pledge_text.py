"""The pledge conversation end to end in plain numbered text (the text front, no aiogram)."""

from __future__ import annotations

import subprocess
import sys

from sqlmodel import select

from storage.models import PledgeSignature
from tests.support.textbloc import text_bloc


async def test_pledge_in_plain_text(db, clock, settings):
    tb = await text_bloc(db, clock, settings, reps=2)
    front, group = tb.front, tb.group
    rep1, rep2 = tb.reps

    refused = await front.say(rep1, "Đại diện 1", "/pledge Giao ước", chat=group)
    assert "Chỉ Trưởng khối" in refused[-1]

    posted = await front.say(tb.head, "Lan", "/pledge Các đơn vị cam kết <hoàn thành> chỉ tiêu.", chat=group)
    post = "\n".join(posted)
    assert "Giao ước thi đua" in post and "<hoàn thành>" in post  # escaped for HTML, shown as typed here
    assert "0/5" in post
    word = next(line for line in post.splitlines() if ": gõ " in line).split(": gõ ")[1].strip()
    assert word.startswith("camket ")

    prompt = "\n".join(await front.say(rep1, "Đại diện 1", word))  # the typed word instead of the deep link
    assert "1 · " in prompt and "Trả lời bằng số" in prompt
    done = "\n".join(await front.say(rep1, "Đại diện 1", "1"))
    assert "TTYT thị xã Đông Triều đã xác nhận tham gia giao ước" in done

    again = "\n".join(await front.say(rep1, "Đại diện 1", "/sign"))
    assert "1 · " not in again  # already signed: no button to press twice
    assert "đã xác nhận tham gia giao ước" in again

    status = "\n".join(await front.say(tb.head, "Lan", "/pledge", chat=group))
    assert "1/5" in status
    async with db.session() as session:
        rows = (await session.execute(select(PledgeSignature))).scalars().all()
    assert len(rows) == 1

    # a number that matches no choice, or a stale one, changes nothing
    lost = await front.say(rep2, "Đại diện 2", "7")
    assert lost and "/help" in lost[-1]  # told what to do, never silence
    async with db.session() as session:
        assert len((await session.execute(select(PledgeSignature))).scalars().all()) == 1


def test_text_front_and_conversations_import_no_aiogram():
    code = ("import sys, bot.channels.textfront, bot.conversations.table, bot.conversations.core; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

