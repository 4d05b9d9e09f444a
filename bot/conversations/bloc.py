"""The bloc in its group: /setup, units (/units, /addunit, /rename, /removeunit, /merge), join
links (/invite, /revokelinks), representatives (/reps, /revoke), posts (/sethead, /setdeputy),
/status and /settings. The same commands in private answer that they work in the group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.conversations.actions import ActionData, action
from bot.conversations.core import (
    GROUP,
    PRIVATE,
    Actor,
    Conversations,
    Ctx,
    Delivery,
    Event,
    Out,
    Outcome,
    ToPerson,
    say,
)
from bot.conversations.guards import need_bloc, need_manager
from bot.i18n import current_locale
from bot.services import blocs as bloc_service
from bot.services import invites as invite_service
from bot.services import settings as settings_service
from bot.services import units as unit_service
from bot.services import zalo_usage
from bot.services.blocs import Role
from bot.services.errors import UserError
from bot.views import core as views
from bot.views.base import Reply
from storage.db import Memo
from storage.models import Bloc

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from bot.clock import Clock

conv = Conversations("bloc")
PICK_STATE = "bloc:pick"  # a group command typed in private waits for "which bloc?" (bot/channels/textfront.py)


@action("bk")
@dataclass(frozen=True)
class PickBloc(ActionData):
    """The answer to "which bloc is this for?" in a private chat standing for two blocs' groups."""

    bloc: int

GROUP_ONLY = ("setup", "units", "addunit", "rename", "removeunit", "merge", "invite", "revokelinks", "reps", "revoke",
              "sethead", "setdeputy", "status", "settings")


def _is_admin(actor: Actor) -> bool:
    # Telegram asks the group's administrators (handlers/bridge.py, `needs_admin`). A text front
    # (Zalo, the plain-text tests) has no group administrators: whoever sets the group up may.
    return actor.is_admin or actor.chat.channel != "telegram"


@conv.command("setup", where=GROUP, needs_admin=True)
async def cmd_setup(ctx: Ctx, actor: Actor, event: Event) -> Outcome | None:
    if actor.person is None:  # a post by the group itself (an anonymous admin): nobody to make head
        return None
    if actor.private:  # a private chat standing for a bloc's group: another bloc, also without a group
        return await setup_in_private(ctx, actor, event)
    bloc = await bloc_service.setup_bloc(ctx.session, ctx.clock, int(actor.chat.id), event.args, actor.person,
                                         ctx.settings.default_locale, ctx.settings.timezone, _is_admin(actor))
    return say(views.setup_done(bloc))


@conv.command("setup", where=PRIVATE)
async def setup_in_private(ctx: Ctx, actor: Actor, event: Event) -> Outcome | None:
    """On a messenger where a bot has no groups (Zalo) the head creates the bloc in private; it is
    run from private chats (`Bloc.has_group` false). Telegram blocs live in their group."""
    if actor.person is None:
        return None
    if actor.chat.channel == "telegram":
        return say(views.group_only())
    bloc = await bloc_service.setup_groupless_bloc(ctx.session, ctx.clock, event.args, actor.person,
                                                   ctx.settings.default_locale, ctx.settings.timezone)
    return say(views.setup_done_private(bloc))


