"""Scoring tables: template, file validation row by row, score input, totals."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from openpyxl import Workbook, load_workbook

from bot.render.assessment_xlsx import template_xlsx
from bot.services import scoring
from bot.services.errors import UserError

HEADER = ["code", "group", "criterion", "max points", "kind"]


def xlsx(rows, extra_sheet=False, merge=None, formula=None) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if merge:
        sheet.merge_cells(merge)
    if formula:
        sheet[formula] = "=1+1"
    if extra_sheet:
        book.create_sheet("Ghi chú")
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_template_totals_100_with_bonus_and_penalty():
    rows = scoring.template_rows()
    assert sum(r.max_points for r in rows if r.kind == "normal") == 100
    assert [r.kind for r in rows if r.kind != "normal"] == ["bonus", "penalty"]
    assert len({r.code for r in rows}) == len(rows)


def test_template_file_parses_back_to_the_template():
    parsed = scoring.parse_table("mau.xlsx", template_xlsx())
    assert parsed == scoring.template_rows()
    book = load_workbook(io.BytesIO(template_xlsx()))
    assert len(book.worksheets) == 1 and book.active["A1"].value == "Mã"


def test_csv_with_vietnamese_headers_comma_decimals_and_kinds():
    data = ("Mã;Nhóm;Tiêu chí;Điểm tối đa;Loại\n1.1;I;Kế hoạch;7,5;thường\nT;;Khen thưởng;5;thưởng\n"
            "TR;;Vi phạm;5;trừ\n").encode("utf-8-sig")
    rows = scoring.parse_table("bang.csv", data)
    assert [(r.code, r.max_points, r.kind) for r in rows] == [("1.1", 7.5, "normal"), ("T", 5.0, "bonus"),
                                                             ("TR", 5.0, "penalty")]
    assert rows[1].group == "Điểm thưởng"


def test_every_bad_row_is_reported_and_nothing_parsed():
    rows = [HEADER, ["1", "A", "Một", 10, "normal"], ["1", "A", "Trùng mã", 5, "normal"],
            ["2", "A", "Chữ", "mười", "normal"], ["3", "A", "", 5, "normal"], ["4", "A", "Loại lạ", 5, "xyz"],
            ["5", "A", "Âm", -1, ""], ["6", "A", "Lẻ", 2.3, ""]]
    with pytest.raises(scoring.TableProblems) as err:
        scoring.parse_table("t.xlsx", xlsx(rows))
    by_row = {row: reason for row, reason in err.value.problems}
    assert "trùng mã “1” (đã có ở dòng 2)" in by_row[3]
    assert "không phải là số" in by_row[4]
    assert "thiếu nội dung" in by_row[5]
    assert "xyz" in by_row[6]
    assert "lớn hơn 0" in by_row[7]
    assert "nửa điểm" in by_row[8]
    assert 2 not in by_row


def test_missing_columns_are_named():
    with pytest.raises(scoring.TableProblems) as err:
        scoring.parse_table("t.csv", "code,criterion\n1,Một\n".encode())
    assert err.value.problems == [(1, "thiếu cột “max points”")]


def test_formulas_merged_cells_and_extra_sheets_are_refused():
    rows = [HEADER, ["1", "A", "Một", 10, "normal"], ["2", "A", "Hai", 5, "normal"]]
    with pytest.raises(scoring.TableProblems) as err:
        scoring.parse_table("t.xlsx", xlsx(rows, extra_sheet=True, merge="B2:B3", formula="D3"))
    text = err.value.message
    assert "2 trang tính" in text and "B2:B3" in text and "D3" in text and "công thức" in text


def test_wrong_type_and_broken_files():
    with pytest.raises(UserError):
        scoring.parse_table("t.pdf", b"%PDF")
    with pytest.raises(UserError):
        scoring.parse_table("t.xlsx", b"not a zip")


@pytest.mark.parametrize("raw,expected", [("0", 0.0), ("4,5", 4.5), ("4.5", 4.5), (" 10 ", 10.0)])
def test_scores_accept_half_points_comma_or_dot(raw, expected):
    assert scoring.parse_score(raw, 10) == expected


@pytest.mark.parametrize("raw,reason", [("11", "từ 0 đến 10"), ("-1", "từ 0 đến 10"), ("4,3", "nửa điểm"),
                                        ("abc", "không phải là điểm"), ("", "không phải là điểm"),
                                        ("1e2", "không phải là điểm")])
def test_bad_scores_are_refused_with_the_reason(raw, reason):
    with pytest.raises(UserError) as err:
        scoring.parse_score(raw, 10)
    assert reason in err.value.message


def test_totals_with_bonus_penalty_and_missing():
    c = [SimpleNamespace(id=i, group_name=g, kind=k, max_points=m, code=str(i))
         for i, g, k, m in [(1, "I", "normal", 10), (2, "I", "normal", 5), (3, "II", "normal", 5),
                            (4, "B", "bonus", 10), (5, "P", "penalty", 10)]]
    sums = scoring.totals(c, {"1": 8.5, "3": 5, "4": 2, "5": 1.5})
    assert sums.groups == {"I": 8.5, "II": 5}
    assert (sums.bonus, sums.penalty, sums.total) == (2, 1.5, 14.0)
    assert [m.id for m in sums.missing] == [2]
    full = scoring.totals(c, {"1": 10, "2": 5, "3": 0})
    assert full.missing == [] and full.total == 15


def test_number_formatting_and_quick_buttons():
    assert scoring.fmt(4.0) == "4" and scoring.fmt(4.5) == "4,5"
    assert scoring.quick_scores(5) == [0.0, 2.5, 5.0]
    assert scoring.quick_scores(0.5) == [0.0, 0.5]
