"""Texts for setup, units, invites, roles, help, whoami, status."""

from __future__ import annotations

from bot.i18n import _
from bot.services.blocs import Member, Role
from bot.services.invites import IssuedLink, RepRow
from bot.services.units import AddReport
from bot.views.base import Action, Reply, deep_link, esc
from bot.views.blocname import bloc_name, is_cluster
from bot.views.numbers import format_decimal
from storage.models import Bloc, Unit


def role_name(role: Role, cluster: bool = False) -> str:
    """A member's role; in a bloc called "cụm" (blocname.is_cluster) the head is "Trưởng cụm"."""
    if cluster and role in (Role.head, Role.deputy, Role.founder):
        return {Role.head: _("cluster head"), Role.deputy: _("deputy cluster head"),
                Role.founder: _("cluster head (until a head unit is set)")}[role]
    return {
        Role.head: _("bloc head"),
        Role.deputy: _("deputy head"),
        Role.founder: _("bloc head (until a head unit is set)"),
        Role.representative: _("unit representative"),
        Role.outsider: _("not a member"),
    }[role]


def not_a_bloc() -> Reply:
    return Reply(_("This group is not a bloc yet. A group administrator can start with:\n"
                   "<code>/setup Khối thi đua ...</code>"))


def group_only() -> Reply:
    return Reply(_("This command works in the bloc's group chat."))


def private_only(bot_username: str) -> Reply:
    reply = Reply(_("For privacy, do this in your private chat with me."))
    return reply.add_row(Action(_("Open private chat"), "hi", kind="start"))


def setup_done(bloc: Bloc) -> Reply:
    return Reply(_("✅ This group is now the bloc <b>{title}</b>. "
                   "You are its head until the units and posts are set.\n\n"
                   "Next steps:\n"
                   "1. Add the units: <code>/addunit</code> followed by one name per line "
                   "(or send a CSV/XLSX file to me in private).\n"
                   "2. <code>/invite</code>: I send you one join link per unit, to forward to each unit.\n"
                   "3. <code>/sethead</code> and <code>/setdeputy</code> with a unit number.\n"
                   "Send /help at any time.").format(title=esc(bloc.title)))


def setup_done_private(bloc: Bloc) -> Reply:
    return Reply(_("✅ The bloc <b>{title}</b> is set up. It is run from this chat: what a group would see, "
                   "each member receives here in private. You are its head until the units and posts are set.\n\n"
                   "Next steps:\n"
                   "1. <code>addunit</code> followed by one unit name per line.\n"
                   "2. <code>invite</code>: one join code per unit, to forward to each unit.\n"
                   "3. <code>sethead</code> and <code>setdeputy</code> with a unit number.\n"
                   "Send help at any time.").format(title=esc(bloc.title)))


def pick_bloc(command: str, blocs: list[tuple[Bloc, str]]) -> Reply:
    """`blocs`: each bloc with the packed action that picks it."""
    reply = Reply(_("You are in {count} blocs. Which one is <code>{command}</code> for?").format(
        count=len(blocs), command=esc(command)))
    for bloc, data in blocs:
        reply.add_row(Action(bloc.title[:60], data))
    return reply


def units_added(report: AddReport, total: int) -> Reply:
    lines = []
    if report.added:
        lines.append(_("✅ Added {count} unit(s): {names}.").format(
            count=len(report.added), names=", ".join(esc(u.name) for u in report.added)))
    if report.refused:
        lines.append(_("Not added:"))
        lines += [f"• {esc(name) or '—'}: {esc(reason)}" for name, reason in report.refused]
    if not report.added and not report.refused:
        lines.append(_("Write the unit names after the command, one per line, for example:\n"
                       "<code>/addunit\nTTYT thị xã Đông Triều\nTTYT thị xã Quảng Yên</code>"))
    lines.append(_("The bloc has {total} active unit(s). Send /units to see the list.").format(total=total))
    return Reply("\n".join(lines))


