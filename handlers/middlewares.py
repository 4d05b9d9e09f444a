"""One middleware per concern: a database session per update, then who/where/which language."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, User

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import normalize_locale, use_locale
from bot.services import blocs as bloc_service
from bot.services.people import touch_person
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
    """Resolves the person, the bloc this chat is about, their membership, and the locale."""

    def __init__(self, clock: Clock, settings: Settings) -> None:
        self.clock = clock
        self.settings = settings

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        session = data["session"]
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        data["clock"] = self.clock
        data["settings"] = self.settings
        person = bloc = member = None
        if user is not None and not user.is_bot:
            person = await touch_person(
                session, self.clock, user.id, user.full_name, user.username, user.language_code,
                private=chat is not None and chat.type == "private",
            )
        if chat is not None and chat.type in ("group", "supergroup"):
            bloc, member = await bloc_service.group_context(session, chat.id, person)
        elif person is not None:
            bloc = await bloc_service.private_bloc(session, person)
            if bloc is not None:
                member = await bloc_service.member_of(session, bloc, person)
        data.update(person=person, bloc=bloc, member=member)
        locale = (person.locale if person and person.locale else None) or (bloc.locale if bloc else None)
        with use_locale(normalize_locale(locale, self.settings.default_locale)):
            return await handler(event, data)
