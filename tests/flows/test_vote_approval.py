"""The approval ballot (đồng ý / không đồng ý per proposal) and candidates from the scores: the head
proposes the top of the last closed self-assessment ranking (ties in score kept and shown), every unit
marks agree/disagree per proposal through the same sealed box, cast path and receipt; a proposal passes
when its agree share reaches the threshold; the results and the minutes give agree/disagree per line."""

from __future__ import annotations

import io

from docx import Document
from sqlmodel import select

from bot.services import voting as svc
from storage.models import AssessmentRound, Poll, ScoringTable, SubmissionVersion, Unit
from tests.flows.test_assessment_form import bloc_with_reps, start_payloads
from tests.flows.test_invites_roles import UNITS
from tests.flows.test_voting import card_of, close_and_count, vote

TOTALS = {0: 90.0, 1: 95.5, 2: 90.0, 3: 70.0}  # unit index -> total; unit 4 did not submit


async def closed_round(db, clock) -> None:
    async with db.session() as s:
        units = (await s.execute(select(Unit).order_by(Unit.position, Unit.id))).scalars().all()
        table = ScoringTable(bloc_id=units[0].bloc_id, year=2026, created_at=clock.now())
        s.add(table)
        await s.flush()
        rnd = AssessmentRound(bloc_id=units[0].bloc_id, table_id=table.id, year=2026, opened_at=clock.now(),
                              deadline=clock.now(), closed_at=clock.now())
        s.add(rnd)
        await s.flush()
        for index, total in TOTALS.items():
            s.add(SubmissionVersion(round_id=rnd.id, unit_id=units[index].id, version=1, total=total,
                                    submitted_at=clock.now()))
        await s.commit()


def docx_lines(flow) -> list[str]:
    minutes = [s for s in flow.sent if (s.filename or "").endswith(".docx")][-1]
    doc = Document(io.BytesIO(minutes.request.document.data))
    return [p.text for p in doc.paragraphs] + [c.text for t in doc.tables for row in t.rows for c in row.cells]


async def test_approval_of_the_best_scored_units(flow, fetch, db, clock):
    head, reps = await bloc_with_reps(flow, count=4)
    await flow.send(head, "/vote dongy diem 2 80%", chat=flow.group)
    assert "Chưa có đợt tự chấm điểm nào kết thúc" in flow.last_text(flow.group.id)
    await closed_round(db, clock)
    await flow.send(head, "/vote dongy", chat=flow.group)
    assert "/vote dongy diem 3 80%" in flow.last_text(flow.group.id)  # what to write instead
    await flow.send(head, "/vote dongy 9", chat=flow.group)
    assert "Không có đơn vị số 9" in flow.last_text(flow.group.id)
    assert not await fetch(select(Poll))

    await flow.send(head, "/vote dongy diem 2 80%", chat=flow.group)
    card = card_of(flow).text
    # The top 2 by score, and the unit tied with the second: 3 proposals, best first.
    assert f"1. {UNITS[1]} — 95,5 điểm (hạng 1)" in card
    assert f"2. {UNITS[0]} — 90 điểm (hạng 2, bằng điểm)" in card
    assert f"3. {UNITS[2]} — 90 điểm (hạng 2, bằng điểm)" in card
    assert UNITS[3] not in card and UNITS[4] not in card
    assert "Danh sách đề nghị" in card and "80%" in card
    (poll,) = await fetch(select(Poll))
    rule = svc.rule_of(poll)
    assert poll.kind == "approval" and rule.max_choices == 3 and rule.cap is None and not rule.strict
    assert rule.threshold == svc._fraction("80%") and rule.blank_mode == "valid"

    (payload,) = start_payloads(flow, card_of(flow), "v_")
    await flow.send(reps[0], f"/start {payload}")
    ballot = flow.last_text(reps[0].id)
    assert "thay mặt" in ballot and "Đồng ý: 0 · Không đồng ý: 3" in ballot
    labels = [b[0] for b in flow.buttons(flow.last(reps[0].id))]
    assert labels[0] == f"❌ Không đồng ý: {UNITS[1]}"[:60]
    for rep, agree in zip(reps, ([1, 2, 3], [1, 2, 3], [1, 2], [1]), strict=True):
        assert "Mã biên nhận" in await vote(flow, rep, payload, agree)
    await close_and_count(flow, head, poll.id)

    results = [s.text for s in flow.sent if s.chat_id == flow.group.id and s.text and "Kết quả bỏ phiếu" in s.text][-1]
    assert f"1. {UNITS[1]}: đồng ý 4/5 (80,00%), không đồng ý 0 ✅" in results
    assert f"2. {UNITS[0]}: đồng ý 3/5 (60,00%), không đồng ý 1" in results
    assert f"Các đề nghị được thông qua: <b>{UNITS[1]}</b>" in results
    lines = docx_lines(flow)
    assert "Đồng ý" in lines and "Không đồng ý" in lines  # the table's columns
    assert "Các đề nghị được thông qua:" in lines
    assert f"1. {UNITS[1]}: đồng ý 4/5 phiếu, tỷ lệ 80,00%; không đồng ý 0" in lines
    assert not any(line.startswith("Số phiếu trắng") for line in lines)


async def test_flag_candidates_from_the_scores(flow, fetch, db, clock):
    head, _reps = await bloc_with_reps(flow, count=2)
    await closed_round(db, clock)
    await flow.send(head, "/vote co diem", chat=flow.group)
    card = card_of(flow).text
    order = [UNITS[1], UNITS[0], UNITS[2], UNITS[3]]
    positions = [card.index(f"{i}. {name} — ") for i, name in enumerate(order, 1)]
    assert positions == sorted(positions) and UNITS[4] not in card  # best first; no score, no candidate
    (poll,) = await fetch(select(Poll))
    assert [o["rank"] for o in poll.options] == [1, 2, 2, 4] and poll.kind == "flag"
