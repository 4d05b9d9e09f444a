"""The conversation core: one shape for every dialog and every channel (no aiogram here).

A conversation step is an async function

    async def step(ctx: Ctx, actor: Actor, event: Event) -> Outcome

registered on a `Conversations` table with what triggers it (a command, a typed action, a
`/start` payload prefix, a dialog state, a text pattern, a file). The table is the one routing
table of the bot: the Telegram front (handlers/bridge.py) builds aiogram routers from it with
aiogram's own filters; a text front (bot/channels/textfront.py, Zalo, the plain-text tests)
walks it directly. A step returns what to say, to whom, which cards to bring up to date and
(through `ctx.state`) the dialog's next state; it never talks to a messenger.

    conv = Conversations("pledge")

    @conv.command("sign", where=PRIVATE)
    async def sign(ctx, actor, event): ...

    @conv.action(SignPledge)
    async def pressed(ctx, actor, event): ...   # event.action is the unpacked SignPledge

Errors: raise `bot.services.errors.UserError` (text from views, no HTML tags, no /commands);
the front answers it (an alert under a button, a message otherwise) and nothing is sent.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.conversations.actions import ActionData, BadAction
from bot.views.base import Reply

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.clock import Clock
    from bot.config import Settings
    from bot.services.ballot_box import KeyVault
    from bot.services.blocs import Member
    from storage.models import Bloc, Person

Where = Literal["group", "private", "any"]
GROUP: Where = "group"
PRIVATE: Where = "private"
ANYWHERE: Where = "any"


# -- who, where, what ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chat:
    channel: str  # "telegram" | "zalo" | "text"
    id: int | str
    private: bool


@dataclass
class Actor:
    """Who acts, where, and what that makes them (resolved once per update by the front)."""

    person: Person | None
    bloc: Bloc | None  # the group's bloc, or in private the person's current bloc
    member: Member | None
    chat: Chat
    is_admin: bool = False  # a group administrator on the messenger (for /setup)
    # A private chat that stands for the bloc's group: the bloc has no group (created on Zalo), so
    # its group commands are typed here (bot/conversations/context.resolve_actor sets it).
    group_here: bool = False

    @property
    def private(self) -> bool:
        return self.chat.private


@dataclass(frozen=True)
class FileIn:
    """A file a person sent: the channel's own reference, fetched with `ctx.download(file)`."""

    ref: str
    name: str
    size: int
    mime: str | None = None


@dataclass(frozen=True)
class MessageRef:
    chat_id: int | str
    message_id: int | str


@dataclass
class Event:
    """One thing a person did. `command` is lower-case, without the slash ("start" for deep links,
    whose payload is `args`); `action` is set for a pressed button or a numbered reply."""

    command: str | None = None
    args: str = ""
    action: ActionData | None = None
    text: str | None = None
    file: FileIn | None = None
    origin: MessageRef | None = None  # the message that carried the pressed button

    @property
    def words(self) -> str:
        return (self.args if self.command else self.text or "").strip()


# -- what to say ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ToChat:
    """The chat the event came from."""


@dataclass(frozen=True)
class ToPerson:
    person: Person


@dataclass(frozen=True)
class ToGroup:
    """The bloc's group (on a channel without groups, each representative in private)."""

    bloc: Bloc


Target = ToChat | ToPerson | ToGroup
HERE = ToChat()


@dataclass(frozen=True)
class CardKey:
    """A message kept current (a vote card, a meeting card, a pledge post): kind + id."""

    kind: str
    id: int


@dataclass
class Out:
    reply: Reply
    to: Target = HERE
    replace: bool = False  # replace the message behind the pressed button (edit where possible)
    card: CardKey | None = None  # this message is that card: remember where it went
    required: bool = False  # a refusal (403, blocked) fails the step instead of being reported


@dataclass
class Outcome:
    out: list[Out] = field(default_factory=list)
    toast: str | None = None  # the short answer under a pressed button
    alert: bool = False
    refresh: list[CardKey] = field(default_factory=list)
    after: list[Callable[[Delivery], Awaitable[None]]] = field(default_factory=list)

    def say(self, reply: Reply, to: Target = HERE, **kw: Any) -> Outcome:
        self.out.append(Out(reply, to, **kw))
        return self

    def update(self, *cards: CardKey) -> Outcome:
        self.refresh.extend(c for c in cards if c not in self.refresh)
        return self


