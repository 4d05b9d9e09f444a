"""Texts and buttons of the scoring table, assessment rounds, the unit's form and the head's view.

Buttons carry typed actions packed by the conversations (bot/conversations/assessment_rounds.py,
assessment_form.py), handed in here as `RoundButtons` / `FormButtons`; deep links: `a_<round>` (form),
`a_table`. No queries here."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.i18n import _
from bot.services import assessments as svc
from bot.services import scoring
from bot.services.reminders import DeadlineItem
from bot.services.scoring import fmt
from bot.views.base import Action, Reply, Typed, esc
from bot.views.blocname import bloc_name
from bot.views.meetings import lead_text, mute_button
from bot.views.numbers import format_decimal
from storage.models import AssessmentRound, Bloc, Criterion, SubmissionVersion, Unit


class TableButtons(Protocol):
    def template(self) -> str: ...
    def download(self) -> str: ...
    def cancel(self) -> str: ...


class RoundButtons(Protocol):
    def remind(self) -> str: ...
    def close(self) -> str: ...
    def close_yes(self) -> str: ...
    def close_no(self) -> str: ...
    def scores(self) -> str: ...


class FormButtons(Protocol):
    def score(self, index: int, value: str) -> str: ...
    def goto(self, index: int) -> str: ...
    def jump(self) -> str: ...
    def note(self, index: int) -> str: ...
    def clear(self, index: int) -> str: ...
    def evidence(self) -> str: ...
    def remove(self, evidence_id: int) -> str: ...
    def summary(self) -> str: ...
    def submit(self) -> str: ...
    def reopen(self) -> str: ...

MAX_JUMP_BUTTONS = 60


def _kind_suffix(c: Criterion) -> str:
    if c.kind == "bonus":
        return _(" (bonus)")
    if c.kind == "penalty":
        return _(" (penalty, deducted)")
    return ""


# -- scoring table ----------------------------------------------------------------------------

def table_text(criteria: list[Criterion], source: str | None = None) -> str:
    lines = [_("<b>Scoring table</b> ({n} lines)").format(n=len(criteria))]
    if source and source != "template":
        lines[0] += f" — <i>{esc(source)}</i>"
    group = None
    normal_total = 0.0
    for c in criteria:
        if c.group_name != group:
            group = c.group_name
            lines.append(f"\n<b>{esc(group or '—')}</b>")
        if c.kind == "normal":
            normal_total += c.max_points
        lines.append(f"• <code>{esc(c.code)}</code> {esc(c.text)} — <b>{fmt(c.max_points)}</b>{_kind_suffix(c)}")
    lines.append(_("\nTotal of the criteria: <b>{total}</b> points (plus bonus, minus penalty).").format(
        total=fmt(normal_total)))
    return "\n".join(lines)


def table_loaded(criteria: list[Criterion], source: str) -> Reply:
    return Reply(_("✅ Scoring table loaded.") + "\n\n" + table_text(criteria, source))


def table_current(criteria: list[Criterion] | None, manager: bool) -> Reply:
    if not criteria:
        reply = Reply(_("No scoring table is loaded yet."))
    else:
        reply = Reply(table_text(criteria))
    if manager:
        reply.add_row(Action(_("Load the scoring table (in private)"), svc.TABLE_PAYLOAD, kind="start"))
    return reply


def table_menu(max_mb: int, b: TableButtons) -> Reply:
    reply = Reply(_("<b>Load this year's scoring table</b>\n"
                    "• use the built-in template (100 points in 4 groups, plus a bonus and a penalty line), or\n"
                    "• send me now an .xlsx or .csv file (one sheet, at most {mb} MB) with the columns: "
                    "<b>code, group, criterion, max points, kind</b> (kind: normal / bonus / penalty).\n"
                    "Download the template file, fill it in and send it back.").format(mb=max_mb))
    reply.add_row(Action(_("✅ Use the built-in template"), b.template()))
    reply.add_row(Action(_("📥 Download the template file"), b.download()))
    reply.add_row(Action(_("✖ Cancel"), b.cancel()))
    return reply


def table_template_caption() -> str:
    return _("Template: fill one row per criterion, keep the header row, no formulas or merged cells, then send "
             "the file back here.")


def table_problems(problems: list[tuple[int | None, str]]) -> Reply:
    lines = [_("❌ The table was not loaded. Fix these problems and send the file again:")]
    for row, reason in problems[:60]:
        lines.append(_("• row {row}: {reason}").format(row=row, reason=esc(reason)) if row else f"• {esc(reason)}")
    if len(problems) > 60:
        lines.append(_("… and {n} more.").format(n=len(problems) - 60))
    return Reply("\n".join(lines))


def table_cancelled() -> Reply:
    return Reply(_("Nothing was loaded."))


# -- rounds -----------------------------------------------------------------------------------

def progress_line(done: int, total: int) -> str:
    return _("{done}/{total} units have submitted").format(done=done, total=total)


def round_post(bloc: Bloc, rnd: AssessmentRound, done: int, total: int) -> Reply:
    """The group message: kept current (progress) by editing it."""
    lines = [_("📋 <b>Self-assessment {year}</b>").format(year=rnd.year),
             _("Deadline: <b>{when}</b>").format(when=svc.local_text(bloc, rnd.deadline)),
             progress_line(done, total)]
    reply = Reply("\n".join(lines))
    if rnd.closed_at is None:
        lines.insert(1, _("Each unit's representative fills the form in private."))
        reply = Reply("\n".join(lines))
        reply.add_row(Action(_("Submit self-assessment"), f"{svc.PAYLOAD_PREFIX}{rnd.id}", kind="start"))
    else:
        reply.text += "\n" + _("🔒 Closed at {when}.").format(when=svc.local_text(bloc, rnd.closed_at))
    return reply


def assessment_usage(manager: bool) -> Reply:
    if not manager:
        return Reply(_("No self-assessment round is open."))
    return Reply(_("No self-assessment round is open. Open one with its deadline:\n"
                   "<code>/assessment 17:00 30/11/2026</code>\n"
                   "Then: <code>/assessment extend HH:MM dd/mm/yyyy</code>, <code>/assessment close</code>, "
                   "<code>/assessment remind</code>."))


def _state_label(row: svc.UnitStatus) -> str:
    return {"submitted": _("submitted"), "returned": _("returned"), "draft": _("draft"), "none": _("nothing yet")}[
        row.state]


def round_status(bloc: Bloc, rnd: AssessmentRound, rows: list[svc.UnitStatus], b: RoundButtons | None,
                 names: dict[int, str] | None = None, with_scores: bool = False) -> Reply:
    """In the group: who submitted, who has a draft, who has nothing (no scores). With scores for the head."""
    done = sum(1 for r in rows if r.state == "submitted")
    state = _("open") if rnd.closed_at is None else _("closed")
    lines = [_("📋 <b>Self-assessment {year}</b> — {state}").format(year=rnd.year, state=state),
             _("Deadline: <b>{when}</b>").format(when=svc.local_text(bloc, rnd.deadline)),
             progress_line(done, len(rows)), ""]
    ranks = svc.ranking(rows) if with_scores else {}
    for i, row in enumerate(rows, 1):
        line = f"{i}. {esc(row.unit.name)} — {_state_label(row)}"
        v = row.version
        if v is not None and row.state == "submitted":
            line += " " + _("{when}, v{version}").format(when=svc.local_text(bloc, v.submitted_at), version=v.version)
            if v.late:
                line += " " + _("(late)")
            if with_scores:
                line += " — " + _("<b>{total}</b> points, rank {rank}").format(total=fmt(v.total),
                                                                             rank=ranks.get(row.unit.id, "—"))
                if names and v.submitted_by_person_id in names:
                    line += f" ({esc(names[v.submitted_by_person_id])})"
        elif row.state == "returned" and v is not None and with_scores:
            line += f": <i>{esc(v.return_reason or '')}</i>"
        lines.append(line)
    reply = Reply("\n".join(lines))
    if b is not None and rnd.closed_at is None:
        reply.add_row(Action(_("🔔 Remind the missing units"), b.remind()), Action(_("🔒 Close"), b.close()))
        if not with_scores:
            reply.add_row(Action(_("📊 Scores (in private)"), b.scores()))
    return reply


def close_confirm(rnd: AssessmentRound, done: int, total: int, b: RoundButtons) -> Reply:
    reply = Reply(_("Close the self-assessment round now? {progress}. After closing no unit can submit or edit.")
                  .format(progress=progress_line(done, total)))
    reply.add_row(Action(_("🔒 Yes, close"), b.close_yes()), Action(_("✖ No"), b.close_no()))
    return reply


def round_opened(bloc: Bloc, rnd: AssessmentRound) -> Reply:
    return Reply(_("✅ Round opened, deadline {when}.").format(when=svc.local_text(bloc, rnd.deadline)))


def deadline_extended(bloc: Bloc, rnd: AssessmentRound) -> Reply:
    return Reply(_("✅ New deadline: <b>{when}</b>.").format(when=svc.local_text(bloc, rnd.deadline)))


def round_closed(bloc: Bloc, rnd: AssessmentRound, done: int, total: int) -> Reply:
    return Reply(_("🔒 The self-assessment round is closed: {progress}. /export gives the table.").format(
        progress=progress_line(done, total)))


def results_post(bloc: Bloc, rnd: AssessmentRound, rows: list[svc.UnitStatus]) -> Reply:
    ranks = svc.ranking(rows)
    done = sorted((r for r in rows if r.state == "submitted"), key=lambda r: ranks[r.unit.id])
    lines = [_("🏁 <b>Self-assessment results {year}</b>").format(year=rnd.year)]
    for row in done:
        version = row.version
        assert version is not None  # a submitted row has its version
        late = " " + _("(late)") if version.late else ""
        lines.append(f"{ranks[row.unit.id]}. {esc(row.unit.name)} — <b>{fmt(version.total)}</b>{late}")
    missing = [r.unit for r in rows if r.state != "submitted"]
    if missing:
        lines.append(_("Not submitted: {names}").format(names=", ".join(esc(u.name) for u in missing)))
    return Reply("\n".join(lines))


def reminder(bloc: Bloc, rnd: AssessmentRound, unit_name: str) -> Reply:
    reply = Reply(_("🔔 Reminder: <b>{unit}</b> has not submitted its self-assessment for <b>{bloc}</b> yet. "
                    "Deadline: <b>{when}</b>.").format(unit=esc(unit_name), bloc=esc(bloc_name(bloc)),
                                                       when=svc.local_text(bloc, rnd.deadline)))
    reply.add_row(Action(_("Submit self-assessment"), f"{svc.PAYLOAD_PREFIX}{rnd.id}", kind="start"))
    return reply


def reminded(sent: int, units: int, unreachable: list[str], again: bool = False) -> Reply:
    if again:
        text = _("No new reminder: the representatives were reminded within the last hour.")
    else:
        text = _("🔔 Reminder sent to {sent} representative(s) of {units} unit(s).").format(sent=sent, units=units)
    if unreachable:
        text += "\n" + _("Could not reach (no representative, or the chat was never opened): {names}").format(
            names=", ".join(esc(n) for n in unreachable))
    return Reply(text)


def sent_to_private() -> Reply:
    return Reply(_("📨 I have sent it to you in our private chat."))


def need_private_chat() -> Reply:
    reply = Reply(_("I cannot write to you first. Open a private chat with me, press Start, then try again."))
    return reply.add_row(Action(_("Open private chat"), "hi", kind="start"))


def returned_ok(unit_name: str, version: SubmissionVersion, told: bool) -> Reply:
    text = _("↩ Version {version} of {unit} was returned to the unit.").format(version=version.version,
                                                                              unit=esc(unit_name))
    if not told:
        text += "\n" + _("I could not tell the unit in private (no representative reachable).")
    return Reply(text)


def returned_notice(bloc: Bloc, rnd: AssessmentRound, unit_name: str, version: SubmissionVersion) -> Reply:
    reply = Reply(_("↩ The bloc head returned the self-assessment of <b>{unit}</b> (version {version}).\n"
                    "Reason: <i>{reason}</i>\nEdit it and submit again before <b>{when}</b>.").format(
        unit=esc(unit_name), version=version.version, reason=esc(version.return_reason or ""),
        when=svc.local_text(bloc, rnd.deadline)))
    reply.add_row(Action(_("✏️ Edit the self-assessment"), f"{svc.PAYLOAD_PREFIX}{rnd.id}", kind="start"))
    return reply


def return_usage() -> Reply:
    return Reply(_("Write the unit number and the reason: <code>/return 3 Thiếu minh chứng tiêu chí 1.2</code>"))


def export_caption(bloc: Bloc, rnd: AssessmentRound) -> str:
    return _("Self-assessment {year} — {bloc}").format(year=rnd.year, bloc=bloc_name(bloc))


# -- the unit's form --------------------------------------------------------------------------

def _header(form: svc.Form) -> str:
    return _("<b>Self-assessment</b> · {unit} · deadline {when}").format(
        unit=esc(form.unit.name), when=svc.local_text(form.bloc, form.round.deadline))


def criterion_card(form: svc.Form, index: int, b: FormButtons) -> Reply:
    c = form.criterion(index)
    score = form.scores.get(str(c.id))
    note = form.notes.get(str(c.id))
    lines = [_header(form),
             _("Criterion {i}/{n} · {group}").format(i=index + 1, n=len(form.criteria), group=esc(c.group_name or "—")),
             f"<b>{esc(c.code)}</b>. {esc(c.text)}",
             _("Maximum: {max} points{kind}").format(max=fmt(c.max_points), kind=_kind_suffix(c)),
             _("Score: <b>{score}</b>").format(score=fmt(score) if score is not None else _("not scored"))]
    if note:
        lines.append(_("Note: <i>{note}</i>").format(note=esc(note)))
    if form.submitted:
        lines.append(_("\n✅ Submitted. Press “Edit again” to change it."))
        reply = Reply("\n".join(lines))
        reply.add_row(Action(_("✏️ Edit again"), b.reopen()), Action(_("📊 Summary"), b.summary()))
        return reply
    lines.append(_("\nType the score (0–{max}, half points allowed, e.g. 4,5) or tap:").format(max=fmt(c.max_points)))
    reply = Reply("\n".join(lines))
    reply.add_row(*[Action(fmt(v), b.score(index, f"{v:g}")) for v in scoring.quick_scores(c.max_points)])
    nav = []
    if index > 0:
        nav.append(Action(_("◀ Back"), b.goto(index - 1)))
    if index + 1 < len(form.criteria):
        nav.append(Action(_("Skip ▶"), b.goto(index + 1)))
    nav.append(Action(_("☰ Go to…"), b.jump()))
    reply.add_row(*nav)
    extra = [Action(_("📝 Note"), b.note(index))]
    if score is not None and c.kind != "normal":
        extra.append(Action(_("✖ Clear"), b.clear(index)))
    reply.add_row(*extra)
    reply.add_row(Action(_("📎 Evidence ({n})").format(n=len(form.evidence)), b.evidence()),
                  Action(_("📊 Summary"), b.summary()))
    # Without buttons (Zalo) the choices are lettered: a number typed is always the score.
    lines[-1] = _("\nType the score (0–{max}, half points allowed, e.g. 4,5).").format(max=fmt(c.max_points))
    lines.append(_("Several at once: criterion number and score, e.g. 1:8 2:9,5 3:10"))
    reply.typed = Typed(text="\n".join(lines), letters=True)
    return reply


def jump_list(form: svc.Form, b: FormButtons) -> Reply:
    reply = Reply(_header(form) + "\n" + _("Choose a criterion (✓ = scored):"))
    row: list[Action] = []
    for i, c in enumerate(form.criteria[:MAX_JUMP_BUTTONS]):
        mark = "✓" if str(c.id) in form.scores else "·"
        row.append(Action(f"{mark} {c.code}"[:20], b.goto(i)))
        if len(row) == 4:
            reply.add_row(*row)
            row = []
    if row:
        reply.add_row(*row)
    reply.add_row(Action(_("📊 Summary"), b.summary()))
    return reply


def note_prompt(form: svc.Form, index: int, b: FormButtons) -> Reply:
    c = form.criterion(index)
    reply = Reply(_("Type the note for <b>{code}</b> (at most {limit} characters). "
                    "Send a single dash “-” to remove it.")
                  .format(code=esc(c.code), limit=svc.MAX_NOTE))
    return reply.add_row(Action(_("◀ Back"), b.goto(index)))


def evidence_screen(form: svc.Form, max_mb: int, b: FormButtons, upload: str | None = None) -> Reply:
    """`upload`: None where files can be sent in the chat (Telegram); on a channel that cannot carry
    files (Zalo) the one-time upload page's address, or "" when the bot has no public address."""
    if upload is None:
        intro = _("📎 <b>Evidence files</b>: send them here as files (PDF, DOCX, XLSX, JPG, PNG; at most {mb} MB "
                  "each, {limit} files).").format(mb=max_mb, limit=svc.MAX_EVIDENCE)
    elif upload:
        intro = _("📎 <b>Evidence files</b>: this chat cannot carry files. Upload each file on the page below "
                  "(PDF, DOCX, XLSX, JPG, PNG; at most {mb} MB each, {limit} files). The link works once, for "
                  "30 minutes.").format(mb=max_mb, limit=svc.MAX_EVIDENCE)
    else:
        intro = _("📎 <b>Evidence files</b>: this chat cannot carry files, and the bot has no public web address "
                  "(PUBLIC_BASE_URL) for an upload page. Please tell the administrator.")
    lines = [_header(form), intro]
    for i, e in enumerate(form.evidence, 1):
        lines.append(f"{i}. {esc(e.name)} ({_size(e.size)})")
    if not form.evidence:
        lines.append(_("No file yet."))
    reply = Reply("\n".join(lines))
    if not form.submitted:
        for i, e in enumerate(form.evidence, 1):
            reply.add_row(Action(_("🗑 Remove {i}. {name}").format(i=i, name=e.name)[:40], b.remove(e.id)))
    reply.add_row(Action(_("◀ Criteria"), b.goto(form.draft.position if form.draft else 0)),
                  Action(_("📊 Summary"), b.summary()))
    if upload and not form.submitted:
        reply.add_row(Action(_("📤 Upload a file"), upload, kind="url"))
    return reply


