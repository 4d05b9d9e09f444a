"""Result rendering: the vote-count minutes (DOCX) and the result chart (PNG)."""

from __future__ import annotations

import dataclasses
import io
import logging
import struct
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import docx
import pytest
from docx.shared import Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from bot.i18n import use_locale
from bot.render.chart import render_chart
from bot.render.minutes import conclusion_lines, minutes_filename, render_minutes
from bot.render.model import (
    CommitteeMember,
    ResultRow,
    ResultSheet,
    format_share,
    share_of,
    threshold_votes_for,
    words_en,
    words_vi,
)

UNITS = [
    "TTYT thị xã Đông Triều",
    "TTYT thị xã Quảng Yên",
    "TTYT thành phố Uông Bí",
    "TTYT huyện Hải Hà",
    "TTYT huyện Tiên Yên",
    "Sở Lao động – Thương binh và Xã hội",
    "Đài Phát thanh và Truyền hình tỉnh",
]
VIETNAMESE_LETTERS = (
    "ăâđêôơư àáảãạ ằắẳẵặ ầấẩẫậ èéẻẽẹ ềếểễệ ìíỉĩị òóỏõọ ồốổỗộ ờớởỡợ ùúủũụ ừứửữự ỳýỷỹỵ"
)
UTC = UTC
CLOSING_VI = (
    "Việc kiểm phiếu kết thúc vào hồi …… giờ …… phút cùng ngày. Biên bản được thông qua vào hồi …… giờ …… phút"
    " cùng ngày và được lập thành …… bản có giá trị như nhau."
)


def make_sheet(
    votes: list[int] | None = None, *, issued: int = 14, names: list[str] | None = None, **changes
) -> ResultSheet:
    """14 units issued a ballot, 13 returned (12 valid, 1 invalid); threshold > 50% of 14 = 7 votes."""
    votes = votes if votes is not None else [8, 6, 5, 3, 2, 0, 0]
    names = names or [UNITS[i] if i < len(UNITS) else f"Trung tâm Y tế khu vực số {i + 1}" for i in range(len(votes))]
    threshold = threshold_votes_for(Decimal("0.5"), issued)
    rows = [
        ResultRow(no=i + 1, name=name, votes=v, share=share_of(v, issued), reached=v > threshold)
        for i, (name, v) in enumerate(zip(names, votes, strict=False))
    ]
    base = dict(
        bloc_title="Khối thi đua các Trung tâm Y tế tuyến huyện",
        question="Bình xét đơn vị dẫn đầu đề nghị tặng Cờ thi đua của UBND tỉnh năm 2025",
        kind_label="Cờ thi đua của UBND tỉnh",
        opened_at=datetime(2025, 12, 20, 1, 0, tzinfo=UTC),  # 08:00 in Hà Nội
        closed_at=datetime(2025, 12, 20, 3, 30, tzinfo=UTC),  # 10:30
        tz="Asia/Ho_Chi_Minh",
        venue="Hội trường Sở Y tế tỉnh Quảng Ninh",
        committee=[("Nguyễn Văn An", "head"), ("Trần Thị Bình", "secretary"), ("Lê Văn Cường", "member")],
        method="Mỗi đơn vị bỏ một phiếu qua tin nhắn riêng với chatbot.",
        issued=issued,
        returned=13,
        valid=12,
        invalid=1,
        blank=2,
        base_label="tổng số đơn vị được phát phiếu",
        base_count=issued,
        threshold="Đơn vị được trên 50% số phiếu trên tổng số đơn vị được phát phiếu",
        quorum="ít nhất 2/3 số đơn vị (10/14) bỏ phiếu",
        threshold_votes=threshold,
        min_votes=issued // 2 + 1,
        kind="flag",
        rows=rows,
        reached=[r.name for r in rows if r.reached],
        adopted_at=datetime(2025, 12, 20, 4, 0, tzinfo=UTC),  # 11:00
    )
    base.update(changes)
    return ResultSheet(**base)


