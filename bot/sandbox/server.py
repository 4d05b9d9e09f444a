"""The sandbox: the fake Bot API (bot/fakeapi, the one the tests use), the real bot polling it, and a
small aiohttp front (a static page + a JSON API + a server-sent event stream) that plays the human
side: personas type, tap buttons, follow deep links and send files, as they would in Telegram.

Two personas chat like Zalo (bot/fakeapi/zalo.py, the fake Zalo Bot API, and the bot's real Zalo
front polling it): no buttons, numbered replies and typed words, links instead of files (the
download links and the evidence upload page are served by this page's own web server).

The page and the fake start first (a fraction of a second); the bot itself (aiogram's types take a
few seconds to import) loads in the background and picks up whatever was typed meanwhile, exactly
as a real bot picks up its pending updates."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from bot.conversations.join import ConfirmJoin
from bot.fakeapi import FakeTelegram
from bot.fakeapi.settle import Settler
from bot.fakeapi.zalo import FakeZalo
from bot.i18n import N_, _, normalize_locale, use_locale
from bot.sandbox.render import linkify, to_safe_html

if TYPE_CHECKING:  # aiogram and the app load in the background (see start_bot)
    from aiogram import Bot

    from bot.app import App

log = logging.getLogger(__name__)

TOKEN = "424242:SANDBOX-local-only-token"
ZALO_TOKEN = "4343434343:SANDBOX-zalo-local-only"
BOT_USERNAME = "thidua_sandbox_bot"
STATIC = Path(__file__).resolve().parent / "static"
UPLOAD_LIMIT_MB = 50  # what the page accepts; the bot itself refuses more than MAX_UPLOAD_MB (20)
GROUP_TITLE = "Khối thi đua các TTYT tuyến huyện"
BLOC_TITLE = "Khối thi đua các Trung tâm Y tế tuyến huyện tỉnh Quảng Ninh"
# The 14 district health centres of Quảng Ninh (DOMAIN.md).
UNITS = ["TTYT thị xã Đông Triều", "TTYT thị xã Quảng Yên", "TTYT thành phố Uông Bí", "TTYT huyện Hải Hà",
         "TTYT huyện Tiên Yên", "TTYT thành phố Hạ Long", "TTYT thành phố Cẩm Phả", "TTYT thành phố Móng Cái",
         "TTYT huyện Vân Đồn", "TTYT huyện Đầm Hà", "TTYT huyện Bình Liêu", "TTYT huyện Ba Chẽ",
         "TTYT huyện Cô Tô", "TTYT huyện Hoành Bồ"]


@dataclass(frozen=True)
class Persona:
    key: str
    user_id: int
    name: str
    role: str  # msgid
    unit: int | None  # index into UNITS
    in_group: bool
    channel: str = "telegram"  # "zalo": a chat without buttons, through the fake Zalo Bot API

    @property
    def zalo_id(self) -> str:
        return format(self.user_id, "x")


PERSONAS = (
    Persona("head", 5_000_001, "Lan", N_("Bloc head"), 4, True),
    Persona("deputy", 5_000_002, "Hùng", N_("Deputy head"), 0, True),
    Persona("mai", 5_000_003, "Mai", N_("Representative"), 1, True),
    Persona("tuan", 5_000_004, "Tuấn", N_("Representative"), 2, True),
    Persona("ha", 5_000_005, "Hà", N_("Representative, not joined yet"), 3, True),
    Persona("guest", 5_000_006, "Khách", N_("Outsider, not in the bloc"), None, False),
    Persona("thao", 5_000_101, "Thảo", N_("Representative on Zalo"), 5, False, "zalo"),
    Persona("binh", 5_000_102, "Bình", N_("Representative on Zalo, not joined yet"), 6, False, "zalo"),
)
ZALO_CHAT_TITLE = "Thi đua · Zalo"


BACKGROUND_IDS = 5_000_100  # + the unit's index: the representatives of the units no persona plays
# The demo's finished flag vote: who picks which unit (index into UNITS; None: a blank ballot);
# everybody else picks the head's unit, TTYT huyện Tiên Yên.
DEMO_PICKS: dict[str, int | None] = {"tuan": 0, "unit11": 0, "unit12": 1, "unit13": None}
DEMO_MINUTES = ("/bienban\n"
                "Địa danh: Quảng Ninh\n"
                "Địa điểm: Hội trường Trung tâm Y tế huyện Tiên Yên\n"
                "Hội nghị: Hội nghị tổng kết công tác thi đua năm 2026 của Khối\n"
                "Số: 01\n"
                "Nhân chứng: Phạm Thị Dung, Sở Y tế tỉnh Quảng Ninh\n"
                "Có mặt: tất cả trừ 4\n"
                "Số bản: 3")


def _rep_name(unit: int) -> str:
    """ "Đại diện Hạ Long": a background representative's name."""
    place = UNITS[unit].split(" ", 3)[-1]
    return f"Đại diện {place}"


