"""The vote-count minutes read back with python-docx, field by field, as a secretary checks them
against the templates (Mẫu 02, Decree 59/2023; congress minutes)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from bot.i18n import use_locale
from bot.render.chart import render_chart
from bot.render.minutes import conclusion_lines, render_minutes
from bot.render.model import ResultRow, bloc_phrase, share_of
from bot.services.tally import min_votes
from bot.views.numbers import format_decimal, format_percent
from tests.unit.test_render import CLOSING_VI, doc_lines, make_sheet, table_rows

COMMITTEE = [("Nguyễn Văn An", "head", "TTYT thị xã Đông Triều"), ("Trần Thị Bình", "secretary", "TTYT huyện Hải Hà"),
             ("Lê Văn Cường", "member", "TTYT thành phố Uông Bí")]


def full_sheet(**changes):
    values = dict(place="Quảng Ninh", doc_number="05", committee=COMMITTEE, witnesses=["Phạm Thị Dung, Sở Y tế"],
                  member_units=14, units_present=12, advance_ballots=2, copies=3)
    values.update(changes)
    return make_sheet(**values)


def test_header_number_opening_committee_witnesses_attendance_and_copies():
    lines = doc_lines(render_minutes(full_sheet()))
    for expected in [
        "Quảng Ninh, ngày 20 tháng 12 năm 2025",
        "Số: 05/BB-KP",
        "1. Nguyễn Văn An, TTYT thị xã Đông Triều – Trưởng ban",
        "2. Trần Thị Bình, TTYT huyện Hải Hà – Thư ký",
        "3. Lê Văn Cường, TTYT thành phố Uông Bí – Ủy viên",
        "1. Phạm Thị Dung, Sở Y tế",
        "Tổng số đơn vị thành viên của khối: 14 (mười bốn) đơn vị.",
        "Số đơn vị có mặt tại Hội nghị: 12 (mười hai) đơn vị.",
        "Số đơn vị tham gia bỏ phiếu: 13 (mười ba) đơn vị. Trong đó 2 đơn vị gửi phiếu trước Hội nghị.",
        CLOSING_VI.replace("…… bản", "3 bản"),
    ]:
        assert expected in lines, expected
    assert not any(set(line) == {"."} for line in lines if line)  # nothing left to fill but the times


def test_assembly_named_by_the_head_and_no_doubled_bloc_word():
    lines = doc_lines(render_minutes(full_sheet(assembly="Hội nghị tổng kết công tác thi đua năm 2025")))
    expected = "Ban kiểm phiếu được Hội nghị tổng kết công tác thi đua năm 2025 giao nhiệm vụ"
    assert any(expected in line for line in lines)
    plain = doc_lines(render_minutes(full_sheet(bloc_title="các Trung tâm Y tế tuyến huyện")))
    assert any("được Hội nghị khối các Trung tâm Y tế tuyến huyện giao nhiệm vụ" in line for line in plain)
    assert bloc_phrase("Khối thi đua các TTYT") == "Khối thi đua các TTYT"
    assert bloc_phrase("Cụm thi đua số 3") == "Cụm thi đua số 3"
    assert bloc_phrase("các TTYT") == "khối các TTYT"


@pytest.mark.parametrize("kind,year,heading", [
    ("flag", None, "Đơn vị được suy tôn dẫn đầu khối, đề nghị tặng Cờ thi đua:"),
    ("merit", None, "Các đơn vị được đề nghị tặng Bằng khen:"),
    ("head", 2026, "Đơn vị được bầu làm Trưởng khối năm 2026:"),
    ("deputy", 2026, "Đơn vị được bầu làm Phó trưởng khối năm 2026:"),
    ("custom", None, "Phương án được thông qua:"),
    ("", None, "Các đơn vị được đề nghị:"),
])
def test_conclusion_heading_per_kind(kind, year, heading):
    lines = conclusion_lines(make_sheet(kind=kind, year=year))
    assert lines[:2] == [heading, "1. TTYT thị xã Đông Triều: 8/14 phiếu, tỷ lệ 57,14%"]
    assert heading in doc_lines(render_minutes(make_sheet(kind=kind, year=year)))


def test_conclusion_heading_in_english():
    with use_locale("en"):
        assert conclusion_lines(make_sheet(kind="merit"))[0] == "Units proposed for the Certificate of Merit:"
        assert conclusion_lines(make_sheet(kind="head", year=2026))[0] == "Unit elected bloc head for 2026:"


def test_reached_but_beyond_the_cap_is_not_reported_as_failed():
    votes = [9, 8, 8, 3]
    rows = [ResultRow(no=i + 1, name=n, votes=v, share=share_of(v, 14), reached=i == 0)
            for i, (n, v) in enumerate(zip(["A", "B", "C", "D"], votes, strict=False))]
    sheet = make_sheet(rows=rows, reached=["A"], outside_cap=["B", "C"], kind="flag")
    data = render_minutes(sheet)
    assert [row[4] for row in table_rows(data)[1:]] == [
        "Đạt", "Đạt tỷ lệ, ngoài số lượng đề nghị", "Đạt tỷ lệ, ngoài số lượng đề nghị", "Không đạt"]
    lines = doc_lines(data)
    assert "Các đơn vị đạt tỷ lệ phiếu nhưng ngoài số lượng được đề nghị:" in lines
    assert "1. B: 8/14 phiếu, tỷ lệ 57,14%" in lines
    render_chart(sheet)


@pytest.mark.parametrize("threshold,strict,expected", [(Fraction(1, 2), True, 8), (Fraction(2, 3), False, 10)])
def test_minimum_votes_line_and_chart_legend(threshold, strict, expected, monkeypatch):
    needed = min_votes(14, threshold, strict)
    assert needed == expected
    sheet = make_sheet(min_votes=needed, threshold_votes=float(threshold * 14))
    assert f"Số phiếu tối thiểu để đạt: {expected} phiếu." in doc_lines(render_minutes(sheet))
    assert sheet.threshold_line == expected
    import matplotlib.figure

    labels: list[str] = []
    original = matplotlib.figure.Figure.legend

    def spy(self, *args, handles=(), **kwargs):
        labels.extend(h.get_label() for h in handles)
        return original(self, *args, handles=handles, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "legend", spy)
    render_chart(sheet)
    assert f"Số phiếu tối thiểu để đạt: {expected} phiếu" in labels
    assert not any("9,33" in label or "9.33" in label for label in labels)


def test_percentages_follow_the_locale():
    assert format_percent(Decimal("57.14"), "vi") == "57,14%"
    assert format_percent(Decimal("57.14"), "en") == "57.14%"
    assert format_percent(Fraction(200, 3), "vi") == "66,67%"
    assert format_decimal(1234, "vi") == "1.234" and format_decimal(1234, "en") == "1,234"
    assert format_decimal(Decimal("7.5"), "vi") == "7,5"
    with use_locale("en"):
        assert format_percent(Decimal("5")) == "5.00%"
    rows = table_rows(render_minutes(make_sheet()))
    assert rows[1][3] == "57,14%"
    with use_locale("en"):
        assert table_rows(render_minutes(make_sheet()))[1][3] == "57.14%"


def test_the_voting_method_is_stated_once():
    """The method of the vote is one line: the vote's own wording, or the template's when it has none."""
    own = doc_lines(render_minutes(full_sheet(method="Bỏ phiếu kín qua bot (mỗi đơn vị thành viên bỏ một phiếu).")))
    assert own.count("Bỏ phiếu kín qua bot (mỗi đơn vị thành viên bỏ một phiếu).") == 1
    assert not any(line.startswith("Bỏ phiếu kín (mỗi đơn vị") for line in own)
    default = doc_lines(render_minutes(full_sheet(method="")))
    assert sum(line.lower().startswith("bỏ phiếu kín") for line in default) == 1