def doc_lines(data: bytes) -> list[str]:
    """Every paragraph of the document, in order, table cells included (one line each)."""
    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []

    def walk(container):
        for block in container.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    for cell in row.cells:
                        walk(cell)

    walk(document)
    return lines


def table_rows(data: bytes) -> list[list[str]]:
    """Rows of the results table (the one with a grid style)."""
    document = docx.Document(io.BytesIO(data))
    (table,) = [t for t in document.tables if t.style is not None and t.style.name == "Table Grid"]
    return [[cell.text for cell in row.cells] for row in table.rows]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- minutes ----------------------------------------------------------------------------------


def test_minutes_in_vietnamese_carry_every_field():
    data = render_minutes(make_sheet())
    lines = doc_lines(data)
    text = "\n".join(lines)

    for expected in [
        "KHỐI THI ĐUA CÁC TRUNG TÂM Y TẾ TUYẾN HUYỆN",
        "BAN KIỂM PHIẾU",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "BIÊN BẢN KIỂM PHIẾU",
        "Cờ thi đua của UBND tỉnh",
        "Nội dung bỏ phiếu: Bình xét đơn vị dẫn đầu đề nghị tặng Cờ thi đua của UBND tỉnh năm 2025",
        "Thời gian bỏ phiếu: từ 08:00 ngày 20/12/2025 đến 10:30 ngày 20/12/2025.",
        "Số: ……/BB-KP",
        "……, ngày 20 tháng 12 năm 2025",
        "Hôm nay, vào hồi 10 giờ 30 phút, ngày 20/12/2025, tại Hội trường Sở Y tế tỉnh Quảng Ninh, Ban kiểm phiếu"
        " được Hội nghị Khối thi đua các Trung tâm Y tế tuyến huyện giao nhiệm vụ đã tiến hành kiểm phiếu như sau.",
        "1. Nguyễn Văn An – Trưởng ban",
        "2. Trần Thị Bình – Thư ký",
        "3. Lê Văn Cường – Ủy viên",
        "Mỗi đơn vị bỏ một phiếu qua tin nhắn riêng với chatbot.",
        "Số phiếu phát ra: 14 (mười bốn) phiếu.",
        "Số phiếu thu về: 13 (mười ba) phiếu.",
        "Số phiếu hợp lệ: 12 (mười hai) phiếu.",
        "Số phiếu không hợp lệ: 1 (một) phiếu.",
        "Số phiếu trắng (không chọn đơn vị nào): 2 (hai) phiếu.",
        "Điều kiện đạt: Đơn vị được trên 50% số phiếu trên tổng số đơn vị được phát phiếu",
        "Số phiếu tối thiểu để đạt: 8 phiếu.",
        "Tổng số đơn vị thành viên của khối: 14 (mười bốn) đơn vị.",
        "Số đơn vị có mặt tại Hội nghị: …… đơn vị.",
        "Số đơn vị tham gia bỏ phiếu: 13 (mười ba) đơn vị.",
        "Người chứng kiến kiểm phiếu (nếu có):",
        "Tỷ lệ phần trăm được tính trên tổng số đơn vị được phát phiếu (14).",
        "Điều kiện số đơn vị tham gia: ít nhất 2/3 số đơn vị (10/14) bỏ phiếu — đạt.",
        "Đơn vị được suy tôn dẫn đầu khối, đề nghị tặng Cờ thi đua:",
        "1. TTYT thị xã Đông Triều: 8/14 phiếu, tỷ lệ 57,14%",
        CLOSING_VI,
    ]:
        assert expected in lines, f"missing line {expected!r} in:\n{text}"

    assert table_rows(data) == [
        ["STT", "Đơn vị", "Số phiếu", "Tỷ lệ phiếu", "Kết quả"],
        ["1", "TTYT thị xã Đông Triều", "8", "57,14%", "Đạt"],
        ["2", "TTYT thị xã Quảng Yên", "6", "42,86%", "Không đạt"],
        ["3", "TTYT thành phố Uông Bí", "5", "35,71%", "Không đạt"],
        ["4", "TTYT huyện Hải Hà", "3", "21,43%", "Không đạt"],
        ["5", "TTYT huyện Tiên Yên", "2", "14,29%", "Không đạt"],
        ["6", "Sở Lao động – Thương binh và Xã hội", "0", "0,00%", "Không đạt"],
        ["7", "Đài Phát thanh và Truyền hình tỉnh", "0", "0,00%", "Không đạt"],
    ]
    # signature blocks: head and secretary with "sign and write full name", and the names
    for expected in ["TRƯỞNG BAN KIỂM PHIẾU", "THƯ KÝ", "ỦY VIÊN", "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"]:
        assert expected in lines
    assert lines.count("(Ký, ghi rõ họ tên)") == 3
    # the head signs after the committee list; the signature part is at the end
    assert lines.index("TRƯỞNG BAN KIỂM PHIẾU") > lines.index(CLOSING_VI)
    # no false or noisy statements
    assert not any("UTC" in line or "thông qua vào lúc" in line or "khối Khối" in line for line in lines)
    assert lines.count("BIÊN BẢN KIỂM PHIẾU") == 1 and lines.count("Cờ thi đua của UBND tỉnh") == 1


