"""Turn channel-neutral Replies into Telegram messages, and send them so that Telegram's refusals
do not lose them: long texts are split, floods are waited out, broken HTML falls back to plain text."""

from __future__ import annotations

import asyncio
import html
import logging
import re

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.channels.base import BadContent, Rejected, RetryLater, SentRef, Transient, Unreachable
from bot.views.base import Reply, deep_link, split_text

log = logging.getLogger(__name__)
MAX_INLINE_WAIT = 10  # seconds we may wait on a 429 while answering a user directly
_TAG = re.compile(r"<[^>]+>")


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


def plain(html_text: str) -> str:
    return html.unescape(_TAG.sub("", html_text))


_as_plain = plain  # TelegramSender.send's keyword `plain` hides the function


async def _call(make_call, attempts: int = 3):
    """Run a Telegram call; on 429 wait the asked time (if short) and try again."""
    for attempt in range(attempts):
        try:
            return await make_call()
        except TelegramRetryAfter as err:
            if err.retry_after > MAX_INLINE_WAIT or attempt == attempts - 1:
                raise
            log.warning("flood control: waiting %s s", err.retry_after)
            await asyncio.sleep(err.retry_after)


async def _send_text(bot: Bot, chat_id: int, text: str, reply_markup) -> Message:
    try:
        return await _call(lambda: bot.send_message(chat_id, text, reply_markup=reply_markup))
    except TelegramBadRequest as err:
        if "can't parse entities" not in err.message:
            raise
        log.error("Telegram refused our HTML (%s); sending as plain text", err.message)
        return await _call(lambda: bot.send_message(chat_id, plain(text), reply_markup=reply_markup, parse_mode=None))


async def send(bot: Bot, chat_id: int, reply: Reply, bot_username: str) -> Message | None:
    """Send text (split if over 4096 characters; buttons go with the last part), then attachments."""
    parts = split_text(reply.text) if reply.text or not reply.attachments else []
    message = None
    for i, part in enumerate(parts):
        keyboard = markup(reply, bot_username) if i == len(parts) - 1 else None
        message = await _send_text(bot, chat_id, part, keyboard)
    for att in reply.attachments:
        file = att.ref or BufferedInputFile(att.content, filename=att.filename)
        if att.ref:
            try:
                message = await _call(lambda file=file, att=att: bot.send_document(chat_id, file, caption=att.caption))
            except TelegramBadRequest as err:  # a file Telegram no longer has: the text still went out
                log.info("stored file not sent: %s", err.message)
        elif att.kind == "photo":
            await _call(lambda file=file, att=att: bot.send_photo(chat_id, file, caption=att.caption))
        else:
            await _call(lambda file=file, att=att: bot.send_document(chat_id, file, caption=att.caption))
    return message


async def answer(message: Message, reply: Reply, bot_username: str) -> Message | None:
    assert message.bot is not None  # an update from the dispatcher is bound to its bot
    return await send(message.bot, message.chat.id, reply, bot_username)


async def try_send_private(bot: Bot, user_id: int, reply: Reply, bot_username: str) -> bool:
    """Private messages may be refused (never started, blocked): report instead of crashing."""
    try:
        await send(bot, user_id, reply, bot_username)
        return True
    except TelegramForbiddenError:
        log.info("private message refused by Telegram (not started or blocked)")
        return False


async def edit_message(bot: Bot, chat_id: int, message_id: int, reply: Reply, bot_username: str) -> None:
    """Edit a message we sent; an edit that changes nothing is not an error."""
    try:
        await _call(lambda: bot.edit_message_text(text=split_text(reply.text)[0], chat_id=chat_id,
                                                  message_id=message_id, reply_markup=markup(reply, bot_username)))
    except TelegramBadRequest as err:
        if "message is not modified" not in err.message:
            raise


async def edit(callback: CallbackQuery, reply: Reply, bot_username: str) -> None:
    """Edit the message behind a button."""
    if callback.message is None:
        return
    assert callback.bot is not None  # an update from the dispatcher is bound to its bot
    await edit_message(callback.bot, callback.message.chat.id, callback.message.message_id, reply, bot_username)


SEND_TIMEOUT = 30  # seconds per Bot API call from the outbox, well under its lease


class TelegramSender:
    """The outbox's sender for Telegram (bot.channels.base.ChannelSender): one call per row, no
    waiting on 429 (the outbox re-queues the row), Telegram's exceptions translated to the
    channel-neutral errors the outbox understands."""

    def __init__(self, bot: Bot, bot_username: str = "", timeout: int = SEND_TIMEOUT) -> None:
        self.bot, self.bot_username, self.timeout = bot, bot_username, timeout

    async def send(self, chat_id: int | str, reply: Reply, *, plain: bool = False) -> SentRef:
        text = split_text(reply.text)[0]
        keyboard = markup(reply, self.bot_username)
        extra = {"parse_mode": None} if plain else {}
        try:
            message = await self.bot.send_message(int(chat_id), _as_plain(text) if plain else text,
                                                  reply_markup=keyboard, request_timeout=self.timeout, **extra)
        except TelegramRetryAfter as err:
            raise RetryLater(err.retry_after, err.message) from err
        except TelegramForbiddenError as err:
            raise Unreachable(err.message) from err
        except TelegramBadRequest as err:
            if "can't parse entities" in err.message and not plain:
                raise BadContent(err.message) from err
            raise Rejected(err.message) from err
        except TelegramNotFound as err:
            raise Rejected(err.message) from err
        except (TimeoutError, TelegramNetworkError, TelegramServerError, OSError) as err:
            raise Transient(f"{type(err).__name__}: {getattr(err, 'message', err)}") from err
        return SentRef(message.chat.id, message.message_id)
