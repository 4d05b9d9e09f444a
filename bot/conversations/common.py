"""Commands that work everywhere (/help, /lang) and the answer to an unknown command, which must
be the very last entry of the table."""

from __future__ import annotations

from typing import Literal

from bot.conversations.core import Actor, Conversations, Ctx, Event, Outcome, say
from bot.i18n import use_locale
from bot.services.blocs import set_bloc_locale
from bot.services.people import set_person_locale
from bot.views import core as views
from bot.views.help import help_reply

conv = Conversations("common")


@conv.command("help")
async def cmd_help(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    chat: Literal["group", "private"] = "private" if actor.private else "group"
    no_bloc = actor.bloc is None or not actor.bloc.is_active
    return say(help_reply(chat, actor.member, is_admin=no_bloc and chat == "group", group_here=actor.group_here))


@conv.command("lang")
async def cmd_lang(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    choice = event.args.lower()
    if choice not in ("vi", "en") or actor.person is None:
        return say(views.lang_usage())
    await set_person_locale(ctx.session, actor.person, choice)
    # In the group, the head's /lang also sets the bloc's default language.
    if not actor.private and actor.member is not None and actor.member.can_manage:
        await set_bloc_locale(ctx.session, actor.member.bloc, choice)
    with use_locale(choice):
        return say(views.lang_set(choice))


@conv.text(r"^/")
async def unknown_command(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    """Any /command nobody claimed (text fronts reach this through their own unknown-command answer)."""
    return say(views.unknown_command())
