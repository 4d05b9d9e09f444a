"""Scoring table (/table), rounds (/assessment), the unit's form (/assess, a_<round> links),
the head's view (/export, /return). Group and private routers kept apart; button callbacks
check rights in the services, whatever chat they come from."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.i18n import _, use_locale
from bot.outbox import kick_all
from bot.render import assessment_xlsx
from bot.services import assessments as svc
from bot.services import reminders
from bot.services import scoring
from bot.services import units as unit_service
from bot.services.blocs import Member, require_manager
from bot.services.errors import NotAllowed, UserError
from bot.views import assessments as views
from bot.views.base import Attachment, Reply
from handlers.filters import IN_GROUP, IN_PRIVATE, need_bloc, need_manager
from bot.channels.telegram import answer, edit, edit_message, send, try_send_private
from handlers.routing import Routes, combine
from storage.models import AssessmentRound, Bloc, Person

log = logging.getLogger(__name__)

group = Routes("assessments_group", message=IN_GROUP)
private = Routes("assessments_private", message=IN_PRIVATE)
callbacks = Routes("assessments_callbacks")


class TableUpload(StatesGroup):
    waiting = State()


class AssessForm(StatesGroup):
    score = State()
    note = State()
    evidence = State()


_manager = need_manager  # shared check, handlers/filters.py


# -- group side effects: the round post, reminders ----------------------------------------------

async def refresh_round_post(bot: Bot, session: AsyncSession, rnd: AssessmentRound, bot_username: str) -> None:
    """Keep the group's "Nộp tự chấm điểm" message current (progress line, closed state)."""
    if rnd.group_message_id is None:
        return
    bloc = await session.get(Bloc, rnd.bloc_id)
    done, total = await svc.progress(session, rnd)
    await session.commit()  # end the read before talking to Telegram
    with use_locale(bloc.locale):
        reply = views.round_post(bloc, rnd, done, total)
    try:
        await edit_message(bot, bloc.chat_id, rnd.group_message_id, reply, bot_username)
    except TelegramBadRequest as err:  # deleted by an admin, too old: the next /assessment shows status
        log.info("round post not updated: %s", err.message)


async def remind_missing(session: AsyncSession, clock: Clock, bloc: Bloc, rnd: AssessmentRound) -> Reply:
    """/assessment remind: queue a private reminder (outbox) now for every reachable representative
    of a unit that has not submitted, at most once an hour per person; say who cannot be reached."""
    targets = await svc.units_to_remind(session, rnd)
    await session.commit()
    people = [(person, unit) for unit, persons in targets for person in persons
              if person.started and not person.blocked]
    queued = await reminders.queue_now(session, clock, bloc, svc.KIND_REMINDER, rnd.id, reminders.hourly(clock),
                                       people, lambda unit: views.reminder(bloc, rnd, unit.name))
    if queued:
        kick_all()
    reached = {unit.id for _person, unit in people}
    unreachable = [unit.name for unit, _persons in targets if unit.id not in reached]
    return views.reminded(queued, len(targets), unreachable, again=bool(people) and not queued)


async def _send_private_or_say(message: Message, reply: Reply, bot_username: str) -> None:
    if message.chat.type == "private":
        await answer(message, reply, bot_username)
    elif await try_send_private(message.bot, message.from_user.id, reply, bot_username):
        await answer(message, views.sent_to_private(), bot_username)
    else:
        await answer(message, views.need_private_chat(), bot_username)


# -- /table -----------------------------------------------------------------------------------

@group.message(Command("table"))
async def group_table(message: Message, session: AsyncSession, bloc: Bloc | None, member: Member | None,
                      bot_username: str) -> None:
    bloc = need_bloc(bloc)
    table = await svc.current_table(session, bloc.id)
    criteria = await svc.criteria_of(session, table.id) if table else None
    await answer(message, views.table_current(criteria, bool(member and member.can_manage)), bot_username)


async def _table_menu(message: Message, state: FSMContext, member: Member | None, settings: Settings,
                      bot_username: str) -> None:
    if member is None:
        raise NotAllowed(_("Only the bloc head or deputy can do this."))
    require_manager(member)
    await state.set_state(TableUpload.waiting)
    await answer(message, views.table_menu(settings.max_upload_mb), bot_username)