def evidence_uploaded(name: str) -> str:
    """The upload page's answer once the file is in."""
    return _("✅ Received: {name}. You can close this page; the chat with the bot continues.").format(name=esc(name))


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{format_decimal(size / 1024 / 1024, places=1)} MB"
    return f"{max(1, size // 1024)} KB"


def evidence_added(form: svc.Form, name: str, max_mb: int, b: FormButtons, upload: str | None = None) -> Reply:
    reply = evidence_screen(form, max_mb, b, upload)
    reply.text = _("✅ Received: {name}").format(name=esc(name)) + "\n\n" + reply.text
    return reply


def summary(form: svc.Form, b: FormButtons) -> Reply:
    sums = form.totals()
    lines = [_header(form), _("📊 <b>Summary</b>")]
    for group, subtotal in sums.groups.items():
        lines.append(f"• {esc(group or '—')}: <b>{fmt(subtotal)}</b>")
    lines.append(_("• Bonus: +{points}").format(points=fmt(sums.bonus)))
    lines.append(_("• Penalty: −{points}").format(points=fmt(sums.penalty)))
    lines.append(_("<b>Total: {total}</b>").format(total=fmt(sums.total)))
    lines.append(_("Evidence files: {n}").format(n=len(form.evidence)))
    if sums.missing:
        codes = ", ".join(esc(c.code) for c in sums.missing[:20]) + ("…" if len(sums.missing) > 20 else "")
        lines.append(_("⚠ Not scored yet ({n}): {codes}").format(n=len(sums.missing), codes=codes))
    last = form.last_version
    if last is not None:
        lines.append(_("Last submitted: version {version}, {when}").format(
            version=last.version, when=svc.local_text(form.bloc, last.submitted_at)))
        if last.returned_at is not None:
            lines.append(_("↩ Returned by the head: <i>{reason}</i>").format(reason=esc(last.return_reason or "")))
    reply = Reply("\n".join(lines))
    if form.submitted:
        lines.append(_("✅ Submitted."))
        reply = Reply("\n".join(lines))
        if form.round.closed_at is None:
            reply.add_row(Action(_("✏️ Edit again"), b.reopen()))
        return reply
    if not sums.missing and sums.scored:
        reply.add_row(Action(_("✅ Submit"), b.submit()))
    first_missing = form.criteria.index(sums.missing[0]) if sums.missing else (form.draft.position if form.draft else 0)
    reply.add_row(Action(_("◀ Continue scoring"), b.goto(first_missing)),
                  Action(_("📎 Evidence ({n})").format(n=len(form.evidence)), b.evidence()))
    return reply


