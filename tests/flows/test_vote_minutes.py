"""The facts of a vote's minutes (/bienban): the head sets place, venue, conference, witnesses, units
present and the conference's start; the minutes print them (read back with python-docx), with the
sealed box's committee by name and unit, and the ballots sent before the conference counted from
the box's cast times."""

from __future__ import annotations

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from docx import Document
from sqlmodel import select

from storage.models import BallotBox, Poll
from tests.flows.test_assessment_form import bloc_with_reps, start_payloads
from tests.flows.test_invites_roles import UNITS
from tests.flows.test_voting import card_of, close_and_count, vote


def docx_text(flow) -> list[str]:
    minutes = [s for s in flow.sent if (s.filename or "").endswith(".docx")][-1]
    doc = Document(io.BytesIO(minutes.request.document.data))
    return [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for row in t.rows for c in row.cells]


async def test_minutes_print_what_the_head_set(flow, fetch, clock):
    head, reps = await bloc_with_reps(flow, count=4)
    await flow.send(head, "/vote co", chat=flow.group)
    (payload,) = start_payloads(flow, card_of(flow), "v_")
    poll_id = int(payload[2:])
    for rep in reps[:2]:  # before the conference
        await vote(flow, rep, payload, [1])
    clock.advance(hours=2)
    start = (clock.now() - timedelta(hours=1)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))

    await flow.send(reps[0], "/bienban\nĐịa danh: Quảng Ninh", chat=flow.group)
    assert "Chỉ Trưởng khối" in flow.last_text(flow.group.id)
    await flow.send(head, "/bienban\nĐịa danh: Quảng Ninh\nSố người: 3", chat=flow.group)
    refused = flow.last_text(flow.group.id)
    assert "Số người: 3" in refused and "Địa danh: Quảng Ninh" in refused  # the line, then the examples
    await flow.send(head, "/bienban\nCó mặt: 9", chat=flow.group)
    assert "từ 0 đến 5" in flow.last_text(flow.group.id)
    await flow.send(head, "/bienban\nGiờ họp: ngày mai", chat=flow.group)
    assert "08:00 20/12/2026" in flow.last_text(flow.group.id)
    assert (await fetch(select(Poll)))[0].minutes == {}  # nothing changed by a refusal

    await flow.send(head, "/bienban\n"
                          "Địa danh: Quảng Ninh\n"
                          "dia diem: Hội trường Sở Y tế\n"
                          "Hội nghị: Hội nghị tổng kết công tác thi đua năm 2026\n"
                          "Số: 05\n"
                          "Nhân chứng: Phạm Thị Dung, Sở Y tế\n"
                          "Có mặt: tất cả trừ 5\n"
                          f"Giờ họp: {start:%H:%M %d/%m/%Y}\n"
                          "Số bản: 3", chat=flow.group)
    saved = flow.last_text(flow.group.id)
    assert "Đã ghi vào biên bản" in saved and "Quảng Ninh" in saved and "4/5" in saved
    assert "Phiếu gửi trước Hội nghị: 2" in saved
    for rep in reps[2:]:  # at the conference
        await vote(flow, rep, payload, [2])
    await close_and_count(flow, head, poll_id)

    lines = docx_text(flow)
    (box,) = await fetch(select(BallotBox))
    assert len(box.cast_at) == 4 and box.cast_at == sorted(box.cast_at)  # times only, sorted: nobody named
    for expected in [
        "Quảng Ninh, ngày",
        "Số: 05/BB-KP",
        "Số đơn vị có mặt tại Hội nghị: 4 (bốn) đơn vị.",
        "Số đơn vị tham gia bỏ phiếu: 4 (bốn) đơn vị. Trong đó 2 đơn vị gửi phiếu trước Hội nghị.",
        "1. Phạm Thị Dung, Sở Y tế",
    ]:
        assert any(expected in line for line in lines), expected
    text = "\n".join(lines)
    assert "tại Hội trường Sở Y tế, Ban kiểm phiếu được Hội nghị tổng kết công tác thi đua năm 2026" in text
    assert "lập thành 3 bản" in text
    # The sealed box's committee by name and unit, the first chairs it: no dotted names left.
    assert f"1. Lan, {UNITS[0]} – Trưởng ban" in lines or any("– Trưởng ban" in line and "……" not in line
                                                               for line in lines)
    assert not any(line.startswith("1. ....") for line in lines)

    # A closed vote can still be completed; /bienban with no facts shows what will print.
    await flow.send(head, f"/bienban {poll_id}\nBan kiểm phiếu: Nguyễn Văn An, TTYT Đông Triều; Trần Thị Bình",
                    chat=flow.group)
    assert "Nguyễn Văn An, TTYT Đông Triều – Trưởng ban" in flow.last_text(flow.group.id)
    await flow.send(head, "/bienban", chat=flow.group)
    shown = flow.last_text(flow.group.id)
    assert "Trần Thị Bình – Thư ký" in shown and f"/results {poll_id}" in shown
    await flow.send(head, f"/results {poll_id}", chat=flow.group)
    lines = docx_text(flow)
    assert "1. Nguyễn Văn An, TTYT Đông Triều – Trưởng ban" in lines
    assert "2. Trần Thị Bình – Thư ký" in lines


async def test_no_minutes_facts_before_any_vote(flow, fetch):
    head, _reps = await bloc_with_reps(flow, count=1)
    await flow.send(head, "/bienban\nĐịa danh: Quảng Ninh", chat=flow.group)
    assert "Chưa có cuộc bỏ phiếu nào" in flow.last_text(flow.group.id)
    assert not await fetch(select(Poll))


async def test_place_and_venue_set_once_for_the_bloc(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=1)
    await flow.send(head, "/settings vote.place Quảng Ninh", chat=flow.group)
    await flow.send(head, "/settings vote.venue Hội trường Sở Y tế", chat=flow.group)
    await flow.send(head, "/vote co", chat=flow.group)
    await flow.send(head, "/bienban", chat=flow.group)
    shown = flow.last_text(flow.group.id)
    assert "Địa danh: Quảng Ninh" in shown and "Địa điểm: Hội trường Sở Y tế" in shown
    await flow.send(head, "/bienban\nĐịa danh: Hạ Long", chat=flow.group)  # this vote's own wins
    shown = flow.last_text(flow.group.id)
    assert "Địa danh: Hạ Long" in shown and "Địa điểm: Hội trường Sở Y tế" in shown
    await flow.send(head, "/settings vote.place " + "x" * 201, chat=flow.group)
    assert "tối đa 200 ký tự" in flow.last_text(flow.group.id)


async def test_absent_units_that_voted_are_the_advance_ballots(flow, fetch):
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote co", chat=flow.group)
    (payload,) = start_payloads(flow, card_of(flow), "v_")
    for rep in reps[1:]:  # units 2 and 3 vote
        await vote(flow, rep, payload, [1])
    await flow.send(head, "/bienban\nCó mặt: tất cả trừ 2,4", chat=flow.group)
    shown = flow.last_text(flow.group.id)
    assert "Đơn vị có mặt: 3/5" in shown and "Phiếu gửi trước Hội nghị: 1" in shown  # unit 2 only
    await flow.send(head, "/bienban\nCó mặt: 3", chat=flow.group)  # a bare count names no unit
    assert "Phiếu gửi trước Hội nghị" not in flow.last_text(flow.group.id)
    await flow.send(head, "/bienban\nCó mặt: tất cả trừ 9", chat=flow.group)
    assert "từ 0 đến 5" in flow.last_text(flow.group.id)
