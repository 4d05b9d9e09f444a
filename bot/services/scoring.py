"""Scoring tables: the built-in template, parsing and validating uploaded CSV/XLSX files,
score input (half points, comma or dot) and totals. Pure functions: no database, no aiogram."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.i18n import _
from bot.services import tables
from bot.services.errors import UserError
from bot.services.units import clean_name

KINDS = ("normal", "bonus", "penalty")
MAX_CRITERIA = 300
MAX_POINTS = 1000
MAX_CODE = 32
MAX_TEXT = 1000
MAX_GROUP = 200
TABLE_FILE_TYPES = (".csv", ".xlsx")

# Header aliases, compared after clean_name().casefold(). English and Vietnamese.
COLUMNS = {
    "code": ("code", "mã", "ma", "mã tiêu chí", "stt", "số tt"),
    "group": ("group", "nhóm", "nhom", "nhóm tiêu chí"),
    "criterion": ("criterion", "tiêu chí", "tieu chi", "nội dung", "nội dung tiêu chí"),
    "max": ("max points", "max", "maximum", "điểm tối đa", "diem toi da", "điểm chuẩn", "tối đa", "thang điểm"),
    "kind": ("kind", "type", "loại", "loai", "loại điểm"),
}
KIND_ALIASES = {
    "normal": "normal", "": "normal", "thường": "normal", "chuẩn": "normal", "tiêu chí": "normal",
    "bonus": "bonus", "thưởng": "bonus", "điểm thưởng": "bonus", "cộng": "bonus",
    "penalty": "penalty", "trừ": "penalty", "điểm trừ": "penalty", "phạt": "penalty",
}


@dataclass(frozen=True)
class CriterionRow:
    code: str
    group: str
    text: str
    max_points: float
    kind: str = "normal"


class TableProblems(UserError):
    """Every problem of an uploaded table, with its row number (1 = header row)."""

    def __init__(self, problems: list[tuple[int | None, str]]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{row}: {reason}" if row else reason for row, reason in problems))


def template_rows() -> list[CriterionRow]:
    """The built-in Vietnamese frame: 4 groups totalling 100 points, a bonus and a penalty line."""
    g1, g2, g3, g4 = ("I. Thực hiện nhiệm vụ chuyên môn", "II. Công tác thi đua, khen thưởng",
                      "III. Xây dựng tổ chức, cán bộ", "IV. Công tác khối thi đua")
    rows = [
        ("1.1", g1, "Hoàn thành các chỉ tiêu, nhiệm vụ chuyên môn được giao trong năm", 25),
        ("1.2", g1, "Cải cách hành chính, chuyển đổi số, ứng dụng công nghệ thông tin", 10),
        ("1.3", g1, "Thực hiện chế độ thông tin, báo cáo đầy đủ, đúng hạn", 5),
        ("2.1", g2, "Ban hành kế hoạch, phát động phong trào thi đua; đăng ký thi đua đúng hạn", 10),
        ("2.2", g2, "Sơ kết, tổng kết, nhân rộng điển hình tiên tiến", 10),
        ("2.3", g2, "Công tác khen thưởng đúng quy định, kịp thời", 5),
        ("3.1", g3, "Xây dựng tổ chức Đảng, đoàn thể trong sạch, vững mạnh", 10),
        ("3.2", g3, "Thực hành tiết kiệm, chống lãng phí; phòng, chống tham nhũng", 10),
        ("4.1", g4, "Tham gia đầy đủ các hoạt động, hội nghị của khối", 10),
        ("4.2", g4, "Ký kết giao ước và thực hiện đúng quy chế hoạt động của khối", 5),
    ]
    table = [CriterionRow(code, group, text, float(points)) for code, group, text, points in rows]
    table.append(CriterionRow("T", "Điểm thưởng", "Thành tích nổi bật, được khen thưởng cấp tỉnh trở lên", 10.0,
                              "bonus"))
    table.append(CriterionRow("TR", "Điểm trừ", "Vi phạm kỷ luật, chậm nộp báo cáo, không thực hiện giao ước", 10.0,
                              "penalty"))
    return table


def kind_label(kind: str) -> str:
    return {"normal": _("normal"), "bonus": _("bonus"), "penalty": _("penalty")}[kind]


# -- numbers ----------------------------------------------------------------------------------

_NUMBER = re.compile(r"^[+-]?\d+([.,]\d+)?$")


def parse_number(raw: object) -> Decimal | None:
    """'7,5', '7.5', 7.5, '7' -> Decimal; anything else -> None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            return None
    text = str(raw or "").strip().replace(" ", "")
    if not _NUMBER.match(text):
        return None
    return Decimal(text.replace(",", "."))


