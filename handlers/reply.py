"""Turn channel-neutral Replies into Telegram messages, and send them safely."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.views.base import Reply, deep_link

log = logging.getLogger(__name__)


def markup(reply: Reply, bot_username: str) -> InlineKeyboardMarkup | None:
    if not reply.actions:
        return None
    rows = []
    for row in reply.actions:
        buttons = []
        for action in row:
            if action.kind == "callback":
                buttons.append(InlineKeyboardButton(text=action.label, callback_data=action.data))
            elif action.kind == "start":
                buttons.append(InlineKeyboardButton(text=action.label, url=deep_link(bot_username, action.data)))
            else:
                buttons.append(InlineKeyboardButton(text=action.label, url=action.data))
        rows.append(buttons)
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def send(bot: Bot, chat_id: int, reply: Reply, bot_username: str) -> Message | None:
    """Send text, then any attachments. Returns the text message."""
    message = await bot.send_message(chat_id, reply.text, reply_markup=markup(reply, bot_username))
    for att in reply.attachments:
        file = BufferedInputFile(att.content, filename=att.filename)
        if att.kind == "photo":
            await bot.send_photo(chat_id, file, caption=att.caption)
        else:
            await bot.send_document(chat_id, file, caption=att.caption)
    return message


async def answer(message: Message, reply: Reply, bot_username: str) -> Message | None:
    return await send(message.bot, message.chat.id, reply, bot_username)


async def try_send_private(bot: Bot, user_id: int, reply: Reply, bot_username: str) -> bool:
    """Private messages may be refused (never started, blocked): report instead of crashing."""
    try:
        await send(bot, user_id, reply, bot_username)
        return True
    except TelegramForbiddenError:
        log.info("private message refused by Telegram (not started or blocked)")
        return False


async def edit(callback: CallbackQuery, reply: Reply, bot_username: str) -> None:
    """Edit the message behind a button; an edit that changes nothing is not an error."""
    if callback.message is None:
        return
    try:
        await callback.message.edit_text(reply.text, reply_markup=markup(reply, bot_username))
    except TelegramBadRequest as err:
        if "message is not modified" not in err.message:
            raise