@conv.command("units", where=GROUP)
async def cmd_units(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    bloc = need_bloc(actor.bloc)
    units = await unit_service.list_units(ctx.session, bloc.id)
    return say(views.unit_list(bloc, units, await invite_service.rep_counts(ctx.session, bloc.id)))


@conv.command("addunit", where=GROUP)
async def cmd_addunit(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    rows = unit_service.parse_lines(event.args)
    report = await unit_service.add_units(ctx.session, ctx.clock, member.bloc, rows, member.person.id) if rows \
        else unit_service.AddReport()
    total = await unit_service.count_units(ctx.session, member.bloc.id)
    return say(views.units_added(report, total))


def _two_args(event: Event, usage: str) -> tuple[str, str]:
    parts = event.args.split(maxsplit=1)
    if len(parts) != 2:
        raise UserError(usage)
    return parts[0], parts[1]


@conv.command("rename", where=GROUP)
async def cmd_rename(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    number, name = _two_args(event, views.rename_usage())
    old, unit = await unit_service.rename_unit(ctx.session, ctx.clock, member.bloc, number, name, member.person.id)
    return say(views.renamed(old, unit))


@conv.command("removeunit", where=GROUP)
async def cmd_removeunit(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    if not event.args:
        raise UserError(views.removeunit_usage())
    unit = await unit_service.deactivate_unit(ctx.session, ctx.clock, member.bloc, event.args, member.person.id)
    return say(views.deactivated(unit))


@conv.command("merge", where=GROUP)
async def cmd_merge(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    source, target = _two_args(event, views.merge_usage())
    src, dst = await unit_service.merge_units(ctx.session, ctx.clock, member.bloc, source, target.strip(),
                                              member.person.id)
    return say(views.merged(src, dst))


@conv.command("invite", where=GROUP)
async def cmd_invite(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    """One join link per unit, sent to the head in private (the group must never see them)."""
    member = need_manager(actor.bloc, actor.member)
    if not member.person.started or member.person.blocked:
        return say(views.invites_need_private())
    if event.args:
        units = [await unit_service.unit_by_number(ctx.session, member.bloc.id, event.args)]
    else:
        units = await unit_service.list_units(ctx.session, member.bloc.id)
    if not units:
        raise UserError(views.no_units_to_invite())
    links = await invite_service.issue_links(ctx.session, ctx.clock, member.bloc, units, ctx.settings.invite_ttl_days,
                                             member.person.id)
    username = ctx.extras.get("bot_username", "")
    replies = views.invite_links(member.bloc, links, username, ctx.settings.invite_ttl_days,
                                 with_links=bool(username) or ctx.channel != "zalo")
    head = member.person

    async def send_links(delivery: Delivery) -> None:
        for reply in replies:
            if not (await delivery.deliver(Out(reply, ToPerson(head)))).ok:
                await delivery.deliver(Out(views.invites_need_private()))
                return
        if not actor.private:
            await delivery.deliver(Out(views.invites_sent_to_private()))

    return Outcome(after=[send_links])


@conv.command("revokelinks", where=GROUP)
async def cmd_revokelinks(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    count = await invite_service.revoke_links(ctx.session, ctx.clock, member.bloc, member.person.id)
    return say(views.links_revoked(count))


@conv.command("reps", where=GROUP)
async def cmd_reps(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    return say(views.rep_list(await invite_service.list_representatives(ctx.session, member.bloc.id)))


@conv.command("revoke", where=GROUP)
async def cmd_revoke(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    if not event.args:
        raise UserError(views.revoke_usage())
    row = await invite_service.revoke_representative(ctx.session, ctx.clock, member.bloc, event.args,
                                                     member.person.id)
    return say(views.rep_revoked(row))


async def _set_post(ctx: Ctx, actor: Actor, event: Event, post: Role) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    if not event.args:
        raise UserError(views.post_usage(event.command or ""))
    unit = await unit_service.unit_by_number(ctx.session, member.bloc.id, event.args)
    await bloc_service.set_post(ctx.session, ctx.clock, member.bloc, post, unit, member.person.id)
    return say(views.post_set(post, unit, member.bloc.year))


@conv.command("sethead", where=GROUP)
async def cmd_sethead(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return await _set_post(ctx, actor, event, Role.head)


@conv.command("setdeputy", where=GROUP)
async def cmd_setdeputy(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return await _set_post(ctx, actor, event, Role.deputy)


STATUS_TTL = 60.0  # seconds a rendered /status is kept while nothing at all was written


@conv.command("status", where=GROUP)
async def cmd_status(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    """The dashboard. Asked again and again in a quiet bloc, it is served from a memo of its text:
    kept while no table at all was written (in this process or, on PostgreSQL, any other) and
    within the same minute of the clock (its lines speak of "now"), in the reader's language."""
    bloc = need_bloc(actor.bloc)
    now = ctx.clock.now()
    memo = Memo.of(ctx.session, "status", tables=None, ttl=STATUS_TTL)
    key = (bloc.id, current_locale(), now.replace(second=0, microsecond=0), ctx.table is not None)
    text = memo.get(key) if memo is not None else None
    if text is None:
        stamp = memo.stamp() if memo is not None else None
        probes = ctx.table.status_probes(bloc.id, now) if ctx.table is not None else []
        units, reps, probed = await unit_service.units_and_reps(ctx.session, bloc.id, probes)  # one round trip
        extra = await ctx.table.status_lines(ctx.session, ctx.clock, bloc, probed) if ctx.table is not None else []
        text = views.status(bloc, units, reps, extra).text
        if memo is not None:
            memo.put(key, stamp, text)
    return say(Reply(text))


@conv.command("settings", where=GROUP)
async def cmd_settings(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    bloc = need_bloc(actor.bloc)
    parts = event.args.split(maxsplit=1)
    if not parts:
        return say(views.settings_list(bloc))
    member = need_manager(bloc, actor.member)
    if len(parts) != 2:
        raise UserError(views.settings_usage())
    parsed = await settings_service.set_value(ctx.session, ctx.clock, member.bloc, parts[0], parts[1],
                                              member.person.id)
    spec = settings_service.REGISTRY[parts[0]]
    return say(views.setting_changed(parts[0], spec.show(parsed)))


@conv.status
async def zalo_usage_status(session: AsyncSession, clock: Clock, bloc: Bloc) -> list[str]:
    """The month's Zalo sends against the plan, for blocs with members on Zalo."""
    if not await zalo_usage.bloc_on_zalo(session, bloc):
        return []
    usage = await zalo_usage.this_month(session, clock, bloc.timezone)
    if usage is None:
        return []
    return [views.zalo_usage_line(usage.sent, usage.quota)]


@conv.command(*GROUP_ONLY, where=PRIVATE, elsewhere=True)
async def group_command_in_private(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return say(views.group_only())
