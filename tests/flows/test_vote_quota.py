"""Rules a bloc sets once in /settings, in plain words: the blank-ballot mode (allowed and valid,
allowed but invalid, not allowed) and the merit quota as a share of the units not already proposed;
the unit proposed for the flag is left out of the merit vote by default, kept with `kemco`."""

from __future__ import annotations

import io

from docx import Document
from sqlmodel import select

from bot.conversations import ballot as act
from bot.services import voting as svc
from storage.models import Poll
from tests.flows.test_assessment_form import bloc_with_reps, start_payloads
from tests.flows.test_invites_roles import UNITS
from tests.flows.test_voting import card_of, close_and_count, open_ballot, press, vote


async def test_blank_mode_in_plain_words(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=4)
    await flow.send(head, "/settings vote.blank_mode bỏ trống", chat=flow.group)
    assert "không cho phép" in flow.last_text(flow.group.id) and "không hợp lệ" in flow.last_text(flow.group.id)
    await flow.send(head, "/settings vote.blank_mode khong hop le", chat=flow.group)
    assert "cho phép, tính là phiếu không hợp lệ" in flow.last_text(flow.group.id)
    await flow.send(head, "/settings", chat=flow.group)
    assert "vote.blank_mode" in flow.last_text(flow.group.id)
    assert "vote.blank_allowed" not in flow.last_text(flow.group.id)  # one knob, three choices
    await flow.send(head, "/vote co", chat=flow.group)
    card = card_of(flow)
    assert "Phiếu trắng được nhận nhưng tính là phiếu không hợp lệ" in card.text
    (payload,) = start_payloads(flow, card, "v_")
    ballot = await open_ballot(flow, reps[0], payload)
    await press(flow, reps[0], ballot, act.Review)  # nothing ticked: a blank ballot
    assert "tính là phiếu không hợp lệ" in flow.messages[(ballot.chat_id, ballot.message_id)].text
    await press(flow, reps[0], ballot, act.Cast)
    for rep in reps[1:]:
        await vote(flow, rep, payload, [1])
    await close_and_count(flow, head, int(payload[2:]))
    results = [s.text for s in flow.sent if s.chat_id == flow.group.id and s.text and "Kết quả bỏ phiếu" in s.text]
    assert "hợp lệ: 3" in results[-1] and "không hợp lệ: 1" in results[-1]


async def test_flag_unit_left_out_of_merit_and_quota_of_the_others(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=4)
    await flow.send(head, "/settings vote.cap_merit 50%", chat=flow.group)
    await flow.send(head, "/vote", chat=flow.group)  # the opening dialog names the override and the rest
    assert "/vote bangkhen 3 kemco" in flow.last_text(flow.group.id)
    assert "/vote dongy diem 3 80%" in flow.last_text(flow.group.id) and "/bienban" in flow.last_text(flow.group.id)
    await flow.send(head, "/vote co", chat=flow.group)
    (payload,) = start_payloads(flow, card_of(flow), "v_")
    for rep in reps:
        await vote(flow, rep, payload, [2])  # the flag goes to UNITS[1]
    await close_and_count(flow, head, int(payload[2:]))

    await flow.send(head, "/vote bangkhen 4", chat=flow.group)
    card = card_of(flow).text
    candidates = card.split("\n\n")[0]
    assert UNITS[1] not in candidates and UNITS[0] in candidates
    assert f"đã được đề nghị tặng Cờ thi đua (cuộc bỏ phiếu #{payload[2:]}): {UNITS[1]}" in card
    assert "tối đa 2 đơn vị" in card and "1/2 của 4 đơn vị chưa được đề nghị" in card
    polls = await fetch(select(Poll).order_by(Poll.id))
    rule = svc.rule_of(polls[-1])
    assert rule.proposed_before == 1 and rule.effective_cap(5) == 2  # 50% of the 4 others

    merit = polls[-1]
    for rep in reps:
        await vote(flow, rep, f"v_{merit.id}", [1, 2])
    await close_and_count(flow, head, merit.id)
    minutes = [s for s in flow.sent if (s.filename or "").endswith(".docx")][-1]
    doc = Document(io.BytesIO(minutes.request.document.data))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "Đề nghị tối đa 2 đơn vị: 1/2 của 4 đơn vị chưa được đề nghị, làm tròn xuống." in text
    assert f"đã được đề nghị tặng Cờ thi đua (cuộc bỏ phiếu #{payload[2:]}): {UNITS[1]}." in text

    await flow.send(head, "/vote bangkhen 4", chat=flow.group)
    polls = await fetch(select(Poll).order_by(Poll.id))
    await flow.send(head, "/vote cancel", chat=flow.group)
    await flow.click(head, flow.last(flow.group.id), act.CancelYes(polls[-1].id).pack())
    await flow.send(head, "/vote bangkhen 4 kemco", chat=flow.group)  # the head keeps it, on purpose
    card = card_of(flow).text
    assert UNITS[1] in card.split("\n\n")[0] and "Cờ thi đua (cuộc" not in card
    rule = svc.rule_of((await fetch(select(Poll).order_by(Poll.id)))[-1])
    assert rule.proposed_before == 0 and rule.effective_cap(5) == 2  # 50% of 5, rounded down
