"""The bot added to or removed from a group, and groups migrating to supergroups."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.filters import IS_MEMBER, IS_NOT_MEMBER, ChatMemberUpdatedFilter, Filter
from aiogram.types import ChatMemberUpdated, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.services import blocs as bloc_service
from bot.services.people import mark_blocked
from bot.views import core as views
from handlers.routing import Routes

log = logging.getLogger(__name__)
router = Routes("chat_events")


class Has(Filter):
    """The message carries this field. Inline and async: a magic filter (`F.migrate_to_chat_id`) is a
    sync callable that aiogram runs in a worker thread, and these two are checked on every message."""

    def __init__(self, field: str) -> None:
        self.field = field

    async def __call__(self, message: Message) -> bool:
        return bool(getattr(message, self.field, None))


class ChatIs(Filter):
    def __init__(self, *types: str) -> None:
        self.types = frozenset(types)

    async def __call__(self, event: ChatMemberUpdated) -> bool:
        return event.chat.type in self.types


@router.my_chat_member(ChatIs("group", "supergroup"), ChatMemberUpdatedFilter(IS_MEMBER >> IS_NOT_MEMBER))
async def bot_removed(event: ChatMemberUpdated, session: AsyncSession, clock: Clock) -> None:
    bloc = await bloc_service.set_bloc_active(session, clock, event.chat.id, False)
    if bloc is not None:
        log.info("bot removed from the group of bloc %s: bloc marked inactive", bloc.id)


@router.my_chat_member(ChatIs("group", "supergroup"), ChatMemberUpdatedFilter(IS_NOT_MEMBER >> IS_MEMBER))
async def bot_added(event: ChatMemberUpdated, bot: Bot, bot_username: str) -> None:
    await bot.send_message(event.chat.id, views.welcome_group().text)


@router.my_chat_member(ChatIs("private"))
async def private_status(event: ChatMemberUpdated, session: AsyncSession) -> None:
    blocked = event.new_chat_member.status == "kicked"
    await mark_blocked(session, event.from_user.id, blocked)


@router.message(Has("migrate_to_chat_id"))
async def group_migrated(message: Message, session: AsyncSession, bot: Bot, bot_username: str) -> None:
    new_chat_id = message.migrate_to_chat_id
    assert new_chat_id is not None  # Has("migrate_to_chat_id")
    bloc = await bloc_service.migrate_chat(session, message.chat.id, new_chat_id)
    if bloc is not None:
        log.info("bloc %s followed its group to a supergroup", bloc.id)
        await bot.send_message(new_chat_id, views.migrated().text)


@router.message(Has("migrate_from_chat_id"))
async def supergroup_created(message: Message, session: AsyncSession, bot: Bot) -> None:
    """The same move seen from the new supergroup (Telegram sends both, in either order)."""
    old_chat_id = message.migrate_from_chat_id
    assert old_chat_id is not None  # Has("migrate_from_chat_id")
    bloc = await bloc_service.migrate_chat(session, old_chat_id, message.chat.id)
    if bloc is not None:
        log.info("bloc %s followed its group to a supergroup", bloc.id)
        await bot.send_message(message.chat.id, views.migrated().text)


def make_router() -> Router:
    return router.build()
