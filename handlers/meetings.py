"""Meetings: /meeting (one line or a short dialog), /meetings, /reschedule, /cancelmeeting,
the RSVP buttons (attend / absent / substitute, whose name is asked in private), and muting
reminders ("rm:<kind>:<id>", for any deadline source)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import _, use_locale
from bot.outbox import kick_all
from bot.services import meetings as svc
from bot.services import reminders
from bot.services.blocs import Member, require_manager
from bot.services.errors import NotAllowed, UserError
from bot.views import meetings as views
from handlers.filters import IN_GROUP, IN_PRIVATE, need_bloc, need_manager
from bot.channels.telegram import answer, edit_message, send, try_send_private
from handlers.routing import Routes, combine
from storage.models import Bloc, Meeting, Person

log = logging.getLogger(__name__)
group = Routes("meetings_group", message=IN_GROUP)
private = Routes("meetings_private", message=IN_PRIVATE)
both = Routes("meetings_both")
callbacks = Routes("meetings_callbacks")

NOT_COMMAND = ~F.text.startswith("/")


class MeetingForm(StatesGroup):
    when = State()
    place = State()
    title = State()
    agenda = State()


class SubstituteForm(StatesGroup):
    name = State()


_manager = need_manager  # shared check, handlers/filters.py


async def refresh_card(bot: Bot, session: AsyncSession, meeting: Meeting, bot_username: str,
                       note: str | None = None) -> None:
    """Keep the group's meeting card current (counts, who has not answered, cancelled)."""
    if meeting.group_message_id is None:
        return
    bloc = await session.get(Bloc, meeting.bloc_id)
    tally = await svc.tally(session, meeting)
    await session.commit()  # end the read before talking to Telegram
    with use_locale(bloc.locale):
        reply = views.card(bloc, tally, note)
    try:
        await edit_message(bot, bloc.chat_id, meeting.group_message_id, reply, bot_username)
    except TelegramBadRequest as err:  # deleted by an admin, too old: /meetings still shows it
        log.info("meeting card not updated: %s", err.message)


async def _publish(message: Message, session: AsyncSession, bot: Bot, meeting: Meeting, bot_username: str) -> None:
    bloc = await session.get(Bloc, meeting.bloc_id)
    tally = await svc.tally(session, meeting)
    await session.commit()
    sent = await send(bot, bloc.chat_id, views.card(bloc, tally), bot_username)
    if meeting.file_id:
        try:
            await bot.send_document(bloc.chat_id, meeting.file_id)
        except TelegramBadRequest as err:
            log.info("meeting file not sent: %s", err.message)
    if sent is not None:
        await svc.set_group_message(session, meeting.id, sent.message_id)


# -- /meeting -----------------------------------------------------------------------------------
@group.message(Command("meeting"))
async def cmd_meeting(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                      bloc: Bloc | None, member: Member | None, state: FSMContext, bot: Bot,
                      bot_username: str) -> None:
    member = _manager(bloc, member)
    args = (command.args or "").strip()
    if not args:
        await state.set_state(MeetingForm.when)
        await answer(message, views.ask_when(), bot_username)
        return
    draft = svc.parse_one_line(args, member.bloc, clock.now())
    if message.document is not None:
        draft.file_id, draft.file_name = message.document.file_id, message.document.file_name
    meeting = await svc.create_meeting(session, clock, member, draft)
    await _publish(message, session, bot, meeting, bot_username)


@group.message(Command("cancel"), StateFilter(MeetingForm))
async def cancel_dialog(message: Message, state: FSMContext, bot_username: str) -> None:
    await state.clear()
    await answer(message, views.dialog_cancelled(), bot_username)


@group.message(MeetingForm.when, NOT_COMMAND)
async def step_when(message: Message, state: FSMContext, clock: Clock, bloc: Bloc | None, member: Member | None,
                    bot_username: str) -> None:
    member = _manager(bloc, member)
    when = svc.parse_when(message.text or "", member.bloc, clock.now())
    await state.update_data(when=when.isoformat())
    await state.set_state(MeetingForm.place)
    await answer(message, views.ask_place(), bot_username)


@group.message(MeetingForm.place, NOT_COMMAND)
async def step_place(message: Message, state: FSMContext, bot_username: str) -> None:
    await state.update_data(place=svc.check_place(message.text or ""))
    await state.set_state(MeetingForm.title)
    await answer(message, views.ask_title(), bot_username)


@group.message(MeetingForm.title, NOT_COMMAND)
async def step_title(message: Message, state: FSMContext, bot_username: str) -> None:
    await state.update_data(title=svc.check_title(message.text or ""))
    await state.set_state(MeetingForm.agenda)
    await answer(message, views.ask_agenda(), bot_username)


