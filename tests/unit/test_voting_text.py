"""The secret vote in plain text (TextFront, no aiogram): the head opens a vote in the group by
typing, every representative votes by typing numbers, the head closes it, the counting committee
types its key codes back, the results reach the group."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from bot.app import build_table
from bot.channels.textfront import TextFront
from bot.channels.textual import PendingChoices
from bot.conversations import voting
from bot.conversations.core import CardKey, Chat
from storage.models import Bloc, Person, Representative, Unit
from tests.support.textbloc import JobApp, number_of

GROUP = -500
HEAD = 1
REPS = (11, 12, 13)


class Choices(PendingChoices):
    """TextFront tests `if pending:`; an empty PendingChoices has len 0 (to be fixed in textfront)."""

    def __bool__(self) -> bool:
        return True


async def _seed(front: TextFront, clock) -> None:
    await front.say(HEAD, "Lan", "xin chào")  # each opens the private chat (started)
    for i, rep in enumerate(REPS):
        await front.say(rep, f"Đại diện {i + 1}", "xin chào")
    async with front.db.session() as s:
        people = {p.external_id: p for p in (await s.execute(select(Person))).scalars()}
        bloc = Bloc(chat_id=GROUP, title="Khối Y tế", year=2026, founder_person_id=people[HEAD].id,
                    created_at=clock.now())
        s.add(bloc)
        await s.flush()
        for i, rep in enumerate(REPS):
            unit = Unit(bloc_id=bloc.id, name=f"TTYT {i + 1}", name_key=f"ttyt {i + 1}", position=i,
                        created_at=clock.now())
            s.add(unit)
            await s.flush()
            s.add(Representative(bloc_id=bloc.id, unit_id=unit.id, person_id=people[rep].id, joined_at=clock.now()))
        await s.commit()


async def test_a_whole_vote_in_plain_text(db, clock, settings):
    front = TextFront(build_table(), db, clock, settings, pending=Choices(clock=clock))
    group = Chat("text", GROUP, False)
    await _seed(front, clock)
    await front.say(HEAD, "Lan", "/vote co 2h", chat=group)
    card = front.last_to(GROUP)
    assert "Bỏ phiếu kín #1" in card and "phieu 1" in card
    codes = {}
    for person in (HEAD, *REPS):
        keys = [t for t in front.texts_to(person) if t.startswith("🔑")]
        if keys:
            codes[person] = re.search(r"(K1-\d-[A-Z2-7-]+)", keys[0]).group(1)
    assert len(codes) == 3
    for i, rep in enumerate(REPS):
        name = f"Đại diện {i + 1}"
        ballot = (await front.say(rep, name, "phieu 1"))[-1]
        assert "Trả lời số đơn vị bạn chọn, ví dụ 3 hoặc 1,4,7" in ballot
        review = (await front.say(rep, name, number_of(ballot, "TTYT 1")))[-1]
        assert "Gõ CO để gửi phiếu" in review and "• TTYT 1" in review
        done = (await front.say(rep, name, ("CO", "có", "co")[i]))[-1]
        assert f"Phiếu của TTYT {i + 1} đã vào hòm phiếu" in done and "Mã biên nhận" in done
    await front.say(HEAD, "Lan", "/close", chat=group)
    assert "Đóng cuộc bỏ phiếu #1" in front.last_to(GROUP) and "3/3 đơn vị đã bỏ phiếu" in front.last_to(GROUP)
    # A text channel's group has no numbered choices (they are remembered per private chat): the
    # vote closes at its time instead, through the closer job and the app's delivery.
    clock.advance(hours=3)
    assert await voting.tick(JobApp(front)) == 1
    assert CardKey("vote", 1) in front.refreshed  # the card says the box is locked
    for person, code in list(codes.items())[:2]:
        said = await front.say(person, "x", code)
        assert "Đã nhận khóa" in said[-1], said  # the second key opens and counts the box
    results = [t for t in front.texts_to(GROUP) if "Kết quả bỏ phiếu" in t]
    assert results, front.texts_to(GROUP)
    assert "TTYT 1" in results[-1]


def test_the_conversation_pulls_no_aiogram():
    code = "import sys, bot.conversations.voting; sys.exit(any(m.split('.')[0] == 'aiogram' for m in sys.modules))"
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0