def unit_list(bloc: Bloc, units: list[Unit], rep_counts: dict[int, int]) -> Reply:
    if not units:
        return Reply(_("The bloc has no units yet. Add them with /addunit, one name per line."))
    lines = [_("<b>Units of {title}</b> ({count}):").format(title=esc(bloc.title), count=len(units))]
    for i, unit in enumerate(units, 1):
        marks = []
        if unit.id == bloc.head_unit_id:
            marks.append(_("head"))
        if unit.id == bloc.deputy_unit_id:
            marks.append(_("deputy"))
        suffix = f" — <i>{', '.join(marks)}</i>" if marks else ""
        people = _("{n} rep.").format(n=rep_counts.get(unit.id, 0))
        lines.append(f"{i}. {esc(unit.name)}{suffix} ({people})")
    lines.append(_("\nRename: <code>/rename 3 New name</code> · remove: <code>/removeunit 3</code> · "
                   "merge unit 3 into 5: <code>/merge 3 5</code>"))
    return Reply("\n".join(lines))


def invites_sent_to_private() -> Reply:
    return Reply(_("📨 I have sent you the join links in our private chat."))


def invites_need_private() -> Reply:
    reply = Reply(_("I cannot write to you first. Open a private chat with me, press Start, "
                    "then send /invite here again."))
    return reply.add_row(Action(_("Open private chat"), "hi", kind="start"))


def invite_links(bloc: Bloc, links: list[IssuedLink], bot_username: str, ttl_days: int,
                 with_links: bool = True) -> list[Reply]:
    """One message per ~20 units so no message nears Telegram's 4096-character limit."""
    header = _("<b>Join links for {title}</b>\nForward each link to its unit. Whoever opens it confirms and becomes "
               "that unit's representative. Links expire in {days} days; /revokelinks withdraws them all.").format(
        title=esc(bloc.title), days=ttl_days)
    if any(link.code for link in links):
        header += "\n" + _("On Zalo, the representative writes to the bot: <code>dk</code> and the unit's code "
                           "(or just the code). A link and its code work once, for one person.")
    replies, chunk = [], [header]
    for i, link in enumerate(links, 1):
        lines = [f"{i}. {esc(link.unit.name)}"]
        if with_links:  # a head on Zalo without the Telegram bot's name gets the codes only
            lines.append(deep_link(bot_username, link.payload))
        if link.code:
            lines.append(_("Zalo code: <code>{code}</code>").format(code=link.shown_code))
        chunk.append("\n".join(lines))
        if len(chunk) == 21:
            replies.append(Reply("\n\n".join(chunk)))
            chunk = []
    if chunk:
        replies.append(Reply("\n\n".join(chunk)))
    return replies


def join_confirm(bloc: Bloc, unit: Unit, confirm: str, cancel: str) -> Reply:
    """`confirm`, `cancel`: the packed actions of the two buttons."""
    reply = Reply(_("You opened the join link of <b>{unit}</b> in <b>{bloc}</b>.\n"
                    "Do you represent this unit?").format(unit=esc(unit.name), bloc=esc(bloc_name(bloc))))
    reply.add_row(Action(_("✅ I represent {unit}").format(unit=unit.name)[:60], confirm))
    reply.add_row(Action(_("✖ Not me"), cancel))
    return reply


def joined(bloc: Bloc, unit: Unit, new: bool) -> Reply:
    if not new:
        return Reply(_("You are already a representative of <b>{unit}</b>.").format(unit=esc(unit.name)))
    return Reply(_("✅ You are now a representative of <b>{unit}</b> in <b>{bloc}</b>.\n"
                   "I will send you ballots, forms and reminders here. Send /help to see what you can do.").format(
        unit=esc(unit.name), bloc=esc(bloc_name(bloc))))


def join_cancelled() -> Reply:
    return Reply(_("Nothing was registered."))


def rep_list(rows: list[RepRow]) -> Reply:
    if not rows:
        return Reply(_("No representative has joined yet. Send /invite to get the join links."))
    lines = [_("<b>Representatives</b>:")]
    for i, row in enumerate(rows, 1):
        handle = f" @{esc(row.person.username)}" if row.person.username else ""
        lines.append(f"{i}. {esc(row.person.full_name)}{handle} — {esc(row.unit.name)}")
    lines.append(_("\nRevoke one: <code>/revoke 2</code>. New links: /invite"))
    return Reply("\n".join(lines))


