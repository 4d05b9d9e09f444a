"""An in-process fake of the Telegram Bot API, faithful enough that a real aiogram client cannot
tell the difference for the methods the bot uses, and strict where Telegram is strict.

It answers `/bot<token>/<method>` and `/file/bot<token>/<path>` like api.telegram.org (point aiogram
at it with `TelegramAPIServer.from_base(tg.base_url)`), and it refuses what Telegram refuses:
writing first to a person who never opened the bot (403), a blocked bot (403), a group the bot
left (403), a migrated group (400 + migrate_to_chat_id), bad HTML (400 can't parse entities), text
over 4096 characters, callback_data over 64 bytes, an edit that changes nothing, and floods (429
with retry_after, on demand or by enforcing Telegram's rates). Tests and the sandbox drive the
human side through the control methods (add_user, create_group, send_text, click, ...).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from bot.fakeapi.html_check import utf16_len, visible_text

ADMIN_RIGHTS = ("can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
                "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
                "can_edit_stories", "can_delete_stories", "can_send_welcome_messages", "can_post_messages",
                "can_edit_messages", "can_pin_messages", "can_manage_topics")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")
SENDING = {"sendmessage", "senddocument", "sendphoto"}
GETFILE_LIMIT = 20 * 1024 * 1024  # bots may download files up to 20 MB


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class Injection:
    method: str | None
    code: int
    description: str
    count: int
    retry_after: int | None = None
    chat_id: int | None = None


@dataclass
class Limits:
    global_per_sec: int
    per_group_per_min: int
    per_chat_per_sec: int
    sent: deque = field(default_factory=deque)
    per_group: dict = field(default_factory=dict)
    per_chat: dict = field(default_factory=dict)


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST", bot_username: str = "thidua_test_bot", bot_id: int = 700000001,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.token = token
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "Thi đua", "username": bot_username,
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.clock = clock
        self.users: dict[int, dict] = {}
        self.chats: dict[int, dict] = {}
        self.members: dict[int, dict[int, str]] = {}  # chat -> user -> status
        self.bot_in: set[int] = set()
        self.started: set[int] = set()
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.history: dict[int, list[dict]] = {}
        self.files: dict[str, dict] = {}
        self.calls: list[tuple[str, int]] = []
        self.errors: list[tuple[str, str]] = []  # (method, description) of every refusal
        self.arrivals: list[str] = []  # method names as requests arrive (calls logs them when answered)
        self.answered_callbacks: list[dict] = []
        self.injections: list[Injection] = []
        self.limits: Limits | None = None
        self.stats: dict[str, Any] = {"ok": 0, "429": 0, "429_at": []}
        self.webhook: dict | None = None
        self.webhook_attempts = 1  # raise it to retry refused webhook deliveries, as Telegram does
        self.webhook_answers: list[int] = []  # HTTP status of every webhook delivery (0: no answer)
        self.pushed = 0  # updates produced by the human side so far
        self.closing = False  # set by release_pollers(): long polls return at once
        self._updates: list[dict] = []
        self._pending_callbacks: set[str] = set()
        self._ids = itertools.count(1)
        self._user_ids = itertools.count(5_000_001)
        self._group_ids = itertools.count(4_000_001)
        self._message_ids: dict[int, itertools.count] = {}
        self._changed = asyncio.Condition()
        self._subscribers: list[asyncio.Queue] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- server lifecycle ---------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> "FakeTelegram":
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        real_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{real_port}"
        return self

    async def release_pollers(self) -> None:
        """Answer pending long polls now (a bot shutting down need not wait for its poll timeout)."""
        self.closing = True
        async with self._changed:
            self._changed.notify_all()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeTelegram":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- HTTP ------------------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        if ctype == "application/json":
            params.update(await request.json())
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):  # nested multipart: no Bot API client sends it
                    continue
                name = part.name or ""
                if part.filename:
                    params[name] = {"filename": part.filename, "data": bytes(await part.read()),
                                    "mime": part.headers.get("Content-Type")}
                else:
                    params[name] = await part.text()
        elif request.can_read_body:
            params.update(dict(await request.post()))
        for key in ("reply_markup", "allowed_updates", "commands", "media"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.get(value[len("attach://"):])
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        self.arrivals.append(method)
        if request.match_info["token"] != self.token:
            return self._error(method, ApiError(401, "Unauthorized"))
        handler = getattr(self, f"m_{method}", None)
        if handler is None:
            return self._error(method, ApiError(404, "Not Found"))
        try:
            params = await self._params(request)
            self._inject(method, params)
            if method in SENDING:
                self._rate_limit(params)
            result = await handler(params)
        except ApiError as err:
            return self._error(method, err)
        self.calls.append((method, 200))
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, err: ApiError) -> web.Response:
        self.calls.append((method, err.code))
        self.errors.append((method, err.description))
        body = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            body["parameters"] = err.parameters
        return web.json_response(body, status=err.code)

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        entry = self.files.get(request.match_info["path"])
        if entry is None:
            return web.Response(status=404)
        return web.Response(body=entry["data"])

    # -- refusals --------------------------------------------------------------------------------
    def inject_error(self, method: str | None = "sendMessage", code: int = 429, count: int = 1,
                     retry_after: int | None = None, description: str | None = None,
                     chat_id: int | None = None) -> None:
        if code == 429:
            retry_after = retry_after or 1
            description = description or f"Too Many Requests: retry after {retry_after}"
        self.injections.append(Injection(method.lower() if method else None, code,
                                         description or "Internal Server Error", count, retry_after, chat_id))

    def _inject(self, method: str, params: dict) -> None:
        for inj in self.injections:
            if inj.count <= 0 or (inj.method and inj.method != method):
                continue
            if inj.chat_id is not None and str(params.get("chat_id")) != str(inj.chat_id):
                continue
            inj.count -= 1
            if inj.code == 429:
                self.stats["429"] += 1
                self.stats["429_at"].append(self.clock())
            raise ApiError(inj.code, inj.description, {"retry_after": inj.retry_after} if inj.retry_after else None)

    def enforce_limits(self, global_per_sec: int = 30, per_group_per_min: int = 20, per_chat_per_sec: int = 1) -> None:
        self.limits = Limits(global_per_sec, per_group_per_min, per_chat_per_sec)

    def _rate_limit(self, params: dict) -> None:
        if self.limits is None:
            return
        lim, now = self.limits, self.clock()
        chat_id = int(params.get("chat_id", 0))
        windows = [(lim.sent, 1.0, lim.global_per_sec),
                   (lim.per_chat.setdefault(chat_id, deque()), 1.0, lim.per_chat_per_sec)]
        if chat_id < 0:
            windows.append((lim.per_group.setdefault(chat_id, deque()), 60.0, lim.per_group_per_min))
        wait = 0.0
        for window, span, cap in windows:
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= cap:
                wait = max(wait, window[0] + span - now)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            self.stats["429"] += 1
            self.stats["429_at"].append(now)
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for window, _span, _cap in windows:
            window.append(now)
        self.stats["ok"] += 1

    def _target(self, raw: Any) -> dict:
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id in self.migrated:
            raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                           {"migrate_to_chat_id": self.migrated[chat_id]})
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat["type"] == "private":
            if chat_id in self.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat_id not in self.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif chat_id not in self.bot_in:
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        return chat

    @staticmethod
    def _text(params: dict, key: str, limit: int, too_long: str) -> tuple[str, str | None]:
        raw = str(params.get(key) or "")
        html = raw if str(params.get("parse_mode", "")).upper() == "HTML" else None
        if html is not None:
            try:
                raw = visible_text(html)
            except ValueError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
        if utf16_len(raw) > limit:
            raise ApiError(400, too_long)
        return raw, html

    @staticmethod
    def _markup(params: dict) -> dict | None:
        markup = params.get("reply_markup")
        if not markup:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if "callback_data" in button:
                    data = str(button["callback_data"])
                    if not data or len(data.encode()) > 64:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "url" in button and not str(button["url"]).startswith(("http://", "https://", "tg://")):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        return markup

    # -- messages --------------------------------------------------------------------------------
    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _store(self, chat: dict, sender: dict, **content: Any) -> dict:
        message = {"message_id": self._next_message_id(chat["id"]), "date": int(time.time()), "chat": chat,
                   "from": sender, **{k: v for k, v in content.items() if v is not None}}
        self.history.setdefault(chat["id"], []).append(message)
        return message

    @staticmethod
    def public(message: dict) -> dict:
        """The message as the Bot API shows it (without our bookkeeping)."""
        return {k: v for k, v in message.items() if k not in ("html", "edits", "deleted")}

    async def _notify(self, event: dict) -> None:
        for queue in self._subscribers:
            queue.put_nowait(event)
        async with self._changed:
            self._changed.notify_all()

    async def m_getme(self, params: dict) -> dict:
        return self.bot_user

    async def m_sendmessage(self, params: dict) -> dict:
        chat = self._target(params.get("chat_id"))
        text, html = self._text(params, "text", 4096, "Bad Request: message is too long")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        message = self._store(chat, self.bot_user, text=text, html=html, reply_markup=self._markup(params))
        await self._notify({"type": "message", "chat_id": chat["id"], "message": message})
        return self.public(message)

    async def _send_file(self, params: dict, key: str) -> dict:
        chat = self._target(params.get("chat_id"))
        caption, html = self._text(params, "caption", 1024, "Bad Request: message caption is too long")
        upload = params.get(key)
        if isinstance(upload, dict):
            file_id = f"F{next(self._ids):06d}{key[0]}"
            self.files[file_id] = {"data": upload["data"], "name": upload["filename"], "mime": upload["mime"]}
        elif isinstance(upload, str) and upload in self.files:
            file_id = upload
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        entry = self.files[file_id]
        obj = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": len(entry["data"])}
        content: dict[str, Any]
        if key == "photo":
            content = {"photo": [{**obj, "width": 1200, "height": 800}]}
        else:
            content = {"document": {**obj, "file_name": entry["name"], "mime_type": entry["mime"]}}
        message = self._store(chat, self.bot_user, caption=caption or None, html=html,
                              reply_markup=self._markup(params), **content)
        await self._notify({"type": "message", "chat_id": chat["id"], "message": message})
        return self.public(message)

    async def m_senddocument(self, params: dict) -> dict:
        return await self._send_file(params, "document")

    async def m_sendphoto(self, params: dict) -> dict:
        return await self._send_file(params, "photo")

    def _find(self, params: dict) -> dict:
        chat = self._target(params.get("chat_id"))
        message_id = int(params.get("message_id", 0))
        for message in self.history.get(chat["id"], []):
            if message["message_id"] == message_id and not message.get("deleted"):
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    async def _edit(self, message: dict, **changes: Any) -> dict:
        if all(message.get(k) == v for k, v in changes.items()):
            raise ApiError(400, NOT_MODIFIED)
        message.setdefault("edits", []).append({k: message.get(k) for k in changes})
        message.update(changes)
        message["edit_date"] = int(time.time())
        await self._notify({"type": "edit", "chat_id": message["chat"]["id"], "message": message})
        return self.public(message)

    async def m_editmessagetext(self, params: dict) -> dict:
        message = self._find(params)
        text, html = self._text(params, "text", 4096, "Bad Request: MESSAGE_TOO_LONG")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        return await self._edit(message, text=text, html=html, reply_markup=self._markup(params))

    async def m_editmessagereplymarkup(self, params: dict) -> dict:
        return await self._edit(self._find(params), reply_markup=self._markup(params))

    async def m_deletemessage(self, params: dict) -> bool:
        message = self._find(params)
        message["deleted"] = True
        await self._notify({"type": "delete", "chat_id": message["chat"]["id"], "message": message})
        return True

    async def m_answercallbackquery(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._pending_callbacks:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self._pending_callbacks.discard(query_id)
        answer = {"id": query_id, "text": params.get("text"), "show_alert": str(params.get("show_alert")).lower()
                  in ("true", "1")}
        self.answered_callbacks.append(answer)
        await self._notify({"type": "callback_answer", "chat_id": None, "answer": answer})
        return True

    def _member(self, chat_id: int, user_id: int) -> dict:
        if user_id == self.bot_user["id"]:
            status = "member" if chat_id in self.bot_in else "left"
            user = self.bot_user
        else:
            status = self.members.get(chat_id, {}).get(user_id, "left")
            user = self.users.get(user_id, {"id": user_id, "is_bot": False, "first_name": "?"})
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            member.update({"can_be_edited": False, "is_anonymous": False}, **{r: True for r in ADMIN_RIGHTS})
        if status == "member":
            member["until_date"] = None
        return member

    async def m_getchatmember(self, params: dict) -> dict:
        chat = self._target(params.get("chat_id"))
        return self._member(chat["id"], int(params.get("user_id", 0)))

    async def m_getchatadministrators(self, params: dict) -> list:
        chat = self._target(params.get("chat_id"))
        return [self._member(chat["id"], uid) for uid, status in self.members.get(chat["id"], {}).items()
                if status in ("creator", "administrator")]

    async def m_getchat(self, params: dict) -> dict:
        return {**self._target(params.get("chat_id")), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False}}

    async def m_getfile(self, params: dict) -> dict:
        file_id = str(params.get("file_id"))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(self.files[file_id]["data"]) > GETFILE_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": "u" + file_id, "file_size": len(self.files[file_id]["data"]),
                "file_path": file_id}

    async def _true(self, params: dict) -> bool:
        return True

    m_setmycommands = m_deletemycommands = m_sendchataction = m_pinchatmessage = m_unpinchatmessage = _true

    async def m_getmycommands(self, params: dict) -> list:
        return []

    async def m_leavechat(self, params: dict) -> bool:
        chat = self._target(params.get("chat_id"))
        self.bot_in.discard(chat["id"])
        return True

    # -- updates ---------------------------------------------------------------------------------
    async def m_setwebhook(self, params: dict) -> bool:
        self.webhook = {"url": params.get("url"), "secret": params.get("secret_token")}
        return True

    async def m_deletewebhook(self, params: dict) -> bool:
        self.webhook = None
        return True

    async def m_getwebhookinfo(self, params: dict) -> dict:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    async def m_getupdates(self, params: dict) -> list:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                                "to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout:
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._updates) or self.closing),
                                           timeout)
                except TimeoutError:
                    pass
        return self._updates[:limit]

    async def _push(self, **update: Any) -> dict:
        update = {"update_id": next(self._ids), **update}
        self.pushed += 1
        if self.webhook:
            import aiohttp

            headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook["secret"]} if self.webhook["secret"] else {}
            # Like Telegram: an update whose webhook answered anything but 2xx (or not at all) is sent
            # again, a few times, until one answer is a 2xx.
            async with aiohttp.ClientSession() as http:
                for attempt in range(self.webhook_attempts):
                    try:
                        async with http.post(self.webhook["url"], json=update, headers=headers) as response:
                            self.webhook_answers.append(response.status)
                            if response.status < 300:
                                break
                    except aiohttp.ClientError:
                        self.webhook_answers.append(0)
                    await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))
        else:
            self._updates.append(update)
        await self._notify({"type": "update", "chat_id": None, "update": update})
        return update

    # -- the human side (tests, sandbox) -----------------------------------------------------------
    def add_user(self, first_name: str, username: str | None = None, language_code: str = "vi",
                 user_id: int | None = None) -> dict:
        uid = user_id or next(self._user_ids)
        user = {"id": uid, "is_bot": False, "first_name": first_name, "language_code": language_code}
        if username:
            user["username"] = username
        self.users[uid] = user
        self.chats[uid] = {"id": uid, "type": "private", "first_name": first_name}
        return user

    async def create_group(self, title: str, creator: dict, members: Sequence[dict] = (),
                           admins: Sequence[dict] = (), with_bot: bool = True) -> dict:
        chat: dict[str, Any] = {"id": -next(self._group_ids), "type": "group", "title": title,
                "all_members_are_administrators": False}
        self.chats[chat["id"]] = chat
        roster = {creator["id"]: "creator"}
        roster.update({u["id"]: "administrator" for u in admins if u["id"] != creator["id"]})
        roster.update({u["id"]: "member" for u in members if u["id"] not in roster})
        self.members[chat["id"]] = roster
        if with_bot:
            await self.add_bot(chat, creator)
        return chat

    async def add_bot(self, chat: dict, by: dict) -> None:
        self.bot_in.add(chat["id"])
        await self._push(my_chat_member={"chat": chat, "from": by, "date": int(time.time()),
                                         "old_chat_member": {"status": "left", "user": self.bot_user},
                                         "new_chat_member": {"status": "member", "user": self.bot_user}})
        message = self._store(chat, by, new_chat_members=[self.bot_user])
        await self._push(message=self.public(message))

    async def remove_bot(self, chat: dict, by: dict) -> None:
        self.bot_in.discard(chat["id"])
        await self._push(my_chat_member={"chat": chat, "from": by, "date": int(time.time()),
                                         "old_chat_member": {"status": "member", "user": self.bot_user},
                                         "new_chat_member": {"status": "kicked", "user": self.bot_user,
                                                             "until_date": 0}})

    async def migrate_to_supergroup(self, chat: dict, by: dict) -> dict:
        new = {"id": -1_000_000_000_000 + chat["id"], "type": "supergroup", "title": chat["title"]}
        self.chats[new["id"]] = new
        self.members[new["id"]] = dict(self.members.get(chat["id"], {}))
        if chat["id"] in self.bot_in:
            self.bot_in.add(new["id"])
        old_message = self._store(chat, by, migrate_to_chat_id=new["id"])
        self.migrated[chat["id"]] = new["id"]
        self.bot_in.discard(chat["id"])
        await self._push(message=self.public(old_message))
        new_message = self._store(new, by, migrate_from_chat_id=chat["id"])
        await self._push(message=self.public(new_message))
        return new

    def private_chat(self, user: dict) -> dict:
        return self.chats[user["id"]]

    async def send_text(self, user: dict, chat: dict, text: str) -> dict:
        if chat["type"] == "private":
            self.started.add(user["id"])
            self.blocked.discard(user["id"])
        entities = None
        if text.startswith("/"):
            command = text.split()[0]
            entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        message = self._store(chat, user, text=text, entities=entities)
        await self._push(message=self.public(message))
        await self._notify({"type": "message", "chat_id": chat["id"], "message": message})
        return message

    async def press_start(self, user: dict, payload: str | None = None) -> dict:
        return await self.send_text(user, self.private_chat(user), f"/start {payload}" if payload else "/start")

    async def open_link(self, user: dict, url: str) -> dict:
        prefix = f"https://t.me/{self.bot_user['username']}"
        if not url.startswith(prefix):
            raise ValueError(f"not a link to this bot: {url}")
        payload = url.split("?start=", 1)[1] if "?start=" in url else None
        return await self.send_text(user, self.private_chat(user), f"/start {payload}" if payload else "/start")

    async def send_document(self, user: dict, chat: dict, filename: str, data: bytes, mime_type: str | None = None,
                            caption: str | None = None) -> dict:
        if chat["type"] == "private":
            self.started.add(user["id"])
        file_id = f"U{next(self._ids):06d}"
        self.files[file_id] = {"data": data, "name": filename, "mime": mime_type}
        document = {"file_id": file_id, "file_unique_id": "u" + file_id, "file_name": filename,
                    "mime_type": mime_type, "file_size": len(data)}
        message = self._store(chat, user, document={k: v for k, v in document.items() if v is not None},
                              caption=caption)
        await self._push(message=self.public(message))
        await self._notify({"type": "message", "chat_id": chat["id"], "message": message})
        return message

    async def click(self, user: dict, message: dict, callback_data: str, force: bool = False) -> str:
        buttons = [b.get("callback_data") for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
                   for b in row]
        if not force and callback_data not in buttons:
            raise ValueError(f"no button {callback_data!r} on message {message['message_id']}")
        query_id = str(next(self._ids) * 7919)
        self._pending_callbacks.add(query_id)
        await self._push(callback_query={"id": query_id, "from": user, "message": self.public(message),
                                         "chat_instance": str(message["chat"]["id"]), "data": callback_data})
        return query_id

    async def block_bot(self, user: dict) -> None:
        self.blocked.add(user["id"])
        await self._push(my_chat_member={"chat": self.private_chat(user), "from": user, "date": int(time.time()),
                                         "old_chat_member": {"status": "member", "user": self.bot_user},
                                         "new_chat_member": {"status": "kicked", "user": self.bot_user,
                                                             "until_date": 0}})

    # -- inspection ------------------------------------------------------------------------------
    def messages(self, chat_id: int, from_bot: bool | None = None) -> list[dict]:
        out = [m for m in self.history.get(chat_id, []) if not m.get("deleted")]
        if from_bot is not None:
            out = [m for m in out if (m["from"]["id"] == self.bot_user["id"]) == from_bot]
        return out

    def bot_texts(self, chat_id: int) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.messages(chat_id, from_bot=True)]

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id]["data"]

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def status_in(self, chat_id: int, user_id: int) -> str:
        """A person's standing in a chat: 'creator', 'administrator', 'member', or 'left'."""
        chat = self.chats.get(chat_id)
        if chat is None or chat_id in self.migrated:
            return "left"
        if chat["type"] == "private":
            return "member" if chat_id == user_id else "left"
        return self.members.get(chat_id, {}).get(user_id, "left")

    # -- persistence (the sandbox keeps its chats across restarts) ---------------------------------
    def dump_state(self, with_files: bool = True) -> dict:
        """Everything the human side and the chats hold, as JSON-able data (files base64-encoded,
        or only their names and types with with_files=False: the caller keeps the bytes)."""
        next_id = next(self._ids)
        self._ids = itertools.count(next_id)
        return {
            "users": list(self.users.values()), "chats": list(self.chats.values()),
            "members": {str(c): {str(u): s for u, s in roster.items()} for c, roster in self.members.items()},
            "bot_in": sorted(self.bot_in), "started": sorted(self.started), "blocked": sorted(self.blocked),
            "migrated": {str(k): v for k, v in self.migrated.items()},
            "history": {str(c): messages for c, messages in self.history.items()},
            "files": {fid: {"name": f["name"], "mime": f["mime"],
                            **({"data": base64.b64encode(f["data"]).decode()} if with_files else {})}
                      for fid, f in self.files.items()},
            "next_id": next_id,
        }

    def load_state(self, state: dict, file_data: Callable[[str], bytes] | None = None) -> None:
        self.users = {u["id"]: u for u in state["users"]}
        self.chats = {c["id"]: c for c in state["chats"]}
        self.members = {int(c): {int(u): s for u, s in roster.items()} for c, roster in state["members"].items()}
        self.bot_in, self.started = set(state["bot_in"]), set(state["started"])
        self.blocked = set(state["blocked"])
        self.migrated = {int(k): v for k, v in state["migrated"].items()}
        self.history = {int(c): messages for c, messages in state["history"].items()}

        def data_of(fid: str, f: dict) -> bytes:
            if "data" in f:
                return base64.b64decode(f["data"])
            if file_data is None:
                raise ValueError(f"the state holds no bytes for file {fid} and no file_data was given")
            return file_data(fid)

        self.files = {fid: {"name": f["name"], "mime": f["mime"], "data": data_of(fid, f)}
                      for fid, f in state["files"].items()}
        self._ids = itertools.count(state["next_id"])
        self._message_ids = {c: itertools.count(max((m["message_id"] for m in messages), default=0) + 1)
                             for c, messages in self.history.items()}
        self._user_ids = itertools.count(max([5_000_000, *self.users]) + 1)
        self._group_ids = itertools.count(max([4_000_000, *(-c for c in self.chats if -10**9 < c < 0)]) + 1)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Wait until predicate() is truthy (checked whenever anything changes)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        return predicate()

    async def wait_bot_message(self, chat_id: int, contains: str, timeout: float = 5.0) -> dict:
        def find():
            for message in reversed(self.messages(chat_id, from_bot=True)):
                if contains in (message.get("text") or message.get("caption") or ""):
                    return message
            return None

        return await self.wait_for(find, timeout)
