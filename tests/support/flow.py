"""Flow tests: real Dispatcher, real routers, real (migrated) database; only the HTTP session
to Telegram is replaced by a recorder that answers like Telegram would.

    flow = Flow(app)                      # app from bot.app.build_dispatcher
    head = flow.user("Lan")
    await flow.send(head, "/setup Khối X", chat=flow.group)
    assert "Khối X" in flow.last_text(flow.group.id)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    GetChatMember,
    GetFile,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    ChatMemberAdministrator,
    ChatMemberMember,
    Document,
    File,
    Message,
    MessageEntity,
    PhotoSize,
    Update,
    User,
)

from bot.app import App

BOT_ID = 700000001
BOT_USERNAME = "thidua_test_bot"


@dataclass
class Sent:
    method: str
    chat_id: int | None
    text: str | None
    markup: Any
    message_id: int | None
    request: TelegramMethod
    filename: str | None = None


class RecordingSession(BaseSession):
    """Answers every Bot API call locally and keeps what the bot sent."""

    def __init__(self, flow: "Flow") -> None:
        super().__init__()
        self.flow = flow

    async def make_request(self, bot: Bot, method: TelegramMethod, timeout: int | None = None) -> Any:
        return self.flow._respond(method)

    async def stream_content(self, url, headers=None, timeout=30, chunk_size=65536, raise_for_status=True):
        data = self.flow.files.get(url.rsplit("/", 1)[-1], b"")
        yield data

    async def close(self) -> None:
        pass


class Inspection:
    """Reading what the bot sent; shared by the recorder and the HTTP flow (tests/e2e/httpflow.py)."""

    sent: list[Sent]

    def texts(self, chat_id: int) -> list[str]:
        return [s.text for s in self.sent if s.chat_id == chat_id and s.text is not None]

    def last_text(self, chat_id: int) -> str:
        texts = self.texts(chat_id)
        assert texts, f"nothing was sent to chat {chat_id}"
        return texts[-1]

    def last(self, chat_id: int) -> Sent:
        for s in reversed(self.sent):
            if s.chat_id == chat_id:
                return s
        raise AssertionError(f"nothing was sent to chat {chat_id}")

    @staticmethod
    def buttons(sent: Sent) -> list[tuple[str, str | None, str | None]]:
        """(label, callback_data, url) of every button."""
        if sent.markup is None:
            return []
        return [(b.text, b.callback_data, b.url) for row in sent.markup.inline_keyboard for b in row]



@dataclass
class Flow(Inspection):
    app: App
    sent: list[Sent] = field(default_factory=list)
    admins: set[int] = field(default_factory=set)
    files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._ids = itertools.count(1000)
        self._update_ids = itertools.count(1)
        self._user_ids = itertools.count(1001)
        self.bot = Bot("42:TEST", session=RecordingSession(self), default=DefaultBotProperties(parse_mode="HTML"))
        self.app.dp["bot_username"] = BOT_USERNAME
        self.app.bot = self.bot  # what startup would set: App.deliver (periodic jobs) sends through it
        if getattr(self.app, "table", None) is not None:  # a real app (the benches pass a bare holder)
            from handlers.app import TelegramOut

            self.app.out = TelegramOut(self.app, self.bot)
        self.group = Chat(id=-1001234567890, type="supergroup", title="Khối thi đua TTYT")
        self.messages: dict[tuple[int, int], Message] = {}

    # -- people and chats -------------------------------------------------------------------
    def user(self, first_name: str, username: str | None = None, admin: bool = False) -> User:
        user = User(id=next(self._user_ids), is_bot=False, first_name=first_name, username=username,
                    language_code="vi")
        if admin:
            self.admins.add(user.id)
        return user

    @staticmethod
    def private(user: User) -> Chat:
        return Chat(id=user.id, type="private", first_name=user.first_name)

    async def deliver_outbox(self) -> None:
        """What the outbox worker would send now (reminders, notices), sent through this recorder."""
        from bot.channels.telegram import TelegramSender
        from bot.outbox import OutboxWorker
        from bot.ratelimit import RateLimiter

        worker = OutboxWorker(self.app.db, {"telegram": TelegramSender(self.bot, BOT_USERNAME)}, self.app.clock,
                              RateLimiter(global_per_sec=2000, group_per_min=10_000, chat_per_sec=1000))
        await worker.drain()
        await worker.drain()  # a fanout row expands into private rows on the first pass

    # -- incoming ---------------------------------------------------------------------------
    def _now(self) -> datetime:
        return self.app.clock.now()

    async def feed(self, update: Update) -> list[Sent]:
        before = len(self.sent)
        await self.app.dp.feed_update(self.bot, update)
        return self.sent[before:]

    async def send(self, user: User, text: str, chat: Chat | None = None) -> list[Sent]:
        chat = chat or self.private(user)
        entities = None
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            entities = [MessageEntity(type="bot_command", offset=0, length=length)]
        message = Message(message_id=next(self._ids), date=self._now(), chat=chat, from_user=user, text=text,
                          entities=entities)
        return await self.feed(Update(update_id=next(self._update_ids), message=message))

    async def send_document(self, user: User, filename: str, data: bytes, chat: Chat | None = None,
                            caption: str | None = None) -> list[Sent]:
        chat = chat or self.private(user)
        file_id = f"file{next(self._ids)}"
        self.files[file_id] = data
        document = Document(file_id=file_id, file_unique_id=file_id, file_name=filename, file_size=len(data))
        message = Message(message_id=next(self._ids), date=self._now(), chat=chat, from_user=user,
                          document=document, caption=caption)
        return await self.feed(Update(update_id=next(self._update_ids), message=message))

    async def click(self, user: User, message_or_sent: Message | Sent, data: str) -> list[Sent]:
        if isinstance(message_or_sent, Sent):
            message = self.messages[(message_or_sent.chat_id, message_or_sent.message_id)]
        else:
            message = message_or_sent
        query = CallbackQuery(id=str(next(self._ids)), from_user=user, chat_instance="ci", message=message, data=data)
        return await self.feed(Update(update_id=next(self._update_ids), callback_query=query))

    async def raw(self, **update_fields: Any) -> list[Sent]:
        return await self.feed(Update(update_id=next(self._update_ids), **update_fields))

    def answered(self) -> list[str]:
        return [s.text for s in self.sent if s.method == "answerCallbackQuery" and s.text]

    # -- the fake Telegram side ----------------------------------------------------------------
    def _bot_user(self) -> User:
        return User(id=BOT_ID, is_bot=True, first_name="Thi đua", username=BOT_USERNAME)

    def _chat(self, chat_id: int) -> Chat:
        if chat_id == self.group.id:
            return self.group
        return Chat(id=chat_id, type="private" if chat_id > 0 else "group")

    def _respond(self, method: TelegramMethod) -> Any:
        name = type(method).__name__
        chat_id = getattr(method, "chat_id", None)
        if isinstance(method, GetMe):
            return self._bot_user()
        if isinstance(method, GetFile):
            data = self.files.get(method.file_id, b"")
            return File(file_id=method.file_id, file_unique_id=method.file_id, file_size=len(data),
                        file_path=method.file_id)
        if isinstance(method, GetChatMember):
            user = User(id=method.user_id, is_bot=False, first_name="x")
            if method.user_id in self.admins:
                rights = {name: False for name, f in ChatMemberAdministrator.model_fields.items()
                          if f.is_required() and name.startswith("can_")}
                return ChatMemberAdministrator(user=user, is_anonymous=False, **rights)
            return ChatMemberMember(user=user)
        if isinstance(method, (SendMessage, SendDocument, SendPhoto)):
            message_id = next(self._ids)
            kwargs: dict[str, Any] = {}
            filename = None
            if isinstance(method, SendDocument):
                filename = getattr(method.document, "filename", None)
                kwargs["document"] = Document(file_id=f"d{message_id}", file_unique_id=f"d{message_id}",
                                              file_name=filename)
                self.files[f"d{message_id}"] = getattr(method.document, "data", b"")
            if isinstance(method, SendPhoto):
                filename = getattr(method.photo, "filename", None)
                kwargs["photo"] = [PhotoSize(file_id=f"p{message_id}", file_unique_id=f"p{message_id}", width=1,
                                             height=1)]
                self.files[f"p{message_id}"] = getattr(method.photo, "data", b"")
            text = getattr(method, "text", None) or getattr(method, "caption", None)
            message = Message(message_id=message_id, date=self._now(), chat=self._chat(chat_id),
                              from_user=self._bot_user(), text=getattr(method, "text", None),
                              reply_markup=method.reply_markup, **kwargs)
            self.messages[(chat_id, message_id)] = message
            self.sent.append(Sent(name[0].lower() + name[1:], chat_id, text, method.reply_markup, message_id, method,
                                  filename))
            return message
        if isinstance(method, (EditMessageText, EditMessageReplyMarkup)):
            key = (chat_id, method.message_id)
            old = self.messages.get(key)
            text = getattr(method, "text", None) or (old.text if old else None)
            message = Message(message_id=method.message_id, date=self._now(), chat=self._chat(chat_id),
                              from_user=self._bot_user(), text=text, reply_markup=method.reply_markup)
            self.messages[key] = message
            self.sent.append(Sent(name[0].lower() + name[1:], chat_id, text, method.reply_markup,
                                  method.message_id, method))
            return message
        if isinstance(method, AnswerCallbackQuery):
            self.sent.append(Sent("answerCallbackQuery", None, method.text, None, None, method))
            return True
        self.sent.append(Sent(name[0].lower() + name[1:], chat_id, None, None, None, method))
        return True