def rep_revoked(row: RepRow) -> Reply:
    return Reply(_("{person} no longer represents {unit}.").format(
        person=esc(row.person.full_name), unit=esc(row.unit.name)))


def post_set(role: Role, unit: Unit, year: int) -> Reply:
    if role is Role.head:
        return Reply(_("✅ {unit} is the bloc head for {year}.").format(unit=esc(unit.name), year=year))
    return Reply(_("✅ {unit} is the deputy head for {year}.").format(unit=esc(unit.name), year=year))


def whoami(entries: list[tuple[Bloc, Member]]) -> Reply:
    if not entries:
        return Reply(_("You are not in any bloc yet. Open the join link your bloc head sent you."))
    lines = []
    for bloc, member in entries:
        unit = esc(member.unit.name) if member.unit else "—"
        lines.append(_("Bloc: <b>{bloc}</b>\nUnit: {unit}\nRole: {role}").format(
            bloc=esc(bloc.title), unit=unit, role=role_name(member.role, is_cluster(bloc))))
    return Reply("\n\n".join(lines))


def status(bloc: Bloc, units: list[Unit], rep_counts: dict[int, int], extra: list[str]) -> Reply:
    with_rep = [u for u in units if rep_counts.get(u.id)]
    missing = [u for u in units if not rep_counts.get(u.id)]
    head = next((u.name for u in units if u.id == bloc.head_unit_id), None)
    deputy = next((u.name for u in units if u.id == bloc.deputy_unit_id), None)
    lines = [
        _("<b>{title}</b> — year {year}").format(title=esc(bloc.title), year=bloc.year),
        (_("Cluster head: {head} · Deputy: {deputy}") if is_cluster(bloc) else _("Head: {head} · Deputy: {deputy}"))
        .format(head=esc(head or "—"), deputy=esc(deputy or "—")),
        _("Units: {total} · with a representative: {done}/{total}").format(total=len(units), done=len(with_rep)),
    ]
    if missing:
        names = ", ".join(esc(u.name) for u in missing[:15])
        more = _(" and {n} more").format(n=len(missing) - 15) if len(missing) > 15 else ""
        lines.append(_("Still without a representative: {names}{more}").format(names=names, more=more))
    lines += extra
    return Reply("\n".join(lines))


def lang_set(locale: str) -> Reply:
    return Reply(_("Language set: Tiếng Việt.") if locale == "vi" else _("Language set: English."))


def lang_usage() -> Reply:
    return Reply(_("Choose a language: <code>/lang vi</code> (Tiếng Việt) or <code>/lang en</code> (English)."))


def unknown_command() -> Reply:
    return Reply(_("I do not know this command. Send /help to see what you can do here."))


def generic_error() -> Reply:
    return Reply(_("Sorry, something went wrong on my side. Nothing was changed; please try again in a moment."))


def migrated() -> Reply:
    return Reply(_("The group became a supergroup; the bloc moved with it."))


def welcome_private() -> Reply:
    return Reply(_("Hello! I am the emulation bloc assistant. If your bloc head sent you a join link, open it to "
                   "register for your unit. Send /help to see what you can do."))


def welcome_group() -> Reply:
    return Reply(_("Hello! I help this bloc with units, self-assessments, meetings and secret ballots. "
                   "A group administrator can start with <code>/setup Bloc name</code>."))


def renamed(old: str, unit: Unit) -> Reply:
    return Reply(_("✅ “{old}” is now called “{new}”.").format(old=esc(old), new=esc(unit.name)))


def deactivated(unit: Unit) -> Reply:
    return Reply(_("✅ “{name}” was deactivated. Its history is kept.").format(name=esc(unit.name)))


def merged(source: Unit, target: Unit) -> Reply:
    return Reply(_("✅ “{source}” was merged into “{target}”. Its representatives now represent “{target}”; "
                   "its history is kept.").format(source=esc(source.name), target=esc(target.name)))


