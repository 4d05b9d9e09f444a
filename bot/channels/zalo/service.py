"""Zalo in a running bot: the client, the front over the conversation table, and either the long
poll or the webhook endpoint (exclusive on Zalo's side), plus the file links' web routes.

    service = ZaloService(settings, db, table, clock)
    await service.start()      # polling: a task; webhook: routes added to `web_app`, setWebhook
    ...
    await service.stop()

Nothing here imports aiogram: a Zalo-only bot never loads it."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.channels.zalo.client import ZaloClient
from bot.channels.zalo.dedup import only_first
from bot.channels.zalo.front import CHANNEL, ZaloFront
from bot.channels.zalo.poller import ZaloPoller
from bot.channels.zalo.webhook import ZaloWebhook
from bot.clock import Clock
from bot.config import Settings
from bot.conversations.core import Table
from bot.services.ballot_box import KeyVault
from bot.web.files import add_routes as add_file_routes
from bot.web.uploads import add_routes as add_upload_routes
from storage.db import Database

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/zalo/webhook"


class ZaloService:
    def __init__(self, settings: Settings, db: Database, table: Table, clock: Clock,
                 vault: KeyVault | None = None) -> None:
        if settings.zalo_bot_token is None:
            raise ValueError("ZALO_BOT_TOKEN is not set")
        self.settings, self.db, self.clock = settings, db, clock
        self.client = ZaloClient(settings.zalo_bot_token.get_secret_value(), settings.zalo_api_base)
        self.front = ZaloFront(self.client, table, db, clock, settings, vault)
        self.poller: ZaloPoller | None = None
        self._task: asyncio.Task | None = None

    @property
    def webhook_mode(self) -> bool:
        return self.settings.zalo_webhook_secret is not None and bool(self.settings.public_base_url)

    def add_routes(self, web_app: web.Application) -> None:
        """The file links, the upload page, and in webhook mode the webhook endpoint (secret checked
        in constant time)."""
        add_file_routes(web_app, self.db, self.clock)
        add_upload_routes(web_app, self.db, self.clock, self.settings, CHANNEL, self.front.text.push)
        if self.settings.zalo_webhook_secret is not None:
            handler = only_first(self.db, self.client.bot_id, self.front.handle, self.clock)
            hook = ZaloWebhook(self.settings.zalo_webhook_secret, handler)
            web_app.router.add_post(WEBHOOK_PATH, hook.handle)

    async def start(self) -> None:
        await self.client.get_me()  # a refused token stops here, loudly
        log.info("zalo bot ready (%s)", "webhook" if self.webhook_mode else "polling")
        if self.webhook_mode and self.settings.zalo_webhook_secret is not None and self.settings.public_base_url:
            await self.client.set_webhook(self.settings.public_base_url.rstrip("/") + WEBHOOK_PATH,
                                          self.settings.zalo_webhook_secret.get_secret_value())
            return
        await self.client.delete_webhook()  # polling and a webhook are exclusive on Zalo
        self.poller = ZaloPoller(self.client, self.front.handle, self.db, clock=self.clock)
        self._task = asyncio.create_task(self.poller.run(), name="zalo-poller")

    async def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except (TimeoutError, Exception):  # noqa: BLE001 - stopping: nothing more to do
                self._task.cancel()
        await self.client.close()
