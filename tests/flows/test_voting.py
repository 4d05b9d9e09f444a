"""Secret ballot through the Dispatcher: open (one line and buttons), the group card and its turnout
line, the private ballot (toggle, limit, confirm, cast, receipt), one ballot per unit, close,
results with chart/minutes/receipt list, cancel, extend, runoff, reminders and the closer."""

from __future__ import annotations

import asyncio
import io
import re

from aiogram.types import User
from docx import Document
from sqlmodel import select

from bot.conversations import ballot as act
from bot.conversations.actions import unpack_any
from bot.services import voting as svc
from storage.models import BallotBox, OutboxMessage, Poll
from tests.flows.test_assessment_form import bloc_with_reps, button, start_payloads
from tests.flows.test_invites_roles import UNITS


def card_of(flow):
    """The latest vote card sent to the group."""
    for s in reversed(flow.sent):
        if s.chat_id == flow.group.id and s.method == "sendMessage" and s.text and "Bỏ phiếu kín" in s.text:
            return s
    raise AssertionError("no vote card")


def msg_buttons(flow, sent):
    """(label, data, url) of the buttons the message shows now (after edits)."""
    markup = flow.messages[(sent.chat_id, sent.message_id)].reply_markup
    return [(b.text, b.callback_data, b.url) for row in markup.inline_keyboard for b in row] if markup else []


def current_text(flow, sent):
    return flow.messages[(sent.chat_id, sent.message_id)].text


def action_on(flow, sent, kind, index=None):
    """The packed data of the message's current button of that typed action (the Tick of `index`)."""
    for _label, data, _url in msg_buttons(flow, sent):
        if data and kind.matches(data):
            action = unpack_any(data)
            if index is None or getattr(action, "index", getattr(action, "seat", None)) == index:
                return data
    raise AssertionError(f"no {kind.__name__} button")


async def press(flow, user, sent, kind, index=None):
    return await flow.click(user, sent, action_on(flow, sent, kind, index))


def key_messages(flow, poll_id):
    """The key-share messages the committee got in private: [(chat id, Sent)]."""
    return [s for s in flow.sent if s.method == "sendMessage" and s.text and s.text.startswith("🔑")
            and f"<code>K{poll_id}-" in s.text]  # the code's own start: "K12-" may occur inside another code


async def open_box(flow, poll_id, members=2):
    """`members` committee members press their key buttons: the box opens at k."""
    for sent in key_messages(flow, poll_id)[:members]:
        member = User(id=sent.chat_id, is_bot=False, first_name="member", language_code="vi")
        if action_on_or_none(flow, sent, act.HandKey):
            await press(flow, member, sent, act.HandKey)


def action_on_or_none(flow, sent, kind):
    try:
        return action_on(flow, sent, kind)
    except AssertionError:
        return None


async def close_and_count(flow, head, poll_id):
    await flow.send(head, "/close", chat=flow.group)
    await press(flow, head, flow.last(flow.group.id), act.CloseNow)
    await open_box(flow, poll_id)


async def open_ballot(flow, rep, payload):
    await flow.send(rep, f"/start {payload}")
    return flow.last(rep.id)


async def vote(flow, rep, payload, picks: list[int]):
    """Tick candidates number `picks` (1-based), confirm, cast. Returns the receipt text."""
    ballot = await open_ballot(flow, rep, payload)
    for pick in picks:
        await press(flow, rep, ballot, act.Tick, pick - 1)
    await press(flow, rep, ballot, act.Review)
    await press(flow, rep, ballot, act.Cast)
    return current_text(flow, ballot)


