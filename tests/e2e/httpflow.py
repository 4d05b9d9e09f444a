"""The flow-test API (tests/support/flow.py) on top of the real HTTP path: the same scenario code
can drive the bot through the Dispatcher directly or through aiogram's HTTP client polling the
fake Bot API. `send`/`click` return once the bot has handled every update produced so far."""

from __future__ import annotations

import itertools

from aiogram.types import Chat, InlineKeyboardMarkup, User

from bot.fakeapi.settle import Settler
from tests.e2e.harness import Running
from tests.support.flow import Inspection, Sent


class HttpFlow(Inspection):
    def __init__(self, run: Running) -> None:
        self.run, self.tg, self.app = run, run.tg, run.app
        self.sent: list[Sent] = []
        self._users: dict[int, dict] = {}
        self._events = self.tg.subscribe()
        self._names = itertools.count(1)
        self._settler = Settler(self.app.dp, self.tg)

    async def setup(self, title: str = "Khối thi đua TTYT") -> "HttpFlow":
        owner = self.tg.add_user("Chủ nhóm")
        self._group = await self.tg.create_group(title, creator=owner)
        self.group = Chat(id=self._group["id"], type="group", title=title)
        await self.settle()
        return self

    # -- people ------------------------------------------------------------------------------
    def user(self, first_name: str, username: str | None = None, admin: bool = False) -> User:
        data = self.tg.add_user(first_name, username)
        self._users[data["id"]] = data
        self.tg.members[self._group["id"]][data["id"]] = "administrator" if admin else "member"
        return User(**data)

    def _chat(self, user: User, chat: Chat | None) -> dict:
        return self.tg.chats[chat.id] if chat is not None else self.tg.private_chat(self._users[user.id])

    # -- acting --------------------------------------------------------------------------------
    async def settle(self, timeout: float = 10) -> None:
        await self._settler.settle(timeout)
        self._drain()

    def _drain(self) -> None:
        while not self._events.empty():
            event = self._events.get_nowait()
            message = event.get("message")
            if event["type"] not in ("message", "edit") or message["from"]["id"] != self.tg.bot_user["id"]:
                continue
            markup = message.get("reply_markup")
            document = message.get("document") or {}
            photo = (message.get("photo") or [{}])[-1]
            self.sent.append(Sent(
                "editMessageText" if event["type"] == "edit" else "sendMessage", message["chat"]["id"],
                message.get("html") or message.get("text") or message.get("caption"),
                InlineKeyboardMarkup.model_validate(markup) if markup else None, message["message_id"], None,
                document.get("file_name")))
            self.sent[-1].file_id = document.get("file_id") or photo.get("file_id")

    async def _act(self, coro) -> list[Sent]:
        before = len(self.sent)
        await coro
        await self.settle()
        return self.sent[before:]

    async def send(self, user: User, text: str, chat: Chat | None = None) -> list[Sent]:
        return await self._act(self.tg.send_text(self._users[user.id], self._chat(user, chat), text))

    async def send_document(self, user: User, filename: str, data: bytes, chat: Chat | None = None,
                            caption: str | None = None) -> list[Sent]:
        return await self._act(self.tg.send_document(self._users[user.id], self._chat(user, chat), filename, data,
                                                     caption=caption))

    async def click(self, user: User, sent: Sent, data: str) -> list[Sent]:
        message = next(m for m in self.tg.history[sent.chat_id] if m["message_id"] == sent.message_id)
        return await self._act(self.tg.click(self._users[user.id], message, data, force=True))

    def answered(self) -> list[str]:
        return [a["text"] for a in self.tg.answered_callbacks if a.get("text")]