def links_revoked(count: int) -> Reply:
    return Reply(_("✅ {count} join link(s) withdrawn. /invite gives fresh ones.").format(count=count))


def settings_list(bloc: Bloc) -> Reply:
    from bot.services import settings as settings_service

    lines = [_("<b>Settings of {title}</b>").format(title=esc(bloc.title))]
    for key, spec in settings_service.REGISTRY.items():
        shown = spec.show(settings_service.current(bloc, key))
        lines.append(f"• <code>{key}</code> — {_(spec.label)}: <b>{esc(shown)}</b>")
    lines.append(_("\nChange one: <code>/settings key value</code>, "
                    "for example <code>/settings timezone Asia/Ho_Chi_Minh</code>."))
    return Reply("\n".join(lines))


def setting_changed(key: str, shown: str) -> Reply:
    return Reply(_("✅ {key} is now {value}.").format(key=f"<code>{esc(key)}</code>", value=f"<b>{esc(shown)}</b>"))


def join_announced(bloc: Bloc, unit: Unit, person_name: str) -> Reply:
    return Reply(_("👤 {name} has joined as a representative of <b>{unit}</b> ({bloc}). Not right? Remove them "
                   "with /reps in the group.").format(name=esc(person_name), unit=esc(unit.name),
                                                        bloc=esc(bloc_name(bloc))))


def join_refused_announced(bloc: Bloc, unit: Unit, person_name: str) -> Reply:
    return Reply(_("⚠️ {name} tried to join <b>{unit}</b> ({bloc}) with a link that was already used. Nobody was "
                   "added. If they should represent the unit, send them a new link with /invite.").format(
        name=esc(person_name), unit=esc(unit.name), bloc=esc(bloc_name(bloc))))


# -- refusals and usage hints (the text of a UserError) --------------------------------------------
def rename_usage() -> str:
    return _("Write the unit number and the new name: <code>/rename 3 New name</code>")


def removeunit_usage() -> str:
    return _("Write the unit number: <code>/removeunit 3</code>. Send /units to see the numbers.")


def merge_usage() -> str:
    return _("Write two unit numbers: <code>/merge 3 5</code> merges unit 3 into unit 5.")


def no_units_to_invite() -> str:
    return _("The bloc has no units yet. Add them with /addunit, one name per line.")


def revoke_usage() -> str:
    return _("Write the representative's number: <code>/revoke 2</code>. Send /reps to see the numbers.")


def post_usage(command: str) -> str:
    return _("Write the unit number, for example <code>/{command} 4</code>. Send /units to see the numbers.").format(
        command=command)


def settings_usage() -> str:
    return _("Write the setting and its value: <code>/settings key value</code>. Send /settings to see them.")


def unit_file_not_manager() -> str:
    return _("Only the bloc head or deputy can load the unit list.")


def file_too_large(mb: int) -> str:
    return _("The file is too large (at most {mb} MB).").format(mb=mb)


def no_units_in_file() -> str:
    return _("I found no unit names in the first column of this file.")


def link_invalid() -> str:
    return _("This link is not valid or has expired. Ask the bloc head for a new one.")


def button_invalid() -> str:
    return _("This button is no longer valid.")




def zalo_usage_line(sent: int, quota: int) -> str:
    """The status summary's line: "Zalo: 1.234/3.000 tin nhắn tháng này" (numbers in the reader's locale)."""
    return _("Zalo: {sent}/{quota} messages this month").format(sent=format_decimal(sent, places=0),
                                                               quota=format_decimal(quota, places=0))


def zalo_quota_warning(sent: int, quota: int) -> Reply:
    return Reply(_("⚠️ The Zalo bot has sent {sent} of the {quota} messages its plan allows this month. "
                   "Past the limit, Zalo holds messages until next month (they are sent then, none is lost). "
                   "Ask the administrator about a larger plan if needed.").format(
        sent=format_decimal(sent, places=0), quota=format_decimal(quota, places=0)))