def _unit_index(key: str) -> int:
    """The index into UNITS of a persona who represents a unit."""
    unit = next(p.unit for p in PERSONAS if p.key == key)
    if unit is None:
        raise RuntimeError(f"persona {key} represents no unit")
    return unit


class Refused(Exception):
    """A page request the human side cannot do (shown to the user, nothing changes)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class Sandbox:
    def __init__(self, data_dir: Path, demo: bool = False, lang: str = "vi", strict_limits: bool = False,
                 clock=None) -> None:
        self.clock = clock  # None: the system clock (the sandbox runs in real time)
        self.data_dir = Path(data_dir)
        self.db_path = self.data_dir / "thidua.sqlite3"
        self.state_path = self.data_dir / "chats.json"
        self.files_dir = self.data_dir / "files"  # the files people and the bot sent, one per file_id
        self.demo = demo
        self.lang = normalize_locale(lang)
        self.tg = FakeTelegram(token=TOKEN, bot_username=BOT_USERNAME)
        # Telegram's documented rates: 30 messages/s overall, ~1/s per chat with short bursts, 20/min per
        # group. The per-group rate would make a demo wait a minute, so it is on only with --strict-limits.
        self.tg.enforce_limits(global_per_sec=30, per_chat_per_sec=5,
                               per_group_per_min=20 if strict_limits else 10_000)
        self.zalo = FakeZalo(token=ZALO_TOKEN, bot_name="Thi đua", poll_timeout=5.0, monthly_quota=None)
        self._zalo_pushed = 0  # messages Zalo personas sent; the bot's Zalo front counts what it handled
        self._zalo_handled = 0
        self._zalo_changed = asyncio.Condition()
        self._zalo_seen: dict[str, int] = {}  # Zalo chat -> messages already streamed to the page
        self._bot_web: dict[str, Any] = {}  # the bot's own web routes (file links, upload page), once it runs
        self.status = "starting"
        self.group_id: int | None = None
        self._restored = False  # chats and database came from an earlier run
        self.app: App | None = None
        self.bot: Bot | None = None
        self._streams: list[asyncio.Queue] = []
        self._tasks: list[asyncio.Task] = []
        self._dirty = False
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------------
    async def start_web(self, host: str = "127.0.0.1", port: int = 8080) -> str:
        """Bind the page; raises OSError at once if the port is taken. Then call start_chats()."""
        web_app = web.Application(client_max_size=(UPLOAD_LIMIT_MB + 1) * 1024 * 1024,
                                  middlewares=[self._page_api])
        web_app.router.add_get("/", self._index)
        web_app.router.add_static("/static/", STATIC)
        web_app.router.add_get("/api/state", self._state)
        web_app.router.add_get("/api/messages", self._messages)
        web_app.router.add_get("/api/events", self._events)
        web_app.router.add_get("/api/file/{file_id}", self._file)
        web_app.router.add_post("/api/send", self._send)
        web_app.router.add_post("/api/click", self._click)
        web_app.router.add_post("/api/open", self._open)
        web_app.router.add_post("/api/upload", self._upload)
        # The bot's own web routes (what PUBLIC_BASE_URL serves): the links sent to Zalo personas.
        web_app.router.add_get("/f/{token}/{name}", self._bot_route("download"))
        web_app.router.add_get("/f/{token}", self._bot_route("download"))
        web_app.router.add_get("/u/{token}", self._bot_route("upload_page"))
        web_app.router.add_post("/u/{token}", self._bot_route("upload"))
        self._runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=2)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port, reuse_address=False).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        real_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{real_port}/"
        return self.url

    async def start_chats(self) -> None:
        """The fake Bot API and the people's chats (restored from the last run, or new)."""
        await self.tg.start()
        await self.zalo.start()
        for p in PERSONAS:
            if p.channel == "zalo":
                self.zalo.add_user(p.name, user_id=p.zalo_id)
        await self._load_or_create_chats()
        self._tasks.append(asyncio.create_task(self._pump()))
        self._tasks.append(asyncio.create_task(self._zalo_pump()))
        self._tasks.append(asyncio.create_task(self._saver()))

    async def start_bot(self) -> None:
        """The real bot, unchanged: migrate the sandbox's SQLite file, build, poll the fake."""
        try:
            # aiogram builds its types at import: do it off the event loop so the page keeps answering.
            await asyncio.to_thread(importlib.import_module, "handlers")
            from aiogram.fsm.storage.memory import MemoryStorage
            from pydantic import SecretStr

            from bot.app import build_dispatcher, make_bot, prepare
            from bot.config import Mode, Settings
            from bot.web.files import download_handler
            from bot.web.uploads import handlers as upload_handlers
            from storage.db import Database
            from storage.migrate import upgrade

            url = f"sqlite+aiosqlite:///{self.db_path}"
            settings = Settings(  # type: ignore[call-arg]  # _env_file: pydantic-settings' init option, not a field
                _env_file=None, bot_token=SecretStr(TOKEN), database_url=url, redis_url=None,
                telegram_api_base=self.tg.base_url, mode=Mode.polling, default_locale=self.lang,
                zalo_bot_token=SecretStr(ZALO_TOKEN), zalo_api_base=self.zalo.base_url,
                public_base_url=self.url.rstrip("/"))
            await upgrade(url)
            self.db = Database(url)
            self.app = build_dispatcher(settings, self.db, clock=self.clock, storage=MemoryStorage())
            zalo = self.app.zalo
            assert zalo is not None  # the sandbox always has its Zalo personas
            self._count_zalo(zalo.front)
            self._bot_web["download"] = download_handler(self.db, self.app.clock)
            self._bot_web["upload_page"], self._bot_web["upload"] = upload_handlers(
                self.db, self.app.clock, settings, "zalo", zalo.front.text.push)
            self.bot = make_bot(settings)
            self._settler = Settler(self.app.dp, self.tg)
            await prepare(self.app, self.bot)
            # start_polling emits the Dispatcher's startup (scheduler, outbox, periodic jobs) and shutdown.
            self._tasks.append(asyncio.create_task(self.app.dp.start_polling(
                self.bot, handle_signals=False, polling_timeout=10,
                allowed_updates=self.app.dp.resolve_used_update_types())))
            await self.settle(30)  # the bot greets the group first, as it would on Telegram
            if self.demo and not self._restored:
                self._set_status("seeding")
                await self.seed_demo()
            await self.settle(30)
            self._set_status("ready")
        except Exception:
            log.exception("the bot did not start")
            self._set_status("error")

    async def stop(self) -> None:
        for queue in self._streams:
            queue.put_nowait(None)
        if self.app is not None:
            await self.tg.release_pollers()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.app.dp.stop_polling(), 5)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        if self.app is not None:
            if self.app.extras.get("outbox") is not None:  # polling ended without its shutdown event
                with contextlib.suppress(Exception):
                    await self.app.dp.emit_shutdown(bot=self.bot, **self.app.dp.workflow_data)
            assert self.bot is not None  # made together with the app
            await self.bot.session.close()
            await self.db.dispose()
        if self.group_id is not None:
            self._save()
        await self.tg.stop()
        await self.zalo.stop()
        if self._runner is not None:
            await self._runner.cleanup()

    def _set_status(self, status: str) -> None:
        self.status = status
        self._broadcast({"type": "status", "status": status})

    # -- the chats --------------------------------------------------------------------------------
    async def _load_or_create_chats(self) -> None:
        if self.state_path.exists() and self.db_path.exists():
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            self.tg.load_state(state["telegram"], lambda fid: (self.files_dir / fid).read_bytes())
            self.group_id = state["group_id"]
            self._restored = True
            return
        people = {p.key: self.tg.add_user(p.name, language_code=self.lang, user_id=p.user_id) for p in PERSONAS
                  if p.channel == "telegram"}
        members = [people[p.key] for p in PERSONAS if p.in_group and p.key != "head"]
        group = await self.tg.create_group(GROUP_TITLE, creator=people["head"], members=members)
        self.group_id = group["id"]
        self._dirty = True

    def current_group(self) -> int | None:
        group = self.group_id
        while group in self.tg.migrated:
            group = self.tg.migrated[group]
        return group

    def persona(self, key: Any) -> Persona:
        for p in PERSONAS:
            if p.key == key or str(p.user_id) == str(key):
                return p
        raise Refused(400, _("There is no such person in the sandbox."))

    def _in(self, persona: Persona, chat_id: int) -> bool:
        return self.tg.status_in(chat_id, persona.user_id) not in ("left", "kicked")

    def chats_of(self, persona: Persona) -> list[dict]:
        """The groups the persona is in (newest first), then the private chat with the bot."""
        if persona.channel == "zalo":
            return [{"id": persona.user_id, "type": "private", "title": ZALO_CHAT_TITLE}]
        groups = [chat for chat_id, chat in self.tg.chats.items()
                  if chat["type"] != "private" and self._in(persona, chat_id)]
        return [*reversed(groups), self.tg.chats[persona.user_id]]

    def _chat_for(self, persona: Persona, chat_id: Any) -> dict:
        try:
            chat_id = int(chat_id)
        except (TypeError, ValueError):
            raise Refused(400, _("There is no such chat.")) from None
        if persona.channel == "zalo":
            if chat_id != persona.user_id:
                raise Refused(403, _("{name} is not in this chat, so cannot write in it.").format(name=persona.name))
            return self.chats_of(persona)[0]
        if chat_id not in self.tg.chats:
            raise Refused(400, _("There is no such chat."))
        if not self._in(persona, chat_id):
            raise Refused(403, _("{name} is not in this chat, so cannot write in it.").format(name=persona.name))
        return self.tg.chats[chat_id]

    # -- what the page shows -------------------------------------------------------------------------
    def view(self, message: dict) -> dict:
        sender = message["from"]
        service = None
        if message.get("new_chat_members"):
            service = _("{who} added {names} to the group").format(
                who=sender.get("first_name", ""), names=", ".join(u.get("first_name", "") for u in
                                                                  message["new_chat_members"]))
        elif message.get("migrate_to_chat_id") or message.get("migrate_from_chat_id"):
            service = _("The group was upgraded to a supergroup")
        text = message.get("text") if "text" in message else message.get("caption")
        buttons = []
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            buttons.append([{"text": b.get("text", ""), "data": b.get("callback_data"), "url": b.get("url")}
                            for b in row])
        document = message.get("document")
        photo = (message.get("photo") or [None])[-1]
        return {
            "id": message["message_id"], "chat_id": message["chat"]["id"], "date": message["date"],
            "from": {"id": sender["id"], "name": sender.get("first_name", ""), "is_bot": sender.get("is_bot", False)},
            "html": to_safe_html(text, message.get("html")) if text else "",
            "buttons": buttons, "edited": bool(message.get("edit_date")), "service": service,
            "document": {"file_id": document["file_id"], "name": document.get("file_name", "file"),
                         "size": document.get("file_size", 0)} if document else None,
            "photo": {"file_id": photo["file_id"]} if photo else None,
        }

    def view_zalo(self, persona: Persona, index: int, message: dict) -> dict:
        """A message of a Zalo chat as the page shows it: plain text (links clickable), a photo by
        its URL, never a button."""
        mine = not message.get("from_bot")
        text = message.get("text") if "text" in message else message.get("caption")
        photo = message.get("photo")
        return {
            "id": index + 1, "chat_id": persona.user_id, "date": int(message.get("date", 0)) // 1000,
            "from": {"id": persona.user_id if mine else 0, "name": persona.name if mine else ZALO_CHAT_TITLE,
                     "is_bot": not mine},
            "html": linkify(text) if text else "", "buttons": [], "edited": False, "service": None,
            "document": None, "photo": {"url": photo} if isinstance(photo, str) else None,
        }

    def zalo_messages(self, persona: Persona) -> list[dict]:
        return [self.view_zalo(persona, i, m) for i, m in enumerate(self.zalo.history.get(persona.zalo_id, []))]

    def _count_zalo(self, front) -> None:
        """Count the updates the bot's Zalo front has handled (settle() waits for them)."""
        original = front.handle

        async def counted(update) -> None:
            try:
                await original(update)
            finally:
                self._zalo_handled += 1
                async with self._zalo_changed:
                    self._zalo_changed.notify_all()

        front.handle = counted

    async def _zalo_pump(self) -> None:
        """The fake Zalo has no event stream: look at its chats and stream what is new to the page."""
        while True:
            await asyncio.sleep(0.2)
            for p in PERSONAS:
                if p.channel != "zalo":
                    continue
                history = self.zalo.history.get(p.zalo_id, [])
                for i in range(self._zalo_seen.get(p.zalo_id, 0), len(history)):
                    self._broadcast({"type": "message", "chat_id": p.user_id,
                                     "message": self.view_zalo(p, i, history[i])})
                self._zalo_seen[p.zalo_id] = len(history)

    async def zalo_say(self, persona: Persona, text: str) -> None:
        self._zalo_pushed += 1
        await self.zalo.send_text(self.zalo.users[persona.zalo_id], text)

    def _broadcast(self, event: dict) -> None:
        for queue in self._streams:
            queue.put_nowait(event)

    async def _pump(self) -> None:
        """Fake Bot API events -> page streams (and mark the chats for saving)."""
        queue = self.tg.subscribe()
        try:
            while True:
                event = await queue.get()
                if event["type"] in ("message", "edit", "delete"):
                    self._dirty = True
                    self._broadcast({"type": event["type"], "chat_id": event["chat_id"],
                                     "message": self.view(event["message"])})
                elif event["type"] == "callback_answer":
                    self._broadcast({"type": "callback_answer", **event["answer"]})
                elif event["type"] == "update":
                    self._dirty = True
        finally:
            self.tg.unsubscribe(queue)

    def _save(self) -> None:
        if not self._dirty or self.group_id is None:
            return
        self.files_dir.mkdir(parents=True, exist_ok=True)
        for file_id, entry in self.tg.files.items():
            path = self.files_dir / file_id
            if not path.exists():
                path.write_bytes(entry["data"])
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"group_id": self.group_id, "telegram": self.tg.dump_state(with_files=False)},
                                  ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.state_path)
        self._dirty = False

    async def _saver(self) -> None:
        while True:
            await asyncio.sleep(1)
            self._save()

    # -- waiting for the bot ----------------------------------------------------------------------
    async def settle(self, timeout: float = 10) -> None:
        """Until the bot has handled every update people produced so far (Telegram and Zalo)."""
        await self._settler.settle(timeout)
        async with self._zalo_changed:
            await asyncio.wait_for(self._zalo_changed.wait_for(
                lambda: self._zalo_handled >= self._zalo_pushed), timeout)

    async def _act(self, coro) -> None:
        await coro
        await self.settle(30)

    async def seed_demo(self) -> None:
        """The demo bloc, made the way a bloc head makes it: /setup, /addunit, /invite, links followed."""
        tg = self.tg
        people = {p.key: tg.users[p.user_id] for p in PERSONAS if p.channel == "telegram"}
        group_id = self.current_group()
        if group_id is None:
            raise RuntimeError("the demo needs the group chat, and there is none yet")
        group = tg.chats[group_id]
        head = people["head"]
        with use_locale(self.lang):
            await self._act(tg.send_text(head, group, f"/setup {BLOC_TITLE}"))
            await self._act(tg.send_text(head, group, "/addunit\n" + "\n".join(UNITS)))
            await self._act(tg.press_start(head))
            await self._act(tg.send_text(head, group, "/invite"))
            links = [link for text in tg.bot_texts(head["id"])
                     for link in re.findall(rf"https://t\.me/{BOT_USERNAME}\?start=j_[A-Za-z0-9_-]+", text)]
            if len(links) != len(UNITS):
                raise RuntimeError(f"expected {len(UNITS)} invite links, found {len(links)}")
            for key in ("head", "deputy", "mai", "tuan"):
                await self._join(people[key], links[_unit_index(key)], _unit_index(key))
            deputy_unit = _unit_index("deputy") + 1
            await self._act(tg.send_text(head, group, f"/setdeputy {deputy_unit}"))
            # Thảo is on Zalo: she types the invite's word (no deep links there) and confirms by number.
            thao = next(p for p in PERSONAS if p.key == "thao")
            payload = links[_unit_index("thao")].split("?start=", 1)[1]
            await self._act(self.zalo_say(thao, "xin chào"))
            await self._act(self.zalo_say(thao, "dk " + payload.removeprefix("j_")))
            joined = self.zalo.texts_to(thao.zalo_id)[-1]
            number = re.search(r"^(\d+) · ", joined, re.M)
            if number is None or UNITS[_unit_index("thao")] not in joined:
                raise RuntimeError(f"no join confirmation on Zalo for {UNITS[_unit_index('thao')]}")
            await self._act(self.zalo_say(thao, number.group(1)))
            # The other units' representatives, not on the page's switcher: with them a finished vote
            # has enough ballots to be valid, so a visitor sees a real result and its minutes.
            voters = {key: people[key] for key in ("head", "deputy", "mai", "tuan")}
            for unit in range(len(UNITS)):
                if unit in {p.unit for p in PERSONAS}:
                    continue
                user = tg.add_user(_rep_name(unit), language_code=self.lang, user_id=BACKGROUND_IDS + unit)
                await self._join(user, links[unit], unit)
                voters[f"unit{unit}"] = user
            await self._seed_vote(head, group, voters)

    def _buttons(self, message: dict) -> list[dict]:
        return [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]

    def _fresh(self, chat_id: int, message: dict) -> dict:
        """The message as the chat shows it now (after the bot's edits)."""
        return next(m for m in self.tg.messages(chat_id) if m["message_id"] == message["message_id"])

    async def _press(self, user: dict, chat_id: int, message: dict, kind, **fields: Any) -> dict:
        """Press the message's button of that typed action (the one whose fields match)."""
        from bot.conversations.actions import unpack_any

        for button in self._buttons(message):
            data = button.get("callback_data")
            if data and kind.matches(data):
                action = unpack_any(data)
                if all(getattr(action, k) == v for k, v in fields.items()):
                    await self._act(self.tg.click(user, message, data))
                    return self._fresh(chat_id, message)
        raise RuntimeError(f"no {kind.__name__} button on message {message['message_id']}")

    async def _join(self, user: dict, link: str, unit: int) -> None:
        await self._act(self.tg.open_link(user, link))
        card = self.tg.messages(user["id"], from_bot=True)[-1]
        if UNITS[unit] not in (card.get("text") or ""):
            raise RuntimeError(f"no join confirmation for {UNITS[unit]}")
        await self._press(user, user["id"], card, ConfirmJoin)

    async def _seed_vote(self, head: dict, group: dict, voters: dict[str, dict]) -> None:
        """A finished flag vote: 12 of 14 units cast (one on Zalo), the head fills the minutes' facts,
        closes, the counting committee hands back its keys, and the results, chart and minutes reach
        the group."""
        from bot.conversations import ballot as act

        tg = self.tg
        await self._act(tg.send_text(head, group, "/vote co"))
        card = tg.messages(group["id"], from_bot=True)[-1]
        link = next(b["url"] for b in self._buttons(card) if "start=v_" in (b.get("url") or ""))
        poll = int(link.rsplit("v_", 1)[1])
        for key, user in voters.items():
            await self._act(tg.open_link(user, link))
            ballot = tg.messages(user["id"], from_bot=True)[-1]
            pick = DEMO_PICKS.get(key, _unit_index("head"))
            if pick is not None:
                ballot = await self._press(user, user["id"], ballot, act.Tick, index=pick)
            ballot = await self._press(user, user["id"], ballot, act.Review)
            await self._press(user, user["id"], ballot, act.Cast)
        # Thảo votes on Zalo, by typed numbers: the ballot's word, her unit's number, then CO.
        thao = next(p for p in PERSONAS if p.key == "thao")
        await self._act(self.zalo_say(thao, f"phieu {poll}"))
        listed = self.zalo.texts_to(thao.zalo_id)[-1]
        number = re.search(rf"^(\d+) · {re.escape(UNITS[_unit_index('head')])}", listed, re.M)
        if number is None:
            raise RuntimeError("no numbered ballot on Zalo")
        await self._act(self.zalo_say(thao, number.group(1)))
        await self._act(self.zalo_say(thao, "co"))
        await self._act(tg.send_text(head, group, DEMO_MINUTES))
        await self._act(tg.send_text(head, group, "/close"))
        await self._press(head, group["id"], tg.messages(group["id"], from_bot=True)[-1], act.CloseNow, poll=poll)
        handed = 0
        for user in voters.values():
            keys = [m for m in tg.messages(user["id"], from_bot=True)
                    if any(act.HandKey.matches(b.get("callback_data") or "") for b in self._buttons(m))]
            if keys and handed < 2:
                await self._press(user, user["id"], keys[-1], act.HandKey, poll=poll)
                handed += 1
        if not any("docx" in (m.get("document") or {}).get("file_name", "") for m in tg.messages(group["id"])):
            raise RuntimeError("the demo vote gave no minutes")

    # -- HTTP -------------------------------------------------------------------------------------
    def _lang(self, request: web.Request) -> str:
        return normalize_locale(request.query.get("lang") or request.cookies.get("lang"), self.lang)

    @web.middleware
    async def _page_api(self, request: web.Request, handler) -> web.StreamResponse:
        """Every page request runs in the page's language; a refusal becomes {"ok": false, "error"}."""
        with use_locale(self._lang(request)):
            try:
                return await handler(request)
            except Refused as err:
                return web.json_response({"ok": False, "error": err.message}, status=err.status)

    def _bot_route(self, name: str):
        """A route of the bot's own web app, fixed before the bot runs (aiohttp freezes the routes)."""

        async def handle(request: web.Request) -> web.StreamResponse:
            handler = self._bot_web.get(name)
            if handler is None:
                raise web.HTTPServiceUnavailable(text="The bot is starting.")
            return await handler(request)

        return handle

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def _state(self, request: web.Request) -> web.Response:
        personas = [{"key": p.key, "id": p.user_id, "name": p.name, "role": _(p.role),
                     "unit": UNITS[p.unit] if p.unit is not None else "",
                     "chats": [{"id": c["id"], "type": c["type"],
                                "title": c.get("title") or self.tg.bot_user["first_name"]}
                               for c in self.chats_of(p)]} for p in PERSONAS]
        return web.json_response({
            "status": self.status, "lang": self._lang(request), "demo": self.demo,
            "bot": {"username": BOT_USERNAME, "name": self.tg.bot_user["first_name"]},
            "personas": personas, "group_id": self.current_group(), "strings": page_strings(),
            "upload_limit_mb": UPLOAD_LIMIT_MB,
        })

    async def _messages(self, request: web.Request) -> web.Response:
        persona = self.persona(request.query.get("persona"))
        chat = self._chat_for(persona, request.query.get("chat"))
        if persona.channel == "zalo":
            return web.json_response({"ok": True, "messages": self.zalo_messages(persona)})
        return web.json_response({"ok": True, "messages": [self.view(m) for m in self.tg.messages(chat["id"])]})

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        queue: asyncio.Queue = asyncio.Queue()
        self._streams.append(queue)
        try:
            await response.write(f"data: {json.dumps({'type': 'status', 'status': self.status})}\n\n".encode())
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), 15)
                    if event is None:  # the sandbox is stopping
                        break
                    await response.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._streams.remove(queue)
        return response

    async def _file(self, request: web.Request) -> web.Response:
        entry = self.tg.files.get(request.match_info["file_id"])
        if entry is None:
            raise web.HTTPNotFound()
        name = entry.get("name") or request.match_info["file_id"]
        mime = entry.get("mime")
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
        headers = {}
        if not mime.startswith("image/"):
            headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
        return web.Response(body=entry["data"], content_type=mime, headers=headers)

    async def _json(self, request: web.Request) -> dict:
        try:
            data = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, _("The request could not be read.")) from None
        if not isinstance(data, dict):
            raise Refused(400, _("The request could not be read."))
        return data

    async def _send(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        persona = self.persona(data.get("persona"))
        chat = self._chat_for(persona, data.get("chat"))
        text = str(data.get("text") or "").strip()
        if not text:
            raise Refused(400, _("Type a message first."))
        if len(text) > 4096:
            raise Refused(400, _("A message can be at most 4096 characters long."))
        if persona.channel == "zalo":
            await self.zalo_say(persona, text)
            return web.json_response({"ok": True})
        if chat["type"] == "private" and re.fullmatch(rf"https://t\.me/{BOT_USERNAME}(\?start=\S*)?", text):
            # Tapping a link to this bot (a forwarded invite, say) opens it: /start <payload>.
            await self.tg.open_link(self.tg.users[persona.user_id], text)
        else:
            await self.tg.send_text(self.tg.users[persona.user_id], chat, text)
        return web.json_response({"ok": True})

    async def _click(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        persona = self.persona(data.get("persona"))
        chat = self._chat_for(persona, data.get("chat"))
        if persona.channel == "zalo":
            raise Refused(400, _("Zalo has no buttons: reply with the number or the word."))
        message = next((m for m in self.tg.messages(chat["id"]) if m["message_id"] == _int(data.get("message_id"))),
                       None)
        if message is None:
            raise Refused(400, _("That message is gone."))
        try:
            query = await self.tg.click(self.tg.users[persona.user_id], message, str(data.get("data")))
        except ValueError:
            raise Refused(400, _("That button is no longer there.")) from None
        return web.json_response({"ok": True, "query_id": query})

    async def _open(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        persona = self.persona(data.get("persona"))
        if persona.channel == "zalo":
            raise Refused(400, _("Zalo has no bot links: type the word the bot shows instead."))
        try:
            await self.tg.open_link(self.tg.users[persona.user_id], str(data.get("url") or ""))
        except ValueError:
            raise Refused(400, _("This link does not lead to this bot.")) from None
        return web.json_response({"ok": True, "chat": persona.user_id})

    async def _upload(self, request: web.Request) -> web.Response:
        too_large = Refused(413, _("The sandbox accepts files up to {mb} MB.").format(mb=UPLOAD_LIMIT_MB))
        if (request.content_length or 0) > UPLOAD_LIMIT_MB * 1024 * 1024:
            raise too_large
        fields: dict[str, Any] = {}
        try:
            async for part in await request.multipart():
                if not isinstance(part, BodyPartReader):  # nested multipart: the page never sends it
                    continue
                if part.filename:
                    fields["file"] = (part.filename, bytes(await part.read()), part.headers.get("Content-Type"))
                else:
                    fields[part.name or ""] = await part.text()
        except web.HTTPRequestEntityTooLarge:
            raise too_large from None
        except (ValueError, AssertionError, KeyError):
            raise Refused(400, _("The request could not be read.")) from None
        persona = self.persona(fields.get("persona"))
        chat = self._chat_for(persona, fields.get("chat"))
        if "file" not in fields:
            raise Refused(400, _("Choose a file first."))
        name, body, mime = fields["file"]
        if persona.channel == "zalo":  # Zalo hands the bot a document without its content
            self._zalo_pushed += 1
            await self.zalo.send_document(self.zalo.users[persona.zalo_id])
            return web.json_response({"ok": True})
        await self.tg.send_document(self.tg.users[persona.user_id], chat, name, body,
                                    mime_type=mime or mimetypes.guess_type(name)[0],
                                    caption=(fields.get("caption") or None))
        return web.json_response({"ok": True})


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# Strings of the page itself, translated with the bot's catalogs (locales/*/LC_MESSAGES/sandbox.po).
PAGE_STRINGS = {
    "title": N_("thidua sandbox"),
    "subtitle": N_("The real bot, on this computer, without Telegram"),
    "persona": N_("You are"),
    "chats": N_("Chats"),
    "group": N_("group"),
    "private": N_("private chat with the bot"),
    "type_here": N_("Write a message or a command, e.g. /help"),
    "send": N_("Send"),
    "attach": N_("Send a file"),
    "starting": N_("The bot is starting… what you type now is answered as soon as it is up."),
    "seeding": N_("Preparing the demo bloc (14 health centres, the head, three representatives on Telegram and one "
                  "on Zalo)…"),
    "error": N_("The bot could not start; the terminal shows why."),
    "ready": N_("Bot is online"),
    "edited": N_("edited"),
    "download": N_("Download"),
    "no_messages": N_("No messages yet."),
    "loading": N_("Loading the chat…"),
    "hint_setup": N_("Start as Lan in the group: /setup <bloc name>, then /addunit and /invite."),
    "hint_demo": N_("Demo bloc ready. As Lan in the group try /vote flag; representatives vote in their private chat."),
    "offline": N_("Connection to the sandbox lost; retrying…"),
    "language": N_("Language"),
    "ok": N_("OK"),
    "back": N_("Back to the chats"),
}


def page_strings() -> dict[str, str]:
    return {key: _(msgid) for key, msgid in PAGE_STRINGS.items()}
