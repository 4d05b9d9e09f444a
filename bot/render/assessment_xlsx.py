"""XLSX files of the self-assessment: the downloadable scoring-table template and the round export."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl is imported when a file is made, not with the bot
    from openpyxl import Workbook

from bot.i18n import _
from bot.services import scoring
from bot.services.assessments import ExportData, local_text

TEMPLATE_FILENAME = "bang_cham_diem_mau.xlsx"
KIND_WORDS = {"normal": "thường", "bonus": "thưởng", "penalty": "trừ"}


def _bytes(book: Workbook) -> bytes:
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _plain(value: str) -> str:
    """A text cell must never be taken for a formula (openpyxl writes '=...' strings as formulas)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def template_xlsx(rows: list[scoring.CriterionRow] | None = None) -> bytes:
    """One sheet, the header the parser expects, the built-in table as the example (re-uploadable)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Bang cham diem"
    sheet.append(["Mã", "Nhóm", "Tiêu chí", "Điểm tối đa", "Loại"])
    for r in rows or scoring.template_rows():
        sheet.append([r.code, r.group, r.text, r.max_points, KIND_WORDS[r.kind]])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCDE", (8, 34, 70, 12, 10), strict=True):
        sheet.column_dimensions[col].width = width
    return _bytes(book)


def export_filename(data: ExportData) -> str:
    return f"tu_cham_diem_{data.round.year}_dot{data.round.id}.xlsx"


def export_xlsx(data: ExportData) -> bytes:
    """Sheet 1: one row per unit, one column per criterion, subtotals, total, rank, late, who/when.
    Sheet 2: every evidence file."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = _("Scores")[:31]
    groups: list[str] = []
    for c in data.criteria:
        if c.kind == "normal" and c.group_name not in groups:
            groups.append(c.group_name)
    header = [_("No."), _("Unit")] + [_plain(c.code) for c in data.criteria]
    header += [_("Subtotal: {group}").format(group=g or "—") for g in groups]
    header += [_("Bonus"), _("Penalty"), _("Total"), _("Rank"), _("Late"), _("Submitted by"), _("Submitted at"),
               _("Version"), _("Status")]
    sheet.append(header)
    maxima = ["", _("Maximum")] + [c.max_points for c in data.criteria]
    sheet.append(maxima)
    states = {"submitted": _("submitted"), "returned": _("returned"), "draft": _("draft"), "none": _("nothing yet")}
    for i, row in enumerate(data.rows, 1):
        v = row.version if row.state == "submitted" else None
        scores = v.scores if v else {}
        sums = scoring.totals(data.criteria, scores)
        line: list[object] = [i, _plain(row.unit.name)]
        line += [scores.get(str(c.id)) for c in data.criteria]
        line += [sums.groups.get(g) if v else None for g in groups]
        line += [sums.bonus if v else None, sums.penalty if v else None, v.total if v else None,
                 data.ranks.get(row.unit.id), (_("late") if v.late else "") if v else "",
                 _plain(data.people[v.submitted_by_person_id].full_name)
                 if v and v.submitted_by_person_id in data.people else "",
                 local_text(data.bloc, v.submitted_at) if v else "", v.version if v else None, states[row.state]]
        sheet.append(line)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["B"].width = 32
    for col in range(3, len(header) + 1):
        sheet.column_dimensions[get_column_letter(col)].width = 10
    sheet.freeze_panes = "C3"

    files = book.create_sheet(_("Evidence")[:31])
    files.append([_("Unit"), _("File"), _("Type"), _("Size (bytes)"), _("Sent by"), _("Sent at"), "file_id"])
    units = {r.unit.id: r.unit.name for r in data.rows}
    for e in data.evidence:
        who = data.people.get(e.uploaded_by_person_id) if e.uploaded_by_person_id is not None else None
        files.append([_plain(units.get(e.unit_id, str(e.unit_id))), _plain(e.name), e.mime, e.size,
                      _plain(who.full_name) if who else "", local_text(data.bloc, e.uploaded_at), e.file_id])
    for cell in files[1]:
        cell.font = Font(bold=True)
    files.column_dimensions["A"].width = 32
    files.column_dimensions["B"].width = 40
    return _bytes(book)
