"""Texts for meetings, their reminders and the outbox's failures in /status (no queries here:
bot/conversations/meetings.py loads, these functions write; the RSVP buttons' data comes packed)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.i18n import N_, _
from bot.services import meetings as svc
from bot.services.reminders import DeadlineItem, FailedDelivery
from bot.views.base import Action, Reply, esc
from storage.models import Bloc, Meeting, Unit

WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))
MAX_NAMES = 20


def when_text(bloc: Bloc, when: datetime) -> str:
    local = when.astimezone(svc.zone(bloc))
    return _("{time} {weekday}, {date}").format(time=local.strftime("%H:%M"), weekday=_(WEEKDAYS[local.weekday()]),
                                               date=local.strftime("%d/%m/%Y"))


def lead_text(due: datetime, now: datetime) -> str:
    left = due - now
    if left >= timedelta(hours=20):
        days = round(left / timedelta(days=1))
        return _("in 1 day") if days == 1 else _("in {n} days").format(n=days)
    if left >= timedelta(minutes=90):
        hours = round(left / timedelta(hours=1))
        return _("in 1 hour") if hours == 1 else _("in {n} hours").format(n=hours)
    minutes = max(1, round(left / timedelta(minutes=1)))
    return _("in 1 minute") if minutes == 1 else _("in {n} minutes").format(n=minutes)


def _names(units: list[Unit]) -> str:
    names = ", ".join(esc(u.name) for u in units[:MAX_NAMES])
    if len(units) > MAX_NAMES:
        names += _(" and {n} more").format(n=len(units) - MAX_NAMES)
    return names


def _details(bloc: Bloc, meeting: Meeting) -> list[str]:
    lines = [f"📅 <b>{esc(meeting.title)}</b>",
             _("🕗 {when}").format(when=when_text(bloc, meeting.starts_at)),
             _("📍 {place}").format(place=esc(meeting.place))]
    if meeting.agenda:
        lines.append(_("📝 Agenda: {agenda}").format(agenda=esc(meeting.agenda)))
    if meeting.file_name:
        lines.append(_("📎 Attached: {name}").format(name=esc(meeting.file_name)))
    return lines


def rsvp_buttons(actions: dict[str, str]) -> list[Action]:
    """The three answer buttons; `actions` maps an answer code (a, x, s) to its packed data."""
    return [Action(_("✅ Attend"), actions["a"], short=_("Attend")),
            Action(_("❌ Absent"), actions["x"], short=_("Absent")),
            Action(_("👤 Substitute"), actions["s"], short=_("Send a substitute"))]


ANSWER_CODES = {"a": "attend", "x": "absent", "s": "substitute"}


def card(bloc: Bloc, tally: svc.Tally, actions: dict[str, str], note: str | None = None) -> Reply:
    meeting = tally.meeting
    lines = []
    if note:
        lines.append(note)
    lines += _details(bloc, meeting)
    if meeting.status == "cancelled":
        lines.insert(0, _("🚫 <b>CANCELLED</b>"))
        return Reply("\n".join(lines))
    attend, absent, subs = (tally.with_answer(a) for a in ("attend", "absent", "substitute"))
    lines.append("")
    lines.append(_("Answers: ✅ attend {a} · ❌ absent {x} · 👤 substitute {s}").format(
        a=len(attend), x=len(absent), s=len(subs)))
    for unit, rsvp in subs:
        name = esc(rsvp.substitute_name) if rsvp.substitute_name else _("name not given yet")
        lines.append(_("👤 {unit}: {name}").format(unit=esc(unit.name), name=name))
    missing = tally.unanswered
    if missing:
        lines.append(_("Not answered yet ({n}/{total}): {names}").format(
            n=len(missing), total=len(tally.units), names=_names(missing)))
    elif tally.units:
        lines.append(_("All units have answered."))
    reply = Reply("\n".join(lines))
    reply.add_row(*rsvp_buttons(actions))
    return reply


def meeting_list(bloc: Bloc, meetings: list[Meeting], tallies: dict[int, svc.Tally], manager: bool) -> Reply:
    if not meetings:
        text = _("No upcoming meeting.")
        if manager:
            text += "\n" + _("Schedule one with /meeting.")
        return Reply(text)
    lines = [_("<b>Upcoming meetings</b>:")]
    for i, meeting in enumerate(meetings, 1):
        t = tallies.get(meeting.id)
        answered = f" — {len(t.units) - len(t.unanswered)}/{len(t.units)} " + _("answered") if t else ""
        lines.append(f"{i}. <b>{esc(meeting.title)}</b>\n   {when_text(bloc, meeting.starts_at)} · "
                     f"{esc(meeting.place)}{answered}")
    if manager:
        lines.append(_("\nMove: <code>/reschedule 1 HH:MM dd/mm/yyyy</code> · cancel: <code>/cancelmeeting 1</code>"))
    return Reply("\n".join(lines))


# -- the guided dialog ----------------------------------------------------------------------------
def ask_when() -> Reply:
    return Reply(_("📅 New meeting. When is it? Write the date and time, for example <code>{example}</code>.\n"
                   "(/cancel to stop)").format(example=svc.EXAMPLE))


def ask_place() -> Reply:
    return Reply(_("📍 Where? For example: Hội trường TTYT Tiên Yên"))


def ask_title() -> Reply:
    return Reply(_("🏷 The meeting's title? For example: Hội nghị tổng kết năm 2026"))


def ask_agenda() -> Reply:
    return Reply(_("📝 The agenda: write it, or send a file (with the agenda as caption if you like). "
                   "Send <code>-</code> to skip."))


def dialog_cancelled() -> Reply:
    return Reply(_("Nothing was scheduled."))


def nothing_to_cancel() -> Reply:
    return Reply(_("There is nothing to cancel."))


# -- answers ----------------------------------------------------------------------------------------
def answer_ack(answer: str) -> str:
    return {"attend": _("Recorded: your unit will attend."),
            "absent": _("Recorded: your unit will be absent."),
            "substitute": _("Recorded: your unit sends a substitute.")}[answer]


def ask_substitute(bloc: Bloc, meeting: Meeting, unit: Unit) -> Reply:
    return Reply(_("👤 {unit} sends a substitute to <b>{title}</b> ({when}).\nWrite the substitute's full name "
                   "and position, for example: <code>Nguyễn Văn An, Phó Giám đốc</code>").format(
        unit=esc(unit.name), title=esc(meeting.title), when=when_text(bloc, meeting.starts_at)))


def substitute_need_private() -> str:
    return _("Recorded. Open a private chat with me and press Start, then press the button again to give the "
             "substitute's name.")


def substitute_saved(name: str) -> Reply:
    return Reply(_("✅ Substitute recorded: {name}.").format(name=esc(name)))


# -- reschedule / cancel ------------------------------------------------------------------------
def moved_note(bloc: Bloc, old: datetime) -> str:
    return _("🔁 <b>Moved</b> (was {old}). Earlier answers no longer count: please answer again.").format(
        old=when_text(bloc, old))


def moved_private(bloc: Bloc, meeting: Meeting, old: datetime, actions: dict[str, str]) -> Reply:
    lines = [_("🔁 The meeting <b>{title}</b> was moved.").format(title=esc(meeting.title)),
             _("Was: {old}").format(old=when_text(bloc, old)),
             _("Now: <b>{new}</b>").format(new=when_text(bloc, meeting.starts_at)),
             _("📍 {place}").format(place=esc(meeting.place)),
             _("Please answer again for your unit.")]
    reply = Reply("\n".join(lines))
    return reply.add_row(*rsvp_buttons(actions))


def cancelled_private(bloc: Bloc, meeting: Meeting) -> Reply:
    return Reply(_("🚫 The meeting <b>{title}</b> of {when} is cancelled.").format(
        title=esc(meeting.title), when=when_text(bloc, meeting.starts_at)))


def cancelled_group(bloc: Bloc, meeting: Meeting) -> Reply:
    return Reply(_("🚫 The meeting <b>{title}</b> of {when} is cancelled. Reminders are withdrawn; "
                   "every representative has been told.").format(
        title=esc(meeting.title), when=when_text(bloc, meeting.starts_at)))


def moved_group(bloc: Bloc, meeting: Meeting, old: datetime) -> Reply:
    return Reply(_("🔁 The meeting <b>{title}</b> is moved from {old} to <b>{new}</b>. Answers were reset and "
                   "reminders re-planned; every representative has been told.").format(
        title=esc(meeting.title), old=when_text(bloc, old), new=when_text(bloc, meeting.starts_at)))


# -- reminders (the deadline source) ------------------------------------------------------------------
def mute_button(data: str) -> Action:
    """The mute button under a private reminder; `data` is the packed Mute action
    (bot/conversations/reminders.py)."""
    return Action(_("🔕 No more reminders for this"), data)


def group_reminder(item: DeadlineItem, pending: list[Unit], now: datetime) -> Reply:
    meeting = item.obj
    lines = [_("⏰ <b>Reminder</b>: meeting {lead}").format(lead=lead_text(item.due_at, now))]
    lines += _details(item.bloc, meeting)
    if pending:
        lines.append(_("Not answered yet ({n}): {names}").format(n=len(pending), names=_names(pending)))
    return Reply("\n".join(lines))


def private_reminder(item: DeadlineItem, unit: Unit, now: datetime, actions: dict[str, str],
                     mute_data: str) -> Reply:
    meeting = item.obj
    lines = [_("⏰ <b>Reminder</b>: meeting {lead}").format(lead=lead_text(item.due_at, now))]
    lines += _details(item.bloc, meeting)
    lines.append(_("{unit} has not answered yet. Will your unit attend?").format(unit=esc(unit.name)))
    reply = Reply("\n".join(lines))
    reply.add_row(*rsvp_buttons(actions))
    reply.add_row(mute_button(mute_data))
    return reply


def muted() -> str:
    return _("OK: no more private reminders about this.")


# -- /status ------------------------------------------------------------------------------------------
def status_line(bloc: Bloc, t: svc.Tally) -> str:
    meeting = t.meeting
    return _("Next meeting: {title}, {when} — {done}/{total} units answered").format(
        title=esc(meeting.title), when=when_text(bloc, meeting.starts_at),
        done=len(t.units) - len(t.unanswered), total=len(t.units))


def delivery_status(failed: list[FailedDelivery]) -> list[str]:
    if not failed:
        return []
    total = sum(f.count for f in failed)
    lines = [_("⚠️ {n} message(s) could not be delivered in the last 30 days:").format(n=total)]
    for f in failed[:10]:
        who = esc(f.person.full_name) if f.person else _("the group")
        unit = f" ({esc(f.unit.name)})" if f.unit else ""
        if f.reason.startswith("403") and f.person is not None and f.person.channel == "zalo":
            why = _("has not written to the bot on Zalo, or blocked it")  # Zalo bots cannot write first
        elif f.reason.startswith("403"):
            why = _("has not started a private chat with the bot, or blocked it")
        else:
            why = _("Telegram refused the message")
        lines.append(f"• {who}{unit}: {why}")
    lines.append(_("Ask them to open a private chat with the bot and press Start."))
    if any(f.person is not None and f.person.channel == "zalo" for f in failed):
        lines.append(_("On Zalo: ask them to send any message to the bot."))
    return lines


# -- refusals that name a format or a command (raised by the conversation) ----------------------------
def format_hint() -> str:
    return _("Write the time and date as HH:MM dd/mm/yyyy, for example <code>{example}</code>.").format(
        example=svc.EXAMPLE)


def bad_when(problem: str) -> str:
    return f"{problem}\n{format_hint()}" if problem else format_hint()


def one_line_usage() -> str:
    return _("Schedule in one line: <code>/meeting HH:MM dd/mm/yyyy | place | title | agenda (optional)</code>\n"
             "For example: <code>/meeting 08:00 11/12/2026 | Hội trường TTYT Tiên Yên | "
             "Hội nghị tổng kết năm 2026</code>")


def bad_number(count: int) -> str:
    if not count:
        return _("There is no upcoming meeting.")
    return _("Write the meeting's number from /meetings (1 to {n}).").format(n=count)


def passed_meanwhile() -> str:
    return _("That time has passed meanwhile. Write a new date and time, for example <code>{example}</code>.").format(
        example=svc.EXAMPLE)


def reschedule_usage() -> str:
    return _("Write the meeting's number and the new time: <code>/reschedule 1 {example}</code>. "
             "Send /meetings to see the numbers.").format(example=svc.EXAMPLE)


def cancel_usage() -> str:
    return _("Write the meeting's number: <code>/cancelmeeting 1</code>. Send /meetings to see the numbers.")
