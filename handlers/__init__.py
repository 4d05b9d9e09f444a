"""aiogram glue only: the Telegram front compiles the conversation table (bot/conversations/table.py)
into one router (handlers/bridge.py); beside it, the errors router (a localized answer, never a
traceback) and the chat events that are Telegram's own (the bot added to or removed from a group,
a group migrated to a supergroup, a person blocking the bot)."""

from __future__ import annotations

from aiogram import Router

from bot.conversations.core import Table
from handlers import bridge, chat_events, errors


def build_router(table: Table) -> Router:
    root = Router(name="root")
    root.include_routers(errors.make_router(), chat_events.make_router(), bridge.build_router(table))
    return root
