"""Group chat: setup, units, invites, representatives, posts, status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import _
from bot.services import blocs as bloc_service
from bot.services import invites as invite_service
from bot.services import units as unit_service
from bot.services.blocs import Member, Role, require_manager
from bot.services.errors import UserError
from bot.views import core as views
from bot.views.status import status_lines  # the features not yet on the conversation table
from handlers.filters import IN_GROUP, need_bloc, need_manager
from bot.channels.telegram import answer, try_send_private
from handlers.routing import Routes
from storage.models import Bloc, Person, Representative

if TYPE_CHECKING:
    from bot.app import App

router = Routes("core_group", message=IN_GROUP)


async def _is_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    member = await bot.get_chat_member(chat_id, user_id)
    return member.status in ("creator", "administrator")


_manager = need_manager  # shared check, handlers/filters.py


async def rep_counts(session: AsyncSession, bloc_id: int) -> dict[int, int]:
    result = await session.execute(
        select(Representative.unit_id, func.count()).where(
            Representative.bloc_id == bloc_id, Representative.revoked_at == None)  # noqa: E711
        .group_by(Representative.unit_id))
    return {unit_id: count for unit_id, count in result.all()}


@router.message(Command("setup"))
async def cmd_setup(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                    settings: Settings, person: Person, bot: Bot, bot_username: str) -> None:
    is_admin = await _is_admin(bot, message.chat.id, message.from_user.id)
    bloc = await bloc_service.setup_bloc(session, clock, message.chat.id, command.args or "", person,
                                         settings.default_locale, settings.timezone, is_admin)
    await answer(message, views.setup_done(bloc), bot_username)


@router.message(Command("units"))
async def cmd_units(message: Message, session: AsyncSession, bloc: Bloc | None, bot_username: str) -> None:
    bloc = need_bloc(bloc)
    units = await unit_service.list_units(session, bloc.id)
    await answer(message, views.unit_list(bloc, units, await rep_counts(session, bloc.id)), bot_username)


@router.message(Command("addunit"))
async def cmd_addunit(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                      bloc: Bloc | None, member: Member | None, bot_username: str) -> None:
    member = _manager(bloc, member)
    rows = unit_service.parse_lines(command.args or "")
    report = await unit_service.add_units(session, clock, member.bloc, rows, member.person.id) if rows \
        else unit_service.AddReport()
    total = await unit_service.count_units(session, member.bloc.id)
    await answer(message, views.units_added(report, total), bot_username)


def _two_args(command: CommandObject, usage: str) -> tuple[str, str]:
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) != 2:
        raise UserError(usage)
    return parts[0], parts[1]


@router.message(Command("rename"))
async def cmd_rename(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                     bloc: Bloc | None, member: Member | None, bot_username: str) -> None:
    member = _manager(bloc, member)
    number, name = _two_args(command, _("Write the unit number and the new name: <code>/rename 3 New name</code>"))
    old, unit = await unit_service.rename_unit(session, clock, member.bloc, number, name, member.person.id)
    await answer(message, views.renamed(old, unit), bot_username)


@router.message(Command("removeunit"))
async def cmd_removeunit(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                         bloc: Bloc | None, member: Member | None, bot_username: str) -> None:
    member = _manager(bloc, member)
    if not (command.args or "").strip():
        raise UserError(_("Write the unit number: <code>/removeunit 3</code>. Send /units to see the numbers."))
    unit = await unit_service.deactivate_unit(session, clock, member.bloc, command.args, member.person.id)
    await answer(message, views.deactivated(unit), bot_username)


@router.message(Command("merge"))
async def cmd_merge(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                    bloc: Bloc | None, member: Member | None, bot_username: str) -> None:
    member = _manager(bloc, member)
    source, target = _two_args(command, _("Write two unit numbers: <code>/merge 3 5</code> merges unit 3 into unit 5."))
    src, dst = await unit_service.merge_units(session, clock, member.bloc, source, target.strip(), member.person.id)
    await answer(message, views.merged(src, dst), bot_username)


@router.message(Command("invite"))
async def cmd_invite(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                     settings: Settings, bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    if not member.person.started or member.person.blocked:
        await answer(message, views.invites_need_private(), bot_username)
        return
    if (command.args or "").strip():
        units = [await unit_service.unit_by_number(session, member.bloc.id, command.args)]
    else:
        units = await unit_service.list_units(session, member.bloc.id)
    if not units:
        raise UserError(_("The bloc has no units yet. Add them with /addunit, one name per line."))
    links = await invite_service.issue_links(session, clock, member.bloc, units, settings.invite_ttl_days,
                                             member.person.id)
    for reply in views.invite_links(member.bloc, links, bot_username, settings.invite_ttl_days):
        if not await try_send_private(bot, message.from_user.id, reply, bot_username):
            await answer(message, views.invites_need_private(), bot_username)
            return
    await answer(message, views.invites_sent_to_private(), bot_username)


@router.message(Command("revokelinks"))
async def cmd_revokelinks(message: Message, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                          member: Member | None, bot_username: str) -> None:
    member = _manager(bloc, member)
    count = await invite_service.revoke_links(session, clock, member.bloc, member.person.id)
    await answer(message, views.links_revoked(count), bot_username)


@router.message(Command("reps"))
async def cmd_reps(message: Message, session: AsyncSession, bloc: Bloc | None, member: Member | None,
                   bot_username: str) -> None:
    member = _manager(bloc, member)
    rows = await invite_service.list_representatives(session, member.bloc.id)
    await answer(message, views.rep_list(rows), bot_username)


@router.message(Command("revoke"))
async def cmd_revoke(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                     bloc: Bloc | None, member: Member | None, bot_username: str) -> None:
    member = _manager(bloc, member)
    if not (command.args or "").strip():
        raise UserError(_("Write the representative's number: <code>/revoke 2</code>. Send /reps to see the numbers."))
    row = await invite_service.revoke_representative(session, clock, member.bloc, command.args, member.person.id)
    await answer(message, views.rep_revoked(row), bot_username)


async def _set_post(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                    bloc: Bloc | None, member: Member | None, bot_username: str, post: Role) -> None:
    member = _manager(bloc, member)
    if not (command.args or "").strip():
        raise UserError(_("Write the unit number, for example <code>/{command} 4</code>. Send /units to see the numbers.")
                        .format(command=command.command))
    unit = await unit_service.unit_by_number(session, member.bloc.id, command.args)
    await bloc_service.set_post(session, clock, member.bloc, post, unit, member.person.id)
    await answer(message, views.post_set(post, unit, member.bloc.year), bot_username)


@router.message(Command("sethead"))
async def cmd_sethead(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                      bloc: Bloc | None, member: Member | None, bot_username: str) -> None:
    await _set_post(message, command, session, clock, bloc, member, bot_username, Role.head)


@router.message(Command("setdeputy"))
async def cmd_setdeputy(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                        bloc: Bloc | None, member: Member | None, bot_username: str) -> None:
    await _set_post(message, command, session, clock, bloc, member, bot_username, Role.deputy)


@router.message(Command("status"))
async def cmd_status(message: Message, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                     app: App, bot_username: str) -> None:
    bloc = need_bloc(bloc)
    units = await unit_service.list_units(session, bloc.id)
    extra = await status_lines(session, clock, bloc) + await app.table.status_lines(session, clock, bloc)
    await answer(message, views.status(bloc, units, await rep_counts(session, bloc.id), extra), bot_username)


@router.message(Command("settings"))
async def cmd_settings(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                       bloc: Bloc | None, member: Member | None, bot_username: str) -> None:
    from bot.services import settings as settings_service

    bloc = need_bloc(bloc)
    parts = (command.args or "").split(maxsplit=1)
    if not parts:
        await answer(message, views.settings_list(bloc), bot_username)
        return
    member = _manager(bloc, member)
    if len(parts) != 2:
        raise UserError(_("Write the setting and its value: <code>/settings key value</code>. Send /settings to see them."))
    parsed = await settings_service.set_value(session, clock, member.bloc, parts[0], parts[1], member.person.id)
    spec = settings_service.REGISTRY[parts[0]]
    await answer(message, views.setting_changed(parts[0], spec.show(parsed)), bot_username)


def make_router() -> Router:
    return router.build()