def submitted(form: svc.Form, version: SubmissionVersion, b: FormButtons) -> Reply:
    text = _("✅ <b>{unit}</b> submitted its self-assessment (version {version}): <b>{total}</b> points.").format(
        unit=esc(form.unit.name), version=version.version, total=fmt(version.total))
    if version.late:
        text += "\n" + _("⚠ Submitted after the deadline: marked late.")
    text += "\n" + _("You can edit and submit again until the deadline.")
    reply = Reply(text)
    return reply.add_row(Action(_("✏️ Edit again"), b.reopen()))


def history(bloc: Bloc, unit_name: str, versions: list[SubmissionVersion], names: dict[int, str]) -> Reply:
    if not versions:
        return Reply(_("{unit} has not submitted yet.").format(unit=esc(unit_name)))
    lines = [_("<b>Versions of {unit}</b>").format(unit=esc(unit_name))]
    for v in versions:
        by = v.submitted_by_person_id
        who = esc(names.get(by, "—") if by is not None else "—")
        line = _("v{version}: {when} by {who}, {total} points").format(
            version=v.version, when=svc.local_text(bloc, v.submitted_at), who=who, total=fmt(v.total))
        if v.late:
            line += " " + _("(late)")
        if v.returned_at:
            line += "\n   " + _("↩ returned {when}: {reason}").format(when=svc.local_text(bloc, v.returned_at),
                                                                      reason=esc(v.return_reason or ""))
        lines.append(line)
    return Reply("\n".join(lines))


