"""One reader for the .csv/.xlsx files people send (bot/services/tables.py), used by the unit list
and the scoring table."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from bot.services import scoring, tables, units
from bot.services.errors import UserError


def test_one_column_unit_list_csv():
    data = "Tên đơn vị\nTTYT thị xã Đông Triều\nTTYT thành phố Uông Bí\n".encode("utf-8-sig")
    assert units.parse_table_file("donvi.csv", data) == [("TTYT thị xã Đông Triều", None),
                                                         ("TTYT thành phố Uông Bí", None)]


def test_one_line_one_column_and_two_columns():
    assert tables.csv_rows("Một đơn vị".encode()) == [["Một đơn vị"]]
    assert units.parse_table_file("d.csv", b"TTYT A;TA\nTTYT B;TB\n") == [("TTYT A", "TA"), ("TTYT B", "TB")]
    assert tables.csv_rows(b"") == []


def test_malformed_csv_is_a_user_error():
    with pytest.raises(UserError):
        units.parse_table_file("d.csv", b'"TTYT A\nTTYT B\n')  # a quote never closed
    with pytest.raises(UserError):
        units.parse_table_file("d.csv", "TTYT A".encode("utf-16"))  # not UTF-8
    with pytest.raises(UserError):
        scoring.parse_table("bang.csv", b'code,group,criterion,max points,kind\n"1.1,A,x,5,normal\n')


def test_bad_xlsx_and_wrong_type():
    with pytest.raises(UserError):
        units.parse_table_file("d.xlsx", b"PK not a workbook")
    with pytest.raises(UserError):
        tables.read_rows("d.txt", b"x", "wrong")


def test_xlsx_rows():
    book = Workbook()
    book.active.append(["TTYT A", None])
    book.active.append(["TTYT B", "TB"])
    buf = io.BytesIO()
    book.save(buf)
    assert units.parse_table_file("d.xlsx", buf.getvalue()) == [("TTYT A", None), ("TTYT B", "TB")]
