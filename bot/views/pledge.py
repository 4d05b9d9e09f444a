"""Texts and buttons of the emulation pledge (giao ước thi đua). Deep link `p_<pledge>`; the sign
button's action is bot.conversations.pledge.Sign (its packed data comes in as `sign`)."""

from __future__ import annotations

from datetime import datetime

from bot.i18n import _
from bot.services import pledge as svc
from bot.services.assessments import local_text
from bot.services.reminders import DeadlineItem
from bot.views.base import Action, Reply, esc
from bot.views.blocname import bloc_name
from bot.views.meetings import lead_text, mute_button
from storage.models import Bloc, Pledge, Unit


def signed_line(status: svc.PledgeStatus) -> str:
    total = len(status.signed) + len(status.unsigned)
    line = _("Signed: {done}/{total} units").format(done=len(status.signed), total=total)
    if status.unsigned:
        line += "\n" + _("Not signed yet: {names}").format(names=", ".join(esc(u.name) for u in status.unsigned))
    return line


def group_post(bloc: Bloc, pledge: Pledge, status: svc.PledgeStatus) -> Reply:
    lines = [_("🤝 <b>Emulation pledge {year}</b> — {bloc}").format(year=pledge.year, bloc=esc(bloc_name(bloc)))]
    if pledge.text:
        lines.append(esc(pledge.text))
    if pledge.file_name:
        lines.append(_("📄 File: {name}").format(name=esc(pledge.file_name)))
    sign_line = _("Each unit's representative signs in private.")
    if pledge.deadline is not None:
        sign_line += " " + _("Deadline: {when}.").format(when=local_text(bloc, pledge.deadline))
    lines.append(sign_line)
    lines.append(signed_line(status))
    reply = Reply("\n\n".join(lines[:-2]) + "\n\n" + "\n".join(lines[-2:]))
    return reply.add_row(Action(_("✍️ Sign the pledge"), f"{svc.PAYLOAD_PREFIX}{pledge.id}", kind="start"))


def sign_prompt(bloc: Bloc, pledge: Pledge, unit: Unit, signed: bool, sign: str) -> Reply:
    lines = [_("🤝 <b>Emulation pledge {year}</b> — {bloc}").format(year=pledge.year, bloc=esc(bloc_name(bloc)))]
    if pledge.text:
        lines.append(esc(pledge.text))
    reply = Reply("\n\n".join(lines))
    if signed:
        reply.text += "\n\n" + _("✅ {unit} has already signed.").format(unit=esc(unit.name))
        return reply
    label = _("✍️ Unit {unit} signs the pledge").format(unit=unit.name)
    return reply.add_row(Action(label[:60], sign))


def signed(unit: Unit, pledge: Pledge, bloc: Bloc, result: svc.Signed) -> Reply:
    when = local_text(bloc, result.signature.signed_at)
    if result.new:
        return Reply(_("✅ {unit} signed the emulation pledge {year} ({when}).").format(
            unit=esc(unit.name), year=pledge.year, when=when))
    return Reply(_("{unit} had already signed on {when}; nothing changed.").format(unit=esc(unit.name), when=when))


def no_pledge(manager: bool) -> Reply:
    if manager:
        return Reply(_("No pledge yet. Post it: <code>/pledge</code> followed by the text, or send the file with the "
                       "caption /pledge."))
    return Reply(_("The bloc has not posted a pledge yet."))


def status_line(status: svc.PledgeStatus) -> str:
    """/status: how many units confirmed the current pledge."""
    return _("Pledge: {done}/{total} units signed").format(
        done=len(status.signed), total=len(status.signed) + len(status.unsigned))


def sign_in_private() -> str:
    return _("Sign the pledge in private: press “Sign the pledge” under the pledge message.")


def deadline_set(bloc: Bloc, pledge: Pledge) -> Reply:
    return Reply(_("🗓 Pledge signing deadline: <b>{when}</b>. Units that have not signed are reminded before it "
                   "(<code>/settings reminders</code>).").format(when=local_text(bloc, pledge.deadline)))


def reminders_queued(queued: int, unreachable: list[Unit], all_signed: bool) -> Reply:
    if all_signed:
        return Reply(_("Every unit has signed the pledge; nobody to remind."))
    lines = [_("🔔 Reminder sent in private to {n} representative(s) of the units that have not signed.").format(
        n=queued) if queued else _("No new reminder: the representatives were reminded within the last hour.")]
    if unreachable:
        lines.append(_("Not reachable (no representative who opened the bot): {names}").format(
            names=", ".join(esc(u.name) for u in unreachable)))
    return Reply("\n".join(lines))


def private_reminder_now(bloc: Bloc, pledge: Pledge, unit: Unit) -> Reply:
    text = _("🔔 <b>Reminder</b>: {unit} has not signed the emulation pledge {year} of {bloc} yet.").format(
        unit=esc(unit.name), year=pledge.year, bloc=esc(bloc_name(bloc)))
    if pledge.deadline is not None:
        text += " " + _("Deadline: {when}.").format(when=local_text(bloc, pledge.deadline))
    return Reply(text).add_row(Action(_("✍️ Sign the pledge"), f"{svc.PAYLOAD_PREFIX}{pledge.id}", kind="start"))


# -- deadline reminders (the source is declared in bot/conversations/pledge.py) -----------------------
def group_reminder(item: DeadlineItem, pending: list[Unit], now: datetime) -> Reply:
    lines = [_("⏰ <b>Reminder</b>: the pledge signing deadline is {lead} ({when}).").format(
        lead=lead_text(item.due_at, now), when=local_text(item.bloc, item.due_at))]
    if pending:
        lines.append(_("Not signed yet ({n}): {names}").format(n=len(pending),
                                                              names=", ".join(esc(u.name) for u in pending)))
    reply = Reply("\n".join(lines))
    return reply.add_row(Action(_("✍️ Sign the pledge"), f"{svc.PAYLOAD_PREFIX}{item.item_id}", kind="start"))


def private_reminder(item: DeadlineItem, unit: Unit, now: datetime, mute: str) -> Reply:
    reply = Reply(_("⏰ <b>Reminder</b>: {unit} has not signed the emulation pledge yet. The deadline is {lead} "
                    "({when}).").format(unit=esc(unit.name), lead=lead_text(item.due_at, now),
                                        when=local_text(item.bloc, item.due_at)))
    reply.add_row(Action(_("✍️ Sign the pledge"), f"{svc.PAYLOAD_PREFIX}{item.item_id}", kind="start"))
    reply.add_row(mute_button(mute))
    return reply
