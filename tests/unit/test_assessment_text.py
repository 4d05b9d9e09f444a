"""The self-assessment in plain text (TextFront, no aiogram): the head opens a round in the group by
typing, a representative opens the form with a start word, types the scores and submits by
choosing a numbered line."""

from __future__ import annotations

import re

from bot.app import build_table
from bot.channels.textfront import TextFront
from bot.channels.textual import PendingChoices
from bot.conversations.core import Chat
from bot.services import assessments as svc
from bot.services import blocs, invites, people, scoring, units

GROUP_ID, HEAD, REP = -5001, 11, 12


async def _bloc(db, clock):
    """A bloc founded by the head, two units, one representative, a three-line scoring table."""
    async with db.session() as session:
        head = await people.touch_person(session, clock, HEAD, "Lan", None, "vi", channel="text", private=True)
        bloc = await blocs.setup_bloc(session, clock, GROUP_ID, "Khối thi đua Y tế", head, "vi",
                                      "Asia/Ho_Chi_Minh", is_admin=True)
        await units.add_units(session, clock, bloc, [("TTYT Đông Triều", None), ("TTYT Uông Bí", None)], head.id)
        unit = (await units.list_units(session, bloc.id))[0]
        (link,) = await invites.issue_links(session, clock, bloc, [unit], 7, head.id)
        rep = await people.touch_person(session, clock, REP, "Mai", None, "vi", channel="text", private=True)
        await invites.join(session, clock, link.payload, rep)
        member = await blocs.member_of(session, bloc, head)
        rows = [scoring.CriterionRow("1.1", "A. Chuyên môn", "Hoàn thành kế hoạch", 10.0),
                scoring.CriterionRow("1.2", "A. Chuyên môn", "Báo cáo đúng hạn", 5.0),
                scoring.CriterionRow("T", "Điểm thưởng", "Thành tích nổi bật", 2.0, "bonus")]
        await svc.load_table(session, clock, member, rows, "bang.csv")


class _Choices(PendingChoices):
    """TextFront tests `if pending` and an empty PendingChoices has len 0: keep it truthy."""

    def __bool__(self) -> bool:
        return True


def _choice(text: str, label: str) -> str:
    """The number of the line whose label contains `label`."""
    for line in text.splitlines():
        found = re.match(r"\s*(\d+) · (.*)", line)
        if found and label in found.group(2):
            return found.group(1)
    raise AssertionError(f"no choice {label!r} in:\n{text}")


async def test_round_and_form_in_plain_text(db, clock, settings):
    await _bloc(db, clock)
    front = TextFront(build_table(), db, clock, settings, pending=_Choices(clock=clock))
    group = Chat("text", GROUP_ID, False)

    await front.say(HEAD, "Lan", "/assessment 30/11/2026 17:00", chat=group)
    post = front.last_to(GROUP_ID)
    assert "Tự chấm điểm thi đua năm 2026" in post and "Hạn nộp: 17:00 ngày 30/11/2026" in post
    assert "0/2 đơn vị đã nộp" in post

    async with db.session() as session:
        rnd = await svc.open_round_of(session, (await blocs.bloc_by_chat(session, GROUP_ID)).id)
    card = "\n".join(await front.say(REP, "Mai", f"tudanhgia {rnd.id}"))
    assert "Tiêu chí 1/3" in card and "Hoàn thành kế hoạch" in card

    card = "\n".join(await front.say(REP, "Mai", "8,5"))
    assert "Tiêu chí 2/3" in card and "Báo cáo đúng hạn" in card
    card = "\n".join(await front.say(REP, "Mai", "4,5"))
    assert "Tiêu chí 3/3" in card
    refused = "\n".join(await front.say(REP, "Mai", "2,5"))  # above the bonus line's maximum
    assert "Tiêu chí 3/3" not in refused
    summary = "\n".join(await front.say(REP, "Mai", "1,5"))
    assert "Tổng hợp" in summary and "Tổng điểm: 14,5" in summary

    done = "\n".join(await front.say(REP, "Mai", _choice(summary, "Nộp")))
    assert "đã nộp bảng tự chấm điểm" in done and "14,5" in done

    await front.say(HEAD, "Lan", "/assessment", chat=group)
    status = front.last_to(GROUP_ID)
    assert "TTYT Đông Triều — đã nộp" in status and "14,5" not in status  # no scores in the group
