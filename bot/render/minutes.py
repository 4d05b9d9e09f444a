"""Vote-count minutes (biên bản kiểm phiếu) as a .docx that offices can print and sign.

Layout follows Vietnamese administrative documents: A4, Times New Roman 13pt, margins
20/20/30/15 mm (top/bottom/left/right), the national header beside the issuing body, a bold
centred title, numbered sections, a results table and signature blocks. Every label goes
through gettext, so the document follows the current locale (Vietnamese by default); numbers
and percentages are formatted for that locale, times are "08:00 ngày 20/12/2025" in the bloc's zone
(bot/services/timefmt.py).
"""

from __future__ import annotations

import io

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
    bloc_phrase,
    format_count,
    format_datetime,
    format_share,
    kind_heading,
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


def _widths(table, widths_mm: list[float]) -> None:
    """Column widths that Word and LibreOffice both honour (cell widths, the grid and a fixed layout)."""
    table.autofit = False
    for column, width in zip(table.columns, widths_mm, strict=False):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(width)
    tbl_pr = table._tbl.tblPr
    layout = tbl_pr.find(qn("w:tblLayout"))
    if layout is None:
        layout = OxmlElement("w:tblLayout")
        tbl_pr.append(layout)
    layout.set(qn("w:type"), "fixed")


# --- parts ---------------------------------------------------------------------------------------

DOTS = "……"


def _or_dots(value) -> str:
    return DOTS if value is None or value == "" else str(value)


def _local(sheet: ResultSheet, value):
    return value.astimezone(sheet.zone)


def _header(doc, sheet: ResultSheet) -> None:
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    _widths(table, [62, TEXT_WIDTH_MM - 62])
    left, right = table.rows[0].cells
    _cell_text(left, sheet.bloc_title.upper(), bold=True, size=12)
    _cell_text(left, _("COUNTING COMMITTEE"), bold=True, size=12)
    _cell_text(left, "———————", size=12)
    _cell_text(left, _("No.: {number}/BB-KP").format(number=sheet.doc_number or DOTS), size=12)
    _cell_text(right, _("SOCIALIST REPUBLIC OF VIETNAM"), bold=True, size=12)
    _cell_text(right, _("Independence - Freedom - Happiness"), bold=True, size=13)
    _cell_text(right, "———————————", size=12)
    day = _local(sheet, sheet.closed_at)
    _cell_text(right, _("{place}, day {day} month {month} year {year}").format(
        place=sheet.place or DOTS, day=f"{day.day:02d}", month=f"{day.month:02d}", year=day.year), italic=True)


def _title(doc, sheet: ResultSheet) -> None:
    _para(doc, space_after=0)
    _para(doc, _("VOTE-COUNT MINUTES"), bold=True, size=14, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=2)
    _para(doc, sheet.kind_label, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=10)


def _heading(doc, text: str) -> None:
    _para(doc, text, bold=True, space_after=3).paragraph_format.space_before = Pt(6)


def _count_line(doc, label: str, n: int) -> None:
    _labelled(doc, label, _("{number} ({words}).").format(number=format_count(n), words=number_words(n)), indent=5)


def _units_line(doc, label: str, n: int | None, extra: str = "") -> None:
    if n is None:
        value = _("{number} units.").format(number=DOTS)
    else:
        value = _("{number} ({words}) units.").format(number=format_count(n), words=number_words(n))
    _labelled(doc, label, value + extra, indent=5)


def assembly_name(sheet: ResultSheet) -> str:
    """The conference that set up the counting committee ("Hội nghị Khối thi đua …")."""
    if sheet.assembly:
        return sheet.assembly
    return _("the conference of {bloc}").format(bloc=bloc_phrase(sheet.bloc_title, _("bloc")))


def _member_line(no: int, member: CommitteeMember) -> str:
    if member.unit:
        return _("{no}. {name}, {unit} – {role}").format(no=no, name=member.name, unit=member.unit,
                                                        role=_role_short(member.role))
    return _("{no}. {name} – {role}").format(no=no, name=member.name, role=_role_short(member.role))


