"""Group posts for the members the group does not reach: each of them gets the post in private,
through the outbox (durable, rate-limited, once per person per event, in the person's language).

A bloc's group lives on one messenger (Telegram); its representatives on another (Zalo, where a
bot has no groups) never see it, and a bloc created on Zalo has no group at all (`Bloc.has_group`
false). So every `Out` addressed `ToGroup(bloc)` — a card (vote opened, meeting scheduled, the
pledge, an assessment round), results, an announcement — is copied as one outbox row per such
member. A card is copied when it is posted, keyed by the card: its later edits (refreshes) send
nothing, so a member gets one message per event, not one per vote cast. For a bloc without a group
the group message itself is dropped (there is nowhere to post it).

Every front runs this without knowing it: `Conversations` wraps each step (`with_copies`), and the
composition root runs it for outcomes built outside an update (`App.deliver_outcome`). The
reminders' group rows get the same treatment in the outbox (bot/services/reminders.prepare)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from bot.i18n import _, for_reader
from bot.services import files
from bot.services import reminders as reminder_service
from bot.views.base import Reply, esc
from storage.db import begin_write
from storage.models import Bloc, Person

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.conversations.core import Ctx, Delivered, Delivery, Out, Outcome

log = logging.getLogger(__name__)


# Channels whose outbox sender sends a photo by its public URL (Zalo's sendPhoto): a group post's
# chart reaches their members as a photo (the row's payload "photos"), not as a link line.
PHOTOS_BY_URL = frozenset({"zalo"})


@dataclass(frozen=True)
class Photo:
    url: str
    caption: str | None = None


async def files_as_links(session: AsyncSession, clock: Clock, base: str | None, reply: Reply,
                         photos_by_url: bool = False) -> tuple[Reply, list[Photo]]:
    """A text channel cannot send files: each file becomes a signed, expiring link served by the
    bot's web app (bot/web/files.py), or a plain word that it could not be sent (no public
    address: never a dead link). With `photos_by_url` (Zalo's sendPhoto, which fetches a public
    URL) a photo (the result chart) is returned as a Photo to send by that link instead."""
    if not reply.attachments:
        return reply, []
    lines, photos = [], []
    for att in reply.attachments:
        if att.ref is not None and not att.content:
            lines.append(_("📎 {name}: this file is in the bloc's Telegram group.").format(name=esc(att.filename)))
        elif not base:
            lines.append(_("📎 {name} could not be sent: the bot has no public web address "
                           "(PUBLIC_BASE_URL). Please tell the administrator.").format(name=esc(att.filename)))
        else:
            token = await files.share(session, clock, att.filename, att.content)
            url = files.link(base, token, att.filename)
            if att.kind == "photo" and photos_by_url:
                photos.append(Photo(url, att.caption or None))  # HTML: the front makes it plain
            else:
                lines.append(_("📎 {name} (link valid for 7 days): {url}").format(name=esc(att.filename), url=url))
    text = "\n".join(x for x in [reply.text, *lines] if x)
    return Reply(text, reply.actions, [], reply.private, reply.typed), photos


def _event_key(ctx: Ctx, bloc: Bloc, out: Out) -> str:
    if out.card is not None:  # a card is one event however often it is edited or re-posted
        return f"card:{out.card.kind}:{out.card.id}"
    digest = hashlib.sha256(out.reply.text.encode()).hexdigest()[:16]
    return f"grp:{bloc.id}:{digest}:{ctx.clock.now():%Y%m%d%H}"  # the same post within the hour: once


async def queue_copies(ctx: Ctx, out: Out) -> int:
    """Queue the private copies of one group `Out` (inside the caller's session; commits)."""
    from bot.conversations.core import ToGroup

    assert isinstance(out.to, ToGroup)
    bloc = out.to.bloc
    session = ctx.session
    members = await reminder_service.off_group_members(session, bloc)
    if not members:
        return 0
    event = _event_key(ctx, bloc, out)
    now = ctx.clock.now()
    rows = []
    for person, unit in members:
        reply = out.reply
        with for_reader(reminder_service.person_locale(person, bloc)):
            if out.card is not None and ctx.table is not None and out.card.kind in ctx.table.cards:
                view = await ctx.table.cards[out.card.kind].render(ctx, out.card.id)
                if view is not None:
                    reply = Reply(view.reply.text, view.reply.actions, out.reply.attachments)
            reply, photos = await files_as_links(session, ctx.clock, ctx.settings.public_base_url, reply,
                                                 photos_by_url=person.channel in PHOTOS_BY_URL)
        extra: dict[str, Any] = {"payload": {"photos": [[p.url, p.caption] for p in photos]}} if photos else {}
        if person.blocked:  # refused before (403): recorded for the head's /status, not sent again
            extra |= {"status": "failed", "last_error": "403 blocked earlier; not sent", "sent_at": now}
        rows.append(reminder_service.notice_row(
            f"{event}:p{person.id}"[:200], person.external_id, person.id, reply, now, bloc_id=bloc.id,
            item_kind=out.card.kind[:16] if out.card else "", item_id=out.card.id if out.card else None,
            unit_id=unit.id if unit else None, **extra))
    await begin_write(session)
    queued = await reminder_service.insert_rows(session, rows)
    await session.commit()
    if queued:
        ctx.kick()
    return queued


def _group_out(out: Out) -> Bloc | None:
    from bot.conversations.core import ToGroup

    return out.to.bloc if isinstance(out.to, ToGroup) else None


async def copy_outcome(ctx: Ctx, outcome: Outcome) -> Outcome:
    """Queue the copies of the outcome's group messages, drop group messages of blocs without a
    group, and let its `after` callbacks do the same for what they deliver."""
    kept = []
    for out in outcome.out:
        bloc = _group_out(out)
        if bloc is None:
            kept.append(out)
            continue
        await queue_copies(ctx, out)
        if bloc.has_group:
            kept.append(out)
    outcome.out = kept
    outcome.after = [_copying(ctx, after) for after in outcome.after]
    return outcome


class CopyingDelivery:
    """A front's Delivery that also copies group messages (for `Outcome.after` callbacks)."""

    def __init__(self, ctx: Ctx, inner: Delivery) -> None:
        self.ctx, self.inner = ctx, inner

    async def deliver(self, out: Out) -> Delivered:
        from bot.conversations.core import Delivered

        bloc = _group_out(out)
        if bloc is not None:
            queued = await queue_copies(self.ctx, out)
            if not bloc.has_group:
                return Delivered(queued > 0 or bool(await reminder_service.off_group_members(self.ctx.session, bloc)))
        return await self.inner.deliver(out)

    def __getattr__(self, name: str) -> Any:  # e.g. `refresh` on fronts that can edit
        return getattr(self.inner, name)


def _copying(ctx: Ctx, after: Any) -> Any:
    async def run(delivery: Delivery) -> None:
        await after(CopyingDelivery(ctx, delivery))

    return run


async def groupless_blocs(session: AsyncSession, person: Person) -> list[Bloc]:
    """The blocs without a group this person runs or represents (a private chat stands for their group)."""
    from bot.services.blocs import blocs_of_person

    blocs = {b.id: b for b, _u in await blocs_of_person(session, person) if not b.has_group}
    founded = await session.execute(select(Bloc).where(col(Bloc.founder_person_id) == person.id,
                                                       col(Bloc.is_active) == True, col(Bloc.has_group) == False))  # noqa: E712
    for bloc in founded.scalars():
        blocs.setdefault(bloc.id, bloc)
    return sorted(blocs.values(), key=lambda b: b.id)
