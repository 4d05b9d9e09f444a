"""Vote-count minutes (biên bản kiểm phiếu) as a .docx that offices can print and sign.

Layout follows Vietnamese administrative documents: A4, Times New Roman 13pt, margins
20/20/30/15 mm (top/bottom/left/right), the national header beside the issuing body, a bold
centred title, numbered sections, a results table and signature blocks. Every label goes
through gettext, so the document follows the current locale (Vietnamese by default); numbers
and percentages are formatted for that locale, times are dd/mm/yyyy HH:MM in the bloc's zone.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from bot.i18n import _, current_locale
from bot.render.model import (
    ROLE_HEAD,
    ROLE_MEMBER,
    ROLE_SECRETARY,
    CommitteeMember,
    ResultSheet,
    format_count,
    format_datetime,
    format_share,
    number_words,
)

FONT = "Times New Roman"
SIZE = Pt(13)
TEXT_WIDTH_MM = 210 - 30 - 15
BLANK_NAME = "." * 50
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _role_short(role: str) -> str:
    return {ROLE_HEAD: _("Committee head"), ROLE_SECRETARY: _("Secretary")}.get(role, _("Committee member"))


def _role_title(role: str) -> str:
    return {
        ROLE_HEAD: _("Head of the counting committee"),
        ROLE_SECRETARY: _("Secretary"),
    }.get(role, _("Committee member"))


def render_minutes(sheet: ResultSheet) -> bytes:
    """The minutes as .docx bytes (MIME type `DOCX_MIME`), in the current locale."""
    doc = Document()
    _setup(doc)
    _header(doc, sheet)
    _title(doc, sheet)
    _body(doc, sheet)
    _signatures(doc, sheet)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def minutes_filename(sheet: ResultSheet) -> str:
    """A file name for the attachment, e.g. "bien-ban-kiem-phieu-20-12-2025.docx"."""
    stamp = sheet.closed_at.astimezone(sheet.zone).strftime("%d-%m-%Y")
    return _("vote-count-minutes") + f"-{stamp}.docx"


# --- document setup ---------------------------------------------------------------------------


def _setup(doc) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)

    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = SIZE
    rpr = normal.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), FONT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN" if current_locale() == "vi" else "en-GB")
    rpr.append(lang)
    fmt = normal.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(4)
    fmt.line_spacing = 1.1

    props = doc.core_properties
    props.title = _("VOTE-COUNT MINUTES")
    props.author = "thidua"
    props.language = "vi-VN" if current_locale() == "vi" else "en-GB"


def _para(container, text: str = "", *, bold=False, italic=False, size=None, align=None, space_after=None, indent=None):
    paragraph = container.add_paragraph()
    if text:
        run = paragraph.add_run(text)
        run.bold = bold
        run.italic = italic
        if size:
            run.font.size = Pt(size)
    if align is not None:
        paragraph.alignment = align
    if space_after is not None:
        paragraph.paragraph_format.space_after = Pt(space_after)
    if indent is not None:
        paragraph.paragraph_format.left_indent = Mm(indent)
    return paragraph


def _labelled(container, label: str, value: str, **kw):
    """"Label: value" with the label in bold."""
    paragraph = _para(container, **kw)
    paragraph.add_run(label).bold = True
    paragraph.add_run(" " + value)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    return paragraph


def _cell_text(cell, text: str, *, bold=False, italic=False, size=None, align=WD_ALIGN_PARAGRAPH.CENTER, first=True):
    paragraph = cell.paragraphs[0] if first and not cell.paragraphs[0].text else cell.add_paragraph()
    run = paragraph.add_run(text)
    run.bold, run.italic = bold, italic
    if size:
        run.font.size = Pt(size)
    paragraph.alignment = align
    paragraph.paragraph_format.space_after = Pt(2)
    return paragraph


def _widths(table, widths_mm: Sequence[float]) -> None:
    table.autofit = False
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(width)


# --- parts ------------------------------------------------------------------------------------


def _header(doc, sheet: ResultSheet) -> None:
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, [70, TEXT_WIDTH_MM - 70])
    left, right = table.rows[0].cells
    _cell_text(left, sheet.bloc_title.upper(), bold=True, size=12)
    _cell_text(left, _("COUNTING COMMITTEE"), bold=True, size=12)
    _cell_text(left, "———————", size=12)
    _cell_text(right, _("SOCIALIST REPUBLIC OF VIETNAM"), bold=True, size=12)
    _cell_text(right, _("Independence - Freedom - Happiness"), bold=True, size=13)
    _cell_text(right, "———————————", size=12)
    adopted = format_datetime(sheet.adopted_at, sheet.tz).split(" ")[0]
    _cell_text(right, _("Date: {date}").format(date=adopted), italic=True)


def _title(doc, sheet: ResultSheet) -> None:
    _para(doc, space_after=0)
    _para(doc, _("VOTE-COUNT MINUTES"), bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=2)
    _para(doc, sheet.kind_label, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=10)


def _heading(doc, text: str) -> None:
    _para(doc, text, bold=True, space_after=3).paragraph_format.space_before = Pt(6)


def _count_line(doc, label: str, n: int) -> None:
    _labelled(doc, label, _("{number} ({words}).").format(number=format_count(n), words=number_words(n)), indent=5)


def _offset(sheet: ResultSheet) -> str:
    offset = sheet.closed_at.astimezone(sheet.zone).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


def _body(doc, sheet: ResultSheet) -> None:
    _labelled(doc, _("Question:"), sheet.question)
    _labelled(
        doc,
        _("Voting time:"),
        _("from {opened} to {closed} ({offset}).").format(
            opened=format_datetime(sheet.opened_at, sheet.tz),
            closed=format_datetime(sheet.closed_at, sheet.tz),
            offset=_offset(sheet),
        ),
    )
    _labelled(doc, _("Venue:"), sheet.venue or _("online, through the thidua chatbot."))

    _heading(doc, _("I. COUNTING COMMITTEE"))
    members = list(sheet.committee) or [
        CommitteeMember(BLANK_NAME, ROLE_HEAD),
        CommitteeMember(BLANK_NAME, ROLE_SECRETARY),
        CommitteeMember(BLANK_NAME, ROLE_MEMBER),
    ]
    order = {ROLE_HEAD: 0, ROLE_SECRETARY: 1, ROLE_MEMBER: 2}
    for no, member in enumerate(sorted(members, key=lambda m: order[m.role]), start=1):
        _para(doc, _("{no}. {name} – {role}").format(no=no, name=member.name, role=_role_short(member.role)), indent=5)

    _heading(doc, _("II. VOTING METHOD"))
    _para(doc, _("Secret ballot (each member unit casts one ballot)."), indent=5)
    if sheet.method:
        _para(doc, sheet.method, indent=5).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    _heading(doc, _("III. BALLOTS"))
    _count_line(doc, _("Ballots issued:"), sheet.issued)
    _count_line(doc, _("Ballots returned:"), sheet.returned)
    _count_line(doc, _("Valid ballots:"), sheet.valid)
    _count_line(doc, _("Invalid ballots:"), sheet.invalid)
    _count_line(doc, _("Blank ballots (no unit chosen):"), sheet.blank)

    _heading(doc, _("IV. RULE FOR THE RESULT"))
    _labelled(doc, _("Threshold:"), sheet.threshold, indent=5)
    if sheet.threshold_votes is not None:
        _labelled(doc, _("Votes at the threshold:"), format_count(sheet.threshold_votes) + ".", indent=5)
    base_text = _("Percentages are calculated {base} ({count}).").format(
        base=sheet.base_label, count=format_count(sheet.base_count))
    _para(doc, base_text, indent=5)
    state = _("met") if sheet.quorum_met else _("not met")
    quorum = f"{sheet.quorum} — {state}." if sheet.quorum else f"{state}."
    _labelled(doc, _("Quorum:"), quorum, indent=5)

    _heading(doc, _("V. VOTES PER UNIT"))
    _results_table(doc, sheet)

    _heading(doc, _("VI. CONCLUSION"))
    for line in conclusion_lines(sheet):
        _para(doc, line, indent=5).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if sheet.notes:
        _para(doc, _("Notes:"), bold=True, indent=5)
        for note in sheet.notes:
            _para(doc, f"- {note}", indent=10).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    adopted = format_datetime(sheet.adopted_at, sheet.tz)
    closing = _para(doc, _("These minutes were adopted at {time}.").format(time=adopted))
    closing.paragraph_format.space_before = Pt(8)
    closing.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY


def conclusion_lines(sheet: ResultSheet) -> list[str]:
    """The plain statement of the outcome (also usable in the group announcement)."""
    if not sheet.quorum_met:
        return [
            # the msgid stays on one line so the catalog tools see it whole
            _("The quorum was not met ({returned} of {issued} ballots returned): the result of the vote is not valid.").format(  # noqa: E501
                returned=format_count(sheet.returned), issued=format_count(sheet.issued)
            )
        ]
    if not sheet.valid_result:
        return [_("The result of the vote is not valid.")]
    lines: list[str] = []
    by_name = {row.name: row for row in sheet.rows}
    if sheet.reached:
        lines.append(_("Units that reached the threshold:"))
        for no, name in enumerate(sheet.reached, start=1):
            row = by_name.get(name)
            detail = (
                _("{no}. {name} — votes: {votes} ({share})").format(
                    no=no, name=name, votes=format_count(row.votes), share=format_share(row.share)
                )
                if row
                else f"{no}. {name}"
            )
            lines.append(detail)
    else:
        lines.append(_("No unit reached the threshold."))
    if sheet.ties:
        lines.append(_("Tie at the cut-off between: {names}. A runoff among these units is needed.").format(
            names="; ".join(sheet.ties)))
    return lines


def _results_table(doc, sheet: ResultSheet) -> None:
    headers = [_("No."), _("Unit"), _("Votes"), _("Vote share"), _("Result")]
    widths = [14, 78, 22, 25, TEXT_WIDTH_MM - 14 - 78 - 22 - 25]
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        _cell_text(cell, text, bold=True)
    header_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_pr.append(repeat)

    ties = set(sheet.ties)
    for row in sheet.rows:
        result = _("Tied") if row.name in ties else _("Reached") if row.reached else _("Not reached")
        cells = table.add_row().cells
        _cell_text(cells[0], str(row.no))
        _cell_text(cells[1], row.name, align=WD_ALIGN_PARAGRAPH.LEFT)
        _cell_text(cells[2], format_count(row.votes))
        _cell_text(cells[3], format_share(row.share))
        _cell_text(cells[4], result, bold=row.reached)
    _widths(table, widths)


def _signatures(doc, sheet: ResultSheet) -> None:
    heads = [m for m in sheet.committee if m.role == ROLE_HEAD] or [CommitteeMember("", ROLE_HEAD)]
    others = ([m for m in sheet.committee if m.role == ROLE_SECRETARY]
              + [m for m in sheet.committee if m.role == ROLE_MEMBER])
    if not sheet.committee:
        others = [CommitteeMember("", ROLE_SECRETARY)]
    # Vietnamese layout: the head signs on the right, the secretary / members on the left.
    cells: list[CommitteeMember | None] = []
    first_left = others.pop(0) if others else None
    cells += [first_left, heads[0]]
    rest = heads[1:] + others
    cells += rest
    if len(cells) % 2:
        cells.append(None)

    _para(doc, space_after=0)
    table = doc.add_table(rows=len(cells) // 2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for index, member in enumerate(cells):
        cell = table.rows[index // 2].cells[index % 2]
        if member is None:
            continue
        _cell_text(cell, _role_title(member.role).upper(), bold=True)
        _cell_text(cell, _("(Signature and full name)"), italic=True)
        for _blank in range(3):
            _cell_text(cell, "")
        _cell_text(cell, member.name or BLANK_NAME[:30], bold=bool(member.name))
    _widths(table, [TEXT_WIDTH_MM / 2, TEXT_WIDTH_MM / 2])