def _body(doc, sheet: ResultSheet) -> None:
    closed = _local(sheet, sheet.closed_at)
    opening = _(
        "Today, at {hour} h {minute}, on {date}, at {venue}, the counting committee appointed by {assembly} "
        "counted the ballots of the vote below."
    ).format(hour=f"{closed.hour:02d}", minute=f"{closed.minute:02d}", date=closed.strftime("%d/%m/%Y"),
             venue=sheet.venue or DOTS, assembly=assembly_name(sheet))
    _para(doc, opening).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if sheet.question != sheet.kind_label:
        _labelled(doc, _("Question:"), sheet.question)
    _labelled(
        doc,
        _("Voting time:"),
        _("from {opened} to {closed}.").format(
            opened=format_datetime(sheet.opened_at, sheet.tz),
            closed=format_datetime(sheet.closed_at, sheet.tz),
        ),
    )

    _heading(doc, _("I. COUNTING COMMITTEE"))
    members = list(sheet.committee) or [
        CommitteeMember(BLANK_NAME, ROLE_HEAD),
        CommitteeMember(BLANK_NAME, ROLE_SECRETARY),
        CommitteeMember(BLANK_NAME, ROLE_MEMBER),
    ]
    order = {ROLE_HEAD: 0, ROLE_SECRETARY: 1, ROLE_MEMBER: 2}
    for no, member in enumerate(sorted(members, key=lambda m: order[m.role]), start=1):
        _para(doc, _member_line(no, member), indent=5)
    _para(doc, _("Witnesses (if any):"), bold=True, indent=5)
    for no, witness in enumerate(sheet.witnesses or [BLANK_NAME], start=1):
        _para(doc, f"{no}. {witness}", indent=10)

    _heading(doc, _("II. ATTENDANCE AND VOTING METHOD"))
    _units_line(doc, _("Member units of the bloc:"), sheet.issued if sheet.member_units is None else sheet.member_units)
    _units_line(doc, _("Units present at the conference:"), sheet.units_present)
    advance = ""
    if sheet.advance_ballots:
        advance = " " + _("Of these, {number} sent their ballot before the conference.").format(
            number=format_count(sheet.advance_ballots))
    _units_line(doc, _("Units that voted:"), sheet.returned, advance)
    method = sheet.method or _("Secret ballot (each member unit casts one ballot).")
    _para(doc, method, indent=5).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    _heading(doc, _("III. BALLOTS"))
    _count_line(doc, _("Ballots issued:"), sheet.issued)
    _count_line(doc, _("Ballots returned:"), sheet.returned)
    _count_line(doc, _("Valid ballots:"), sheet.valid)
    _count_line(doc, _("Invalid ballots:"), sheet.invalid)
    if sheet.kind != "approval":  # an approval ballot with no "agree" disagrees with everything: not blank
        _count_line(doc, _("Blank ballots (no unit chosen):"), sheet.blank)

    _heading(doc, _("IV. RULE FOR THE RESULT"))
    _labelled(doc, _("Threshold:"), sheet.threshold, indent=5)
    if sheet.min_votes is not None:
        _labelled(doc, _("Minimum votes to pass:"), _("{count} votes.").format(count=format_count(sheet.min_votes)),
                  indent=5)
    base = sheet.base_label
    for prefix in ("trên ", "of "):
        base = base[len(prefix):] if base.startswith(prefix) else base
    base_text = _("Percentages are calculated on {base} ({count}).").format(
        base=base, count=format_count(sheet.base_count))
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

    closing = _para(doc, _(
        "The count ended at {dots} h {dots} on the same day. These minutes were adopted at {dots} h {dots} "
        "on the same day and made in {copies} copies of equal value."
    ).format(dots=DOTS, copies=DOTS if sheet.copies is None else format_count(sheet.copies)))
    closing.paragraph_format.space_before = Pt(8)
    closing.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY


def conclusion_heading(sheet: ResultSheet) -> str:
    """What the bloc decided, per kind: a proposal, never the award itself (model.kind_heading)."""
    return kind_heading(sheet.kind, sheet.year, DOTS)


