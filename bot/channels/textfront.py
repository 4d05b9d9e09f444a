"""A front for channels with no buttons, no edits and no HTML (Zalo; the plain-text tests).

It walks the same conversation table the Telegram front compiles into aiogram routers:

    front = TextFront(table, db, clock, settings)
    await front.say(user_id=11, name="Lan", text="/setup Khối thi đua Y tế", chat=group)   # group commands
    await front.say(user_id=12, name="Mai", text="phieu 3")       # a start word instead of a deep link
    await front.say(user_id=12, name="Mai", text="2")             # the second numbered choice
    front.texts_to(12)                                            # what Mai has read, in plain text

What a person types is read, in this order, as: a command (with or without the slash, without
diacritics: "/vote", "vote", "Phieu 3"), a number or a label of the last reply's choices (that
reply's buttons), the step of a dialog in progress, a text pattern. Buttons become numbered lines,
deep links typed words, edits new messages (bot/channels/textual.py renders them). No aiogram.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.channels.textual import START_PREFIX, START_WORDS, PendingChoices, fold, plain, render_textual
from bot.clock import Clock
from bot.config import Settings
from bot.conversations.actions import BadAction, unpack_any
from bot.conversations.bloc import PICK_STATE, PickBloc
from bot.conversations.context import actor_locale, resolve_actor
from bot.conversations.core import (
    GROUP,
    Actor,
    CardKey,
    Chat,
    Ctx,
    Delivered,
    Entry,
    Event,
    FileIn,
    MemoryStates,
    MessageRef,
    Out,
    Outcome,
    States,
    Table,
    ToChat,
    ToGroup,
    ToPerson,
    matches,
)
from bot.conversations.groupcopy import Photo, files_as_links, groupless_blocs
from bot.i18n import _, use_locale
from bot.services import blocs as bloc_service
from bot.services import reminders
from bot.services.ballot_box import KeyVault
from bot.services.errors import UserError
from bot.views import core as core_views
from bot.views.base import Reply
from storage.db import Database, abort, begin_write
from storage.models import Person

log = logging.getLogger(__name__)
_WORD_PREFIX = {word: prefix for prefix, word in START_WORDS.items()}


@dataclass
class Said:
    chat_id: int | str
    text: str


Sender = Callable[[int | str, list[str]], Awaitable[bool]]
PhotoSender = Callable[[int | str, str, str | None], Awaitable[bool]]


@dataclass
class TextFront:
    table: Table
    db: Database
    clock: Clock
    settings: Settings
    vault: KeyVault = field(default_factory=KeyVault)
    channel: str = "text"
    states: States = field(default_factory=MemoryStates)
    pending: PendingChoices | None = None
    send: Sender | None = None  # None: keep what would be sent in `said` (tests)
    # A channel that sends photos by public URL (Zalo's sendPhoto): the result chart goes that way.
    send_photo: PhotoSender | None = None
    download: Callable[[FileIn], Awaitable[bytes]] | None = None
    kick: Callable[[], None] = lambda: None
    # Cards live in the bloc's group, on the messenger that has it (Telegram): a step run here that
    # changes one hands the keys to the composition root, which edits them there.
    on_refresh: Callable[[list[CardKey]], Awaitable[None]] | None = None
    said: list[Said] = field(default_factory=list)
    refreshed: list[CardKey] = field(default_factory=list)
    _next_message: int = 0

    def __post_init__(self) -> None:
        if self.pending is None:
            self.pending = PendingChoices(clock=self.clock)
        self._commands = {n for e in self.table.entries if e.kind == "command" for n in e.names}

    # -- reading what was sent ---------------------------------------------------------------------
    def texts_to(self, chat_id: int | str) -> list[str]:
        return [s.text for s in self.said if s.chat_id == chat_id]

    def last_to(self, chat_id: int | str) -> str:
        texts = self.texts_to(chat_id)
        return texts[-1] if texts else ""

    # -- one message in ----------------------------------------------------------------------------
    async def say(self, user_id: int, name: str, text: str = "", chat: Chat | None = None,
                  file: FileIn | None = None) -> list[str]:
        """Handle one message; returns the texts sent back to that chat."""
        chat = chat or Chat(self.channel, user_id, True)
        before = len(self.said)
        async with self.db.session() as session:
            actor = await resolve_actor(session, self.clock, chat, user_id, name)
            locale = actor_locale(actor, self.settings.default_locale)
            ctx = Ctx(session=session, clock=self.clock, settings=self.settings, vault=self.vault,
                      state=self.states.of(chat, user_id), states=self.states, kick=self.kick,
                      download=self.download or _no_files, channel=self.channel, table=self.table)
            with use_locale(locale):
                refused = False
                try:
                    event = self._event(user_id, text, file)  # a typed pick may be refused here
                    picked = isinstance(event.action, PickBloc)
                    if isinstance(event.action, PickBloc):  # the answer to "which bloc?": the command runs now
                        actor, event = await self._picked(session, ctx, chat, user_id, name, event.action, actor)
                    state_name, _data = await ctx.state.get()
                    entry = await self.table.route(actor, event, state_name)
                    if entry is None:
                        outcome = self._unknown(event, actor)
                    elif not picked and (ask := await self._which_bloc(ctx, actor, event, entry)) is not None:
                        outcome = ask
                    else:
                        outcome = await entry.step(ctx, actor, event)
                except UserError as err:
                    outcome = Outcome().say(Reply(err.message))
                    refused = True
                    await abort(session)
                if outcome is not None:
                    await session.commit()
                    # A refusal keeps the choices of the reply before it: the person types again.
                    await TextDelivery(self, ctx, actor, keep_choices=refused).send_all(outcome)
        return [s.text for s in self.said[before:] if s.chat_id == chat.id]

    async def push(self, person: Person, reply: Reply) -> bool:
        """Send a reply to a person of this channel outside any message of theirs (the upload page's
        confirmation): its choices are remembered as for any reply, so the dialog goes on."""
        if person.channel != self.channel:
            return False
        chat_id: int | str = person.external_id
        parts = self.pending.remember_reply(self.channel, str(chat_id), reply) if self.pending is not None \
            else render_textual(reply)[0]
        if self.send is not None:
            return await self.send(chat_id, parts)
        self.said.extend(Said(chat_id, p) for p in parts)
        return True

    def _event(self, user_id: int, text: str, file: FileIn | None) -> Event:
        raw = (text or "").strip()
        if file is None and raw:
            chosen = self.pending.resolve(self.channel, str(user_id), raw) if self.pending is not None else None
            if chosen is not None:
                if chosen.startswith(START_PREFIX):
                    return Event(command="start", args=chosen[len(START_PREFIX):])
                try:
                    return Event(action=unpack_any(chosen))
                except BadAction:
                    pass
            head, *tail = raw.split(maxsplit=1)  # "/addunit\nA\nB": the command ends at any white space
            rest = tail[0] if tail else ""
            word = fold(head).split("@")[0]
            if raw.startswith("/") or word in self._commands:
                if word in _WORD_PREFIX:
                    return Event(command="start", args=_WORD_PREFIX[word] + rest.strip().replace(" ", ""))
                return Event(command=word, args=rest.strip(), text=raw)
            if word in _WORD_PREFIX and rest.strip():
                return Event(command="start", args=_WORD_PREFIX[word] + rest.strip())
        return Event(text=raw if raw or file is None else text, file=file)

    async def _which_bloc(self, ctx: Ctx, actor: Actor, event: Event, entry: Entry) -> Outcome | None:
        """A group command typed in private by someone in two blocs without a group: ask which
        bloc it is for (numbered), keep the command until the answer."""
        if not (actor.group_here and entry.where == GROUP and event.command and actor.person is not None):
            return None
        blocs = await groupless_blocs(ctx.session, actor.person)
        if len(blocs) < 2:
            return None
        await ctx.state.set(PICK_STATE, {"command": event.command, "args": event.args})
        return Outcome().say(core_views.pick_bloc(event.command, [(b, PickBloc(b.id).pack()) for b in blocs]))

    async def _picked(self, session, ctx: Ctx, chat: Chat, user_id: int, name: str,
                      picked: PickBloc, actor: Actor) -> tuple[Actor, Event]:
        state_name, data = await ctx.state.get()
        person = actor.person
        if state_name != PICK_STATE or person is None:
            raise UserError(core_views.button_invalid())
        await ctx.state.clear()
        await bloc_service.choose_bloc(session, person, picked.bloc,
                                       [b.id for b in await groupless_blocs(session, person)])
        actor = await resolve_actor(session, self.clock, chat, user_id, name)
        return actor, Event(command=data.get("command"), args=data.get("args", ""), text=data.get("command"))

    def _unknown(self, event: Event, actor: Actor) -> Outcome | None:
        """A command nobody declared, or (in private) text that is no choice and no dialog step:
        say so, with the way to /help. Chatter in a group is not ours to answer."""
        if event.command is not None or actor.private:
            return Outcome().say(core_views.unknown_command())
        return None

    def new_message_id(self) -> int:
        self._next_message += 1
        return self._next_message


async def _no_files(file: FileIn) -> bytes:
    raise UserError(_("Files cannot be received here."))


class TextDelivery:
    def __init__(self, front: TextFront, ctx: Ctx, actor: Actor, keep_choices: bool = False) -> None:
        self.front, self.ctx, self.actor = front, ctx, actor
        self.keep_choices = keep_choices

    async def send_all(self, outcome: Outcome) -> None:
        for out in outcome.out:
            await self.deliver(out)
        if outcome.toast and not outcome.out:
            await self.deliver(Out(Reply(outcome.toast)))
        self.front.refreshed.extend(outcome.refresh)
        if outcome.refresh and self.front.on_refresh is not None:
            await self.ctx.session.commit()
            await self.front.on_refresh(list(outcome.refresh))
        for after in outcome.after:
            await after(self)

    async def _with_links(self, reply: Reply) -> tuple[Reply, list[Photo]]:
        return await files_as_links(self.ctx.session, self.front.clock, self.front.settings.public_base_url, reply,
                                    photos_by_url=self.front.send_photo is not None)

    async def _elsewhere(self, person: Person, out: Out) -> Delivered:
        """A private message to someone on another messenger (the Telegram head of a bloc a Zalo
        representative just joined): queued in the outbox, which sends it on the person's channel."""
        if person.blocked:
            return Delivered(False)
        session, now = self.ctx.session, self.front.clock.now()
        reply, _photos = await self._with_links(out.reply)  # the outbox carries no photos: links only
        row = reminders.notice_row(f"elsewhere:{secrets.token_hex(12)}", person.external_id, person.id, reply, now)
        await begin_write(session)
        await reminders.insert_rows(session, [row])
        await session.commit()
        self.ctx.kick()
        return Delivered(True)

    def _chat_of(self, out: Out) -> int | str | None:
        if isinstance(out.to, ToChat):
            return self.actor.chat.id
        if isinstance(out.to, ToPerson):
            person = out.to.person
            return person.external_id if person.channel == self.front.channel else None
        if isinstance(out.to, ToGroup):
            return out.to.bloc.chat_id
        return None

    async def deliver(self, out: Out) -> Delivered:
        if isinstance(out.to, ToPerson) and out.to.person.channel != self.front.channel:
            return await self._elsewhere(out.to.person, out)
        chat_id = self._chat_of(out)
        if chat_id is None:
            return Delivered(False)
        reply, photos = await self._with_links(out.reply)
        pending = self.front.pending
        if pending is None or self.keep_choices:
            parts = render_textual(reply)[0]
        else:
            parts = pending.remember_reply(self.front.channel, str(chat_id), reply)
        if self.front.send is not None:
            if not await self.front.send(chat_id, parts):
                if out.required:
                    raise UserError(_("A message could not be delivered."))
                return Delivered(False)
        else:
            self.front.said.extend(Said(chat_id, p) for p in parts)
        for photo in photos:  # after the text it illustrates; a photo lost is not a message lost
            if self.front.send_photo is not None:
                await self.front.send_photo(chat_id, photo.url, plain(photo.caption) if photo.caption else None)
        ref = MessageRef(chat_id, self.front.new_message_id())
        if out.card is not None:
            await self.front.table.cards[out.card.kind].remember(self.ctx, out.card.id, int(ref.message_id))
            await self.ctx.session.commit()
        return Delivered(True, ref)


__all__ = ["Photo", "Said", "TextDelivery", "TextFront", "files_as_links", "matches"]
