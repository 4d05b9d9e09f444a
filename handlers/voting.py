"""Secret votes: /vote, /close, /results in the group; the ballot (`v_<poll>` deep link, /ballots) in
private; the closer loop (closes votes at their time, reminds units that have not voted).

Never log callback data or a selection here: a ballot's content must not sit next to a voter."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.i18n import _, use_locale
from bot.outbox import kick_all
from bot.services import reminders
from bot.services import voting as svc
from bot.services.blocs import Member, require_representative
from bot.services.errors import NotAllowed, UserError
from bot.services.units import count_units
from bot.views import core as core_views
from bot.views import voting as views
from bot.views.base import Attachment, Reply
from handlers.filters import IN_GROUP, IN_PRIVATE, need_bloc, need_manager
from handlers.reply import answer, edit, edit_message, send
from handlers.routing import Routes, combine
from storage.models import Bloc, Person, Poll

log = logging.getLogger(__name__)
group = Routes("voting_group", message=IN_GROUP)
private = Routes("voting_private", message=IN_PRIVATE)
callbacks = Routes("voting_callbacks")

FSM_KEY = "ballot"  # {"poll": id, "sel": [indexes], "checked": bool}; removed at cast
CLOSER_INTERVAL = 15.0  # seconds between two looks at the database for due votes
DIALOG_CLOSE = {"m": None, "1h": timedelta(hours=1), "24h": timedelta(hours=24), "3d": timedelta(days=3)}


_manager = need_manager  # shared check, handlers/filters.py


# -- the group card -------------------------------------------------------------------------------

async def post_card(bot: Bot, session: AsyncSession, clock: Clock, poll: Poll, bot_username: str) -> None:
    bloc = await session.get(Bloc, poll.bloc_id)
    voted, eligible = await svc.turnout(session, poll)
    await session.commit()
    with use_locale(bloc.locale):
        sent = await send(bot, bloc.chat_id, views.card(bloc, poll, voted, eligible, clock.now()), bot_username)
    if sent is not None:
        await svc.set_group_message(session, poll.id, sent.message_id)


async def refresh_card(bot: Bot, session: AsyncSession, clock: Clock, poll_id: int, bot_username: str) -> None:
    """Keep the turnout line current (an edit that changes nothing is fine)."""
    poll = await svc.get_poll(session, poll_id)
    if poll.group_message_id is None:
        return
    bloc = await session.get(Bloc, poll.bloc_id)
    voted, eligible = await svc.turnout(session, poll)
    await session.commit()
    with use_locale(bloc.locale):
        reply = views.card(bloc, poll, voted, eligible, clock.now())
    try:
        await edit_message(bot, bloc.chat_id, poll.group_message_id, reply, bot_username)
    except (TelegramBadRequest, TelegramRetryAfter) as err:
        # Group edits are rate-limited; the ballot is already in the box and the next cast or the
        # close updates the card again, so a refused edit is only logged.
        log.info("vote card not updated: %s", err.message)


# -- announcing results -----------------------------------------------------------------------------

async def _render(out: svc.Outcome) -> list[Attachment]:
    """Chart PNG and minutes DOCX from the renderers (bot/render); a failure there never blocks the result."""
    try:
        from bot.render.chart import render_chart
        from bot.render.minutes import render_minutes

        sheet = views.result_sheet(out)
        png = await asyncio.to_thread(render_chart, sheet)
        docx = await asyncio.to_thread(render_minutes, sheet)
    except Exception:
        log.exception("vote #%s: rendering the chart or the minutes failed", out.poll.id)
        return []
    return [Attachment(f"ket-qua-bo-phieu-{out.poll.id}.png", png, kind="photo"),
            Attachment(f"bien-ban-kiem-phieu-{out.poll.id}.docx", docx, kind="document")]


async def results_reply(session: AsyncSession, poll: Poll) -> Reply:
    out = await svc.outcome(session, poll)
    reply = views.results(out)
    reply.attachments = await _render(out)
    if poll.publish_board:
        data = await svc.board(session, poll)
        reply.attachments.append(Attachment(f"bien-lai-phieu-{poll.id}.csv", data, caption=views.board_caption(poll)))
    await session.commit()
    return reply


async def announce_closed(bot: Bot, session: AsyncSession, clock: Clock, poll: Poll, bot_username: str) -> None:
    bloc = await session.get(Bloc, poll.bloc_id)
    with use_locale(bloc.locale):
        await refresh_card(bot, session, clock, poll.id, bot_username)
        reply = await results_reply(session, poll)
        await send(bot, bloc.chat_id, reply, bot_username)


# -- group commands ---------------------------------------------------------------------------------

@group.message(Command("vote"))
async def cmd_vote(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                   bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    args = (command.args or "").strip()
    if not args:
        await answer(message, views.dialog_kind(), bot_username)
        return
    word, _sep, rest = args.partition(" ")
    if word.casefold() in ("extend", "giahan", "gia-han"):
        number, _sep, when = rest.strip().partition(" ")
        spec = svc.parse_vote_line("flag " + when, member.bloc, clock.now())
        if not when.strip() or spec.question:
            raise UserError(_("Write the vote number and the new closing time: <code>/vote extend 3 18:00 26/12/2026</code>"))
        poll = await svc.poll_in_bloc(session, member.bloc, number, "open")
        poll = await svc.extend_vote(session, clock, poll.id, member, spec.closing_at)
        await answer(message, views.extended(member.bloc, poll), bot_username)
        await refresh_card(bot, session, clock, poll.id, bot_username)
        return
    if word.casefold() in ("cancel", "huy", "hủy"):
        poll = await svc.poll_in_bloc(session, member.bloc, rest.strip() or None, "open")
        await answer(message, views.cancel_confirm(poll), bot_username)
        return
    spec = svc.parse_vote_line(args, member.bloc, clock.now())
    poll = await svc.open_vote(session, clock, member, spec)
    await post_card(bot, session, clock, poll, bot_username)


@group.message(Command("close"))
async def cmd_close(message: Message, command: CommandObject, session: AsyncSession, bloc: Bloc | None,
                    member: Member | None, bot_username: str) -> None:
    member = _manager(bloc, member)
    poll = await svc.poll_in_bloc(session, member.bloc, (command.args or "").strip() or None, "open")
    voted, eligible = await svc.turnout(session, poll)
    await answer(message, views.close_confirm(member.bloc, poll, voted, eligible), bot_username)


@group.message(Command("results"))
async def cmd_results(message: Message, command: CommandObject, session: AsyncSession, bloc: Bloc | None,
                      bot_username: str) -> None:
    bloc = need_bloc(bloc)
    arg = (command.args or "").strip()
    if arg.casefold() in ("all", "list", "tatca", "tất-cả"):
        await answer(message, views.results_list(bloc, await svc.closed_polls(session, bloc.id)), bot_username)
        return
    poll = await svc.poll_in_bloc(session, bloc, arg or None, "closed")
    if poll.status != "closed":
        raise UserError(_("Results are shown only after the vote is closed."))
    await answer(message, await results_reply(session, poll), bot_username)


@group.message(Command("ballots"))
async def ballots_in_group(message: Message, bot_username: str) -> None:
    await answer(message, views.vote_in_private(), bot_username)


# -- opening dialog (group buttons) -------------------------------------------------------------------

@callbacks.callback_query(F.data.startswith("vo:"))
async def dialog(callback: CallbackQuery, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                 member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    parts = callback.data.split(":")
    kind = parts[1] if len(parts) > 1 else ""
    if kind not in svc.UNIT_KINDS or len(parts) > 4:
        raise UserError(_("This button is no longer valid."))
    if len(parts) == 2 and kind == "merit":
        await edit(callback, views.dialog_count(kind, await count_units(session, member.bloc.id)), bot_username)
    elif len(parts) == 2:
        await edit(callback, views.dialog_close(kind, 1), bot_username)
    elif len(parts) == 3:
        if not parts[2].isdigit():
            raise UserError(_("This button is no longer valid."))
        await edit(callback, views.dialog_close(kind, int(parts[2])), bot_username)
    else:
        if not parts[2].isdigit() or parts[3] not in DIALOG_CLOSE:
            raise UserError(_("This button is no longer valid."))
        delta = DIALOG_CLOSE[parts[3]]
        spec = svc.VoteSpec(kind=kind, max_choices=int(parts[2]),
                            closing_at=clock.now() + delta if delta else None)
        poll = await svc.open_vote(session, clock, member, spec)
        await callback.answer()
        await edit(callback, Reply(_("✅ Vote #{number} is open.").format(number=poll.id)), bot_username)
        await post_card(bot, session, clock, poll, bot_username)
        return
    await callback.answer()


# -- closing, cancelling, runoff (group buttons) -----------------------------------------------------

def _poll_id(data: str) -> int:
    raw = data.split(":", 1)[1] if ":" in data else ""
    if not raw.isdigit():
        raise UserError(_("This button is no longer valid."))
    return int(raw)


@callbacks.callback_query(F.data.startswith("vz:"))
async def close_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                       member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    poll = await svc.close_vote(session, clock, _poll_id(callback.data), member)
    await callback.answer()
    if poll is None:
        await edit(callback, views.already_closed(), bot_username)
        return
    await edit(callback, Reply(_("🔒 Vote #{number} is closed.").format(number=poll.id)), bot_username)
    await announce_closed(bot, session, clock, poll, bot_username)


@callbacks.callback_query(F.data.startswith("vq:"))
async def cancel_ask(callback: CallbackQuery, session: AsyncSession, bloc: Bloc | None, member: Member | None,
                     bot_username: str) -> None:
    member = _manager(bloc, member)
    poll = await svc.get_poll(session, _poll_id(callback.data))
    await callback.answer()
    await edit(callback, views.cancel_confirm(poll), bot_username)


@callbacks.callback_query(F.data.startswith("vQ:"))
async def cancel_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                        member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    poll = await svc.cancel_vote(session, clock, _poll_id(callback.data), member)
    await callback.answer()
    await edit(callback, views.cancelled(poll), bot_username)
    await refresh_card(bot, session, clock, poll.id, bot_username)


@callbacks.callback_query(F.data == "vn")
async def keep_open(callback: CallbackQuery, bot_username: str) -> None:
    await callback.answer()
    await edit(callback, views.kept_open(), bot_username)


@callbacks.callback_query(F.data.startswith("vr:"))
async def runoff_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                        member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    poll = await svc.open_runoff(session, clock, _poll_id(callback.data), member)
    await callback.answer()
    await post_card(bot, session, clock, poll, bot_username)


# -- the private ballot ------------------------------------------------------------------------------

async def _selection(state: FSMContext, poll_id: int) -> dict | None:
    data = (await state.get_data()).get(FSM_KEY)
    return data if data and data.get("poll") == poll_id else None


async def _forget(state: FSMContext) -> None:
    """Drop the selection: after casting, nothing on our side remembers what this person chose."""
    data = await state.get_data()
    data.pop(FSM_KEY, None)
    if data or await state.get_state() is not None:
        await state.set_data(data)
    else:
        await state.clear()


async def _voter(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
                 member: Member | None = None) -> svc.Voter:
    voter = await svc.voter_for(session, clock, poll_id, person, member)
    if await svc.has_voted(session, poll_id, voter.member.unit.id):
        raise svc.already_voted()
    return voter


@private.message(CommandStart(deep_link=True, magic=F.args.startswith(svc.PAYLOAD_PREFIX)))
async def start_ballot(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                       person: Person, member: Member | None, state: FSMContext, bot_username: str) -> None:
    poll_id = svc.parse_payload(command.args)
    voter = await svc.voter_for(session, clock, poll_id, person, member)
    if await svc.has_voted(session, poll_id, voter.member.unit.id):
        await answer(message, views.already_voted(voter.bloc, voter.poll, voter.member.unit), bot_username)
        return
    await state.update_data({FSM_KEY: {"poll": poll_id, "sel": [], "checked": False}})
    await answer(message, views.ballot(voter.bloc, voter.poll, voter.member.unit, []), bot_username)


@private.message(Command("ballots"))
async def cmd_ballots(message: Message, session: AsyncSession, clock: Clock, bloc: Bloc | None,
                      member: Member | None, bot_username: str) -> None:
    if bloc is None or member is None:
        raise NotAllowed(_("You are not a member of any bloc yet. Open the join link your bloc head sent you."))
    unit = require_representative(member)
    rows = await svc.polls_for_unit(session, clock, bloc, unit)
    await answer(message, views.my_ballots(bloc, unit, rows), bot_username)


@private.message(Command("vote", "close", "results"))
async def group_command_in_private(message: Message, bot_username: str) -> None:
    await answer(message, core_views.group_only(), bot_username)


@callbacks.callback_query(F.data.startswith("vt:"))
async def toggle_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, person: Person,
                        member: Member | None, state: FSMContext, bot_username: str) -> None:
    parts = callback.data.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise UserError(_("This button is no longer valid."))
    poll_id, index = int(parts[1]), int(parts[2])
    voter = await _voter(session, clock, poll_id, person, member)
    current = await _selection(state, poll_id) or {"poll": poll_id, "sel": []}
    selection = svc.toggle(voter.poll, current["sel"], index, voter.member.unit.id)
    await state.update_data({FSM_KEY: {"poll": poll_id, "sel": selection, "checked": False}})
    await callback.answer()
    await edit(callback, views.ballot(voter.bloc, voter.poll, voter.member.unit, selection), bot_username)


@callbacks.callback_query(F.data.startswith("vc:") | F.data.startswith("ve:"))
async def confirm_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, person: Person,
                         member: Member | None, state: FSMContext, bot_username: str) -> None:
    poll_id = _poll_id(callback.data)
    voter = await _voter(session, clock, poll_id, person, member)
    current = await _selection(state, poll_id) or {"poll": poll_id, "sel": []}
    unit = voter.member.unit
    await callback.answer()
    if callback.data.startswith("ve:"):
        await state.update_data({FSM_KEY: {**current, "checked": False}})
        await edit(callback, views.ballot(voter.bloc, voter.poll, unit, current["sel"]), bot_username)
        return
    svc.check_choices(voter.poll, current["sel"], unit.id)
    await state.update_data({FSM_KEY: {**current, "checked": True}})
    await edit(callback, views.confirm(voter.bloc, voter.poll, unit, current["sel"]), bot_username)


@callbacks.callback_query(F.data.startswith("vk:"))
async def cast_button(callback: CallbackQuery, session: AsyncSession, clock: Clock, person: Person,
                      member: Member | None, state: FSMContext, bot: Bot, bot_username: str) -> None:
    poll_id = _poll_id(callback.data)
    current = await _selection(state, poll_id)
    if current is None or not current.get("checked"):
        # No confirmed selection (a replayed button after casting, or a restart): say why.
        voter = await _voter(session, clock, poll_id, person, member)  # already voted -> "Đơn vị đã bỏ phiếu"
        await callback.answer()
        await edit(callback, views.ballot(voter.bloc, voter.poll, voter.member.unit,
                                          current["sel"] if current else []), bot_username)
        return
    try:
        receipt = await svc.cast(session, clock, poll_id, person, current["sel"], member)
    finally:
        await _forget(state)
    await callback.answer()
    await edit(callback, views.cast_done(receipt), bot_username)
    await refresh_card(bot, session, clock, poll_id, bot_username)


# -- the closer: votes close at their time; units that have not voted are reminded first ----------

async def queue_vote_reminders(session: AsyncSession, clock: Clock, job: svc.ReminderJob) -> int:
    """Queue "you have not voted yet" in the outbox for each representative of a unit that has not
    voted (once per vote and person); the worker sends them through the shared rate limiter."""
    return await reminders.queue_now(session, clock, job.bloc, "vote", job.poll.id, "remind", job.recipients,
                                     lambda unit: views.reminder(job.bloc, job.poll, unit))


async def tick(app, bot: Bot) -> int:
    """One pass: queue reminders, then close every vote whose time has come. Returns the number closed."""
    clock, username = app.clock, app.dp.get("bot_username", "")
    async with app.db.session() as session:
        queued = 0
        for job in await svc.claim_reminders(session, clock):
            queued += await queue_vote_reminders(session, clock, job)
        if queued:
            kick_all()
        due = await svc.due_polls(session, clock.now())
        await session.commit()
    closed = 0
    for poll_id in due:
        async with app.db.session() as session:
            poll = await svc.close_vote(session, clock, poll_id)
            if poll is None:
                continue  # another closer (instance, /close) got there first
            closed += 1
            try:
                await announce_closed(bot, session, clock, poll, username)
            except Exception:
                log.exception("vote #%s closed but the announcement failed; /results shows it", poll_id)
    return closed


async def _loop(app, bot: Bot, interval: float) -> None:
    while True:
        try:
            await tick(app, bot)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("vote closer pass failed; the next pass retries")
        await asyncio.sleep(interval)


async def start_closer(app, bot: Bot) -> None:
    app.extras["vote_closer"] = asyncio.create_task(_loop(app, bot, CLOSER_INTERVAL), name="vote-closer")


async def stop_closer(app, bot: Bot) -> None:
    task = app.extras.pop("vote_closer", None)
    if task is not None:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass


def install(dp) -> None:
    """Register the closer's start/stop hooks once per Dispatcher (bot/runner.py runs them)."""
    if start_closer not in dp.get("startup_hooks", []):
        dp["startup_hooks"] = [*dp.get("startup_hooks", []), start_closer]
        dp["shutdown_hooks"] = [*dp.get("shutdown_hooks", []), stop_closer]


def make_router() -> Router:
    return combine("voting", group.build(), private.build(), callbacks.build())