@private.message(Command("table"))
async def private_table(message: Message, state: FSMContext, member: Member | None, settings: Settings,
                        bot_username: str) -> None:
    await _table_menu(message, state, member, settings, bot_username)


@private.message(CommandStart(deep_link=True, magic=F.args == svc.TABLE_PAYLOAD))
async def start_table(message: Message, state: FSMContext, member: Member | None, settings: Settings,
                      bot_username: str) -> None:
    await _table_menu(message, state, member, settings, bot_username)


@callbacks.callback_query(F.data.startswith("tb:"))
async def table_button(callback: CallbackQuery, state: FSMContext, session: AsyncSession, clock: Clock,
                       member: Member | None, bot_username: str) -> None:
    op = callback.data[3:]
    if op == "x":
        await state.clear()
        await edit(callback, views.table_cancelled(), bot_username)
        await callback.answer()
        return
    if member is None:
        raise NotAllowed(_("Only the bloc head or deputy can do this."))
    require_manager(member)
    if op == "dl":
        reply = Reply(views.table_template_caption(), attachments=[Attachment(
            assessment_xlsx.TEMPLATE_FILENAME, assessment_xlsx.template_xlsx())])
        await callback.answer()
        await send(callback.bot, callback.from_user.id, reply, bot_username)
        return
    if op == "tpl":
        _table, criteria = await svc.load_table(session, clock, member, scoring.template_rows(), "template")
        await state.clear()
        await callback.answer()
        await edit(callback, views.table_loaded(criteria, "template"), bot_username)
        return
    raise UserError(_("This button is no longer valid."))


@private.message(TableUpload.waiting, F.document)
async def table_file(message: Message, state: FSMContext, session: AsyncSession, clock: Clock, settings: Settings,
                     member: Member | None, bot: Bot, bot_username: str) -> None:
    if member is None:
        raise NotAllowed(_("Only the bloc head or deputy can do this."))
    require_manager(member)
    name = message.document.file_name or ""
    if not name.lower().endswith(scoring.TABLE_FILE_TYPES):
        raise UserError(_("Send the scoring table as a .xlsx or .csv file."))
    if (message.document.file_size or 0) > settings.max_upload_mb * 1024 * 1024:
        raise UserError(_("The file is too large (at most {mb} MB).").format(mb=settings.max_upload_mb))
    data = (await bot.download(message.document)).read()
    try:
        rows = scoring.parse_table(name, data)
    except scoring.TableProblems as problems:
        await answer(message, views.table_problems(problems.problems), bot_username)
        return
    _table, criteria = await svc.load_table(session, clock, member, rows, name)
    await state.clear()
    await answer(message, views.table_loaded(criteria, name), bot_username)


@private.message(TableUpload.waiting, F.text, ~F.text.startswith("/"))
async def table_waiting_text(message: Message) -> None:
    raise UserError(_("Send the table as a file (.xlsx or .csv), or press a button above."))


# -- /assessment (group and private) ---------------------------------------------------------

