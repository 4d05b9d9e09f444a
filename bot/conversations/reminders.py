"""Reminders shared by every deadline source: the mute button under a private reminder
(`Mute`, added by `with_mute` to a source's private reminders) and the /status lines about
messages the outbox could not deliver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.conversations.actions import ActionData, action
from bot.conversations.core import Actor, Conversations, Ctx, Event, Outcome
from bot.i18n import _
from bot.services import reminders
from bot.services.errors import UserError
from bot.services.reminders import DeadlineItem
from bot.views import meetings as views
from bot.views.base import Reply
from storage.models import Bloc, Unit

conv = Conversations("reminders")
FAILED_WINDOW = timedelta(days=30)  # /status lists deliveries that failed in this window


@action("rm")
@dataclass(frozen=True)
class Mute(ActionData):
    """No more private reminders about this item (any deadline source's kind)."""

    kind: str
    item: int


def with_mute(render: Callable[[DeadlineItem, Unit, datetime, str], Reply]
              ) -> Callable[[DeadlineItem, Unit, datetime], Reply]:
    """A deadline source's private reminder, with the button that mutes further ones about the item."""

    def private(item: DeadlineItem, unit: Unit, now: datetime) -> Reply:
        return render(item, unit, now, Mute(item.kind, item.item_id).pack())

    return private


@conv.action(Mute)
async def mute_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Mute)
    kind, item = event.action.kind, event.action.item
    if kind not in reminders.SOURCES or item < 0 or actor.person is None:
        raise UserError(_("This button is no longer valid."))
    await reminders.mute(ctx.session, ctx.clock, actor.person, kind, item)
    return Outcome(toast=views.muted(), alert=True)


@conv.status(probe=lambda bloc_id, now: reminders.failed_probe(bloc_id, now - FAILED_WINDOW))
async def delivery_status(session: AsyncSession, clock: Clock, bloc: Bloc) -> list[str]:
    failed = await reminders.failed_deliveries(session, bloc.id, clock.now() - FAILED_WINDOW)
    return views.delivery_status(failed)
