"""Meetings: /meeting (one line, or a short dialog in the group: when, place, title, agenda),
/meetings, /reschedule, /cancelmeeting, the meeting card kept current in the group, the RSVP
buttons (attend / absent / substitute, whose name is asked in private), the /status line and the
meeting's deadline reminders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    Chat,
    Conversations,
    Ctx,
    Delivery,
    Event,
    FileIn,
    Out,
    Outcome,
    ToGroup,
    ToPerson,
    say,
)
from bot.conversations.guards import need_bloc, need_manager, need_person
from bot.conversations.reminders import Mute
from bot.i18n import _, use_locale
from bot.services import meetings as svc
from bot.services.blocs import bloc_of
from bot.services.errors import UserError
from bot.services.reminders import DeadlineItem, DeadlineSource
from bot.views import meetings as views
from bot.views.base import Attachment, Reply
from storage.models import Bloc, Meeting, Unit

conv = Conversations("meetings")
CARD = "meeting"
WHEN, PLACE, TITLE, AGENDA = "meeting:when", "meeting:place", "meeting:title", "meeting:agenda"
SUBSTITUTE = "meeting:substitute"
DIALOG = (WHEN, PLACE, TITLE, AGENDA)
NOTES = "meeting_notes"  # ctx.extras: a note for the card's next render (moved)


@action("mr")
@dataclass(frozen=True)
class Rsvp(ActionData):
    """A representative answers for their unit: code a (attend), x (absent), s (substitute)."""

    meeting: int
    version: int
    answer: str


def rsvp_actions(meeting: Meeting) -> dict[str, str]:
    return {code: Rsvp(meeting.id, meeting.version, code).pack() for code in views.ANSWER_CODES}


@contextmanager
def _texts() -> Iterator[None]:
    """Service refusals whose full text names a format or a command: the view writes them."""
    try:
        yield
    except svc.BadWhen as err:
        raise UserError(views.bad_when(err.message)) from err
    except svc.BadOneLine as err:
        raise UserError(views.one_line_usage()) from err
    except svc.BadNumber as err:
        raise UserError(views.bad_number(err.count)) from err


# -- the card in the group ------------------------------------------------------------------------------
async def _render_card(ctx: Ctx, meeting_id: int) -> CardView | None:
    meeting = await ctx.session.get(Meeting, meeting_id, populate_existing=True)
    if meeting is None:
        return None
    bloc = await bloc_of(ctx.session, meeting.bloc_id)
    tally = await svc.tally(ctx.session, meeting)
    note = ctx.extras.get(NOTES, {}).get(meeting_id)
    with use_locale(bloc.locale):
        return CardView(bloc, views.card(bloc, tally, rsvp_actions(meeting), note), meeting.group_message_id)


async def _remember_card(ctx: Ctx, meeting_id: int, message_id: int) -> None:
    await svc.set_group_message(ctx.session, meeting_id, message_id)


conv.card(CARD, _render_card, _remember_card)


async def _publish(ctx: Ctx, meeting: Meeting) -> Outcome:
    bloc = await bloc_of(ctx.session, meeting.bloc_id)
    tally = await svc.tally(ctx.session, meeting)
    outcome = say(views.card(bloc, tally, rsvp_actions(meeting)), ToGroup(bloc), card=CardKey(CARD, meeting.id))
    if meeting.file_id:
        outcome.say(Reply("", attachments=[Attachment(meeting.file_name or "tai-lieu", b"", ref=meeting.file_id)]),
                    ToGroup(bloc))
    return outcome


def _attach(draft: svc.Draft, file: FileIn | None) -> svc.Draft:
    if file is not None:
        draft.file_id, draft.file_name = file.ref, file.name or None
    return draft


# -- /meeting and its dialog ------------------------------------------------------------------------------
@conv.command("meeting", where=GROUP)
async def cmd_meeting(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    if not event.args:
        await ctx.state.set(WHEN)
        return say(views.ask_when())
    with _texts():
        draft = svc.parse_one_line(event.args, member.bloc, ctx.clock.now())
    with _texts():
        meeting = await svc.create_meeting(ctx.session, ctx.clock, member, _attach(draft, event.file))
    return await _publish(ctx, meeting)


@conv.command("cancel", where=GROUP)
async def cmd_cancel(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    name, _data = await ctx.state.get()
    if name not in DIALOG:
        return say(views.nothing_to_cancel())
    await ctx.state.clear()
    return say(views.dialog_cancelled())


@conv.state(WHEN, where=GROUP)
async def step_when(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    with _texts():
        when = svc.parse_when(event.text or "", member.bloc, ctx.clock.now())
    await ctx.state.set(PLACE, {"when": when.isoformat()})
    return say(views.ask_place())


@conv.state(PLACE, where=GROUP)
async def step_place(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    await ctx.state.set(TITLE, {"place": svc.check_place(event.text or "")})
    return say(views.ask_title())


@conv.state(TITLE, where=GROUP)
async def step_title(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    await ctx.state.set(AGENDA, {"title": svc.check_title(event.text or "")})
    return say(views.ask_agenda())


@conv.state(AGENDA, where=GROUP)
async def step_agenda(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    _name, data = await ctx.state.get()
    text = (event.text or "").strip()
    when = datetime.fromisoformat(data["when"])
    draft = svc.Draft(when=when, place=data["place"], title=data["title"],
                      agenda="" if text == "-" else svc.clean(text, svc.MAX_AGENDA, _("agenda")))
    if when <= ctx.clock.now():  # the dialog took long: the time passed meanwhile
        await ctx.state.set(WHEN)
        raise UserError(views.passed_meanwhile())
    with _texts():
        meeting = await svc.create_meeting(ctx.session, ctx.clock, member, _attach(draft, event.file))
    await ctx.state.clear()
    return await _publish(ctx, meeting)


# -- /meetings, /reschedule, /cancelmeeting (group, or private about the person's bloc) ---------------------
@conv.command("meetings")
async def cmd_meetings(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    if actor.bloc is None:
        raise UserError(_("You are not in any bloc yet. Open the join link your bloc head sent you."))
    bloc = need_bloc(actor.bloc)
    meetings = await svc.upcoming(ctx.session, bloc.id, ctx.clock.now())
    tallies = {m.id: await svc.tally(ctx.session, m) for m in meetings}
    return say(views.meeting_list(bloc, meetings, tallies, bool(actor.member and actor.member.can_manage)))


@conv.command("reschedule")
async def cmd_reschedule(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    parts = event.args.split(maxsplit=1)
    if len(parts) != 2:
        raise UserError(views.reschedule_usage())
    bloc = member.bloc
    with _texts():
        meeting = await svc.meeting_by_number(ctx.session, bloc, parts[0], ctx.clock.now())
        when = svc.parse_when(parts[1], bloc, ctx.clock.now())
    meeting, old = await svc.reschedule(ctx.session, ctx.clock, member, meeting.id, when,
                                        lambda m, o: views.moved_private(bloc, m, o, rsvp_actions(m)))
    ctx.kick()
    with use_locale(bloc.locale):
        ctx.extras.setdefault(NOTES, {})[meeting.id] = views.moved_note(bloc, old)
    return say(views.moved_group(bloc, meeting, old)).update(CardKey(CARD, meeting.id))


@conv.command("cancelmeeting")
async def cmd_cancelmeeting(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    if not event.args:
        raise UserError(views.cancel_usage())
    bloc = member.bloc
    with _texts():
        meeting = await svc.meeting_by_number(ctx.session, bloc, event.args, ctx.clock.now())
    meeting = await svc.cancel(ctx.session, ctx.clock, member, meeting.id, lambda m: views.cancelled_private(bloc, m))
    ctx.kick()
    return say(views.cancelled_group(bloc, meeting)).update(CardKey(CARD, meeting.id))


# -- answers ----------------------------------------------------------------------------------------------
@conv.action(Rsvp)
async def rsvp_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Rsvp)
    pressed = event.action
    person = need_person(actor.person)
    answer = views.ANSWER_CODES.get(pressed.answer)
    if answer is None:
        raise UserError(_("This button is no longer valid."))
    result = await svc.answer(ctx.session, ctx.clock, pressed.meeting, pressed.version, person, answer)
    outcome = Outcome(toast=views.answer_ack(answer))
    if result.changed:
        outcome.update(CardKey(CARD, result.meeting.id))
    if answer == "substitute":
        private = ctx.states.of(Chat(ctx.channel, person.external_id, True), person.external_id)
        await private.set(SUBSTITUTE, {"meeting_id": result.meeting.id})
        ask = views.ask_substitute(result.bloc, result.meeting, result.unit)

        async def ask_in_private(delivery: Delivery) -> None:
            delivered = await delivery.deliver(Out(ask, to=ToPerson(person)))
            if not delivered.ok:
                await private.clear()
                outcome.toast, outcome.alert = views.substitute_need_private(), True

        outcome.after.append(ask_in_private)
    return outcome


@conv.state(SUBSTITUTE, where=PRIVATE)
async def substitute_name(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    _name, data = await ctx.state.get()
    result = await svc.set_substitute(ctx.session, ctx.clock, int(data["meeting_id"]), need_person(actor.person),
                                      event.text or "")
    await ctx.state.clear()
    return say(views.substitute_saved((event.text or "").strip())).update(CardKey(CARD, result.meeting.id))


# -- /status line and deadline reminders --------------------------------------------------------------------
@conv.status(probe=svc.status_probe)
async def status_lines(session: AsyncSession, clock: Clock, bloc: Bloc) -> list[str]:
    meetings = await svc.upcoming(session, bloc.id, clock.now())
    if not meetings:
        return []
    return [views.status_line(bloc, await svc.tally(session, meetings[0]))]


def _group_reminder(item: DeadlineItem, pending: list[Unit], now: datetime) -> Reply:
    return views.group_reminder(item, pending, now)


def _private_reminder(item: DeadlineItem, unit: Unit, now: datetime) -> Reply:
    return views.private_reminder(item, unit, now, rsvp_actions(item.obj), Mute(item.kind, item.item_id).pack())


conv.deadline(DeadlineSource(svc.KIND, svc.load_deadline, svc.pending_units, _group_reminder, _private_reminder))
