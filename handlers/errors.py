"""Every failure ends in a short localized answer; a traceback only ever reaches the log."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent
from sqlalchemy.exc import SQLAlchemyError

from bot.i18n import normalize_locale, use_locale
from bot.services.errors import UserError
from bot.views import core as views
from handlers.routing import Routes

log = logging.getLogger(__name__)
router = Routes("errors")


def _loaded(row, name: str):
    """An attribute of the update's person or bloc, or None when it can no longer be read: a failed
    commit rolled the session back and expired the row, and a detached row cannot load it again
    (the apology must still go out, in the default language)."""
    try:
        return getattr(row, name) if row is not None else None
    except SQLAlchemyError:
        return None


def _locale(data: dict) -> str:
    settings = data.get("settings")
    default = settings.default_locale if settings else "vi"
    return normalize_locale(_loaded(data.get("person"), "locale") or _loaded(data.get("bloc"), "locale"), default)


async def _tell(event: ErrorEvent, text: str) -> None:
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text[:200], show_alert=True)
    elif update.message is not None:
        await update.message.answer(text)


@router.error(ExceptionTypeFilter(UserError))
async def on_user_error(event: ErrorEvent, **data) -> None:
    exception = event.exception
    assert isinstance(exception, UserError)  # ExceptionTypeFilter(UserError)
    await _tell(event, exception.message)


@router.error()
async def on_unexpected(event: ErrorEvent, **data) -> None:
    log.error("update %s failed: %s", event.update.update_id, type(event.exception).__name__,
              exc_info=event.exception)
    with use_locale(_locale(data)):
        try:
            await _tell(event, views.generic_error().text)
        except Exception:  # the apology itself may be refused (blocked, flood); nothing more to do
            log.warning("could not tell the user about the failure of update %s", event.update.update_id)


def make_router() -> Router:
    return router.build()