def is_half_step(value: Decimal) -> bool:
    return (value * 2) == (value * 2).to_integral_value()


def parse_score(raw: str, max_points: float) -> float:
    """A typed score: 0..max, whole or half points, comma or dot."""
    value = parse_number(raw)
    top = fmt(max_points)
    if value is None:
        raise UserError(_("“{value}” is not a score. Type a number from 0 to {max}, e.g. 4 or 4,5.").format(
            value=str(raw).strip()[:20], max=top))
    if value < 0 or value > Decimal(str(max_points)):
        raise UserError(_("The score must be between 0 and {max}.").format(max=top))
    if not is_half_step(value):
        raise UserError(_("Only whole or half points are allowed (e.g. 4 or 4,5)."))
    return float(value)


def fmt(value: float | None) -> str:
    """4.0 -> '4', 4.5 -> '4,5' in Vietnamese, '4.5' in English (the reader's locale, Babel)."""
    from bot.views.numbers import format_decimal

    if value is None:
        return "—"
    return format_decimal(round(float(value), 2))


def quick_scores(max_points: float) -> list[float]:
    """Buttons offered for a criterion: 0, half (rounded down to a half point), max."""
    half = int(max_points) / 2 if max_points >= 1 else 0.0
    values = [0.0, float(half), float(max_points)]
    return sorted(set(values))


# -- totals -----------------------------------------------------------------------------------

@dataclass
class Totals:
    groups: dict[str, float]  # normal criteria, by group, in table order
    bonus: float
    penalty: float
    total: float
    missing: list  # normal criteria not scored yet (Criterion objects)
    scored: int


def totals(criteria: list, scores: dict[str, float]) -> Totals:
    """criteria: objects with id, group_name, kind, max_points (storage rows)."""
    groups: dict[str, float] = {}
    bonus = penalty = 0.0
    missing, scored = [], 0
    for c in criteria:
        value = scores.get(str(c.id))
        if value is not None:
            scored += 1
        if c.kind == "bonus":
            bonus += value or 0.0
        elif c.kind == "penalty":
            penalty += value or 0.0
        else:
            groups.setdefault(c.group_name, 0.0)
            if value is None:
                missing.append(c)
            else:
                groups[c.group_name] += value
    total = sum(groups.values()) + bonus - penalty
    return Totals(groups=groups, bonus=bonus, penalty=penalty, total=round(total, 2), missing=missing, scored=scored)


# -- file parsing -----------------------------------------------------------------------------

def _read_rows(filename: str, data: bytes) -> Sequence[Sequence[object]]:
    if filename.lower().endswith(".xlsx"):
        return _read_xlsx(data)
    return tables.read_rows(filename, data, _("Send the scoring table as a .xlsx or .csv file."))


def _read_xlsx(data: bytes) -> list[list[object]]:
    book = tables.open_workbook(data, data_only=False)  # formulas are refused, so read them as formulas
    problems: list[tuple[int | None, str]] = []
    if len(book.worksheets) > 1:
        problems.append((None, _("The file has {n} sheets; keep only the sheet with the table.").format(
            n=len(book.worksheets))))
    sheet = book.worksheets[0]
    for merged in sheet.merged_cells.ranges:
        problems.append((merged.min_row, _("merged cells {cells}: unmerge them").format(cells=str(merged))))
    rows: list[list[object]] = []
    for row in sheet.iter_rows():
        values = []
        for cell in row:
            if cell.data_type == "f":
                problems.append((cell.row, _("cell {cell} holds a formula: paste the value instead").format(
                    cell=cell.coordinate)))
            values.append(cell.value)
        rows.append(values)
        if len(rows) > MAX_CRITERIA + 50:
            break
    book.close()
    if problems:
        raise TableProblems(problems=problems)
    return rows


