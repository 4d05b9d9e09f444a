"""Who is acting, where, in which bloc and language: resolved once per update, for every front."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.conversations.core import Actor, Chat
from bot.i18n import normalize_locale
from bot.services import blocs as bloc_service
from bot.services.people import touch_person


async def resolve_actor(session: AsyncSession, clock: Clock, chat: Chat, user_id: int | None, full_name: str = "",
                        username: str | None = None, language_code: str | None = None,
                        is_bot: bool = False) -> Actor:
    """The person (created or refreshed), the bloc this chat is about (the group's bloc, or in
    private the person's current bloc) and their membership in it."""
    person = bloc = member = None
    if user_id is not None and not is_bot:
        person = await touch_person(session, clock, user_id, full_name, username, language_code,
                                    channel=chat.channel, private=chat.private)
    if not chat.private:
        bloc, member = await bloc_service.group_context(session, int(chat.id), person)
    elif person is not None:
        bloc = await bloc_service.private_bloc(session, person)
        if bloc is not None:
            member = await bloc_service.member_of(session, bloc, person)
    group_here = chat.private and bloc is not None and not bloc.has_group
    return Actor(person=person, bloc=bloc, member=member, chat=chat, group_here=group_here)


def actor_locale(actor: Actor, default: str) -> str:
    person, bloc = actor.person, actor.bloc
    return normalize_locale((person.locale if person and person.locale else None) or (bloc.locale if bloc else None),
                            default)
