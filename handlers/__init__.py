"""aiogram routers only: parse the update, call a service, render a view.

Order matters: feature routers claim their commands and deep-link payloads first; the core
private router's catch-all for unknown /start payloads and the unknown-command fallback come last."""

from __future__ import annotations

from aiogram import Router


def build_router() -> Router:
    from handlers import chat_events, common, core_group, core_private, errors

    root = Router(name="root")
    root.include_router(errors.router)
    root.include_router(chat_events.router)
    for feature in feature_routers():
        root.include_router(feature)
    root.include_router(core_group.router)
    root.include_router(common.router)
    root.include_router(core_private.router)
    root.include_router(common.fallback)
    return root


def feature_routers() -> list[Router]:
    """Routers of the feature areas (voting, meetings, assessments...), each one module."""
    routers: list[Router] = []
    return routers
