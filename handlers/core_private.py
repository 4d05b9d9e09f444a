"""Private chat: /start (plain and join links), /whoami, unit lists sent as files."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import _, use_locale
from bot.services import blocs as bloc_service
from bot.services import invites as invite_service
from bot.services import units as unit_service
from bot.services.blocs import Member
from bot.services.errors import UserError
from bot.views import core as views
from handlers.filters import IN_PRIVATE
from bot.channels.telegram import answer, edit, try_send_private
from handlers.routing import Routes
from storage.models import Person

router = Routes("core_private", message=IN_PRIVATE)

UNIT_FILE_TYPES = (".csv", ".xlsx")


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(invite_service.PREFIX)))
async def start_join(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                     bot_username: str) -> None:
    _invite, bloc, unit = await invite_service.resolve(session, clock, command.args)
    await answer(message, views.join_confirm(bloc, unit, command.args), bot_username)


@router.callback_query(F.data.startswith("jc:"))
async def confirm_join(callback: CallbackQuery, session: AsyncSession, clock: Clock, person: Person,
                       bot_username: str) -> None:
    try:
        bloc, unit, new = await invite_service.join(session, clock, callback.data[3:], person)
    except invite_service.LinkUsed as refused:
        await _tell_managers(session, callback.bot, refused.bloc,
                             lambda: views.join_refused_announced(refused.bloc, refused.unit, person.full_name),
                             bot_username)
        raise
    await edit(callback, views.joined(bloc, unit, new), bot_username)
    await callback.answer()
    if new:
        await _tell_managers(session, callback.bot, bloc, lambda: views.join_announced(bloc, unit, person.full_name),
                             bot_username, skip=person.id)


async def _tell_managers(session: AsyncSession, bot: Bot, bloc, render, bot_username: str, skip: int | None = None):
    """Every join (and every refused one) reaches the head in private."""
    for manager in await invite_service.managers(session, bloc):
        if manager.id == skip or not manager.started or manager.blocked:
            continue
        with use_locale(manager.locale or bloc.locale):
            reply = render()
        await try_send_private(bot, manager.external_id, reply, bot_username)


@router.callback_query(F.data == "jx")
async def cancel_join(callback: CallbackQuery, bot_username: str) -> None:
    await edit(callback, views.join_cancelled(), bot_username)
    await callback.answer()


@router.message(Command("whoami"))
async def cmd_whoami(message: Message, session: AsyncSession, person: Person, bot_username: str) -> None:
    entries = []
    for bloc, _unit in await bloc_service.blocs_of_person(session, person):
        entries.append((bloc, await bloc_service.member_of(session, bloc, person)))
    current = await bloc_service.private_bloc(session, person)
    if current is not None and all(b.id != current.id for b, _m in entries):
        entries.append((current, await bloc_service.member_of(session, current, person)))
    await answer(message, views.whoami(entries), bot_username)


@router.message(F.document, F.document.file_name.lower().endswith(UNIT_FILE_TYPES), ~F.caption)
async def unit_file(message: Message, state: FSMContext, session: AsyncSession, clock: Clock, settings: Settings,
                    member: Member | None, bot: Bot, bot_username: str) -> None:
    """A CSV/XLSX with no caption, outside any dialog, from a head: the unit list."""
    if await state.get_state() is not None:
        return
    if member is None or not member.can_manage:
        raise UserError(_("Only the bloc head or deputy can load the unit list."))
    if (message.document.file_size or 0) > settings.max_upload_mb * 1024 * 1024:
        raise UserError(_("The file is too large (at most {mb} MB).").format(mb=settings.max_upload_mb))
    buffer = await bot.download(message.document)
    rows = unit_service.parse_table_file(message.document.file_name, buffer.read())
    if not rows:
        raise UserError(_("I found no unit names in the first column of this file."))
    report = await unit_service.add_units(session, clock, member.bloc, rows, member.person.id)
    total = await unit_service.count_units(session, member.bloc.id)
    await answer(message, views.units_added(report, total), bot_username)


@router.message(CommandStart(deep_link=True))
async def start_unknown_payload(message: Message) -> None:
    """Any payload no feature claimed: forged or from an old version."""
    raise UserError(_("This link is not valid or has expired. Ask the bloc head for a new one."))


@router.message(CommandStart())
async def start_plain(message: Message, bot_username: str) -> None:
    await answer(message, views.welcome_private(), bot_username)


GROUP_ONLY = ("setup", "units", "addunit", "rename", "removeunit", "merge", "invite", "revokelinks", "reps", "revoke",
              "sethead", "setdeputy", "status", "settings")


@router.message(Command(*GROUP_ONLY))
async def group_command_in_private(message: Message, bot_username: str) -> None:
    await answer(message, views.group_only(), bot_username)


def make_router() -> Router:
    return router.build()
