"""aiogram routers only: parse the update, call a service or a conversation, render a view.

Every module exposes `make_router()`, which builds a fresh Router (handlers/routing.py), so each
Dispatcher (the bot, every test, every benchmark) gets its own tree.

Order matters: feature routers claim their commands and deep-link payloads first; the core
private router's catch-all for unknown /start payloads and the unknown-command fallback come last."""

from __future__ import annotations

from aiogram import Router

from bot.conversations.core import Table

from handlers import assessments, bridge, chat_events, common, core_group, core_private, errors, meetings


def build_router(table: Table) -> Router:
    root = Router(name="root")
    root.include_routers(errors.make_router(), chat_events.make_router(), bridge.build_router(table),
                         *feature_routers(),
                         core_group.make_router(), common.make_router(), core_private.make_router(),
                         common.make_fallback())
    return root


def feature_routers() -> list[Router]:
    """Routers of the feature areas (voting, meetings, assessments...), one module each."""
    return [assessments.make_router(), meetings.make_router()]
