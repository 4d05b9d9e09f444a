"""Joining a bloc: the `j_<token>` join link (a typed "dk <token>" on text channels) asks the
person to confirm they represent the unit; confirming registers them and tells the bloc's
managers in private. Also in private: /start, /whoami, and a unit list sent as a CSV/XLSX file."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.conversations.actions import ActionData, action
from bot.conversations.core import (
    PRIVATE,
    Actor,
    Conversations,
    Ctx,
    Delivery,
    Event,
    Out,
    Outcome,
    ToPerson,
    edit,
    say,
)
from bot.i18n import use_locale
from bot.services import blocs as bloc_service
from bot.services import invites as invite_service
from bot.services import units as unit_service
from bot.services.errors import UserError
from bot.views import core as views
from bot.views.base import Reply
from storage.models import Bloc, Person

conv = Conversations("join")
UNIT_FILE_TYPES = (".csv", ".xlsx")


@action("jc")
@dataclass(frozen=True)
class ConfirmJoin(ActionData):
    """The person confirms they represent the unit of the join link (the link's payload)."""

    payload: str


@action("jx")
@dataclass(frozen=True)
class CancelJoin(ActionData):
    """"Not me": nothing is registered."""


@conv.start(invite_service.PREFIX)
async def start_join(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    _invite, bloc, unit = await invite_service.resolve(ctx.session, ctx.clock, event.args)
    return say(views.join_confirm(bloc, unit, ConfirmJoin(event.args).pack(), CancelJoin().pack()))


@conv.text(invite_service.CODE_PATTERN, where=PRIVATE)
async def typed_code(ctx: Ctx, actor: Actor, event: Event) -> Outcome | None:
    """A join code typed alone ("7KQ2-MXP4"; Zalo bot links carry no payload): the join link's step."""
    name, _data = await ctx.state.get()
    code = invite_service.normalize_code(re.sub(r"(?i)^\s*dk\s+", "", event.text or ""))
    if name is not None or code is None:
        return None
    payload = invite_service.PREFIX + code
    return await start_join(ctx, actor, Event(command="start", args=payload))


@conv.action(ConfirmJoin)
async def confirm_join(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, ConfirmJoin)
    person = actor.person
    if person is None:
        raise UserError(views.button_invalid())
    try:
        bloc, unit, new = await invite_service.join(ctx.session, ctx.clock, event.action.payload, person)
    except invite_service.LinkUsed as refused:
        # The refusal is the answer under the button; the head learns of the attempt.
        used_bloc, used_unit, text = refused.bloc, refused.unit, refused.message
    else:
        outcome = edit(views.joined(bloc, unit, new))
        if new:
            outcome.after.append(await _tell_managers(ctx, bloc, lambda: views.join_announced(
                bloc, unit, person.full_name), skip=person.id))
        return outcome
    tell = await _tell_managers(ctx, used_bloc, lambda: views.join_refused_announced(
        used_bloc, used_unit, person.full_name))
    return Outcome(toast=text, alert=True, after=[tell])


async def _tell_managers(ctx: Ctx, bloc: Bloc, render: Callable[[], Reply], skip: int | None = None):
    """Every join (and every refused one) reaches the head in private, in the head's language."""
    messages: list[tuple[Person, Reply]] = []
    for manager in await invite_service.managers(ctx.session, bloc):
        if manager.id == skip or not manager.started or manager.blocked:
            continue
        with use_locale(manager.locale or bloc.locale):
            messages.append((manager, render()))

    async def send(delivery: Delivery) -> None:
        for manager, reply in messages:
            await delivery.deliver(Out(reply, ToPerson(manager)))

    return send


@conv.action(CancelJoin)
async def cancel_join(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return edit(views.join_cancelled())


@conv.command("whoami", where=PRIVATE)
async def cmd_whoami(ctx: Ctx, actor: Actor, event: Event) -> Outcome | None:
    person = actor.person
    if person is None:
        return None
    entries = []
    for bloc, _unit in await bloc_service.blocs_of_person(ctx.session, person):
        entries.append((bloc, await bloc_service.member_of(ctx.session, bloc, person)))
    current = await bloc_service.private_bloc(ctx.session, person)
    if current is not None and all(b.id != current.id for b, _m in entries):
        entries.append((current, await bloc_service.member_of(ctx.session, current, person)))
    return say(views.whoami(entries))


@conv.file(*UNIT_FILE_TYPES, where=PRIVATE, with_caption=False)
async def unit_file(ctx: Ctx, actor: Actor, event: Event) -> Outcome | None:
    """A CSV/XLSX with no caption, outside any dialog, from a head: the unit list."""
    name, _data = await ctx.state.get()
    if name is not None or event.file is None:
        return None
    member = actor.member
    if member is None or not member.can_manage:
        raise UserError(views.unit_file_not_manager())
    if event.file.size > ctx.settings.max_upload_mb * 1024 * 1024:
        raise UserError(views.file_too_large(ctx.settings.max_upload_mb))
    rows = unit_service.parse_table_file(event.file.name, await ctx.download(event.file))
    if not rows:
        raise UserError(views.no_units_in_file())
    report = await unit_service.add_units(ctx.session, ctx.clock, member.bloc, rows, member.person.id)
    total = await unit_service.count_units(ctx.session, member.bloc.id)
    return say(views.units_added(report, total))


@conv.start()
async def start_plain(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    """A bare /start says hello; any payload no feature claimed (forged, from an old version) is refused."""
    if event.args:
        raise UserError(views.link_invalid())
    return say(views.welcome_private())