def test_minutes_in_english():
    with use_locale("en"):
        data = render_minutes(make_sheet())
    lines = doc_lines(data)
    for expected in [
        "SOCIALIST REPUBLIC OF VIETNAM",
        "Independence - Freedom - Happiness",
        "VOTE-COUNT MINUTES",
        "Voting time: from 08:00, 20/12/2025 to 10:30, 20/12/2025.",
        "No.: ……/BB-KP",
        "Minimum votes to pass: 8 votes.",
        "1. Nguyễn Văn An – Committee head",
        "Ballots issued: 14 (fourteen).",
        "Ballots returned: 13 (thirteen).",
        "Valid ballots: 12 (twelve).",
        "Invalid ballots: 1 (one).",
        "Blank ballots (no unit chosen): 2 (two).",
        "Unit honoured as the bloc's leading unit, proposed for the Emulation Flag:",
        "1. TTYT thị xã Đông Triều: 8/14 votes, share 57.14%",
        "HEAD OF THE COUNTING COMMITTEE",
        "SECRETARY",
        "(Signature and full name)",
    ]:
        assert expected in lines, f"missing line {expected!r}"
    rows = table_rows(data)
    assert rows[0] == ["No.", "Unit", "Votes", "Vote share", "Result"]
    assert rows[1] == ["1", "TTYT thị xã Đông Triều", "8", "57.14%", "Reached"]
    assert rows[2] == ["2", "TTYT thị xã Quảng Yên", "6", "42.86%", "Not reached"]
    assert not any("phiếu" in line for line in lines if line.startswith(("Ballots", "Valid", "Invalid")))


def test_minutes_without_committee_leave_blank_lines_to_sign():
    data = render_minutes(make_sheet(committee=[], venue=None))
    lines = doc_lines(data)
    opening = "Hôm nay, vào hồi 10 giờ 30 phút, ngày 20/12/2025, tại ……, Ban kiểm phiếu"
    assert any(line.startswith(opening) for line in lines)
    assert any(line.startswith("1. ....") and line.endswith("– Trưởng ban") for line in lines)
    assert any(line.startswith("2. ....") and line.endswith("– Thư ký") for line in lines)
    assert "TRƯỞNG BAN KIỂM PHIẾU" in lines and "THƯ KÝ" in lines
    assert lines.count("(Ký, ghi rõ họ tên)") == 2
    assert sum(1 for line in lines if line and set(line) == {"."}) == 2  # the two names to write by hand


