"""An in-process fake of the Zalo Bot Platform API, strict where Zalo is strict.

It answers `/bot<token>/<method>` like bot-api.zaloplatforms.com (point a ZaloClient at
`fake.base_url`) and refuses what Zalo refuses: a wrong token (401), text empty or over 2,000
characters (400), a photo that is not an http(s) URL (400), sending to someone who never wrote
to the bot (403: Zalo bots cannot write first), sends past the monthly quota (429 "Quota
exceeded"), getUpdates while a webhook is set (409), getWebhookInfo with none set (404).
getUpdates long-polls for ONE update and answers HTTP 408 when idle; there is no offset, and
`replay()` serves an already-delivered update again, as Zalo does.

Tests drive the human side with `add_user`, `send_text`, `send_photo`, `send_document`
(arrives as message.unsupported.received, without content) and `send_sticker`; with a webhook
set, those are POSTed to it (with `X-Bot-Api-Secret-Token`), and `post_webhook` posts any body,
wrapped or not, with any secret.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

TEXT_LIMIT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SENDING = {"sendmessage", "sendphoto"}


class ZaloApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


@dataclass
class ZaloInjection:
    method: str | None
    code: int
    description: str
    count: int


class FakeZalo:
    def __init__(self, token: str = "1234567890:fake-zalo-secret", bot_name: str = "Thi đua",
                 poll_timeout: float = 0.3, monthly_quota: int | None = 3000, wrap: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.bot_info = {"id": self.bot_id, "account_name": "bot.thidua", "account_type": "BASIC",
                         "can_join_groups": False, "display_name": bot_name}
        self.poll_timeout = poll_timeout  # longest a getUpdates waits before 408 (short in tests)
        self.monthly_quota = monthly_quota
        self.wrap = wrap  # answer {ok, result} (True) or the bare result (False)
        self.clock = clock
        self.users: dict[str, dict] = {}
        self.wrote: set[str] = set()  # users who wrote to the bot: the only ones it may write to
        self.history: dict[str, list[dict]] = {}  # chat id -> every message, both directions
        self.sent: dict[str, list[dict]] = {}  # chat id -> what the bot sent (text or photo)
        self.sent_this_month = 0
        self.calls: list[tuple[str, int]] = []  # (method, status) as answered
        self.arrivals: list[str] = []  # method names as requests arrive (a long poll is answered later)
        self.errors: list[tuple[str, str]] = []
        self.injections: list[ZaloInjection] = []
        self.webhook: dict | None = None
        self.webhook_results: list[int] = []  # HTTP status of every automatic webhook delivery
        self.delivered: list[dict] = []  # updates handed out by getUpdates (for replay)
        self._queue: deque[dict] = deque()
        self.closing = False  # set by release_pollers(): long polls answer at once
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> "FakeZalo":
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        self.base_url = f"http://{host}:{self._runner.addresses[0][1]}"
        return self

    async def release_pollers(self) -> None:
        """Answer pending long polls now (408), so nothing waits for its poll timeout."""
        self.closing = True
        async with self._changed:
            self._changed.notify_all()

    async def stop(self) -> None:
        await self.release_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeZalo":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- HTTP ---------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        self.arrivals.append(method)
        if request.match_info["token"] != self.token:
            return self._error(method, ZaloApiError(401, "Unauthorized"))
        handler = getattr(self, f"m_{method}", None)
        if handler is None:
            return self._error(method, ZaloApiError(404, "Not Found"))
        try:
            params: dict[str, Any] = dict(request.query)
            if request.can_read_body:
                if request.content_type == "application/json":
                    body = await request.json()
                    if not isinstance(body, dict):
                        raise ZaloApiError(400, "Bad Request: body must be a JSON object")
                    params.update(body)
                else:
                    params.update(dict(await request.post()))
            self._inject(method)
            result = await handler(params)
        except ZaloApiError as err:
            return self._error(method, err)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._error(method, ZaloApiError(400, "Bad Request: invalid JSON"))
        self.calls.append((method, 200))
        return web.json_response({"ok": True, "result": result} if self.wrap else result)

    def _error(self, method: str, err: ZaloApiError) -> web.Response:
        self.calls.append((method, err.code))
        self.errors.append((method, err.description))
        return web.json_response({"ok": False, "error_code": err.code, "description": err.description},
                                 status=err.code)

    def inject_error(self, method: str | None = "sendMessage", code: int = 500, count: int = 1,
                     description: str = "Internal Server Error") -> None:
        """Make the next `count` calls of `method` (any method if None) fail with `code`."""
        self.injections.append(ZaloInjection(method.lower() if method else None, code, description, count))

    def _inject(self, method: str) -> None:
        for inj in self.injections:
            if inj.count > 0 and inj.method in (None, method):
                inj.count -= 1
                raise ZaloApiError(inj.code, inj.description)

    # -- methods --------------------------------------------------------------------------------------
    async def m_getme(self, params: dict) -> dict:
        return dict(self.bot_info)

    async def m_getupdates(self, params: dict) -> dict:
        if self.webhook:
            raise ZaloApiError(409, "Conflict: webhook is active, use deleteWebhook first")
        try:
            wanted = float(params.get("timeout") or 0)
        except (TypeError, ValueError):
            raise ZaloApiError(400, "Bad Request: timeout must be a number") from None
        wait = min(max(wanted, 0.0), self.poll_timeout)
        if not self._queue and wait > 0:
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._queue) or self.closing), wait)
                except TimeoutError:
                    pass
        if not self._queue:
            raise ZaloApiError(408, "Request timeout")
        update = self._queue.popleft()
        self.delivered.append(update)
        return update

    async def m_setwebhook(self, params: dict) -> dict:
        url, secret = str(params.get("url") or ""), str(params.get("secret_token") or "")
        if not url.startswith(("https://", "http://")):
            raise ZaloApiError(400, "Bad Request: url must be an https URL")
        if not 8 <= len(secret) <= 256:
            raise ZaloApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": int(self.clock() * 1000)}
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    async def m_deletewebhook(self, params: dict) -> dict:
        self.webhook = None
        return {"url": "", "updated_at": int(self.clock() * 1000)}

    async def m_getwebhookinfo(self, params: dict) -> dict:
        if not self.webhook:
            raise ZaloApiError(404, "Not Found: no webhook")
        return {"url": self.webhook["url"], "updated_at": self.webhook["updated_at"]}

    def _recipient(self, params: dict) -> str:
        chat_id = str(params.get("chat_id") or "")
        if chat_id not in self.users:
            raise ZaloApiError(400, "Bad Request: chat not found")
        if chat_id not in self.wrote:
            raise ZaloApiError(403, "Forbidden: the user has not interacted with the bot")
        return chat_id

    def _spend(self) -> None:
        if self.monthly_quota is not None and self.sent_this_month >= self.monthly_quota:
            raise ZaloApiError(429, "Quota exceeded")
        self.sent_this_month += 1

    def _record(self, chat_id: str, **content: Any) -> dict:
        message = {"message_id": secrets.token_hex(16), "date": int(self.clock() * 1000), "from_bot": True,
                   "chat_id": chat_id, **content}
        self.history.setdefault(chat_id, []).append(message)
        self.sent.setdefault(chat_id, []).append(message)
        return {"message_id": message["message_id"], "date": message["date"]}

    async def m_sendmessage(self, params: dict) -> dict:
        chat_id = self._recipient(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ZaloApiError(400, "Bad Request: text must not be empty")
        if len(text) > TEXT_LIMIT:
            raise ZaloApiError(400, f"Bad Request: text is longer than {TEXT_LIMIT} characters")
        self._spend()
        return self._record(chat_id, text=text)

    async def m_sendphoto(self, params: dict) -> dict:
        chat_id = self._recipient(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("https://", "http://")):
            raise ZaloApiError(400, "Bad Request: photo must be a public http(s) URL")
        caption = params.get("caption")
        if caption is not None and len(str(caption)) > TEXT_LIMIT:
            raise ZaloApiError(400, f"Bad Request: caption is longer than {TEXT_LIMIT} characters")
        self._spend()
        return self._record(chat_id, photo=photo, caption=caption)

    async def m_sendchataction(self, params: dict) -> dict:
        self._recipient(params)
        if params.get("action") not in ("typing", "upload_photo"):
            raise ZaloApiError(400, "Bad Request: unknown action")
        return {}

    # -- quota ----------------------------------------------------------------------------------------
    def set_quota(self, per_month: int | None) -> None:
        self.monthly_quota = per_month

    def new_month(self) -> None:
        self.sent_this_month = 0

    # -- the human side -------------------------------------------------------------------------------
    def add_user(self, display_name: str, user_id: str | None = None) -> dict:
        uid = user_id or secrets.token_hex(8)
        user = {"id": uid, "display_name": display_name}
        self.users[uid] = user
        return user

    async def _incoming(self, user: dict, event: str, **content: Any) -> dict:
        self.wrote.add(user["id"])
        message = {"message_id": secrets.token_hex(16), "date": int(self.clock() * 1000),
                   "from": {"id": user["id"], "display_name": user["display_name"], "is_bot": False},
                   "chat": {"id": user["id"], "chat_type": "PRIVATE"}, **content}
        update = {"event_name": event, "message": message}
        self.history.setdefault(user["id"], []).append({"from_bot": False, "event_name": event, **message})
        if self.webhook:
            status, _ = await self.post_webhook(self.webhook["url"], update, self.webhook["secret_token"])
            self.webhook_results.append(status)
        else:
            async with self._changed:
                self._queue.append(update)
                self._changed.notify_all()
        return update

    async def send_text(self, user: dict, text: str) -> dict:
        return await self._incoming(user, "message.text.received", text=text)

    async def send_photo(self, user: dict, url: str, caption: str | None = None) -> dict:
        content: dict[str, Any] = {"photo": url}
        if caption is not None:
            content["caption"] = caption
        return await self._incoming(user, "message.image.received", **content)

    async def send_sticker(self, user: dict, sticker: str = "sticker-1") -> dict:
        return await self._incoming(user, "message.sticker.received", sticker=sticker)

    async def send_document(self, user: dict) -> dict:
        """A document: Zalo forwards only the fact that something unsupported came, no content."""
        return await self._incoming(user, "message.unsupported.received")

    async def replay(self, update: dict | None = None) -> dict:
        """Serve an already-delivered update again (the last one by default), as Zalo may."""
        if update is None:
            if not self.delivered:
                raise LookupError("nothing was delivered yet")
            update = self.delivered[-1]
        async with self._changed:
            self._queue.append(update)
            self._changed.notify_all()
        return update

    @staticmethod
    async def post_webhook(url: str, update: Any, secret: str | None, wrapped: bool = False,
                           raw: bytes | None = None) -> tuple[int, str]:
        """POST one update to a webhook as Zalo would: body bare or wrapped in {ok, result}."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        body = raw if raw is not None else json.dumps(
            {"ok": True, "result": update} if wrapped else update).encode()
        async with aiohttp.ClientSession() as http:
            async with http.post(url, data=body, headers=headers) as response:
                return response.status, await response.text()

    # -- looking ----------------------------------------------------------------------------------------
    def texts_to(self, chat_id: str) -> list[str]:
        return [m["text"] for m in self.sent.get(chat_id, []) if "text" in m]

    def pending(self) -> int:
        return len(self._queue)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, step: float = 0.01) -> Any:
        """Wait until predicate() is truthy (tests: what the bot sent arrives asynchronously)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not (value := predicate()):
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("condition not met")
            await asyncio.sleep(step)
        return value
