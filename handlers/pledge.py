"""The pledge: /pledge in the group (head posts, anyone sees who signed), signing in private
(`p_<pledge>` deep link, /sign)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import _, use_locale
from bot.outbox import kick_all
from bot.services import pledge as svc
from bot.services import reminders
from bot.services.blocs import Member
from bot.services.errors import UserError
from bot.views import pledge as views
from handlers.filters import IN_GROUP, IN_PRIVATE, need_bloc, need_manager
from handlers.reply import answer, edit, edit_message, send
from handlers.routing import Routes, combine
from storage.models import Bloc, Person, Pledge

log = logging.getLogger(__name__)
DEADLINE_WORDS = ("deadline", "hạn", "han", "hạn-ký", "hanky")
REMIND_WORDS = ("remind", "nhắc", "nhac")
group = Routes("pledge_group", message=IN_GROUP)
private = Routes("pledge_private", message=IN_PRIVATE)
callbacks = Routes("pledge_callbacks")


async def refresh_pledge_post(bot: Bot, session: AsyncSession, pledge: Pledge, bot_username: str) -> None:
    if pledge.group_message_id is None:
        return
    bloc = await session.get(Bloc, pledge.bloc_id)
    status = await svc.status(session, pledge)
    await session.commit()
    with use_locale(bloc.locale):
        reply = views.group_post(bloc, pledge, status)
    try:
        await edit_message(bot, bloc.chat_id, pledge.group_message_id, reply, bot_username)
    except TelegramBadRequest as err:
        log.info("pledge post not updated: %s", err.message)


@group.message(Command("pledge"))
async def cmd_pledge(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                     bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    bloc = need_bloc(bloc)
    text = (command.args or "").strip()
    doc = message.document
    if not text and doc is None:
        pledge = await svc.current_pledge(session, bloc.id)
        manager = bool(member and member.can_manage)
        if pledge is None:
            await answer(message, views.no_pledge(manager), bot_username)
            return
        await answer(message, views.group_post(bloc, pledge, await svc.status(session, pledge)), bot_username)
        return
    word, _sep, rest = text.partition(" ")
    if doc is None and word.casefold() in DEADLINE_WORDS and len(rest) <= 40:
        member = need_manager(bloc, member)
        pledge = await svc.set_deadline(session, clock, member, rest)
        await answer(message, views.deadline_set(bloc, pledge), bot_username)
        await refresh_pledge_post(bot, session, pledge, bot_username)
        return
    if doc is None and word.casefold() in REMIND_WORDS and not rest.strip():
        member = need_manager(bloc, member)
        await answer(message, await remind_unsigned(session, clock, member), bot_username)
        return
    member = need_manager(bloc, member)
    pledge = await svc.post_pledge(session, clock, member, text, doc.file_id if doc else None,
                                   doc.file_name if doc else None)
    status = await svc.status(session, pledge)
    await session.commit()
    sent = await send(bot, bloc.chat_id, views.group_post(bloc, pledge, status), bot_username)
    if sent is not None:
        await svc.set_group_message(session, pledge.id, sent.message_id)


async def remind_unsigned(session: AsyncSession, clock: Clock, member: Member):
    """/pledge remind: queue one private reminder (outbox) per representative of each unsigned unit,
    at most once an hour per person; say which units nobody can be reached for."""
    pledge = await svc.current_pledge(session, member.bloc.id)
    if pledge is None:
        return views.no_pledge(True)
    status = await svc.status(session, pledge)
    if not status.unsigned:
        return views.reminders_queued(0, [], True)
    targets = [(person, unit) for person, unit in
               await reminders.representatives(session, member.bloc.id, [u.id for u in status.unsigned])
               if person.started and not person.blocked]
    queued = await reminders.queue_now(session, clock, member.bloc, svc.KIND, pledge.id, reminders.hourly(clock),
                                       targets, lambda unit: views.private_reminder_now(member.bloc, pledge, unit))
    if queued:
        kick_all()
    reachable = {unit.id for _person, unit in targets}
    return views.reminders_queued(queued, [u for u in status.unsigned if u.id not in reachable], False)


async def _prompt(message: Message, session: AsyncSession, pledge_id: int, person: Person, bot: Bot,
                  bot_username: str) -> None:
    pledge, member = await svc.pledge_for(session, pledge_id, person)
    status = await svc.status(session, pledge)
    done = any(u.id == member.unit.id for u, _sig in status.signed)
    await session.commit()
    if pledge.file_id:
        try:
            await bot.send_document(message.chat.id, pledge.file_id)
        except TelegramBadRequest as err:
            log.info("pledge file not sent: %s", err.message)
    await answer(message, views.sign_prompt(member.bloc, pledge, member.unit, done), bot_username)


@private.message(CommandStart(deep_link=True, magic=F.args.startswith(svc.PAYLOAD_PREFIX)))
async def start_pledge(message: Message, command: CommandObject, session: AsyncSession, person: Person, bot: Bot,
                       bot_username: str) -> None:
    await _prompt(message, session, svc.parse_payload(command.args), person, bot, bot_username)


@private.message(Command("sign"))
async def cmd_sign(message: Message, session: AsyncSession, person: Person, bloc: Bloc | None, bot: Bot,
                   bot_username: str) -> None:
    pledge = await svc.current_pledge(session, bloc.id) if bloc else None
    if pledge is None:
        await answer(message, views.no_pledge(False), bot_username)
        return
    await _prompt(message, session, pledge.id, person, bot, bot_username)


@group.message(Command("sign"))
async def sign_in_group(message: Message) -> None:
    raise UserError(_("Sign the pledge in private: press “Sign the pledge” under the pledge message."))


@callbacks.callback_query(F.data.startswith("ps:"))
async def sign_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, person: Person, bot: Bot,
                      bot_username: str) -> None:
    raw = callback.data[3:]
    if not raw.isdigit():
        raise UserError(_("This button is no longer valid."))
    pledge, unit, result = await svc.sign(session, clock, int(raw), person)
    bloc = await session.get(Bloc, pledge.bloc_id)
    await callback.answer()
    await edit(callback, views.signed(unit, pledge, bloc, result), bot_username)
    if result.new:
        await refresh_pledge_post(bot, session, pledge, bot_username)


def make_router() -> Router:
    return combine("pledge", group.build(), private.build(), callbacks.build())