def test_minutes_state_a_tie_at_the_cut_off():
    sheet = make_sheet([5, 5, 2], issued=12, reached=[], ties=["TTYT thị xã Đông Triều", "TTYT thị xã Quảng Yên"])
    lines = doc_lines(render_minutes(sheet))
    assert "Không có đơn vị nào đạt tỷ lệ phiếu theo quy định." not in lines  # the tie says it
    assert (
        "Các đơn vị bằng phiếu ở vị trí xét chọn cuối cùng: TTYT thị xã Đông Triều; TTYT thị xã Quảng Yên."
        " Cần bỏ phiếu lại giữa các đơn vị này."
    ) in lines
    assert [row[4] for row in table_rows(render_minutes(sheet))[1:]] == ["Bằng phiếu", "Bằng phiếu", "Không đạt"]
    with use_locale("en"):
        tie = "Tie at the cut-off between: TTYT thị xã Đông Triều;"
        assert any(line.startswith(tie) for line in conclusion_lines(sheet))


def test_minutes_state_a_quorum_failure_plainly():
    sheet = make_sheet([3, 2, 1], returned=6, valid=6, invalid=0, blank=0, quorum_met=False, reached=[])
    lines = doc_lines(render_minutes(sheet))
    assert (
        "Không đủ số đơn vị tham gia bỏ phiếu theo quy định (thu về 6/14 phiếu): kết quả bỏ phiếu không có giá trị."
    ) in lines
    assert "Điều kiện số đơn vị tham gia: ít nhất 2/3 số đơn vị (10/14) bỏ phiếu — không đạt." in lines
    assert "Các đơn vị đạt tỷ lệ phiếu theo quy định:" not in lines
    assert "Số phiếu thu về: 6 (sáu) phiếu." in lines


def test_minutes_state_an_invalid_result_and_notes():
    sheet = make_sheet(valid_result=False, notes=["Phát hiện 1 phiếu trùng mã, Ban kiểm phiếu đã loại."])
    lines = doc_lines(render_minutes(sheet))
    assert "Kết quả bỏ phiếu không có giá trị." in lines
    assert "Ghi chú:" in lines
    assert "- Phát hiện 1 phiếu trùng mã, Ban kiểm phiếu đã loại." in lines


def test_minutes_are_an_a4_times_new_roman_13pt_document():
    document = docx.Document(io.BytesIO(render_minutes(make_sheet())))
    section = document.sections[0]
    measured = [section.page_width, section.page_height, section.left_margin, section.right_margin,
                section.top_margin, section.bottom_margin]
    assert [round(length.mm) for length in measured] == [210, 297, 30, 15, 20, 20]
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size == Pt(13)


def test_minutes_of_thirty_candidates_list_them_all():
    votes = list(range(30, 0, -1))
    data = render_minutes(make_sheet(votes, issued=30, returned=30, valid=30, invalid=0))
    rows = table_rows(data)
    assert len(rows) == 31
    assert rows[30] == ["30", "Trung tâm Y tế khu vực số 30", "1", "3,33%", "Không đạt"]
    assert rows[15][2:] == ["16", "53,33%", "Đạt"]
    assert minutes_filename(make_sheet()) == "bien-ban-kiem-phieu-20-12-2025.docx"


# --- chart ------------------------------------------------------------------------------------


def _glyph_complaints(recwarn, caplog) -> list[str]:
    messages = [str(w.message) for w in recwarn] + [r.getMessage() for r in caplog.records]
    return [m for m in messages if "Glyph" in m or "missing from font" in m]


def test_chart_is_a_1200px_png_and_draws_vietnamese_without_missing_glyphs(recwarn, caplog):
    caplog.set_level(logging.DEBUG, logger="matplotlib")
    names = [
        VIETNAMESE_LETTERS,
        VIETNAMESE_LETTERS.upper(),
        unicodedata.normalize("NFD", "Trung tâm Y tế huyện Hải Hà (nhập dạng tổ hợp)"),
        "Sở Lao động – Thương binh và Xã hội",
    ]
    sheet = make_sheet([7, 5, 3, 1], names=names, question="Bình xét Cờ thi đua — ưu tiên đơn vị dẫn đầu")
    data = render_chart(sheet)
    width, height = png_size(data)
    assert width == 1200 and 500 < height < 2000
    assert _glyph_complaints(recwarn, caplog) == []
    with use_locale("en"):
        render_chart(sheet)
    assert _glyph_complaints(recwarn, caplog) == []


