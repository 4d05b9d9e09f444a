"""/help: only the commands this person may use in this chat, in their language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.i18n import N_, _
from bot.services.blocs import Member
from bot.views.base import Reply

Where = Literal["group", "private", "both"]
Who = Literal["anyone", "admin", "member", "representative", "manager"]


@dataclass(frozen=True)
class CommandSpec:
    command: str
    description: str  # msgid, translated when shown
    where: Where
    who: Who


# One line per command. Feature areas add theirs here.
COMMANDS: list[CommandSpec] = [
    CommandSpec("setup", N_("make this group a bloc: /setup Bloc name"), "group", "admin"),
    CommandSpec("units", N_("list the units"), "group", "member"),
    CommandSpec("addunit", N_("add units, one name per line"), "group", "manager"),
    CommandSpec("rename", N_("rename a unit: /rename 3 New name"), "group", "manager"),
    CommandSpec("removeunit", N_("deactivate a unit (history kept): /removeunit 3"), "group", "manager"),
    CommandSpec("merge", N_("merge unit 3 into unit 5: /merge 3 5"), "group", "manager"),
    CommandSpec("invite", N_("get one join link per unit, in private"), "group", "manager"),
    CommandSpec("revokelinks", N_("withdraw all join links not yet used"), "group", "manager"),
    CommandSpec("reps", N_("list the representatives"), "group", "manager"),
    CommandSpec("revoke", N_("revoke a representative: /revoke 2"), "group", "manager"),
    CommandSpec("sethead", N_("set the head unit for this year: /sethead 4"), "group", "manager"),
    CommandSpec("setdeputy", N_("set the deputy unit for this year: /setdeputy 2"), "group", "manager"),
    CommandSpec("status", N_("the bloc at a glance"), "group", "member"),
    CommandSpec("settings", N_("see or change the bloc's settings"), "group", "manager"),
    CommandSpec("table", N_("the scoring table; the head loads it in private"), "both", "member"),
    CommandSpec("assessment", N_("self-assessment round: open with a deadline, status, extend, remind, close"), "group",
                "member"),
    CommandSpec("assessment", N_("self-assessment round with every unit's scores"), "private", "manager"),
    CommandSpec("export", N_("the current self-assessment round as XLSX, sent in private"), "both", "manager"),
    CommandSpec("return", N_("return a submission to its unit: /return 3 reason"), "both", "manager"),
    CommandSpec("pledge", N_("the emulation pledge: post it (/pledge text), "
                             "set the signing deadline (/pledge deadline dd/mm/yyyy), "
                             "remind the units that have not signed (/pledge remind), or see who signed"),
                "group", "member"),
    CommandSpec("assess", N_("fill your unit's self-assessment"), "private", "representative"),
    CommandSpec("sign", N_("sign the emulation pledge for your unit"), "private", "representative"),
    CommandSpec("meeting", N_("schedule a meeting: /meeting HH:MM dd/mm/yyyy | place | title"), "group", "manager"),
    CommandSpec("meetings", N_("upcoming meetings and who has answered"), "both", "member"),
    CommandSpec("reschedule", N_("move a meeting: /reschedule 1 HH:MM dd/mm/yyyy"), "both", "manager"),
    CommandSpec("cancelmeeting", N_("cancel a meeting: /cancelmeeting 1"), "both", "manager"),
    CommandSpec("vote", N_("open a secret ballot: /vote flag 18:00 25/12/2026, /vote merit 3, or /vote for buttons"),
                "group", "manager"),
    CommandSpec("close", N_("close a vote now and lock its ballot box (or cancel it): /close 3"), "group", "manager"),
    CommandSpec("mohom", N_("who of the counting committee has not handed back a key yet"), "group", "manager"),
    CommandSpec("bienban", N_("facts of a vote's minutes: place, venue, committee, units present"), "group", "manager"),
    CommandSpec("results", N_("results of the last closed vote, or /results 3"), "group", "member"),
    CommandSpec("ballots", N_("open votes for your unit"), "private", "representative"),
    CommandSpec("start", N_("start, or open a link from the bloc"), "private", "anyone"),
    CommandSpec("whoami", N_("your bloc, unit and role"), "private", "anyone"),
    CommandSpec("lang", N_("language: /lang vi or /lang en"), "both", "anyone"),
    CommandSpec("help", N_("this list"), "both", "anyone"),
]


def allowed(spec: CommandSpec, member: Member | None, is_admin: bool) -> bool:
    if spec.who == "anyone":
        return True
    if spec.who == "admin":
        return is_admin and (member is None or not member.bloc.is_active)
    if member is None:
        return False
    if spec.who == "manager":
        return member.can_manage
    if spec.who == "representative":
        return member.unit is not None
    return member.can_manage or member.unit is not None  # "member"


def help_reply(chat: Literal["group", "private"], member: Member | None, is_admin: bool = False,
               group_here: bool = False) -> Reply:
    """`group_here`: a private chat standing for the group of a bloc without one (its group commands too)."""
    lines = [_("<b>What you can do here</b>:")]
    for spec in COMMANDS:
        here = spec.where in (chat, "both") or (group_here and spec.where == "group")
        if here and allowed(spec, member, is_admin):
            lines.append(f"/{spec.command} — {_(spec.description)}")
    if chat == "group" and (member is None or not (member.can_manage or member.unit)):
        lines.append(_("\nYou are not registered in this bloc: you can read announcements here. "
                       "To represent a unit, ask the bloc head for its join link."))
    return Reply("\n".join(lines))