@group.message(Command("assessment"))
@private.message(Command("assessment"))
async def cmd_assessment(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                         bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    bloc = need_bloc(bloc)
    args = (command.args or "").strip()
    word, _sep, rest = args.partition(" ")
    word = word.lower()
    in_private = message.chat.type == "private"
    if not args:
        rnd = await svc.open_round_of(session, bloc.id) or await svc.latest_round(session, bloc.id)
        manager = bool(member and member.can_manage)
        if rnd is None:
            await answer(message, views.assessment_usage(manager), bot_username)
            return
        rows = await svc.overview(session, rnd)
        # Scores never go to the group before close, nor after it when the bloc keeps them head-only.
        if in_private:
            with_scores = svc.can_see_results(member, rnd)
        else:
            with_scores = rnd.closed_at is not None and svc.results_shared(bloc)
        names = await svc.person_names(session, {r.version.submitted_by_person_id for r in rows if r.version}) \
            if with_scores else None
        await answer(message, views.round_status(bloc, rnd, rows, manager, names, with_scores), bot_username)
        return
    member = _manager(bloc, member)
    if word in ("close", "dong", "đóng"):
        rnd = await svc.open_round_of(session, bloc.id)
        if rnd is None:
            raise UserError(_("No self-assessment round is open. Open one: <code>/assessment 30/11/2026 17:00</code>"))
        done, total = await svc.progress(session, rnd)
        await answer(message, views.close_confirm(rnd, done, total), bot_username)
    elif word in ("extend", "giahan"):
        rnd = await svc.extend_deadline(session, clock, member, rest)
        await answer(message, views.deadline_extended(bloc, rnd), bot_username)
        await refresh_round_post(bot, session, rnd, bot_username)
    elif word in ("remind", "nhac", "nhắc"):
        rnd = await svc.open_round_of(session, bloc.id)
        if rnd is None:
            raise UserError(_("No self-assessment round is open. Open one: <code>/assessment 30/11/2026 17:00</code>"))
        await answer(message, await remind_missing(session, clock, bloc, rnd), bot_username)
    elif word in ("history", "lichsu"):
        rnd = await svc.latest_round(session, bloc.id)
        if rnd is None:
            raise UserError(_("There is no self-assessment round to export yet."))
        unit = await unit_service.unit_by_number(session, bloc.id, rest)
        versions = await svc.versions_of(session, rnd.id, unit.id)
        names = await svc.person_names(session, {v.submitted_by_person_id for v in versions})
        await _send_private_or_say(message, views.history(bloc, unit.name, versions, names), bot_username)
    else:
        rnd = await svc.open_round(session, clock, member, args)
        await _post_round(bot, session, bloc, rnd, bot_username)
        if in_private:
            await answer(message, views.round_opened(bloc, rnd), bot_username)


async def _post_round(bot: Bot, session: AsyncSession, bloc: Bloc, rnd: AssessmentRound, bot_username: str) -> None:
    done, total = await svc.progress(session, rnd)
    await session.commit()
    sent = await send(bot, bloc.chat_id, views.round_post(bloc, rnd, done, total), bot_username)
    if sent is not None:
        await svc.set_group_message(session, rnd.id, sent.message_id)
        rnd.group_message_id = sent.message_id


@callbacks.callback_query(F.data.startswith("ar:"))
async def round_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                       member: Member | None, bot: Bot, bot_username: str) -> None:
    try:
        _prefix, round_id, op = callback.data.split(":")
        rnd = await svc.round_by_id(session, int(round_id))
    except ValueError:
        raise UserError(_("This button is no longer valid.")) from None
    if member is None or member.bloc.id != rnd.bloc_id:
        raise NotAllowed(_("Only the bloc head or deputy can do this."))
    require_manager(member)
    bloc = member.bloc
    if op == "c":
        done, total = await svc.progress(session, rnd)
        await callback.answer()
        await send(bot, callback.message.chat.id, views.close_confirm(rnd, done, total), bot_username)
    elif op == "cn":
        await callback.answer()
        await edit(callback, Reply(_("Nothing was changed.")), bot_username)
    elif op == "cy":
        rnd = await svc.close_round(session, clock, member)
        rows = await svc.overview(session, rnd)
        done = sum(1 for r in rows if r.state == "submitted")
        await callback.answer()
        await edit(callback, views.round_closed(bloc, rnd, done, len(rows)), bot_username)
        await refresh_round_post(bot, session, rnd, bot_username)
        if svc.results_shared(bloc):
            with use_locale(bloc.locale):
                await send(bot, bloc.chat_id, views.results_post(bloc, rnd, rows), bot_username)
    elif op == "r":
        if rnd.closed_at is not None:
            raise UserError(_("This self-assessment round is closed. Nothing can be changed any more."))
        reply = await remind_missing(session, clock, bloc, rnd)
        await callback.answer()
        await send(bot, callback.message.chat.id, reply, bot_username)
    elif op == "d":
        rows = await svc.overview(session, rnd)
        names = await svc.person_names(session, {r.version.submitted_by_person_id for r in rows if r.version})
        await callback.answer()
        reply = views.round_status(bloc, rnd, rows, True, names, with_scores=True)
        if not await try_send_private(bot, callback.from_user.id, reply, bot_username):
            await send(bot, callback.message.chat.id, views.need_private_chat(), bot_username)
    else:
        raise UserError(_("This button is no longer valid."))


# -- /export, /return -------------------------------------------------------------------------