def form_in_group() -> Reply:
    reply = Reply(_("The self-assessment is filled in private, not in the group."))
    return reply.add_row(Action(_("Open private chat"), "hi", kind="start"))


def no_open_round() -> Reply:
    return Reply(_("No self-assessment round is open in your bloc."))


def status_line(bloc: Bloc, rnd: AssessmentRound, done: int, total: int) -> str:
    """/status: the open round's progress and deadline."""
    return _("Self-assessment: {progress}, deadline {when}").format(
        progress=progress_line(done, total), when=svc.local_text(bloc, rnd.deadline))


# -- automatic reminders before the round's deadline (bot/services/reminders.py) ---------------------
def group_reminder(item: DeadlineItem, pending: list[Unit], now: datetime) -> Reply:
    lines = [_("⏰ <b>Reminder</b>: the self-assessment deadline is {lead} ({when}).").format(
        lead=lead_text(item.due_at, now), when=svc.local_text(item.bloc, item.due_at))]
    if pending:
        lines.append(_("Not submitted yet ({n}): {names}").format(
            n=len(pending), names=", ".join(esc(u.name) for u in pending)))
    reply = Reply("\n".join(lines))
    reply.add_row(Action(_("Submit self-assessment"), f"{svc.PAYLOAD_PREFIX}{item.item_id}", kind="start"))
    return reply


def private_reminder(item: DeadlineItem, unit: Unit, now: datetime, mute: str) -> Reply:
    reply = Reply(_("⏰ <b>Reminder</b>: {unit} has not submitted its self-assessment. The deadline is {lead} "
                    "({when}).").format(unit=esc(unit.name), lead=lead_text(item.due_at, now),
                                        when=svc.local_text(item.bloc, item.due_at)))
    reply.add_row(Action(_("Submit self-assessment"), f"{svc.PAYLOAD_PREFIX}{item.item_id}", kind="start"))
    reply.add_row(mute_button(mute))
    return reply