def result_line(sheet: ResultSheet, no: int, name: str) -> str:
    """ "1. TTYT …: 8/14 phiếu, tỷ lệ 57,14%" """
    row = next((r for r in sheet.rows if r.name == name), None)
    if row is None:
        return f"{no}. {name}"
    if sheet.kind == "approval":
        return _("{no}. {name}: agree {votes}/{base} votes, share {share}; disagree {disagree}").format(
            no=no, name=name, votes=format_count(row.votes), base=format_count(sheet.base_count),
            share=format_share(row.share), disagree=format_count(max(0, sheet.valid - row.votes)))
    return _("{no}. {name}: {votes}/{base} votes, share {share}").format(
        no=no, name=name, votes=format_count(row.votes), base=format_count(sheet.base_count),
        share=format_share(row.share))


def conclusion_lines(sheet: ResultSheet) -> list[str]:
    """The plain statement of the outcome (also usable in the group announcement)."""
    if not sheet.quorum_met:
        return [
            _("The quorum was not met ({returned} of {issued} ballots returned): "
              "the result of the vote is not valid.").format(
                returned=format_count(sheet.returned), issued=format_count(sheet.issued)
            )
        ]
    if not sheet.valid_result:
        return [_("The result of the vote is not valid.")]
    lines: list[str] = []
    if sheet.reached:
        lines.append(conclusion_heading(sheet))
        lines += [result_line(sheet, no, name) for no, name in enumerate(sheet.reached, start=1)]
    elif not sheet.ties:
        lines.append(_("No unit reached the threshold."))
    if sheet.outside_cap:
        lines.append(_("Reached the threshold but beyond the number of units that may be proposed:"))
        lines += [result_line(sheet, no, name) for no, name in enumerate(sheet.outside_cap, start=1)]
    if sheet.ties:
        lines.append(_("Tie at the cut-off between: {names}. A runoff among these units is needed.").format(
            names="; ".join(sheet.ties)))
    return lines


def row_status(sheet: ResultSheet, name: str, reached: bool) -> str:
    if name in set(sheet.ties):
        return _("Tied")
    if name in set(sheet.outside_cap):
        return _("Reached, beyond the number proposed")
    return _("Reached") if reached else _("Not reached")


def _results_table(doc, sheet: ResultSheet) -> None:
    approval = sheet.kind == "approval"
    if approval:  # agree / disagree per proposal
        headers = [_("No."), _("Proposal"), _("Agree"), _("Disagree"), _("Agree share"), _("Result")]
        widths: list[float] = [12, 56, 18, 20, 20, TEXT_WIDTH_MM - 12 - 56 - 18 - 20 - 20]
    else:
        headers = [_("No."), _("Unit"), _("Votes"), _("Vote share"), _("Result")]
        widths = [14, 66, 20, 23, TEXT_WIDTH_MM - 14 - 66 - 20 - 23]
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers, strict=False):
        _cell_text(cell, text, bold=True)
    header_pr = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_pr.append(repeat)

    for row in sheet.rows:
        cells = table.add_row().cells
        _cell_text(cells[0], str(row.no))
        _cell_text(cells[1], row.name, align=WD_ALIGN_PARAGRAPH.LEFT)
        _cell_text(cells[2], format_count(row.votes))
        if approval:
            _cell_text(cells[3], format_count(max(0, sheet.valid - row.votes)))
        _cell_text(cells[-2], format_share(row.share))
        _cell_text(cells[-1], row_status(sheet, row.name, row.reached), bold=row.reached)
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
        title = _cell_text(cell, _role_title(member.role).upper(), bold=True)
        if index >= 2:
            title.paragraph_format.space_before = Pt(18)  # room between two rows of signatures
        _cell_text(cell, _("(Signature and full name)"), italic=True)
        for _blank in range(3):
            _cell_text(cell, "")
        _cell_text(cell, member.name or BLANK_NAME[:30], bold=bool(member.name))
    _widths(table, [TEXT_WIDTH_MM / 2, TEXT_WIDTH_MM / 2])