def _cell(row: Sequence[object], index: int | None) -> str:
    if index is None or index >= len(row) or row[index] is None:
        return ""
    value = row[index]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_name(str(value))


def parse_table(filename: str, data: bytes) -> list[CriterionRow]:
    """Parse and validate; raise TableProblems listing every bad row, so nothing loads until clean."""
    rows = [r for r in _read_rows(filename, data)]
    while rows and not any(_cell(rows[-1], i) for i in range(len(rows[-1]))):
        rows.pop()
    if not rows:
        raise TableProblems(problems=[(None, _("The file is empty."))])
    header = [_cell(rows[0], i).casefold() for i in range(len(rows[0]))]
    index: dict[str, int | None] = {}
    problems: list[tuple[int | None, str]] = []
    for key, aliases in COLUMNS.items():
        found = next((i for i, h in enumerate(header) if h in aliases), None)
        index[key] = found
        if found is None and key != "kind" and key != "group":
            problems.append((1, _("missing column “{column}”").format(column=aliases[0])))
    if problems:
        raise TableProblems(problems=problems)
    parsed: list[CriterionRow] = []
    seen: dict[str, int] = {}
    body = rows[1:]
    if len(body) > MAX_CRITERIA:
        raise TableProblems(problems=[(None, _("Too many rows (at most {limit}).").format(limit=MAX_CRITERIA))])
    for number, row in enumerate(body, start=2):
        code, group, text = _cell(row, index["code"]), _cell(row, index["group"]), _cell(row, index["criterion"])
        raw_max, raw_kind = _cell(row, index["max"]), _cell(row, index["kind"]).casefold()
        if not any((code, group, text, raw_max, raw_kind)):
            continue  # blank line
        bad = len(problems)
        if not code:
            problems.append((number, _("the code is empty")))
        elif len(code) > MAX_CODE:
            problems.append((number, _("the code is longer than {limit} characters").format(limit=MAX_CODE)))
        elif code.casefold() in seen:
            problems.append((number, _("duplicate code “{code}” (already on row {row})").format(
                code=code, row=seen[code.casefold()])))
        if not text:
            problems.append((number, _("the criterion text is empty")))
        elif len(text) > MAX_TEXT:
            problems.append((number, _("the criterion text is too long")))
        if len(group) > MAX_GROUP:
            problems.append((number, _("the group name is too long")))
        max_value = parse_number(raw_max)
        if max_value is None:
            problems.append((number, _("max points “{value}” is not a number").format(value=raw_max[:20])))
        elif max_value <= 0 or max_value > MAX_POINTS:
            problems.append((number, _("max points must be above 0 and at most {limit}").format(limit=MAX_POINTS)))
        elif not is_half_step(max_value):
            problems.append((number, _("max points must be whole or half points")))
        kind = KIND_ALIASES.get(raw_kind)
        if kind is None:
            problems.append((number, _("kind “{value}” is unknown (normal / bonus / penalty)").format(
                value=raw_kind[:20])))
        if code and code.casefold() not in seen:
            seen[code.casefold()] = number
        if len(problems) == bad:
            assert max_value is not None and kind is not None  # no problem on this row: both parsed
            parsed.append(CriterionRow(code, group or (_("Bonus") if kind == "bonus" else _("Penalty")
                                                       if kind == "penalty" else ""),
                                       text, float(max_value), kind))
    if problems:
        raise TableProblems(problems=problems)
    if not any(r.kind == "normal" for r in parsed):
        raise TableProblems(problems=[(None, _("The table has no normal criterion."))])
    return parsed