async def test_one_line_open_card_cast_once_close_results(flow, fetch, clock):
    head, reps = await bloc_with_reps(flow, count=4)
    await flow.send(reps[0], "/vote flag", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    await flow.send(head, "/vote flag 18:00 25/12/2026", chat=flow.group)
    card = card_of(flow)
    assert "Cờ thi đua" in card.text and UNITS[0] in card.text
    assert "18:00 ngày 25/12/2026" in card.text and "0/5 đơn vị đã bỏ phiếu" in card.text
    assert "trên 1/2" in card.text and "từ 2/3 số đơn vị trở lên" in card.text
    (payload,) = start_payloads(flow, card, "v_")
    assert re.fullmatch(r"v_\d+", payload)

    ballot = await open_ballot(flow, reps[0], payload)
    poll_id = payload[2:]
    labels = [b[0] for b in flow.buttons(ballot)]
    assert labels[0].startswith("☐ ") and "(đơn vị của bạn)" in labels[0]
    assert all(len(d.encode()) <= 64 for _l, d, _u in flow.buttons(ballot) if d)
    await press(flow, reps[0], ballot, act.Tick, 1)
    assert msg_buttons(flow, ballot)[1][0].startswith("☑")
    await press(flow, reps[0], ballot, act.Tick, 2)  # one more than allowed
    assert "tối đa 1" in flow.answered()[-1]
    cast = action_on(flow, ballot, act.Tick, 0)
    await press(flow, reps[0], ballot, act.Review)
    confirm = current_text(flow, ballot)
    assert "Kiểm tra lại phiếu" in confirm and UNITS[1] in confirm
    cast = action_on(flow, ballot, act.Cast)
    await flow.click(reps[0], ballot, cast)
    done = current_text(flow, ballot)
    assert "Mã biên nhận" in done and UNITS[1] not in done  # the chat keeps the receipt, not the choice
    code = re.search(r"<code>([A-Z2-7]{5}-[A-Z2-7]{5})</code>", done).group(1)
    await flow.app.cards.flush(everything=True)  # what the scheduler does within CARD_DELAY seconds
    assert "1/5 đơn vị đã bỏ phiếu" in current_text(flow, card)

    await flow.click(reps[0], ballot, cast)  # replayed button
    assert "Đơn vị đã bỏ phiếu" in flow.answered()[-1]
    await flow.send(reps[0], f"/start {payload}")
    assert "Đơn vị đã bỏ phiếu" in flow.last_text(reps[0].id)

    for rep, pick in ((reps[1], 2), (reps[2], 2), (reps[3], 3)):
        assert "Mã biên nhận" in await vote(flow, rep, payload, [pick])
    await flow.app.cards.flush(everything=True)
    assert "4/5 đơn vị đã bỏ phiếu" in current_text(flow, card)
    await flow.send(head, "/results", chat=flow.group)
    assert "Chưa có cuộc bỏ phiếu nào" in flow.last_text(flow.group.id)  # never partial results

    await flow.send(reps[1], "/close", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    await flow.send(head, "/close", chat=flow.group)
    ask = flow.last(flow.group.id)
    assert "Đóng" in ask.text
    close = action_on(flow, ask, act.CloseNow)
    await flow.click(reps[1], ask, close)  # rights are checked on the button too
    assert "Chỉ Trưởng khối" in flow.answered()[-1]
    await flow.click(head, ask, close)
    assert "Hòm phiếu đã khóa" in current_text(flow, card) and "(0/2)" in current_text(flow, card)
    await flow.send(head, "/results", chat=flow.group)
    assert "Kết quả bỏ phiếu" not in flow.last_text(flow.group.id)  # locked: nothing to show yet
    await open_box(flow, int(poll_id), members=1)
    assert "(1/2)" in current_text(flow, card)
    assert not [s for s in flow.sent if s.chat_id == flow.group.id and s.text and "Kết quả bỏ phiếu" in s.text]
    await open_box(flow, int(poll_id), members=2)
    results = [s for s in flow.sent if s.chat_id == flow.group.id and s.text and "Kết quả bỏ phiếu" in s.text][-1]
    assert "Số phiếu phát ra: 5" in results.text and "thu về: 4" in results.text
    assert f"1. {UNITS[1]}: 3/5 phiếu, tỷ lệ 60,00%" in results.text  # numbers in the reader's locale
    minutes = [s for s in flow.sent if (s.filename or "").endswith(".docx")][-1]
    doc = Document(io.BytesIO(minutes.request.document.data))
    text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert "Đơn vị được suy tôn dẫn đầu khối, đề nghị tặng Cờ thi đua:" in text  # the flag's own heading
    assert "Số phiếu tối thiểu để đạt: 3 phiếu" in text  # more than 1/2 of 5 units: 3, not 2.5
    assert f"{UNITS[1]}" in results.text.split("Đơn vị được suy tôn dẫn đầu khối, đề nghị tặng Cờ thi đua:")[1]
    files = [s.filename for s in flow.sent if s.method in ("sendPhoto", "sendDocument")]
    assert any(f.endswith(".png") for f in files) and any(f.endswith(".docx") for f in files)
    assert "đã đóng" in current_text(flow, card).lower()
    assert not [u for _l, _d, u in msg_buttons(flow, card) if u and "start=v_" in u]

    await flow.click(head, ask, close)  # second close: nothing new
    assert "đã đóng" in current_text(flow, ask)
    await flow.send(reps[2], f"/start {payload}")
    assert "đã đóng" in flow.last_text(reps[2].id)
    await flow.send(head, "/results", chat=flow.group)
    assert "Kết quả bỏ phiếu" in flow.last_text(flow.group.id) and code not in flow.last_text(flow.group.id)
    (box,) = await fetch(select(BallotBox))
    assert len(box.ballots) == 4 and len(box.voters) == 4


async def test_bad_input_gets_clear_answers(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=1)
    outsider = flow.user("Khách")
    await flow.send(head, "/vote bogus", chat=flow.group)
    assert "Không có loại bỏ phiếu" in flow.last_text(flow.group.id)
    await flow.send(head, "/vote flag 10:00 01/01/2020", chat=flow.group)
    assert "đã qua" in flow.last_text(flow.group.id)
    await flow.send(head, "/vote flag -9", chat=flow.group)
    assert "Không có đơn vị số 9" in flow.last_text(flow.group.id)
    await flow.send(head, "/vote custom Chỉ một? | A", chat=flow.group)
    assert "ít nhất hai phương án" in flow.last_text(flow.group.id)
    assert not await fetch(select(Poll))
    await flow.send(head, "/vote merit 2 -1", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    assert f"1. {UNITS[0]}" not in card_of(flow).text and f"1. {UNITS[1]}" in card_of(flow).text
    await flow.send(reps[0], "/ballots", chat=flow.group)
    assert "tin nhắn riêng" in flow.last_text(flow.group.id)
    await flow.send(outsider, f"/start {payload}")
    assert "chưa được đăng ký làm đại diện" in flow.last_text(outsider.id)
    await flow.send(reps[0], "/start v_999999")
    assert "không tồn tại" in flow.last_text(reps[0].id)
    for big in ("v_999999999999", "v_0", "v_2147483648"):
        await flow.send(reps[0], f"/start {big}")
        assert "không tồn tại" in flow.last_text(reps[0].id)
    await flow.send(reps[0], "/start v_abc")
    assert "không đúng" in flow.last_text(reps[0].id)
    await flow.send(reps[0], "/vote flag")
    assert "nhóm chung" in flow.last_text(reps[0].id)
    await flow.send(reps[0], "/ballots")
    assert "chưa bỏ phiếu" in flow.last_text(reps[0].id) and start_payloads(flow, flow.last(reps[0].id), "v_")


async def test_one_line_parser_refuses_what_it_does_not_understand(flow, fetch):
    head, _reps = await bloc_with_reps(flow, count=1)
    for line, reason in (("/vote merit 0", "từ 1 trở lên"), ("/vote flag 25-12-2026 18:00", "Không đọc được ngày"),
                         ("/vote flag tomorrow", "Không hiểu “tomorrow”"), ("/vote flag 2h30", "chưa rõ nghĩa"),
                         ("/vote flag bkp", "số thứ tự đơn vị"), ("/vote flag | A | B", "chỉ dùng khi biểu quyết")):
        await flow.send(head, line, chat=flow.group)
        answer = flow.last_text(flow.group.id)
        assert reason in answer and "Ví dụ" in answer, line
    assert not await fetch(select(Poll))
    await flow.send(head, "/vote bangkhen 2 trừ 2 5", chat=flow.group)
    (poll,) = await fetch(select(Poll))
    assert [o["label"] for o in poll.options] == [UNITS[0], UNITS[2], UNITS[3]]
    await flow.send(head, "/vote extend 1 2h30m", chat=flow.group)
    assert any("gia hạn" in t for t in flow.texts(flow.group.id))


async def test_two_representatives_of_one_unit_one_ballot(flow, fetch):
    from tests.flows.test_invites_roles import invite_links, join, make_bloc

    head = flow.user("Lan", admin=True)
    await make_bloc(flow, head)
    links = await invite_links(flow, head)
    first, second = flow.user("A"), flow.user("B")
    await join(flow, first, links[0])
    flow.sent.clear()
    await flow.send(head, "/invite 1", chat=flow.group)
    fresh = re.findall(r"start=(j_[A-Za-z0-9_-]+)", "\n".join(flow.texts(head.id)))
    await join(flow, second, fresh[-1])
    await flow.send(head, "/vote head", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    b1 = await open_ballot(flow, first, payload)
    b2 = await open_ballot(flow, second, payload)
    for user, ballot, pick in ((first, b1, 0), (second, b2, 1)):
        await press(flow, user, ballot, act.Tick, pick)
        await press(flow, user, ballot, act.Review)
    c1, c2 = action_on(flow, b1, act.Cast), action_on(flow, b2, act.Cast)
    await asyncio.gather(flow.click(first, b1, c1), flow.click(second, b2, c2), flow.click(first, b1, c1))
    (box,) = await fetch(select(BallotBox))
    assert len(box.ballots) == 1 and len(box.voters) == 1
    assert any("Đơn vị đã bỏ phiếu" in a for a in flow.answered())


async def test_dialog_buttons_open_a_merit_vote(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=1)
    await flow.send(head, "/vote", chat=flow.group)
    menu = flow.last(flow.group.id)
    await flow.click(head, menu, button(flow, menu, "Bằng khen"))
    count = menu
    await flow.click(reps[0], count, act.OpenDialog("merit", 3).pack())
    assert "Chỉ Trưởng khối" in flow.answered()[-1]
    await flow.click(head, count, act.OpenDialog("merit", 3).pack())
    closing = menu
    assert "Trưởng khối đóng bằng lệnh /close" in [b[0] for b in msg_buttons(flow, closing)]
    await flow.click(head, closing, act.OpenDialog("merit", 3, "24h").pack())
    (poll,) = await fetch(select(Poll))
    assert poll.kind == "merit" and svc.rule_of(poll).max_choices == 3 and poll.closing_at is not None
    assert "Bằng khen" in card_of(flow).text


async def test_cancel_extend_and_status(flow, fetch, clock):
    head, reps = await bloc_with_reps(flow, count=2)
    await flow.send(head, "/vote deputy 2h", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    pid = int(payload[2:])
    await vote(flow, reps[0], payload, [2])
    await flow.send(head, "/status", chat=flow.group)
    assert "1/5 đơn vị đã bỏ phiếu" in flow.last_text(flow.group.id)
    await flow.send(head, f"/vote extend {pid} 23:00 30/11/2026", chat=flow.group)
    notice = [t for t in flow.texts(flow.group.id) if "gia hạn" in t]
    assert notice and "23:00 ngày 30/11/2026" in notice[-1]
    assert "23:00 ngày 30/11/2026" in current_text(flow, card_of(flow))
    await flow.send(head, f"/vote cancel {pid}", chat=flow.group)
    await press(flow, head, flow.last(flow.group.id), act.CancelYes)
    assert "Trưởng khối đã hủy cuộc bỏ phiếu" in flow.last_text(flow.group.id)
    (poll,) = await fetch(select(Poll))
    (box,) = await fetch(select(BallotBox))
    assert poll.status == "cancelled" and box.ballots == [] and box.voters == []
    await flow.send(reps[1], f"/start {payload}")
    assert "Trưởng khối đã hủy cuộc bỏ phiếu này" in flow.last_text(reps[1].id)


async def test_closer_reminds_then_closes_at_its_time_once(flow, fetch, clock):
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote flag 3h", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    await vote(flow, reps[0], payload, [1])
    from bot.conversations.voting import tick

    deliver = flow.deliver_outbox  # the outbox worker sends what the closer queued

    assert await tick(flow.app) == 0
    await deliver()
    assert not [t for t in flow.texts(reps[1].id) if "chưa bỏ phiếu" in t]
    clock.advance(hours=2, minutes=30)
    await tick(flow.app)
    rows = await fetch(select(OutboxMessage).where(OutboxMessage.item_kind == "vote"))
    assert sorted(r.chat_id for r in rows) == sorted(r.id for r in reps[1:])  # the units not voted yet
    assert not any("chưa bỏ phiếu" in t for t in flow.texts(reps[1].id))  # queued, not sent inline
    await deliver()
    assert any("chưa bỏ phiếu" in t for t in flow.texts(reps[1].id))
    assert not any("chưa bỏ phiếu" in t for t in flow.texts(reps[0].id))  # voted: no reminder
    await tick(flow.app)
    await deliver()
    assert sum("chưa bỏ phiếu" in t for t in flow.texts(reps[1].id)) == 1  # once
    clock.advance(hours=1)
    closed = await asyncio.gather(tick(flow.app), tick(flow.app))
    assert sorted(closed) == [0, 1]
    await open_box(flow, int(payload[2:]))
    announcements = [t for t in flow.texts(flow.group.id) if "Kết quả bỏ phiếu" in t]
    assert len(announcements) == 1
    assert "KHÔNG CÓ GIÁ TRỊ" in announcements[0]  # 1 of 5 units voted: below the 2/3 quorum


async def test_tie_at_cut_off_offers_a_runoff(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=5)
    await flow.send(head, "/vote flag", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    pid = payload[2:]
    settings_vote = "returned"
    async with flow.app.db.session() as s:  # base "ballots returned" so 2 of 4 can tie above 50%? no: use at-least
        poll = await s.get(Poll, int(pid))
        poll.rule = {**poll.rule, "strict": False, "base": settings_vote}
        await s.commit()
    for rep, pick in zip(reps, (1, 1, 2, 2), strict=False):
        await vote(flow, rep, payload, [pick])
    await close_and_count(flow, head, int(pid))
    result = [s for s in flow.sent if s.chat_id == flow.group.id and s.text and "Kết quả bỏ phiếu" in s.text][-1]
    assert "Bằng phiếu" in result.text
    runoff = button(flow, result, "Bỏ phiếu lại")
    await flow.click(head, result, runoff)
    polls = await fetch(select(Poll).order_by(Poll.id))
    assert len(polls) == 2 and polls[1].runoff_of_id == polls[0].id
    assert [o["label"] for o in polls[1].options] == [UNITS[0], UNITS[1]]
    await flow.click(head, result, runoff)  # one tap only
    assert len(await fetch(select(Poll))) == 2


async def test_receipt_list_published_and_recounts(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=4)
    await flow.send(head, "/vote merit 2 board", chat=flow.group)
    payload = start_payloads(flow, card_of(flow), "v_")[0]
    codes = []
    for rep, picks in zip(reps, ([1, 2], [2], [], [2, 3]), strict=False):
        text = await vote(flow, rep, payload, picks)
        codes.append(re.search(r"([A-Z2-7]{5}-[A-Z2-7]{5})", text).group(1))
    await close_and_count(flow, head, int(payload[2:]))
    csv_sent = [s for s in flow.sent if s.filename and s.filename.endswith(".csv")][-1]
    data = flow.files[f"d{csv_sent.message_id}"].decode("utf-8-sig")
    lines = data.strip().splitlines()[1:]
    assert [ln.split(",")[0] for ln in lines] == sorted(codes)
    (poll,) = await fetch(select(Poll))
    recount = svc.recount_board(data.encode(), len(poll.options), len(poll.eligible), svc.rule_of(poll))
    assert recount.votes_of(1) == 3 and recount.blank == 1


async def test_vote_rule_defaults_are_bloc_settings(flow, fetch):
    from sqlmodel import select as sql_select

    from bot.services.voting import default_rule, vote_defaults
    from storage.models import Bloc as BlocModel

    head = flow.user("Lan", admin=True)
    await flow.send(head, "/setup Khối A", chat=flow.group)
    await flow.send(head, "/settings", chat=flow.group)
    assert "vote.quorum" in flow.last_text(flow.group.id)
    await flow.send(head, "/settings vote.quorum 3/4", chat=flow.group)
    await flow.send(head, "/settings vote.base valid", chat=flow.group)
    await flow.send(head, "/settings vote.threshold 7/5", chat=flow.group)
    assert "1/2, 2/3" in flow.last_text(flow.group.id)
    (bloc,) = await fetch(sql_select(BlocModel))
    assert vote_defaults(bloc)["quorum"] == "3/4" and vote_defaults(bloc)["threshold"] == "1/2"
    rule = default_rule(bloc, "flag", 1, 14)
    assert str(rule.quorum) == "3/4" and rule.base == "valid"
