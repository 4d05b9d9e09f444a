"""Wording for channels without buttons (Zalo), rendered from the same views: the ballot by typed
numbers ("3", "1,4,7", "1 4 7") then "CO", the RSVP on one line, the assessment form's scores (one
or several per message) winning over numbered choices, and no part over 2,000 characters."""

from __future__ import annotations

from sqlmodel import select

from bot.channels.textual import TEXT_LIMIT, PendingChoices, render_textual
from bot.conversations import ballot as act
from bot.conversations.actions import unpack_any
from bot.services import ballot_box
from bot.views.base import MASK_SLOT, Action, Reply, Typed
from storage.models import BallotBox
from tests.support.textbloc import text_bloc
from tests.unit.test_assessment_text import REP
from tests.unit.test_upload_page import _letter, _open_form


async def test_a_ballot_by_typed_numbers_goes_through_the_buttons_actions(db, clock, settings):
    bloc = await text_bloc(db, clock, settings, reps=2)
    front, rep = bloc.front, bloc.reps[0]
    await front.say(bloc.head, "Lan", "/vote bangkhen 2 2h", chat=bloc.group)
    ballot = "\n".join(await front.say(rep, "Mai", "phieu 1"))
    assert "1 · TTYT huyện Tiên Yên" in ballot and "5 · TTYT huyện Hải Hà" in ballot
    assert "Trả lời số đơn vị bạn chọn, ví dụ 3 hoặc 1,4,7" in ballot and "Chọn tối đa 2 đơn vị" in ballot
    assert "Tiếp tục" not in ballot and "☐" not in ballot  # no button talk

    # Too many, or a number not in the list: a clear refusal, and the ballot still takes numbers.
    refused = (await front.say(rep, "Mai", "1,4,5"))[-1]
    assert "Chỉ được chọn tối đa 2 đơn vị" in refused and "đã gõ 3" in refused
    assert "Không có số 9" in (await front.say(rep, "Mai", "9"))[-1]

    review = "\n".join(await front.say(rep, "Mai", "1 4"))  # spaces work as commas
    assert "• TTYT huyện Tiên Yên" in review and "• TTYT thành phố Uông Bí" in review
    assert "Gõ CO để gửi phiếu" in review
    # The typed pick is the Review action with the same bit mask the "Next" button would carry.
    typed = front.pending.resolve("text", str(rep), "1 3")
    assert unpack_any(typed) == act.Review(1, ballot_box.mask_of([0, 2]))

    review = "\n".join(await front.say(rep, "Mai", "3"))  # typing numbers again chooses again
    assert "• TTYT thị xã Quảng Yên" in review and "Uông Bí" not in review
    done = (await front.say(rep, "Mai", "CÓ"))[-1]
    assert "đã vào hòm phiếu" in done and "Mã biên nhận" in done
    async with db.session() as session:
        (box,) = (await session.execute(select(BallotBox))).scalars().all()
        assert len(box.ballots) == 1  # the one sealed box, through the one cast step


async def test_a_blank_ballot_is_typed_as_a_word(db, clock, settings):
    bloc = await text_bloc(db, clock, settings, reps=1)
    front, rep = bloc.front, bloc.reps[0]
    await front.say(bloc.head, "Lan", "/vote bangkhen 2 2h", chat=bloc.group)
    ballot = "\n".join(await front.say(rep, "Mai", "phieu 1"))
    assert "Gõ TRANG để bỏ phiếu trắng" in ballot
    review = "\n".join(await front.say(rep, "Mai", "trắng"))
    assert "phiếu trắng" in review and "Gõ CO" in review


