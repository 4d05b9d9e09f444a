"""The pledge (giao ước thi đua): the head posts it in the group (text or file), each unit's
representative confirms it in private (`p_<pledge>` deep link, /sign), the group post keeps count,
/pledge deadline and /pledge remind chase the units that have not confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.conversations.actions import ActionData, action
from bot.conversations.core import (
    GROUP,
    PRIVATE,
    Actor,
    CardKey,
    CardView,
    Conversations,
    Ctx,
    Event,
    Outcome,
    ToGroup,
    edit,
    say,
)
from bot.conversations.guards import need_bloc, need_manager, need_person
from bot.conversations.reminders import with_mute
from bot.i18n import _, use_locale
from bot.services import pledge as svc
from bot.services import reminders
from bot.services.blocs import Member, bloc_of, require_representative
from bot.services.errors import UserError
from bot.services.reminders import DeadlineItem, DeadlineSource
from bot.views import pledge as views
from bot.views.base import Attachment, Reply
from storage.models import Bloc, Person, Pledge, Unit

conv = Conversations("pledge")
DEADLINE_WORDS = ("deadline", "hạn", "han", "hạn-ký", "hanky")
REMIND_WORDS = ("remind", "nhắc", "nhac")
CARD = "pledge"


@action("ps")
@dataclass(frozen=True)
class Sign(ActionData):
    """A representative confirms the pledge for their unit."""

    pledge: int


# -- the group post, kept current ---------------------------------------------------------------------
async def _render_post(ctx: Ctx, pledge_id: int) -> CardView | None:
    pledge = await ctx.session.get(Pledge, pledge_id)
    if pledge is None:
        return None
    bloc = await bloc_of(ctx.session, pledge.bloc_id)
    status = await svc.status(ctx.session, pledge)
    with use_locale(bloc.locale):
        return CardView(bloc, views.group_post(bloc, pledge, status), pledge.group_message_id)


async def _remember_post(ctx: Ctx, pledge_id: int, message_id: int) -> None:
    await svc.set_group_message(ctx.session, pledge_id, message_id)


conv.card(CARD, _render_post, _remember_post)


# -- group ----------------------------------------------------------------------------------------------
@conv.command("pledge", where=GROUP)
async def cmd_pledge(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    bloc = need_bloc(actor.bloc)
    text, doc = event.args, event.file
    if not text and doc is None:
        pledge = await svc.current_pledge(ctx.session, bloc.id)
        if pledge is None:
            return say(views.no_pledge(bool(actor.member and actor.member.can_manage)))
        return say(views.group_post(bloc, pledge, await svc.status(ctx.session, pledge)))
    word, _sep, rest = text.partition(" ")
    member = need_manager(bloc, actor.member)
    if doc is None and word.casefold() in DEADLINE_WORDS and len(rest) <= 40:
        pledge = await svc.set_deadline(ctx.session, ctx.clock, member, rest)
        return say(views.deadline_set(bloc, pledge)).update(CardKey(CARD, pledge.id))
    if doc is None and word.casefold() in REMIND_WORDS and not rest.strip():
        return say(await remind_unsigned(ctx, member))
    pledge = await svc.post_pledge(ctx.session, ctx.clock, member, text, doc.ref if doc else None,
                                   doc.name if doc else None)
    status = await svc.status(ctx.session, pledge)
    return say(views.group_post(bloc, pledge, status), ToGroup(bloc), card=CardKey(CARD, pledge.id))


async def remind_unsigned(ctx: Ctx, member: Member) -> Reply:
    """/pledge remind: queue one private reminder (outbox) per representative of each unsigned unit,
    at most once an hour per person; say which units nobody can be reached for."""
    pledge = await svc.current_pledge(ctx.session, member.bloc.id)
    if pledge is None:
        return views.no_pledge(True)
    status = await svc.status(ctx.session, pledge)
    if not status.unsigned:
        return views.reminders_queued(0, [], True)
    targets = [(person, unit) for person, unit in
               await reminders.representatives(ctx.session, member.bloc.id, [u.id for u in status.unsigned])
               if person.started and not person.blocked]
    queued = await reminders.queue_now(ctx.session, ctx.clock, member.bloc, svc.KIND, pledge.id,
                                       reminders.hourly(ctx.clock), targets,
                                       lambda unit: views.private_reminder_now(member.bloc, pledge, unit))
    if queued:
        ctx.kick()
    reachable = {unit.id for _person, unit in targets}
    return views.reminders_queued(queued, [u for u in status.unsigned if u.id not in reachable], False)


@conv.command("sign", where=GROUP, elsewhere=True)
async def sign_in_group(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    raise UserError(views.sign_in_private())


# -- private ---------------------------------------------------------------------------------------------
async def _prompt(ctx: Ctx, pledge_id: int, person: Person) -> Outcome:
    pledge, member = await svc.pledge_for(ctx.session, pledge_id, person)
    unit = require_representative(member)  # pledge_for checked it already
    status = await svc.status(ctx.session, pledge)
    done = any(u.id == unit.id for u, _sig in status.signed)
    reply = views.sign_prompt(member.bloc, pledge, unit, done, Sign(pledge.id).pack())
    outcome = Outcome()
    if pledge.file_id:
        outcome.say(Reply("", attachments=[Attachment(pledge.file_name or "giao-uoc", b"", ref=pledge.file_id)]))
    return outcome.say(reply)


@conv.start(svc.PAYLOAD_PREFIX)
async def start_pledge(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return await _prompt(ctx, svc.parse_payload(event.args), need_person(actor.person))


@conv.command("sign", where=PRIVATE)
async def cmd_sign(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    pledge = await svc.current_pledge(ctx.session, actor.bloc.id) if actor.bloc else None
    if pledge is None:
        return say(views.no_pledge(False))
    return await _prompt(ctx, pledge.id, need_person(actor.person))


@conv.action(Sign)
async def sign_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Sign)
    pledge, unit, result = await svc.sign(ctx.session, ctx.clock, event.action.pledge, need_person(actor.person))
    bloc = await bloc_of(ctx.session, pledge.bloc_id)
    outcome = edit(views.signed(unit, pledge, bloc, result))
    return outcome.update(CardKey(CARD, pledge.id)) if result.new else outcome


# -- /status line and deadline reminders (registered by the composition root) -----------------------------
@conv.status(probe=svc.status_probe)
async def status_lines(session: AsyncSession, clock: Clock, bloc: Bloc) -> list[str]:
    pledge = await svc.current_pledge(session, bloc.id)
    if pledge is None:
        return []
    return [views.status_line(await svc.status(session, pledge))]


async def _load_deadline(session: AsyncSession, pledge_id: int) -> DeadlineItem | None:
    pledge = await session.get(Pledge, pledge_id)
    if pledge is None or not pledge.is_active or pledge.deadline is None:
        return None
    bloc = await bloc_of(session, pledge.bloc_id)
    # The version follows the deadline: moving it re-plans, reminders of the old time are dropped.
    return DeadlineItem(svc.KIND, pledge.id, bloc, pledge.deadline, version=int(pledge.deadline.timestamp()) // 60,
                        title=_("pledge"), obj=pledge)


async def _pending_units(session: AsyncSession, item: DeadlineItem) -> list[Unit]:
    return (await svc.status(session, item.obj)).unsigned


def _group_reminder(item: DeadlineItem, pending: list[Unit], now: datetime) -> Reply:
    return views.group_reminder(item, pending, now)


conv.deadline(DeadlineSource(svc.KIND, _load_deadline, _pending_units, _group_reminder,
                             with_mute(views.private_reminder)))