def say(reply: Reply, to: Target = HERE, **kw: Any) -> Outcome:
    return Outcome().say(reply, to, **kw)


def edit(reply: Reply) -> Outcome:
    """Replace the message behind the pressed button (a new message on channels without edits)."""
    return Outcome().say(reply, replace=True)


@dataclass
class Delivered:
    """What the front reports back after sending an `Out`."""

    ok: bool
    ref: MessageRef | None = None


class Delivery(Protocol):
    """The front's side, for steps that must know how sending went (`Outcome.after` callbacks):
    send one more message now and learn whether it arrived."""

    async def deliver(self, out: Out) -> Delivered: ...


# -- dialog state -----------------------------------------------------------------------------------
class State(Protocol):
    """The dialog state of one person in one chat (aiogram FSM on Telegram, a dict elsewhere)."""

    async def get(self) -> tuple[str | None, dict[str, Any]]: ...

    async def set(self, name: str | None, data: dict[str, Any] | None = None) -> None: ...

    async def clear(self) -> None: ...


class States(Protocol):
    def of(self, chat: Chat, person_external_id: int | str) -> State: ...


class MemoryState:
    def __init__(self, store: dict, key: tuple) -> None:
        self._store, self._key = store, key

    async def get(self) -> tuple[str | None, dict[str, Any]]:
        name, data = self._store.get(self._key, (None, {}))
        return name, dict(data)

    async def set(self, name: str | None, data: dict[str, Any] | None = None) -> None:
        old = self._store.get(self._key, (None, {}))[1]
        self._store[self._key] = (name, {**old, **(data or {})})

    async def clear(self) -> None:
        self._store.pop(self._key, None)


class MemoryStates:
    """States keyed by (channel, chat, person): for the text fronts and the plain-text tests."""

    def __init__(self) -> None:
        self._store: dict[tuple, tuple[str | None, dict[str, Any]]] = {}

    def of(self, chat: Chat, person_external_id: int | str) -> State:
        return MemoryState(self._store, (chat.channel, chat.id, person_external_id))


# -- what a step may use -----------------------------------------------------------------------------
async def _no_download(file: FileIn) -> bytes:
    raise LookupError("this channel cannot fetch files")


def _nothing() -> None:
    return None


@dataclass
class Ctx:
    session: AsyncSession
    clock: Clock
    settings: Settings
    vault: KeyVault
    state: State  # the actor's own dialog state in this chat
    states: States  # anyone's, for a dialog that continues elsewhere (RSVP -> private name)
    download: Callable[[FileIn], Awaitable[bytes]] = _no_download
    kick: Callable[[], None] = _nothing  # wake the outbox after queueing rows due now
    channel: str = "telegram"
    table: Table | None = None  # the routing table this step runs in (its /status sources, its cards)
    extras: dict[str, Any] = field(default_factory=dict)


# -- the routing table --------------------------------------------------------------------------------
Step = Callable[[Ctx, Actor, Event], Awaitable[Outcome | None]]


@dataclass(frozen=True)
class Entry:
    kind: Literal["command", "action", "start", "state", "text", "file"]
    step: Step
    where: Where = ANYWHERE
    names: tuple[str, ...] = ()  # command names, or start payload prefixes
    actions: tuple[type[ActionData], ...] = ()
    states: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    suffixes: tuple[str, ...] = ()  # file name endings, lower case
    with_caption: bool | None = None  # file entries: None = either
    needs_admin: bool = False  # command entries in groups: the front sets `Actor.is_admin` first
    # The step only says the command works in the other kind of chat ("send this in the group"):
    # skipped where a private chat stands for the group (`Actor.group_here`).
    elsewhere: bool = False


@dataclass
class CardView:
    """A card as it should read now, and where it was posted in the bloc's group."""

    bloc: Bloc
    reply: Reply
    message_id: int | None


CardRender = Callable[[Ctx, int], Awaitable[CardView | None]]
Job = Callable[[Any], Awaitable[Any]]
StatusSource = Callable[["AsyncSession", "Clock", "Bloc"], Awaitable[list[str]]]
StatusProbe = Callable[[int, "datetime"], Any]  # (bloc id, now) -> a SQL boolean (EXISTS ...)
CardRemember = Callable[[Ctx, int, int], Awaitable[None]]