def test_rsvp_on_one_line_and_its_words():
    reply = Reply("Họp", [[Action("✅ Tham dự", "ma:1:a", short="Dự"), Action("❌ Vắng mặt", "ma:1:x", short="Vắng"),
                           Action("👤 Cử người dự thay", "ma:1:s", short="Cử người thay")],
                          [Action("🔕 Không nhắc việc này nữa", "mu:1")]])
    parts, choices = render_textual(reply)
    assert "1 Dự · 2 Vắng · 3 Cử người thay" in parts[0] and "4 · 🔕 Không nhắc việc này nữa" in parts[0]
    assert choices == {1: "ma:1:a", 2: "ma:1:x", 3: "ma:1:s", 4: "mu:1"}
    pending = PendingChoices()
    pending.remember_reply("zalo", "7", reply)
    assert pending.resolve("zalo", "7", "vang") == "ma:1:x"
    assert pending.resolve("zalo", "7", "Cử người thay") == "ma:1:s"


def test_no_part_over_2000_characters_and_no_line_cut():
    names = [f"{i} · Trung tâm Y tế huyện số {i} — đơn vị có tên rất dài để thử giới hạn của Zalo"
             for i in range(1, 80)]
    reply = Reply("Phiếu", [[Action(n, f"vt:1:0:{i}")] for i, n in enumerate(names)],
                  typed=Typed(lines=tuple(names), pick="vc:1:" + MASK_SLOT, count=79, limit=3))
    parts, _choices = render_textual(reply)
    assert len(parts) > 1 and all(len(p) <= TEXT_LIMIT for p in parts)
    lines = [line for p in parts for line in p.splitlines()]
    assert all(n in lines for n in names)  # split on line boundaries


async def test_a_score_typed_during_the_form_is_the_score_not_a_numbered_choice(db, clock, settings):
    front, card = await _open_form(db, clock, settings)
    assert "Tiêu chí 1/3" in card
    # The card's choices are lettered: "7" is the score of criterion 1 (max 10), not its 7th button.
    assert _letter(card, "Minh chứng") and "7 ·" not in card
    nxt = "\n".join(await front.say(REP, "Mai", "7"))
    assert "Tiêu chí 2/3" in nxt
    summary = "\n".join(await front.say(REP, "Mai", _letter(nxt, "Tổng hợp")))
    assert "A. Chuyên môn: 7" in summary


async def test_several_scores_in_one_message(db, clock, settings):
    front, card = await _open_form(db, clock, settings)
    assert "1:8 2:9,5 3:10" in card  # the card says how
    refused = (await front.say(REP, "Mai", "1:8 2:9,5 3:1"))[-1]  # criterion 2 has at most 5 points
    assert "Tiêu chí 2" in refused
    card = "\n".join(await front.say(REP, "Mai", "3:1"))
    assert "Tiêu chí 1/3" in card and "Điểm: chưa chấm" in card  # the refused message wrote nothing
    summary = "\n".join(await front.say(REP, "Mai", "1:8 2:4,5 3:1.5"))  # decimal comma or point
    assert "Đã ghi điểm 3 tiêu chí" in summary and "Tổng điểm: 14" in summary
    # Nothing was written by the refused message: only the accepted scores count.
    part = "\n".join(await front.say(REP, "Mai", "1:6"))
    assert "Tổng điểm: 12" in part


def test_short_labels_survive_the_outbox():
    """A private meeting reminder goes through the outbox: its RSVP row still reads "1 Dự · 2 Vắng…"."""
    from bot.outbox import OutboxWorker
    from bot.services.reminders import reply_fields
    from storage.models import OutboxMessage

    rsvp = [Action("✅ Tham dự", "ma:1:a", short="Dự"), Action("❌ Vắng mặt", "ma:1:x", short="Vắng")]
    reply = Reply("Nhắc họp", [rsvp, [Action("🔕 Không nhắc việc này nữa", "mu:1")]])
    row = OutboxMessage(**reply_fields(reply))
    back = OutboxWorker._reply(OutboxWorker.__new__(OutboxWorker), row)
    assert back.actions == reply.actions
    assert "1 Dự · 2 Vắng" in render_textual(back)[0][0]