@group.message(MeetingForm.agenda, NOT_COMMAND)
async def step_agenda(message: Message, state: FSMContext, session: AsyncSession, clock: Clock,
                      bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    from datetime import datetime

    member = _manager(bloc, member)
    data = await state.get_data()
    text = (message.text or message.caption or "").strip()
    draft = svc.Draft(when=datetime.fromisoformat(data["when"]), place=data["place"], title=data["title"],
                      agenda="" if text == "-" else svc.clean(text, svc.MAX_AGENDA, _("agenda")))
    if message.document is not None:
        draft.file_id, draft.file_name = message.document.file_id, message.document.file_name
    if draft.when <= clock.now():  # the dialog took long: the time passed meanwhile
        await state.set_state(MeetingForm.when)
        raise UserError(_("That time has passed meanwhile. Write a new date and time, for example <code>{example}</code>.")
                        .format(example=svc.EXAMPLE))
    meeting = await svc.create_meeting(session, clock, member, draft)
    await state.clear()
    await _publish(message, session, bot, meeting, bot_username)


# -- /meetings, /reschedule, /cancelmeeting (group, or private about the person's bloc) --------------
@both.message(Command("meetings"))
async def cmd_meetings(message: Message, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                       member: Member | None, bot_username: str) -> None:
    if bloc is None:
        raise UserError(_("You are not in any bloc yet. Open the join link your bloc head sent you."))
    need_bloc(bloc)
    meetings = await svc.upcoming(session, bloc.id, clock.now())
    tallies = {m.id: await svc.tally(session, m) for m in meetings}
    await answer(message, views.meeting_list(bloc, meetings, tallies, bool(member and member.can_manage)),
                 bot_username)


@both.message(Command("reschedule"))
async def cmd_reschedule(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                         bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    parts = (command.args or "").split(maxsplit=1)
    if len(parts) != 2:
        raise UserError(_("Write the meeting's number and the new time: <code>/reschedule 1 {example}</code>. "
                          "Send /meetings to see the numbers.").format(example=svc.EXAMPLE))
    meeting = await svc.meeting_by_number(session, member.bloc, parts[0], clock.now())
    when = svc.parse_when(parts[1], member.bloc, clock.now())
    bloc_ = member.bloc
    meeting, old = await svc.reschedule(session, clock, member, meeting.id, when,
                                        lambda m, o: views.moved_private(bloc_, m, o))
    kick_all()
    await answer(message, views.moved_group(bloc_, meeting, old), bot_username)
    with use_locale(bloc_.locale):
        note = views.moved_note(bloc_, old)
    await refresh_card(bot, session, meeting, bot_username, note)


@both.message(Command("cancelmeeting"))
async def cmd_cancelmeeting(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                            bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    if not (command.args or "").strip():
        raise UserError(_("Write the meeting's number: <code>/cancelmeeting 1</code>. Send /meetings to see the numbers."))
    meeting = await svc.meeting_by_number(session, member.bloc, command.args, clock.now())
    bloc_ = member.bloc
    meeting = await svc.cancel(session, clock, member, meeting.id, lambda m: views.cancelled_private(bloc_, m))
    kick_all()
    await answer(message, views.cancelled_group(bloc_, meeting), bot_username)
    await refresh_card(bot, session, meeting, bot_username)


# -- answers ------------------------------------------------------------------------------------------
def _parse_rsvp(data: str) -> tuple[int, int, str]:
    parts = data.split(":")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit() or parts[3] not in views.ANSWER_CODES:
        raise UserError(_("This button is no longer valid."))
    return int(parts[1]), int(parts[2]), views.ANSWER_CODES[parts[3]]


@callbacks.callback_query(F.data.startswith("mr:"))
async def rsvp_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, person: Person,
                      state: FSMContext, bot: Bot, bot_username: str) -> None:
    meeting_id, version, answer_ = _parse_rsvp(callback.data)
    result = await svc.answer(session, clock, meeting_id, version, person, answer_)
    if answer_ == "substitute":
        key = StorageKey(bot_id=bot.id, chat_id=callback.from_user.id, user_id=callback.from_user.id)
        private_state = FSMContext(storage=state.storage, key=key)
        await private_state.set_state(SubstituteForm.name)
        await private_state.update_data(meeting_id=meeting_id)
        if await try_send_private(bot, callback.from_user.id, views.ask_substitute(result.bloc, result.meeting,
                                                                                   result.unit), bot_username):
            await callback.answer(views.answer_ack(answer_))
        else:
            await private_state.clear()
            await callback.answer(views.substitute_need_private(), show_alert=True)
    else:
        await callback.answer(views.answer_ack(answer_))
    if result.changed:
        await refresh_card(bot, session, result.meeting, bot_username)


@private.message(SubstituteForm.name, NOT_COMMAND)
async def substitute_name(message: Message, state: FSMContext, session: AsyncSession, clock: Clock,
                          person: Person, bot: Bot, bot_username: str) -> None:
    data = await state.get_data()
    result = await svc.set_substitute(session, clock, int(data["meeting_id"]), person, message.text or "")
    await state.clear()
    rsvp_name = (message.text or "").strip()
    await answer(message, views.substitute_saved(rsvp_name), bot_username)
    await refresh_card(bot, session, result.meeting, bot_username)


@callbacks.callback_query(F.data.startswith("rm:"))
async def mute_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, person: Person) -> None:
    parts = callback.data.split(":")
    if len(parts) != 3 or not parts[2].isdigit() or parts[1] not in reminders.SOURCES:
        raise UserError(_("This button is no longer valid."))
    await reminders.mute(session, clock, person, parts[1], int(parts[2]))
    await callback.answer(views.muted(), show_alert=True)


def make_router() -> Router:
    return combine("meetings", group.build(), private.build(), both.build(), callbacks.build())