def test_missing_glyph_detection_works(recwarn, caplog):
    """Control for the test above: a character DejaVu Sans lacks is reported."""
    caplog.set_level(logging.DEBUG, logger="matplotlib")
    render_chart(make_sheet([3, 1], names=["中文单位", "TTYT huyện Hải Hà"]))
    assert _glyph_complaints(recwarn, caplog)


def test_chart_of_thirty_candidates_grows_in_height():
    small = png_size(render_chart(make_sheet()))
    votes = list(range(30, 0, -1))
    long_names = [f"Trung tâm Y tế khu vực số {i} thuộc Sở Y tế tỉnh Quảng Ninh (sau sắp xếp đơn vị hành chính)"
                  for i in range(30)]
    big = png_size(render_chart(make_sheet(votes, issued=30, names=long_names)))
    assert big[0] == 1200
    assert big[1] > small[1] * 3
    assert big[1] < 10000 - 1200  # Telegram photo limit: width + height <= 10000


def test_chart_renders_tie_quorum_failure_and_no_candidates():
    tie = make_sheet([5, 5, 2], issued=12, reached=[], ties=["TTYT thị xã Đông Triều", "TTYT thị xã Quảng Yên"])
    failed = make_sheet([3, 2, 1], returned=6, quorum_met=False, reached=[], threshold_votes=None)
    empty = make_sheet([], reached=[])
    outputs = [render_chart(s) for s in (tie, failed, empty)]
    for data in outputs:
        png_size(data)
    assert len(set(outputs)) == 3


def test_chart_is_safe_to_render_from_threads():
    sheets = [make_sheet(), make_sheet([4, 4, 1], issued=9, reached=[])]
    expected = [render_chart(s) for s in sheets]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(render_chart, sheets * 2))
    assert got == expected * 2


# --- model and formatting ---------------------------------------------------------------------


def test_numbers_in_words_and_shares():
    assert [words_vi(n) for n in (0, 1, 10, 14, 15, 21, 24, 25, 101, 110, 1005)] == [
        "không", "một", "mười", "mười bốn", "mười lăm", "hai mươi mốt", "hai mươi tư", "hai mươi lăm",
        "một trăm linh một", "một trăm mười", "một nghìn không trăm linh năm",
    ]
    assert [words_en(n) for n in (0, 13, 21, 100, 1005)] == [
        "zero", "thirteen", "twenty-one", "one hundred", "one thousand five"]
    assert share_of(1, 3) == Decimal("33.33") and share_of(2, 3) == Decimal("66.67")
    assert share_of(1, 0) == Decimal("0.00")
    assert format_share(Decimal("33.33")) == "33,33%"
    with use_locale("en"):
        assert format_share(Decimal("33.33")) == "33.33%"
    assert threshold_votes_for(Decimal("0.5"), 15) == 7.5


def test_sheet_validates_and_normalises_input():
    with pytest.raises(ValueError):
        make_sheet(opened_at=datetime(2025, 12, 20, 8, 0))  # naive
    with pytest.raises(ValueError):
        make_sheet(committee=[("A", "chairman")])
    nfd = unicodedata.normalize("NFD", "Hải Hà")
    sheet = make_sheet([1], names=[nfd], reached=[nfd])
    assert sheet.rows[0].name == "Hải Hà" and sheet.reached == ("Hải Hà",)
    assert isinstance(sheet.committee[0], CommitteeMember) and sheet.committee[0].role == "head"
    with pytest.raises(dataclasses.FrozenInstanceError):
        sheet.issued = 3  # type: ignore[misc]
