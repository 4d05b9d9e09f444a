"""Run the bot: migrate (only when the schema is behind), build, poll or serve the webhook.

With BOT_TOKEN the workers (the scheduler, the outbox, periodic jobs, Zalo) start on the
Dispatcher's startup event and stop on its shutdown event (handlers/app.py on_startup, bot/app.py
on_shutdown): `start_polling` emits both itself, and in webhook mode aiogram's `setup_application`
emits them with the aiohttp app's start-up and clean-up. With only ZALO_BOT_TOKEN there is no
Dispatcher: `run_zalo` starts and stops the workers itself, and aiogram is never imported."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.app import App, build_app, on_shutdown, start_workers
from bot.config import Mode, Settings
from storage.db import Database
from storage.migrate import upgrade_if_needed

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)
GC_YOUNG = 10_000  # allocations before the collector looks at the youngest generation (Python's default: 700)


def settle_heap() -> None:
    """Once the process is built: freeze what exists (modules, routers, pydantic's and SQLAlchemy's
    types: some 250,000 objects that live as long as the process) so the cyclic garbage collector
    stops walking them, and let it look at new objects less often. An update allocates thousands
    of short-lived objects (aiogram's models); with Python's defaults the collector took about 12%
    of a busy vote's time in bench/bench_voting.py, walking the same long-lived objects again and
    again. `gc.freeze` is Python's own tool for this (docs.python.org/3/library/gc.html#gc.freeze).
    No collection first: at this point the start-up garbage is a few dozen objects (69 measured),
    not worth a full collection's 0.3 s; frozen, they are never freed."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    log.info("heap settled: %d objects frozen, gc thresholds %s", gc.get_freeze_count(), gc.get_threshold())


async def open_database(settings: Settings) -> Database:
    db = Database(settings.database_url)
    if await upgrade_if_needed(db.engine, settings.database_url):
        log.info("database migrated")
    return db


async def start_app(settings: Settings) -> tuple[App, Bot]:
    from handlers.app import build_dispatcher, make_bot, prepare

    db = await open_database(settings)
    app = build_dispatcher(settings, db)
    bot = make_bot(settings)
    await prepare(app, bot)
    settle_heap()
    return app, bot


async def stop_app(app: App, bot: Any) -> None:
    if bot is not None:
        await bot.session.close()
    await app.db.dispose()


async def run(settings: Settings) -> None:
    if settings.bot_token is None:
        await run_zalo(settings)
        return
    app, bot = await start_app(settings)
    side: web.AppRunner | None = None
    try:
        if settings.mode is Mode.webhook:
            await _serve_webhook(app, bot, settings)
        else:
            if app.zalo is not None:  # Zalo's webhook and the file links need the bot's web app
                side = await _serve(_side_app(app), settings)
            await bot.delete_webhook(drop_pending_updates=False)
            await app.dp.start_polling(bot, allowed_updates=app.dp.resolve_used_update_types())
    finally:
        if side is not None:
            await side.cleanup()
        await stop_app(app, bot)


async def run_zalo(settings: Settings) -> None:
    """Only Zalo: its poller (or webhook), the outbox, the periodic jobs; no aiogram."""
    db = await open_database(settings)
    app = build_app(settings, db)
    side = await _serve(_side_app(app), settings)
    settle_heap()
    try:
        await start_workers(app)
        await asyncio.Event().wait()
    finally:
        await on_shutdown(app)
        await side.cleanup()
        await stop_app(app, None)


def _side_app(app: App) -> web.Application:
    web_app = web.Application()
    if app.zalo is not None:
        app.zalo.add_routes(web_app)
    return web_app


async def _serve(web_app: web.Application, settings: Settings) -> web.AppRunner:
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    return runner


def build_webhook_app(app: App, bot: Bot, settings: Settings) -> web.Application:
    """aiogram's webhook handler on aiohttp; requests without the secret-token header are refused.

    Each update is handled before its request is answered (`handle_in_background=False`): the 200
    means "done". An instance that dies mid-update leaves the request unanswered, and Telegram sends
    the update again (to another instance, behind a proxy): nothing handled is lost, nothing is lost
    unhandled."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application

    if not settings.webhook_base_url or settings.webhook_secret is None:
        raise SystemExit("MODE=webhook needs WEBHOOK_BASE_URL and WEBHOOK_SECRET")
    secret = settings.webhook_secret.get_secret_value()
    web_app = web.Application()
    SimpleRequestHandler(dispatcher=app.dp, bot=bot, secret_token=secret,
                         handle_in_background=False).register(web_app, path=settings.webhook_path)
    setup_application(web_app, app.dp, bot=bot)
    if app.zalo is not None:
        app.zalo.add_routes(web_app)
    return web_app


async def _serve_webhook(app: App, bot: Bot, settings: Settings) -> None:
    if settings.webhook_base_url is None or settings.webhook_secret is None:
        raise RuntimeError("webhook mode needs WEBHOOK_BASE_URL and WEBHOOK_SECRET")
    runner = await _serve(build_webhook_app(app, bot, settings), settings)
    await bot.set_webhook(settings.webhook_base_url.rstrip("/") + settings.webhook_path,
                          secret_token=settings.webhook_secret.get_secret_value(),
                          allowed_updates=app.dp.resolve_used_update_types())
    log.info("webhook served on %s:%s%s", settings.webhook_host, settings.webhook_port, settings.webhook_path)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
