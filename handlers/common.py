"""Commands that work everywhere: /help, /lang; and the fallback for unknown commands."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import use_locale
from bot.services.blocs import Member, require_manager
from bot.services.people import set_person_locale
from bot.services.blocs import set_bloc_locale
from bot.views import core as views
from bot.views.help import help_reply
from bot.channels.telegram import answer
from handlers.routing import Routes
from storage.models import Bloc, Person

router = Routes("common")


@router.message(Command("help"))
async def cmd_help(message: Message, member: Member | None, bloc: Bloc | None, bot_username: str) -> None:
    chat = "private" if message.chat.type == "private" else "group"
    no_bloc = bloc is None or not bloc.is_active
    await answer(message, help_reply(chat, member, is_admin=no_bloc and chat == "group"), bot_username)


@router.message(Command("lang"))
async def cmd_lang(message: Message, command: CommandObject, session: AsyncSession, person: Person | None,
                   member: Member | None, bot_username: str) -> None:
    choice = (command.args or "").strip().lower()
    if choice not in ("vi", "en") or person is None:
        await answer(message, views.lang_usage(), bot_username)
        return
    await set_person_locale(session, person, choice)
    # In the group, the head's /lang also sets the bloc's default language.
    if message.chat.type != "private" and member is not None and member.can_manage:
        await set_bloc_locale(session, member.bloc, choice)
    with use_locale(choice):
        await answer(message, views.lang_set(choice), bot_username)


fallback = Routes("fallback")


@fallback.message(F.text.startswith("/"))
async def unknown_command(message: Message, bot_username: str) -> None:
    await answer(message, views.unknown_command(), bot_username)


def make_router() -> Router:
    return router.build()


def make_fallback() -> Router:
    """The unknown-command answer: included last, after every other router."""
    return fallback.build()
