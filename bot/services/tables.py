"""Reading a tabular file a person sent (.csv or .xlsx) into rows, one way for every feature
(the scoring table, the unit list). Bad files are a UserError with a plain reason, never a crash:
a one-column CSV (no delimiter to sniff) reads as one column, broken quoting or a huge field is
refused, a file that is not UTF-8 or not a workbook is refused."""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.i18n import _
from bot.services.errors import UserError

SNIFF_CHARS = 4096
DELIMITERS = ",;\t"


class _Strict(csv.excel):
    strict = True  # an unterminated or misplaced quote is an error, not a silently merged row


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of a UTF-8 CSV (a BOM is fine); the delimiter (comma, semicolon or tab) is sniffed,
    and a file where none can be found is one column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(_("The CSV file is not UTF-8 text. Save it as “CSV UTF-8” and send it again.")) from None
    delimiter = ","
    if text.strip():
        try:
            delimiter = csv.Sniffer().sniff(text[:SNIFF_CHARS], delimiters=DELIMITERS).delimiter
        except csv.Error:  # one column, or nothing a delimiter could be told from
            delimiter = ","
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), _Strict, delimiter=delimiter)]
    except csv.Error:
        raise UserError(_("This CSV file cannot be read (check the quotes in it). Save it again as "
                          "“CSV UTF-8” and send it again.")) from None


def open_workbook(data: bytes, **options: Any):
    """An openpyxl workbook, or a UserError if the bytes are not one."""
    from openpyxl import load_workbook

    try:
        return load_workbook(io.BytesIO(data), **options)
    except Exception:
        raise UserError(_("This XLSX file cannot be opened. Save it again in Excel and resend it.")) from None


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The first sheet's values as text ("" for an empty cell)."""
    book = open_workbook(data, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def read_rows(filename: str, data: bytes, wrong_type: str) -> list[list[str]]:
    """Rows of a .csv or .xlsx file; any other name is refused with `wrong_type`."""
    lower = filename.lower()
    if lower.endswith(".csv"):
        return csv_rows(data)
    if lower.endswith(".xlsx"):
        return xlsx_rows(data)
    raise UserError(wrong_type)
