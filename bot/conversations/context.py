"""Who is acting, where, in which bloc and language: resolved once per update, for every front.

Resolving it costs two or three database round trips (person, bloc, membership), on every update.
`ActorCache` keeps a copy of the answer per (channel, chat, person) and hands each update fresh
copies attached to its own session, so an update that changes them writes as before. A copy is used
only while `storage.db.ChangeFeed` says none of the rows behind it can have changed since (any write
to people, blocs, units or representatives, in this process or, on PostgreSQL, in another one, drops
every copy), and for `TTL` seconds at most."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.conversations.core import Actor, Chat
from bot.i18n import normalize_locale
from bot.services import blocs as bloc_service
from bot.services.blocs import Member, Role
from bot.services.people import changes as person_changes
from bot.services.people import touch_person
from storage.db import ChangeFeed, changes_of
from storage.db import detached_copy as _copy
from storage.models import Bloc


@dataclass
class _Entry:
    generation: int
    at: float
    person: Any
    bloc: Any
    unit: Any
    role: Role | None


class ActorCache:
    TTL = 30.0  # seconds: a backstop for writes that do not pass through this process's engine
    MAX = 20_000  # entries; past it the cache starts afresh

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed
        self.entries: dict[tuple, _Entry] = {}
        self.hits = self.misses = 0

    @classmethod
    def of(cls, session: AsyncSession) -> ActorCache | None:
        feed = changes_of(session)
        if feed is None:
            return None
        cache = feed.caches.get("actor")
        if cache is None:
            cache = feed.caches["actor"] = cls(feed)
        return cache

    def get(self, key: tuple, session: AsyncSession, chat: Chat) -> Actor | None:
        entry = self.entries.get(key)
        if entry is None or entry.generation != self.feed.generation or not self.feed.usable \
                or time.monotonic() - entry.at > self.TTL:
            self.misses += 1
            return None
        self.hits += 1
        person = bloc = unit = member = None
        if entry.person is not None:
            person = _copy(entry.person)
            session.add(person)
        if entry.bloc is not None:
            bloc = _copy(entry.bloc)
            session.add(bloc)
        if entry.unit is not None:
            unit = _copy(entry.unit)
            session.add(unit)
        if entry.role is not None and bloc is not None and person is not None:
            member = Member(bloc=bloc, person=person, unit=unit, role=entry.role)
        return Actor(person=person, bloc=bloc, member=member, chat=chat, group_here=_group_here(chat, bloc))

    def put(self, key: tuple, generation: int, actor: Actor) -> None:
        feed = self.feed
        if feed.generation != generation or feed.writing or not feed.usable:
            return  # something was written meanwhile (or is being written): what we read may be old
        if len(self.entries) >= self.MAX:
            self.entries.clear()
        member = actor.member
        self.entries[key] = _Entry(
            generation, time.monotonic(),
            _copy(actor.person) if actor.person is not None else None,
            _copy(actor.bloc) if actor.bloc is not None else None,
            _copy(member.unit) if member is not None and member.unit is not None else None,
            member.role if member is not None else None)


async def resolve_actor(session: AsyncSession, clock: Clock, chat: Chat, user_id: int | None, full_name: str = "",
                        username: str | None = None, language_code: str | None = None,
                        is_bot: bool = False) -> Actor:
    """The person (created or refreshed), the bloc this chat is about (the group's bloc, or in
    private the person's current bloc) and their membership in it."""
    cache = ActorCache.of(session)
    key = (chat.channel, chat.id, chat.private, user_id, is_bot)
    if cache is not None:
        if cache.feed.remote:
            await cache.feed.listen()
        hit = cache.get(key, session, chat)
        if hit is not None and (hit.person is None or not person_changes(
                hit.person, full_name, username, language_code, chat.private)):
            return hit
        if hit is not None:
            session.expunge_all()  # touch_person below loads and refreshes the row itself
        generation = cache.feed.generation if not cache.feed.writing else -1
    actor = await _resolve(session, clock, chat, user_id, full_name, username, language_code, is_bot)
    if cache is not None and generation >= 0:
        cache.put(key, generation, actor)
    return actor


async def _resolve(session: AsyncSession, clock: Clock, chat: Chat, user_id: int | None, full_name: str,
                   username: str | None, language_code: str | None, is_bot: bool) -> Actor:
    person = bloc = member = None
    if chat.private and user_id is not None and not is_bot:
        # In private, the person and their memberships come in one query while nothing about
        # them changed (the usual case); otherwise touch_person writes, and they are read after.
        person, memberships = await bloc_service.person_and_blocs(session, chat.channel, user_id)
        if person is not None and not person_changes(person, full_name, username, language_code, True):
            bloc, member = await bloc_service.private_context_of(session, person, memberships)
            return Actor(person=person, bloc=bloc, member=member, chat=chat, group_here=_group_here(chat, bloc))
    if user_id is not None and not is_bot:
        person = await touch_person(session, clock, user_id, full_name, username, language_code,
                                    channel=chat.channel, private=chat.private)
    if not chat.private:
        bloc, member = await bloc_service.group_context(session, int(chat.id), person)
    elif person is not None:
        bloc, member = await bloc_service.private_context(session, person)
    return Actor(person=person, bloc=bloc, member=member, chat=chat, group_here=_group_here(chat, bloc))


def _group_here(chat: Chat, bloc: Bloc | None) -> bool:
    """A private chat standing for the group of a bloc that has none (a bloc run from Zalo)."""
    return chat.private and bloc is not None and not bloc.has_group


def actor_locale(actor: Actor, default: str) -> str:
    person, bloc = actor.person, actor.bloc
    return normalize_locale((person.locale if person and person.locale else None) or (bloc.locale if bloc else None),
                            default)
