"""The Zalo webhook endpoint (aiohttp).

Zalo POSTs each update to our HTTPS URL with the secret given to setWebhook in the header
`X-Bot-Api-Secret-Token`. The secret is compared in constant time; a wrong or missing one gets
401 and the body is not even read. The body may be the bare update or wrapped in `{ok, result}`.
Each parsed update goes to an async callback in a background task, so Zalo gets its 200 at once;
`drain()` waits for the callbacks still running (shutdown, tests).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import SecretStr

from bot.channels.zalo.updates import ZaloUpdate, parse_updates

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_BODY = 256 * 1024  # an update is a few hundred bytes


class ZaloWebhook:
    """`hook = ZaloWebhook(secret, on_update); app.router.add_post(path, hook.handle)`."""

    def __init__(self, secret: str | SecretStr, on_update: Callable[[ZaloUpdate], Awaitable[None]],
                 *, wait: bool = False) -> None:
        raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if not raw or not 8 <= len(raw) <= 256:
            raise ValueError("the Zalo webhook secret must be 8 to 256 characters")
        self._secret = raw.encode()
        self._on_update = on_update
        self._wait = wait  # True: answer only after the callbacks ran (their errors -> 500)
        self._tasks: set[asyncio.Task] = set()
        self.rejected = 0  # requests refused for a wrong or missing secret

    def __repr__(self) -> str:
        return "ZaloWebhook(secret=<redacted>)"

    def _authorized(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            self.rejected += 1
            log.warning("zalo webhook: request with a wrong or missing secret refused")
            return web.json_response({"ok": False, "description": "Unauthorized"}, status=401)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.json_response({"ok": False, "description": "Payload Too Large"}, status=413)
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"ok": False, "description": "Bad Request"}, status=400)
        updates = parse_updates(body)
        if self._wait:
            for update in updates:
                await self._on_update(update)
        else:
            for update in updates:
                task = asyncio.create_task(self._run(update))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return web.json_response({"ok": True})

    __call__ = handle

    async def _run(self, update: ZaloUpdate) -> None:
        try:
            await self._on_update(update)
        except Exception:  # the update's content is never logged, only that handling failed
            log.exception("zalo webhook: handling a %s update failed", update.event_name)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def make_webhook_handler(secret: str | SecretStr, on_update: Callable[[ZaloUpdate], Awaitable[None]],
                         *, wait: bool = False) -> ZaloWebhook:
    return ZaloWebhook(secret, on_update, wait=wait)