@dataclass(frozen=True)
class CardKind:
    render: CardRender
    remember: CardRemember


class Conversations:
    """One dialog's (or feature's) entries, in declaration order, and the cards it keeps current."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.entries: list[Entry] = []
        self.cards: dict[str, CardKind] = {}
        self.status_sources: list[StatusSource] = []
        self.deadline_sources: list[Any] = []  # bot.services.reminders.DeadlineSource
        self.jobs: list[tuple[float, Job]] = []

    def status(self, source: StatusSource | None = None, *, probe: StatusProbe | None = None) -> Any:
        """Decorator: this feature's lines of the /status dashboard (already localized).

        `@conv.status(probe=...)`: `probe(bloc_id, now)` is a SQL boolean (an EXISTS) that is true
        whenever the source may have a line; /status asks all the probes in one SELECT and runs only
        the sources whose probe is true (an idle bloc's dashboard is then one round trip)."""
        def register(fn: StatusSource) -> StatusSource:
            if probe is not None:
                fn.status_probe = probe  # type: ignore[attr-defined]
            self.status_sources.append(fn)
            return fn

        return register(source) if source is not None else register

    def every(self, seconds: float) -> Callable[[Job], Job]:
        """Decorator: `async def job(app) -> None`, run every `seconds` on the app's one scheduler
        (APScheduler, the same clock as the outbox); a failing pass is logged and retried next time."""

        def register(job: Job) -> Job:
            self.jobs.append((seconds, job))
            return job

        return register

    def deadline(self, source: Any) -> None:
        """A kind of deadline with reminders (bot/services/reminders.DeadlineSource)."""
        self.deadline_sources.append(source)

    def card(self, kind: str, render: CardRender, remember: CardRemember) -> None:
        """A kind of card: how to render it now, and how to remember the message it was posted as."""
        self.cards[kind] = CardKind(render, remember)

    def _add(self, entry: Entry) -> Callable[[Step], Step]:
        def register(step: Step) -> Step:
            self.entries.append(Entry(**{**entry.__dict__, "step": _with_copies(step)}))
            return step

        return register

    def command(self, *names: str, where: Where = ANYWHERE, needs_admin: bool = False, elsewhere: bool = False):
        """`needs_admin`: the step reads `actor.is_admin` (the front asks the messenger, in groups only).
        `elsewhere`: the step only redirects to the other kind of chat (see `Entry.elsewhere`)."""
        return self._add(Entry("command", _unset, where, names=tuple(n.lower() for n in names),
                               needs_admin=needs_admin, elsewhere=elsewhere))

    def start(self, *prefixes: str):
        """A deep link `/start <payload>` (a typed word on Zalo) whose payload starts with a prefix;
        `start()` with no prefix takes every payload not claimed before it (and a bare /start)."""
        return self._add(Entry("start", _unset, PRIVATE, names=prefixes))

    def action(self, *kinds: type[ActionData]):
        return self._add(Entry("action", _unset, ANYWHERE, actions=kinds))

    def state(self, *names: str, where: Where = ANYWHERE):
        """Text (or a file) sent while the actor's dialog is in one of these states; commands are
        not steps of a dialog and go to their own entries."""
        return self._add(Entry("state", _unset, where, states=names))

    def text(self, pattern: str, where: Where = ANYWHERE):
        return self._add(Entry("text", _unset, where, pattern=re.compile(pattern)))

    def file(self, *suffixes: str, where: Where = ANYWHERE, with_caption: bool | None = None):
        return self._add(Entry("file", _unset, where, suffixes=tuple(s.lower() for s in suffixes),
                               with_caption=with_caption))


async def _unset(ctx: Ctx, actor: Actor, event: Event) -> Outcome | None:  # placeholder before registration
    raise RuntimeError("entry without a step")


def _with_copies(step: Step) -> Step:
    """Every step, on every front: its group messages also reach, in private through the outbox,
    the members the group does not reach (bot/conversations/groupcopy.py)."""

    @functools.wraps(step)
    async def run(ctx: Ctx, actor: Actor, event: Event) -> Outcome | None:
        outcome = await step(ctx, actor, event)
        if outcome is None:
            return None
        from bot.conversations.groupcopy import copy_outcome

        return await copy_outcome(ctx, outcome)

    return run


class Table:
    """Every feature's entries in order: what the text fronts walk and the Telegram front compiles."""

    def __init__(self, parts: Iterable[Conversations]) -> None:
        self.parts = list(parts)
        self.cards: dict[str, CardKind] = {}
        for part in self.parts:
            for kind, card in part.cards.items():
                if kind in self.cards:
                    raise ValueError(f"card kind {kind!r} declared twice")
                self.cards[kind] = card
        self.status_sources = [s for part in self.parts for s in part.status_sources]
        self.deadline_sources = [s for part in self.parts for s in part.deadline_sources]
        self.jobs = [j for part in self.parts for j in part.jobs]

    def _probes(self) -> list[tuple[int, StatusProbe]]:
        return [(i, p) for i, s in enumerate(self.status_sources) if (p := getattr(s, "status_probe", None))]

    def status_probes(self, bloc_id: int, now: datetime) -> list[Any]:
        """The probes as labelled SQL columns, for a caller that adds them to its own SELECT (/status
        puts them beside its units) and hands the values back to `status_lines(probed=...)`."""
        return [p(bloc_id, now).label(f"p{i}") for i, p in self._probes()]

    async def status_lines(self, session: AsyncSession, clock: Clock, bloc: Bloc,
                           probed: Sequence[Any] | None = None) -> list[str]:
        """The /status dashboard's lines, every feature's in table order (the probes first, in one
        SELECT, or already read by the caller: a source whose probe is false has nothing to say and
        is not run)."""
        from sqlalchemy import select

        probes = self._probes()
        quiet: set[int] = set()
        if probes:
            if probed is None:
                probed = (await session.execute(select(*self.status_probes(bloc.id, clock.now())))).one()
            quiet = {i for (i, _p), value in zip(probes, probed, strict=True) if not value}
        lines: list[str] = []
        for i, source in enumerate(self.status_sources):
            if i not in quiet:
                lines += await source(session, clock, bloc)
        return lines

    @property
    def entries(self) -> list[Entry]:
        return [e for part in self.parts for e in part.entries]

    async def route(self, actor: Actor, event: Event, state_name: str | None) -> Entry | None:
        """The first entry this event matches (the text fronts' router; Telegram uses aiogram's)."""
        for entry in self.entries:
            if matches(entry, actor, event, state_name):
                return entry
        return None


def _where_ok(entry: Entry, actor: Actor) -> bool:
    if actor.group_here:  # a private chat standing for the group: group entries too, no redirects
        return not entry.elsewhere
    return entry.where == ANYWHERE or (entry.where == PRIVATE) == actor.private


def matches(entry: Entry, actor: Actor, event: Event, state_name: str | None) -> bool:
    if not _where_ok(entry, actor):
        return False
    if entry.kind == "command":
        return event.command is not None and event.command != "start" and event.command in entry.names
    if entry.kind == "start":
        if event.command != "start":
            return False
        return not entry.names or any(event.args.startswith(p) for p in entry.names)
    if entry.kind == "action":
        return event.action is not None and isinstance(event.action, entry.actions)
    if event.command is not None or event.action is not None:
        return False
    if entry.kind == "state":
        return state_name is not None and state_name in entry.states
    if entry.kind == "text":
        return event.file is None and event.text is not None and entry.pattern is not None \
            and entry.pattern.match(event.text) is not None
    if entry.kind == "file":
        if event.file is None or not event.file.name.lower().endswith(entry.suffixes):
            return False
        has_caption = bool((event.text or "").strip())
        return entry.with_caption is None or entry.with_caption == has_caption
    return False


def unpack_for(kinds: tuple[type[ActionData], ...], data: str | None) -> ActionData | None:
    """The action among `kinds` behind callback data; None if none claims it. Data one of them
    claims but that does not unpack (forged, stale) raises BadAction."""
    for kind in kinds:
        if kind.matches(data):
            return kind.unpack(data or "")
    return None


__all__ = ["ANYWHERE", "GROUP", "HERE", "PRIVATE", "Actor", "BadAction", "CardKey", "CardKind", "CardView", "Chat",
           "Conversations", "Ctx", "Delivered", "Delivery", "Entry", "Event", "FileIn", "MemoryStates", "MessageRef",
           "Out", "Outcome", "State", "States", "Table", "ToChat", "ToGroup", "ToPerson", "edit", "matches", "say",
           "unpack_for"]
