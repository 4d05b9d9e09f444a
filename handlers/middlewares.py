"""One middleware per concern: a database session per update, then who/where/which language."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from bot.clock import Clock
from bot.config import Settings
from bot.conversations.context import actor_locale, resolve_actor
from bot.conversations.core import Chat as ConvChat
from bot.i18n import use_locale
from storage.db import Database

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One AsyncSession per update; whatever a handler left uncommitted is rolled back."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.db.session() as session:
            data["session"] = session
            return await handler(event, data)


class ContextMiddleware(BaseMiddleware):
    """Resolves the person, the bloc this chat is about, their membership, and the locale
    (bot/conversations/context.py, shared with the text fronts)."""

    def __init__(self, clock: Clock, settings: Settings) -> None:
        self.clock = clock
        self.settings = settings

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        data["clock"] = self.clock
        data["settings"] = self.settings
        where = ConvChat("telegram", chat.id if chat else (user.id if user else 0),
                         chat is None or chat.type == "private")
        actor = await resolve_actor(data["session"], self.clock, where, user.id if user else None,
                                    user.full_name if user else "", user.username if user else None,
                                    user.language_code if user else None, bool(user and user.is_bot))
        if chat is not None and chat.type not in ("group", "supergroup", "private"):
            actor.bloc = actor.member = None  # channels are never blocs
        data.update(person=actor.person, bloc=actor.bloc, member=actor.member)
        with use_locale(actor_locale(actor, self.settings.default_locale)):
            return await handler(event, data)
