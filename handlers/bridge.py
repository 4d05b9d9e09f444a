"""The Telegram front: the conversation table (bot/conversations) compiled into aiogram routers.

Each entry becomes one aiogram handler with aiogram's own filters (Command, CommandStart with a
payload prefix, StateFilter, a typed-action filter, the chat type). The handler turns the update
into an `Event` and an `Actor`, runs the step, and sends its `Outcome`: replies, edits of the
message behind a button, cards kept current, and the answer under a pressed button (given to
aiogram's CallbackAnswerMiddleware, the one place callbacks are answered).
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import Command, CommandObject, CommandStart, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer, CallbackAnswerMiddleware

from bot.channels import telegram as tg
from bot.channels.base import SendError
from bot.conversations.core import (
    ANYWHERE,
    PRIVATE,
    Actor,
    CardKey,
    Chat,
    Ctx,
    Delivered,
    Entry,
    Event,
    FileIn,
    MessageRef,
    Out,
    Outcome,
    Table,
    ToChat,
    ToGroup,
    ToPerson,
)
from bot.i18n import _
from bot.services.errors import UserError
from bot.views.base import Reply, split_text
from handlers.filters import IN_GROUP, IN_PRIVATE, Act, NotCommand

log = logging.getLogger(__name__)
CHANNEL = "telegram"


# -- dialog state on aiogram's FSM storage ----------------------------------------------------------
class FsmState:
    def __init__(self, context: FSMContext) -> None:
        self.context = context

    async def get(self) -> tuple[str | None, dict[str, Any]]:
        return await self.context.get_state(), await self.context.get_data()

    async def set(self, name: str | None, data: dict[str, Any] | None = None) -> None:
        await self.context.set_state(name)
        if data:
            await self.context.update_data(data)

    async def clear(self) -> None:
        await self.context.clear()


class FsmStates:
    def __init__(self, storage: BaseStorage, bot_id: int) -> None:
        self.storage, self.bot_id = storage, bot_id

    def of(self, chat: Chat, person_external_id: int | str) -> FsmState:
        key = StorageKey(bot_id=self.bot_id, chat_id=int(chat.id), user_id=int(person_external_id))
        return FsmState(FSMContext(storage=self.storage, key=key))


# -- filters ------------------------------------------------------------------------------------------
class FileFilter(Filter):
    def __init__(self, suffixes: tuple[str, ...], with_caption: bool | None) -> None:
        self.suffixes, self.with_caption = suffixes, with_caption

    async def __call__(self, message: Message) -> bool:
        doc = message.document
        if doc is None or not (doc.file_name or "").lower().endswith(self.suffixes):
            return False
        return self.with_caption is None or self.with_caption == bool((message.caption or "").strip())


class TextPattern(Filter):
    def __init__(self, pattern) -> None:
        self.pattern = pattern

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and self.pattern.match(message.text) is not None


def _chat_filters(where: str) -> list[Filter]:
    if where == ANYWHERE:
        return []
    return [IN_PRIVATE if where == PRIVATE else IN_GROUP]


class Named(Filter):
    """A cheap first look before aiogram's `Command` (which parses the text and checks the mention
    for every command handler in turn): is this "/name" or "/name@bot" one of ours at all?"""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = frozenset(names)

    async def __call__(self, message: Message) -> bool:
        text = message.text or message.caption
        if not text or text[0] != "/":
            return False
        head = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
        return head.split("@", 1)[0] in self.names


def _filters(entry: Entry) -> tuple[str, list[Any]]:
    where = _chat_filters(entry.where)
    if entry.kind == "command":
        return "message", [Named(entry.names), Command(*entry.names), *where]
    if entry.kind == "start":
        if not entry.names:
            return "message", [CommandStart(), *where]
        prefixes = entry.names
        return "message", [CommandStart(deep_link=True), PayloadPrefix(prefixes), *where]
    if entry.kind == "action":
        return "callback_query", [Act(*entry.actions)]
    if entry.kind == "state":
        return "message", [StateFilter(*entry.states), NotCommand(), *where]
    if entry.kind == "text":
        return "message", [TextPattern(entry.pattern), *where]
    return "message", [FileFilter(entry.suffixes, entry.with_caption), *where]


class PayloadPrefix(Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes = prefixes

    async def __call__(self, message: Message, command: CommandObject) -> bool:
        return bool(command.args and command.args.startswith(self.prefixes))


# -- the router -----------------------------------------------------------------------------------------
def build_router(table: Table, name: str = "conversations") -> Router:
    """The whole table as one router, entries in table order (feature deep links before catch-alls)."""
    router = Router(name=name)
    router.callback_query.middleware(CallbackAnswerMiddleware())  # every pressed button is answered once
    for entry in table.entries:
        _register(router, table, entry)
    return router


def _register(router: Router, table: Table, entry: Entry) -> None:
    observer, filters = _filters(entry)
    getattr(router, observer).register(_handler(table, entry), *filters)


def _handler(table: Table, entry: Entry):
    async def handle_message(message: Message, **data: Any) -> None:
        event = event_of_message(message, data.get("command"))
        await run(table, entry, event, message.chat.id, message.chat.type, data)

    async def handle_callback(callback: CallbackQuery, **data: Any) -> None:
        origin = None
        chat_id, chat_type = callback.from_user.id, "private"
        if callback.message is not None:
            chat_id, chat_type = callback.message.chat.id, callback.message.chat.type
            origin = MessageRef(chat_id, callback.message.message_id)
        event = Event(action=data["action"], origin=origin)
        try:
            await run(table, entry, event, chat_id, chat_type, data)
        except UserError as err:  # under a button the refusal is an alert, and nothing was sent
            answer: CallbackAnswer | None = data.get("callback_answer")
            if answer is None:
                raise
            answer.text, answer.show_alert = err.message[:200], True

    handler = handle_callback if entry.kind == "action" else handle_message
    handler.__name__ = handler.__qualname__ = f"{entry.step.__module__}.{entry.step.__name__}"
    return handler


def event_of_message(message: Message, command: CommandObject | None) -> Event:
    doc = message.document
    file = FileIn(doc.file_id, doc.file_name or "", doc.file_size or 0, doc.mime_type) if doc else None
    if command is not None:
        return Event(command=command.command.lower(), args=(command.args or "").strip(), file=file,
                     text=message.text or message.caption)
    return Event(text=message.text if message.text is not None else message.caption, file=file)


def actor_of(data: dict[str, Any], chat_id: int, chat_type: str) -> Actor:
    return Actor(person=data.get("person"), bloc=data.get("bloc"), member=data.get("member"),
                 chat=Chat(CHANNEL, chat_id, chat_type == "private"), is_admin=bool(data.get("is_admin")))


def ctx_of(data: dict[str, Any], bot: Bot, actor: Actor) -> Ctx:
    state: FSMContext = data["state"]
    app = data["app"]

    async def download(file: FileIn) -> bytes:
        buffer = await bot.download(file.ref)
        return buffer.read() if buffer is not None else b""

    return Ctx(session=data["session"], clock=data["clock"], settings=data["settings"], vault=data["vault"],
               state=FsmState(state), states=FsmStates(state.storage, bot.id), download=download,
               kick=app.kick, channel=CHANNEL, table=app.table,
               extras={"bot_username": data.get("bot_username", ""), "app": app})


async def is_group_admin(bot: Bot, chat_id: int, user_id: int) -> bool:
    member = await bot.get_chat_member(chat_id, user_id)
    return member.status in ("creator", "administrator")


async def run(table: Table, entry: Entry, event: Event, chat_id: int, chat_type: str, data: dict[str, Any]) -> None:
    bot: Bot = data["bot"]
    user = data.get("event_from_user")
    if entry.kind == "command" and entry.needs_admin and chat_type != "private" and user is not None:
        data = {**data, "is_admin": await is_group_admin(bot, chat_id, user.id)}  # only when the entry asks
    actor = actor_of(data, chat_id, chat_type)
    ctx = ctx_of(data, bot, actor)
    outcome = await entry.step(ctx, actor, event)
    if outcome is None:
        return
    front = TelegramDelivery(bot, table, ctx, actor, event)
    await front.send_all(outcome)
    answer: CallbackAnswer | None = data.get("callback_answer")
    if answer is not None and outcome.toast:
        answer.text, answer.show_alert = outcome.toast[:200], outcome.alert


# -- sending an outcome ---------------------------------------------------------------------------------------
class TelegramDelivery:
    """Sends one step's outcome through Telegram. Replies to the chat the event came from are sent
    as they are; a private message to someone else that Telegram refuses (never started, blocked)
    is reported back (`Delivered.ok` false) unless the step marked it required. Without an incoming
    update (App.deliver from a periodic job) actor and event are None: there is no chat to answer
    and no pressed message to edit, so only ToPerson/ToGroup messages and card refreshes apply."""

    def __init__(self, bot: Bot, table: Table, ctx: Ctx, actor: Actor | None, event: Event | None) -> None:
        self.bot, self.table, self.ctx, self.actor, self.event = bot, table, ctx, actor, event
        self.username = ctx.extras.get("bot_username", "")

    async def send_all(self, outcome: Outcome) -> None:
        await self.ctx.session.commit()  # never hold a transaction across a Telegram call
        for out in outcome.out:
            await self.deliver(out)
        for key in outcome.refresh:
            await self.refresh(key)
        for after in outcome.after:
            await after(self)

    def _chat_of(self, out: Out) -> int:
        if isinstance(out.to, ToChat):
            if self.actor is None:
                raise TypeError("a reply to HERE needs an incoming update")
            return int(self.actor.chat.id)
        if isinstance(out.to, ToPerson):
            return int(out.to.person.external_id)
        if isinstance(out.to, ToGroup):
            return int(out.to.bloc.chat_id)
        raise TypeError(out.to)

    async def deliver(self, out: Out) -> Delivered:
        if out.replace and self.event is not None and self.event.origin is not None:
            origin = self.event.origin
            await tg.edit_message(self.bot, int(origin.chat_id), int(origin.message_id), out.reply, self.username)
            return Delivered(True, origin)
        if isinstance(out.to, ToPerson) and out.to.person.channel != CHANNEL:
            return await self._elsewhere(out)
        chat_id = self._chat_of(out)
        try:
            sent = await tg.send(self.bot, chat_id, out.reply, self.username)
        except (TelegramForbiddenError, TelegramBadRequest, TelegramRetryAfter) as err:
            if out.required or isinstance(out.to, ToChat):
                raise
            log.info("private message not delivered: %s", type(err).__name__)
            return Delivered(False)
        ref = MessageRef(chat_id, sent.message_id) if sent is not None else None
        if out.card is not None and ref is not None:
            await self.table.cards[out.card.kind].remember(self.ctx, out.card.id, int(ref.message_id))
            await self.ctx.session.commit()
        return Delivered(True, ref)

    async def _elsewhere(self, out: Out) -> Delivered:
        """A private message to someone on another messenger (a Zalo representative of a Telegram
        bloc) goes through that channel's sender; a refusal is reported like a Telegram 403."""
        assert isinstance(out.to, ToPerson)
        person = out.to.person
        app = self.ctx.extras.get("app")
        sender = app.senders(self.bot).get(person.channel) if app is not None else None
        if sender is None:
            log.info("no sender for a person on %s", person.channel)
            return Delivered(False)
        try:
            ref = await sender.send(person.external_id, out.reply)
        except SendError as err:
            if out.required:
                raise UserError(_("A message could not be delivered.")) from err
            log.info("private message not delivered: %s", type(err).__name__)
            return Delivered(False)
        return Delivered(True, MessageRef(ref.chat_id, ref.message_id))

    async def refresh(self, key: CardKey) -> None:
        """Bring a card up to date by editing it. A card too long for one message was sent in parts
        and remembered by its last part: the edit writes that last part only. Group edits are
        rate-limited and may be refused; the next change edits it again, so a refusal is logged."""
        view = await self.table.cards[key.kind].render(self.ctx, key.id)
        await self.ctx.session.commit()
        if view is None or view.message_id is None:
            return
        reply = Reply(split_text(view.reply.text)[-1], view.reply.actions)
        try:
            await tg.edit_message(self.bot, view.bloc.chat_id, view.message_id, reply, self.username)
        except (TelegramBadRequest, TelegramRetryAfter, TelegramForbiddenError) as err:
            log.info("%s card not updated: %s", key.kind, type(err).__name__)
