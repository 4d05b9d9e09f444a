"""Texts and buttons of the emulation pledge (giao ước thi đua). Deep link `p_<pledge>`,
callback `ps:<pledge>` (sign)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import _
from bot.services import pledge as svc
from bot.services.assessments import local_text
from bot.views.base import Action, Reply, esc
from bot.views.status import status_source
from storage.models import Bloc, Pledge, Unit


def signed_line(status: svc.PledgeStatus) -> str:
    total = len(status.signed) + len(status.unsigned)
    line = _("Signed: {done}/{total} units").format(done=len(status.signed), total=total)
    if status.unsigned:
        line += "\n" + _("Not signed yet: {names}").format(names=", ".join(esc(u.name) for u in status.unsigned))
    return line


def group_post(bloc: Bloc, pledge: Pledge, status: svc.PledgeStatus) -> Reply:
    lines = [_("🤝 <b>Emulation pledge {year}</b> — {bloc}").format(year=pledge.year, bloc=esc(bloc.title))]
    if pledge.text:
        lines.append(esc(pledge.text))
    if pledge.file_name:
        lines.append(_("📄 File: {name}").format(name=esc(pledge.file_name)))
    lines.append(_("Each unit's representative signs in private."))
    lines.append(signed_line(status))
    reply = Reply("\n\n".join(lines[:-2]) + "\n\n" + "\n".join(lines[-2:]))
    return reply.add_row(Action(_("✍️ Sign the pledge"), f"{svc.PAYLOAD_PREFIX}{pledge.id}", kind="start"))


def sign_prompt(bloc: Bloc, pledge: Pledge, unit: Unit, signed: bool) -> Reply:
    lines = [_("🤝 <b>Emulation pledge {year}</b> — {bloc}").format(year=pledge.year, bloc=esc(bloc.title))]
    if pledge.text:
        lines.append(esc(pledge.text))
    reply = Reply("\n\n".join(lines))
    if signed:
        reply.text += "\n\n" + _("✅ {unit} has already signed.").format(unit=esc(unit.name))
        return reply
    label = _("✍️ Unit {unit} signs the pledge").format(unit=unit.name)
    return reply.add_row(Action(label[:60], f"ps:{pledge.id}"))


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


@status_source
async def pledge_status_line(session: AsyncSession, clock: Clock, bloc: Bloc) -> list[str]:
    """/status: how many units signed the current pledge."""
    pledge = await svc.current_pledge(session, bloc.id)
    if pledge is None:
        return []
    status = await svc.status(session, pledge)
    return [_("Pledge: {done}/{total} units signed").format(
        done=len(status.signed), total=len(status.signed) + len(status.unsigned))]
