"""Scenario: the head loads a table from an XLSX built here, opens a round, three units submit
(one with two evidence files, one late), the head exports and the XLSX cells are checked."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.conversations.assessment_form import Goto, Summary
from tests.flows.test_assessment_form import bloc_with_reps, button, open_round
from tests.unit.test_scoring import HEADER, xlsx

TABLE = [HEADER,
         ["A1", "A. Chuyên môn", "Hoàn thành chỉ tiêu", 60, "normal"],
         ["A2", "A. Chuyên môn", "Chuyển đổi số", 20, "normal"],
         ["B1", "B. Khối", "Tham gia hoạt động khối", 20, "normal"],
         ["T", "Điểm thưởng", "Khen thưởng cấp tỉnh", 10, "bonus"],
         ["TR", "Điểm trừ", "Vi phạm", 10, "penalty"]]


async def fill(flow, rep, payload, scores):
    """scores: one typed value per line; '' = skip this line."""
    await flow.send(rep, f"/start {payload}")
    round_id = payload[2:]
    for i, value in enumerate(scores):
        if value:
            await flow.send(rep, value)
        else:
            await flow.click(rep, flow.last(rep.id), Goto(round_id, i + 1).pack())
    await flow.click(rep, flow.last(rep.id), Summary(round_id).pack())


async def submit(flow, rep):
    summary = flow.last(rep.id)
    await flow.click(rep, summary, button(flow, summary, "✅ Nộp"))
    assert "đã nộp bảng tự chấm điểm" in flow.last_text(rep.id)


async def test_table_round_three_units_export(flow, clock):
    await scenario(flow, clock, lambda sent: flow.files[f"d{sent.message_id}"])


async def scenario(flow, clock, read_file):
    """Also played over HTTP against the fake Bot API (tests/e2e/test_assessment_e2e.py)."""
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/table")
    await flow.send_document(head, "khung_tieu_chi_2026.xlsx", xlsx(TABLE))
    assert "Tổng điểm các tiêu chí: <b>100</b>" in flow.last_text(head.id)
    await flow.send(head, "/settings assessment_late có", chat=flow.group)
    payload = await open_round(flow, head, "25/11/2026 17:00")

    # unit 1: full marks minus a penalty, with two evidence files
    await fill(flow, reps[0], payload, ["60", "20", "19,5", "5", "2"])
    summary = flow.last(reps[0].id)
    assert "<b>Tổng điểm: 102,5</b>" in summary.text
    await flow.click(reps[0], summary, button(flow, summary, "Minh chứng"))
    await flow.send_document(reps[0], "bao_cao_tong_ket.pdf", b"%PDF-1.7" + b"0" * 2000)
    await flow.send_document(reps[0], "bang_so_lieu.docx", b"PK" + b"0" * 100)
    screen = flow.last(reps[0].id)
    await flow.click(reps[0], screen, button(flow, screen, "Tổng hợp"))
    await submit(flow, reps[0])
    # unit 2: bonus and penalty left empty
    await fill(flow, reps[1], payload, ["50", "15,5", "20", "", ""])
    await submit(flow, reps[1])
    assert "2/5 đơn vị đã nộp" in flow.last_text(flow.group.id)
    # unit 3: after the deadline, accepted and marked late
    clock.advance(days=3)
    await fill(flow, reps[2], payload, ["40", "10", "10", "", "0"])
    await submit(flow, reps[2])
    assert "nộp muộn" in flow.last_text(reps[2].id)

    await flow.send(head, "/export", chat=flow.group)
    assert "đã gửi cho bạn trong tin nhắn riêng" in flow.last_text(flow.group.id)
    (export,) = [s for s in flow.sent if s.filename and s.filename.startswith("tu_cham_diem_")]
    assert export.chat_id == head.id
    book = load_workbook(io.BytesIO(read_file(export)))
    assert book.sheetnames == ["Bảng điểm", "Minh chứng"]
    sheet = book["Bảng điểm"]
    header = [c.value for c in sheet[1]]
    col = {name: i for i, name in enumerate(header)}
    for name in ("A1", "A2", "B1", "T", "TR", "Cộng: A. Chuyên môn", "Cộng: B. Khối", "Tổng điểm", "Xếp hạng",
                 "Nộp muộn", "Người nộp", "Thời gian nộp"):
        assert name in col, name
    assert [c.value for c in sheet[2]][col["A1"]] == 60  # the maxima row
    rows = {r[1]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    first, second, third = rows["TTYT thị xã Đông Triều"], rows["TTYT thị xã Quảng Yên"], rows["TTYT thành phố Uông Bí"]
    assert (first[col["A1"]], first[col["B1"]], first[col["T"]], first[col["TR"]]) == (60, 19.5, 5, 2)
    assert (first[col["Cộng: A. Chuyên môn"]], first[col["Tổng điểm"]], first[col["Xếp hạng"]]) == (80, 102.5, 1)
    assert (second[col["Tổng điểm"]], second[col["Xếp hạng"]], second[col["T"]]) == (85.5, 2, None)
    assert (third[col["Tổng điểm"]], third[col["Xếp hạng"]], third[col["Nộp muộn"]]) == (60, 3, "muộn")
    assert first[col["Nộp muộn"]] in ("", None) and first[col["Người nộp"]] == "Đại diện 1"
    assert first[col["Thời gian nộp"]] == "09:00 ngày 23/11/2026"
    missing = rows["TTYT huyện Hải Hà"]
    assert missing[col["Tổng điểm"]] is None and missing[col["Trạng thái"]] == "chưa chấm"
    files = list(book["Minh chứng"].iter_rows(min_row=2, values_only=True))
    assert [(f[0], f[1]) for f in files] == [("TTYT thị xã Đông Triều", "bao_cao_tong_ket.pdf"),
                                            ("TTYT thị xã Đông Triều", "bang_so_lieu.docx")]
    assert files[0][2] == "application/pdf" and files[0][3] == 2008

    # closing shares the ranking with the group (the bloc's default: shared)
    await flow.send(head, "/assessment close", chat=flow.group)
    confirm = flow.last(flow.group.id)
    await flow.click(head, confirm, button(flow, confirm, "Đóng"))
    results = flow.last_text(flow.group.id)
    assert "Kết quả tự chấm điểm" in results and "1. TTYT thị xã Đông Triều — <b>102,5</b>" in results
    assert "3. TTYT thành phố Uông Bí — <b>60</b> (nộp muộn)" in results


async def test_head_only_results_stay_out_of_the_group(flow):
    head, (rep,) = await bloc_with_reps(flow, count=1)
    await flow.send(head, "/table")
    await flow.send_document(head, "khung.xlsx", xlsx(TABLE))
    await flow.send(head, "/settings assessment_results head", chat=flow.group)
    payload = await open_round(flow, head, "25/11/2026 17:00")
    await fill(flow, rep, payload, ["60", "20", "20", "", ""])
    await submit(flow, rep)
    await flow.send(head, "/assessment close", chat=flow.group)
    confirm = flow.last(flow.group.id)
    await flow.click(head, confirm, button(flow, confirm, "Đóng"))
    assert not any("Kết quả tự chấm điểm" in t for t in flow.texts(flow.group.id))
    await flow.send(head, "/assessment", chat=flow.group)
    assert "đã đóng" in flow.last_text(flow.group.id) and "hạng" not in flow.last_text(flow.group.id)
    await flow.send(rep, "/assessment")
    assert "hạng" not in flow.last_text(rep.id)
    await flow.send(head, "/assessment")
    assert "<b>100</b> điểm, hạng 1" in flow.last_text(head.id)