@group.message(Command("export"))
@private.message(Command("export"))
async def cmd_export(message: Message, session: AsyncSession, bloc: Bloc | None, member: Member | None,
                     bot_username: str) -> None:
    member = _manager(bloc, member)
    data = await svc.export_data(session, member)
    await session.commit()
    content = assessment_xlsx.export_xlsx(data)
    reply = Reply(views.export_caption(data.bloc, data.round), attachments=[Attachment(
        assessment_xlsx.export_filename(data), content)])
    await _send_private_or_say(message, reply, bot_username)


@group.message(Command("return"))
@private.message(Command("return"))
async def cmd_return(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                     bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    number, _sep, reason = (command.args or "").strip().partition(" ")
    if not number or not reason.strip():
        await answer(message, views.return_usage(), bot_username)
        return
    unit = await unit_service.unit_by_number(session, member.bloc.id, number)
    rnd, version = await svc.return_submission(session, clock, member, unit, reason)
    reps = (await svc.representatives_of(session, [unit.id])).get(unit.id, [])
    await session.commit()
    told = False
    for person in reps:
        with use_locale(person.locale or member.bloc.locale):
            notice = views.returned_notice(member.bloc, rnd, unit.name, version)
        if not person.blocked and await try_send_private(bot, person.external_id, notice, bot_username):
            told = True
    await answer(message, views.returned_ok(unit.name, version, told), bot_username)
    await refresh_round_post(bot, session, rnd, bot_username)


# -- the form ---------------------------------------------------------------------------------

@group.message(Command("assess"))
async def assess_in_group(message: Message, bot_username: str) -> None:
    await answer(message, views.form_in_group(), bot_username)


async def _show_card(message: Message, state: FSMContext, form: svc.Form, index: int, bot_username: str) -> None:
    await state.set_state(AssessForm.score)
    await state.update_data(round_id=form.round.id, index=index)
    await answer(message, views.criterion_card(form, index), bot_username)


@private.message(Command("assess"))
async def cmd_assess(message: Message, state: FSMContext, session: AsyncSession, clock: Clock, person: Person,
                     bloc: Bloc | None, bot_username: str) -> None:
    if bloc is None:
        raise NotAllowed(_("You are not a member of any bloc yet. Open the join link your bloc head sent you."))
    rnd = await svc.open_round_of(session, bloc.id)
    if rnd is None:
        await answer(message, views.no_open_round(), bot_username)
        return
    await _open_form(message, state, session, clock, person, rnd.id, bot_username)


@private.message(CommandStart(deep_link=True, magic=F.args.startswith(svc.PAYLOAD_PREFIX)))
async def start_form(message: Message, command: CommandObject, state: FSMContext, session: AsyncSession,
                     clock: Clock, person: Person, bot_username: str) -> None:
    await _open_form(message, state, session, clock, person, svc.parse_payload(command.args), bot_username)


async def _open_form(message: Message, state: FSMContext, session: AsyncSession, clock: Clock, person: Person,
                     round_id: int, bot_username: str) -> None:
    form = await svc.start_form(session, clock, round_id, person)
    if form.submitted:
        await state.clear()
        await answer(message, views.summary(form), bot_username)
        return
    index = min(form.draft.position if form.draft else 0, len(form.criteria) - 1)
    await _show_card(message, state, form, index, bot_username)


@callbacks.callback_query(F.data.startswith("af:"))
async def form_button(callback: CallbackQuery, state: FSMContext, session: AsyncSession, clock: Clock,
                      person: Person, settings: Settings, bot: Bot, bot_username: str) -> None:
    parts = callback.data.split(":")
    try:
        round_id, op = int(parts[1]), parts[2]
        args = parts[3:]
        index = int(args[0]) if args and op in ("s", "g", "n", "c") else None
    except (IndexError, ValueError):
        raise UserError(_("This button is no longer valid.")) from None
    if callback.message is not None and callback.message.chat.type != "private":
        raise UserError(_("The self-assessment is filled in private, not in the group."))
    reply: Reply
    if op == "s" and len(args) == 2:
        form = await svc.set_score(session, clock, round_id, person, index, args[1])
        nxt = min(index + 1, len(form.criteria) - 1)
        reply = views.criterion_card(form, nxt) if index + 1 < len(form.criteria) else views.summary(form)
        await state.set_state(AssessForm.score)
        await state.update_data(round_id=round_id, index=nxt)
    elif op == "g":
        form = await svc.remember_position(session, clock, round_id, person, index)
        reply = views.criterion_card(form, index)
        await state.set_state(AssessForm.score)
        await state.update_data(round_id=round_id, index=index)
    elif op == "c":
        form = await svc.clear_score(session, clock, round_id, person, index)
        reply = views.criterion_card(form, index)
    elif op == "j":
        reply = views.jump_list(await svc.load_form(session, round_id, person))
    elif op == "n":
        form = await svc.load_form(session, round_id, person)
        svc.acceptance(form.round, form.bloc, clock.now())
        reply = views.note_prompt(form, index)
        await state.set_state(AssessForm.note)
        await state.update_data(round_id=round_id, index=index)
    elif op == "e":
        form = await svc.load_form(session, round_id, person)
        reply = views.evidence_screen(form, settings.max_upload_mb)
        await state.set_state(AssessForm.evidence)
        await state.update_data(round_id=round_id)
    elif op == "r" and args and args[0].isdigit():
        form = await svc.remove_evidence(session, clock, round_id, person, int(args[0]))
        reply = views.evidence_screen(form, settings.max_upload_mb)
    elif op == "m":
        reply = views.summary(await svc.load_form(session, round_id, person))
    elif op == "x":
        form, _version = await svc.submit(session, clock, round_id, person)
        await state.clear()
        reply = views.submitted(form, _version)
        await callback.answer()
        await edit(callback, reply, bot_username)
        await refresh_round_post(bot, session, form.round, bot_username)
        return
    elif op == "o":
        form = await svc.reopen(session, clock, round_id, person)
        reply = views.criterion_card(form, 0)
        await state.set_state(AssessForm.score)
        await state.update_data(round_id=round_id, index=0)
    else:
        raise UserError(_("This button is no longer valid."))
    await callback.answer()
    await edit(callback, reply, bot_username)


@private.message(AssessForm.score, F.text, ~F.text.startswith("/"))
async def typed_score(message: Message, state: FSMContext, session: AsyncSession, clock: Clock, person: Person,
                      bot_username: str) -> None:
    data = await state.get_data()
    round_id, index = data.get("round_id"), data.get("index", 0)
    form = await svc.set_score(session, clock, round_id, person, index, message.text)
    if index + 1 < len(form.criteria):
        await _show_card(message, state, form, index + 1, bot_username)
    else:
        await answer(message, views.summary(form), bot_username)


@private.message(AssessForm.note, F.text, ~F.text.startswith("/"))
async def typed_note(message: Message, state: FSMContext, session: AsyncSession, clock: Clock, person: Person,
                     bot_username: str) -> None:
    data = await state.get_data()
    round_id, index = data.get("round_id"), data.get("index", 0)
    text = "" if message.text.strip() == "-" else message.text
    form = await svc.set_note(session, clock, round_id, person, index, text)
    await _show_card(message, state, form, index, bot_username)


@private.message(StateFilter(AssessForm), F.document | F.photo)
async def evidence_file(message: Message, state: FSMContext, session: AsyncSession, clock: Clock, person: Person,
                        settings: Settings, bot_username: str) -> None:
    round_id = (await state.get_data()).get("round_id")
    if message.document is not None:
        doc = message.document
        file_id, unique, name, size = doc.file_id, doc.file_unique_id, doc.file_name or "", doc.file_size or 0
    else:
        photo = message.photo[-1]
        file_id, unique, size = photo.file_id, photo.file_unique_id, photo.file_size or 0
        name = f"anh_{photo.file_unique_id[:12]}.jpg"
    form, item = await svc.add_evidence(session, clock, round_id, person, file_id, unique, name, size,
                                        settings.max_upload_mb)
    await state.set_state(AssessForm.evidence)
    await answer(message, views.evidence_added(form, item.name, settings.max_upload_mb), bot_username)


@private.message(AssessForm.evidence, F.text, ~F.text.startswith("/"))
async def evidence_text(message: Message, settings: Settings) -> None:
    raise UserError(_("Send the evidence as a file (PDF, DOCX, XLSX, JPG or PNG), or press a button above."))


def make_router() -> Router:
    return combine("assessments", group.build(), private.build(), callbacks.build())
