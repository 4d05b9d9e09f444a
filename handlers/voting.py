"""Secret votes: /vote, /close, /results in the group; the ballot (`v_<poll>` deep link, /ballots) in
private; the closer loop (closes votes at their time, reminds units that have not voted).

Never log callback data or a selection here: a ballot's content must not sit next to a voter. The
selection in progress rides in the ballot's buttons (bot/conversations/ballot.py), never in FSM
storage; key shares ride in the committee members' buttons and live in the process's KeyVault."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.conversations import ballot as act
from bot.i18n import _, use_locale
from bot.outbox import kick_all
from bot.services import ballot_box, reminders
from bot.services import voting as svc
from bot.services.blocs import Member, require_representative
from bot.services.errors import NotAllowed, UserError
from bot.services.units import count_units
from bot.views import core as core_views
from bot.views import voting as views
from bot.views.base import Attachment, Reply, split_text
from handlers.filters import IN_GROUP, IN_PRIVATE, Act, need_bloc, need_manager
from bot.channels.telegram import answer, edit, edit_message, send
from handlers.routing import Routes, combine
from storage.models import Bloc, Person, Poll

log = logging.getLogger(__name__)
group = Routes("voting_group", message=IN_GROUP)
private = Routes("voting_private", message=IN_PRIVATE)
callbacks = Routes("voting_callbacks")

CLOSER_INTERVAL = 15.0  # seconds between two looks at the database for due votes
DIALOG_CLOSE = {"m": None, "1h": timedelta(hours=1), "24h": timedelta(hours=24), "3d": timedelta(days=3)}


_manager = need_manager  # shared check, handlers/filters.py


# -- the group card -------------------------------------------------------------------------------

async def _card(session: AsyncSession, clock: Clock, bloc: Bloc, poll: Poll, vault: ballot_box.KeyVault | None):
    voted, eligible = await svc.turnout(session, poll)
    names = await svc.committee_names(session, poll)
    await session.commit()
    return views.card(bloc, poll, voted, eligible, clock.now(), names, vault.count(poll.id) if vault else 0)


async def post_card(bot: Bot, session: AsyncSession, clock: Clock, poll: Poll, bot_username: str) -> None:
    bloc = await session.get(Bloc, poll.bloc_id)
    with use_locale(bloc.locale):
        sent = await send(bot, bloc.chat_id, await _card(session, clock, bloc, poll, None), bot_username)
    if sent is not None:
        await svc.set_group_message(session, poll.id, sent.message_id)


async def refresh_card(bot: Bot, session: AsyncSession, clock: Clock, poll_id: int, bot_username: str,
                       vault: ballot_box.KeyVault | None = None) -> None:
    """Keep the turnout line current (an edit that changes nothing is fine). A card too long for one
    message was sent in parts and its id is the last part's: the edit writes that last part only."""
    poll = await svc.get_poll(session, poll_id)
    if poll.group_message_id is None:
        return
    bloc = await session.get(Bloc, poll.bloc_id)
    with use_locale(bloc.locale):
        full = await _card(session, clock, bloc, poll, vault)
    reply = Reply(split_text(full.text)[-1], full.actions)
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


async def announce_closed(bot: Bot, session: AsyncSession, clock: Clock, poll: Poll, bot_username: str,
                          vault: ballot_box.KeyVault | None = None) -> None:
    """A sealed box was locked: the card says so and the committee is asked for its keys. A counted
    (or pre-seal) vote: the results go to the group."""
    bloc = await session.get(Bloc, poll.bloc_id)
    with use_locale(bloc.locale):
        await refresh_card(bot, session, clock, poll.id, bot_username, vault)
        if poll.status == "locked":
            await ask_committee(session, clock, bloc, poll, "locked")
            return
        reply = await results_reply(session, poll)
        await send(bot, bloc.chat_id, reply, bot_username)


async def ask_committee(session: AsyncSession, clock: Clock, bloc: Bloc, poll: Poll, event: str,
                        skip_seats: set[int] = frozenset()) -> int:
    """Remind the committee members (through the outbox: rate-limited, once per event) to hand back
    their keys. The reminder carries no key: the server has none."""
    targets = [(p, u) for p, u, entry in await svc.committee_people(session, poll) if entry["seat"] not in skip_seats]
    queued = await reminders.queue_now(session, clock, bloc, "vote", poll.id, f"keys-{event}",
                                       [(p, u) for p, u in targets if u is not None],
                                       lambda unit: views.committee_reminder(bloc, poll))
    if queued:
        kick_all()
    return queued


async def deliver_shares(bot: Bot, session: AsyncSession, opened: svc.Opened, member: Member, clock: Clock,
                         bot_username: str) -> bool:
    """Hand each committee member their key share in private, then forget it. If one cannot be
    reached the vote is cancelled at once (a box that could never be opened must not collect
    ballots) and the head is told who."""
    poll, bloc = opened.poll, member.bloc
    sent: dict[int, tuple[int, int]] = {}
    failed: list[str] = []
    for seat in opened.seats:
        with use_locale(reminders.person_locale(seat.person, bloc)):
            reply = views.share_message(bloc, poll, seat.seat, seat.share)
        try:
            message = await send(bot, seat.person.external_id, reply, bot_username)
            sent[seat.seat] = (seat.person.external_id, message.message_id)
        except (TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter):
            failed.append(seat.person.full_name)
        seat.share = b""
    opened.seats.clear()
    if failed:
        await svc.cancel_vote(session, clock, poll.id, member)
        for chat_id, message_id in sent.values():
            await _spend_key_message(bot, chat_id, message_id, views.key_spent(poll), bot_username)
        raise UserError(views.committee_unreachable(failed).text)
    await svc.record_share_messages(session, poll.id, sent)
    return True


async def _spend_key_message(bot: Bot, chat_id: int, message_id: int, reply: Reply, bot_username: str) -> None:
    try:
        await edit_message(bot, chat_id, message_id, reply, bot_username)
    except (TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter) as err:
        log.info("key message not updated: %s", type(err).__name__)


async def open_and_post(bot: Bot, session: AsyncSession, clock: Clock, opened: svc.Opened, member: Member,
                        bot_username: str) -> None:
    await deliver_shares(bot, session, opened, member, clock, bot_username)
    await post_card(bot, session, clock, opened.poll, bot_username)


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
        if not when.strip():
            raise UserError(_("Write the vote number and the new closing time: <code>/vote extend 3 18:00 26/12/2026</code>"))
        spec = svc.parse_vote_line("flag " + when, member.bloc, clock.now())
        if spec.closing_at is None:
            raise UserError(_("Write the vote number and the new closing time: <code>/vote extend 3 18:00 26/12/2026</code>"))
        poll = await svc.poll_in_bloc(session, member.bloc, number, "open")
        poll = await svc.extend_vote(session, clock, poll.id, member, spec.closing_at)
        await answer(message, views.extended(member.bloc, poll), bot_username)
        await refresh_card(bot, session, clock, poll.id, bot_username)
        return
    if word.casefold() in ("cancel", "huy", "hủy"):
        poll = await svc.poll_in_bloc(session, member.bloc, rest.strip() or None, "unfinished")
        await answer(message, views.cancel_confirm(poll), bot_username)
        return
    spec = svc.parse_vote_line(args, member.bloc, clock.now())
    opened = await svc.open_vote(session, clock, member, spec)
    await open_and_post(bot, session, clock, opened, member, bot_username)


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

@callbacks.callback_query(Act(act.OpenDialog))
async def dialog(callback: CallbackQuery, action: act.OpenDialog, session: AsyncSession, clock: Clock,
                 bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    member = _manager(bloc, member)
    if action.kind not in svc.UNIT_KINDS or (action.close is not None and action.close not in DIALOG_CLOSE) \
            or (action.n is not None and not 1 <= action.n <= svc.MAX_OPTIONS):
        raise UserError(_("This button is no longer valid."))
    if action.n is None and action.kind == "merit":
        await edit(callback, views.dialog_count(action.kind, await count_units(session, member.bloc.id)), bot_username)
    elif action.close is None:
        await edit(callback, views.dialog_close(action.kind, action.n or 1), bot_username)
    else:
        delta = DIALOG_CLOSE[action.close]
        spec = svc.VoteSpec(kind=action.kind, max_choices=action.n, closing_at=clock.now() + delta if delta else None)
        opened = await svc.open_vote(session, clock, member, spec)
        await callback.answer()
        await edit(callback, Reply(_("✅ Vote #{number} is open.").format(number=opened.poll.id)), bot_username)
        await open_and_post(bot, session, clock, opened, member, bot_username)
        return
    await callback.answer()


# -- closing, cancelling, runoff (group buttons): every one checks rights and the vote's bloc ---------

async def _managed_poll(session: AsyncSession, bloc: Bloc | None, member: Member | None, poll_id: int):
    member = _manager(bloc, member)
    poll = await svc.get_poll(session, poll_id)
    if poll.bloc_id != member.bloc.id:
        raise UserError(_("There is no vote number {number} in this bloc.").format(number=poll_id))
    return member, poll


@callbacks.callback_query(Act(act.CloseNow))
async def close_button(callback: CallbackQuery, action: act.CloseNow, session: AsyncSession, clock: Clock,
                       bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str,
                       vault: ballot_box.KeyVault) -> None:
    member, _poll = await _managed_poll(session, bloc, member, action.poll)
    poll = await svc.close_vote(session, clock, action.poll, member)
    await callback.answer()
    if poll is None:
        await edit(callback, views.already_closed(), bot_username)
        return
    await edit(callback, Reply(_("🔒 Vote #{number} is closed.").format(number=poll.id)), bot_username)
    await announce_closed(bot, session, clock, poll, bot_username, vault)


@callbacks.callback_query(Act(act.CancelAsk))
async def cancel_ask(callback: CallbackQuery, action: act.CancelAsk, session: AsyncSession, bloc: Bloc | None,
                     member: Member | None, bot_username: str) -> None:
    _member, poll = await _managed_poll(session, bloc, member, action.poll)
    await callback.answer()
    await edit(callback, views.cancel_confirm(poll), bot_username)


@callbacks.callback_query(Act(act.CancelYes))
async def cancel_button(callback: CallbackQuery, action: act.CancelYes, session: AsyncSession, clock: Clock,
                        bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str,
                        vault: ballot_box.KeyVault) -> None:
    member, _poll = await _managed_poll(session, bloc, member, action.poll)
    poll = await svc.cancel_vote(session, clock, action.poll, member)
    vault.forget(poll.id)
    await callback.answer()
    await edit(callback, views.cancelled(poll), bot_username)
    await refresh_card(bot, session, clock, poll.id, bot_username)


@callbacks.callback_query(Act(act.KeepOpen))
async def keep_open(callback: CallbackQuery, action: act.KeepOpen, session: AsyncSession, bloc: Bloc | None,
                    member: Member | None, bot_username: str) -> None:
    await _managed_poll(session, bloc, member, action.poll)
    await callback.answer()
    await edit(callback, views.kept_open(), bot_username)


@callbacks.callback_query(Act(act.Runoff))
async def runoff_button(callback: CallbackQuery, action: act.Runoff, session: AsyncSession, clock: Clock,
                        bloc: Bloc | None, member: Member | None, bot: Bot, bot_username: str) -> None:
    member, _poll = await _managed_poll(session, bloc, member, action.poll)
    opened = await svc.open_runoff(session, clock, action.poll, member)
    await callback.answer()
    await open_and_post(bot, session, clock, opened, member, bot_username)


@group.message(Command("open", "mohom"))
async def cmd_open_status(message: Message, command: CommandObject, session: AsyncSession, bloc: Bloc | None,
                          member: Member | None, bot_username: str, vault: ballot_box.KeyVault) -> None:
    """Who of the counting committee has not handed back a key yet (this instance's view)."""
    member = _manager(bloc, member)
    poll = await svc.poll_in_bloc(session, member.bloc, (command.args or "").strip() or None, "locked")
    if poll.status != "locked":
        raise UserError(_("No ballot box is waiting to be opened."))
    have = vault.indexes(poll.id)
    missing = [f"{p.full_name} ({u.name})" if u else p.full_name
               for p, u, entry in await svc.committee_people(session, poll) if entry["seat"] not in have]
    await answer(message, Reply(views.waiting_keys(poll, missing, len(have))), bot_username)


# -- the private ballot ------------------------------------------------------------------------------

def _private_only(callback: CallbackQuery) -> None:
    """Ballot and key buttons work only in the presser's own private chat with the bot."""
    chat = callback.message.chat if callback.message else None
    if chat is None or chat.type != "private" or chat.id != callback.from_user.id:
        raise UserError(_("For a secret ballot, vote in our private chat: press “Vote” under the vote card."))


async def _voter(session: AsyncSession, clock: Clock, poll_id: int, person: Person,
                 member: Member | None = None) -> svc.Voter:
    voter = await svc.voter_for(session, clock, poll_id, person, member)
    if await svc.has_voted(session, poll_id, voter.member.unit.id):
        raise svc.already_voted()
    return voter


@private.message(CommandStart(deep_link=True, magic=F.args.startswith(svc.PAYLOAD_PREFIX)))
async def start_ballot(message: Message, command: CommandObject, session: AsyncSession, clock: Clock,
                       person: Person, member: Member | None, bot_username: str) -> None:
    poll_id = svc.parse_payload(command.args)
    voter = await svc.voter_for(session, clock, poll_id, person, member)
    if await svc.has_voted(session, poll_id, voter.member.unit.id):
        await answer(message, views.already_voted(voter.bloc, voter.poll, voter.member.unit), bot_username)
        return
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


@callbacks.callback_query(Act(act.Tick))
async def toggle_button(callback: CallbackQuery, action: act.Tick, session: AsyncSession, clock: Clock,
                        person: Person, member: Member | None, bot_username: str) -> None:
    _private_only(callback)
    voter = await _voter(session, clock, action.poll, person, member)
    current = act.selection(action.mask, len(voter.poll.options))
    selection = svc.toggle(voter.poll, current, action.index, voter.member.unit.id)
    await callback.answer()
    await edit(callback, views.ballot(voter.bloc, voter.poll, voter.member.unit, selection), bot_username)


@callbacks.callback_query(Act(act.Review, act.Change))
async def confirm_button(callback: CallbackQuery, action: act.Review | act.Change, session: AsyncSession,
                         clock: Clock, person: Person, member: Member | None, bot_username: str) -> None:
    _private_only(callback)
    voter = await _voter(session, clock, action.poll, person, member)
    selection = act.selection(action.mask, len(voter.poll.options))
    unit = voter.member.unit
    if isinstance(action, act.Change):
        await callback.answer()
        await edit(callback, views.ballot(voter.bloc, voter.poll, unit, selection), bot_username)
        return
    svc.check_choices(voter.poll, selection, unit.id)
    await callback.answer()
    await edit(callback, views.confirm(voter.bloc, voter.poll, unit, selection), bot_username)


@callbacks.callback_query(Act(act.Cast))
async def cast_button(callback: CallbackQuery, action: act.Cast, session: AsyncSession, clock: Clock,
                      person: Person, member: Member | None, bot: Bot, bot_username: str) -> None:
    _private_only(callback)
    poll = await svc.get_poll(session, action.poll)
    selection = act.selection(action.mask, len(poll.options))
    receipt = await svc.cast(session, clock, action.poll, person, selection, member)
    await callback.answer()
    await edit(callback, views.cast_done(receipt), bot_username)
    await refresh_card(bot, session, clock, action.poll, bot_username)


# -- the counting committee hands back its keys -------------------------------------------------------

async def _hand_back(bot: Bot, session: AsyncSession, clock: Clock, vault: ballot_box.KeyVault, person: Person,
                     poll_id: int, seat: int, share: bytes | None, bot_username: str) -> Reply:
    if share is None:
        raise UserError(_("This is not a key of the ballot box of vote #{number}.").format(number=poll_id))
    handed = await svc.hand_back(session, clock, vault, poll_id, seat, share, person)
    if not handed.counted:
        await refresh_card(bot, session, clock, poll_id, bot_username, vault)
        return views.key_received(handed.poll, handed.have, handed.need)
    poll = handed.poll
    await announce_closed(bot, session, clock, poll, bot_username, vault)
    for entry in poll.committee:  # the keys open nothing now: take their buttons and codes away
        if entry.get("message_id"):
            await _spend_key_message(bot, entry["chat_id"], entry["message_id"], views.key_spent(poll), bot_username)
    return views.key_received(poll, handed.have, handed.need)


@callbacks.callback_query(Act(act.HandKey))
async def key_button(callback: CallbackQuery, action: act.HandKey, session: AsyncSession, clock: Clock,
                     person: Person, bot: Bot, bot_username: str, vault: ballot_box.KeyVault) -> None:
    _private_only(callback)
    share = ballot_box.share_from_token(action.token)
    reply = await _hand_back(bot, session, clock, vault, person, action.poll, action.seat, share, bot_username)
    await callback.answer()
    await send(bot, callback.from_user.id, reply, bot_username)


@private.message(F.text.regexp(ballot_box.SHARE_CODE))
async def key_typed(message: Message, session: AsyncSession, clock: Clock, person: Person, bot: Bot,
                    bot_username: str, vault: ballot_box.KeyVault) -> None:
    parsed = ballot_box.parse_share_code(message.text)
    if parsed is None:
        raise UserError(_("This is not a key of a ballot box."))
    poll_id, seat, share = parsed
    reply = await _hand_back(bot, session, clock, vault, person, poll_id, seat, share, bot_username)
    await answer(message, reply, bot_username)


# -- the closer: votes close at their time; units that have not voted are reminded first ----------

async def queue_vote_reminders(session: AsyncSession, clock: Clock, job: svc.ReminderJob) -> int:
    """Queue "you have not voted yet" in the outbox for each representative of a unit that has not
    voted (once per vote and person); the worker sends them through the shared rate limiter."""
    return await reminders.queue_now(session, clock, job.bloc, "vote", job.poll.id, "remind", job.recipients,
                                     lambda unit: views.reminder(job.bloc, job.poll, unit))


async def tick(app, bot: Bot) -> int:
    """One pass: queue reminders, then close every vote whose time has come. Returns the number closed."""
    clock, username = app.clock, app.dp.get("bot_username", "")
    vault: ballot_box.KeyVault = app.dp["vault"]
    asked: set[int] = app.extras.setdefault("committee_asked", set())
    async with app.db.session() as session:
        queued = 0
        for job in await svc.claim_reminders(session, clock):
            queued += await queue_vote_reminders(session, clock, job)
        if queued:
            kick_all()
        due = await svc.due_polls(session, clock.now())
        # After a restart the shares handed back are gone with the old process: ask the committee again.
        for poll in await svc.all_locked_polls(session):
            if poll.id not in asked and vault.count(poll.id) == 0:
                asked.add(poll.id)
                bloc = await session.get(Bloc, poll.bloc_id)
                with use_locale(bloc.locale):
                    await ask_committee(session, clock, bloc, poll, f"boot-{app.extras.setdefault('boot', id(app))}")
        await session.commit()
    closed = 0
    for poll_id in due:
        async with app.db.session() as session:
            poll = await svc.close_vote(session, clock, poll_id)
            if poll is None:
                continue  # another closer (instance, /close) got there first
            closed += 1
            asked.add(poll.id)
            try:
                await announce_closed(bot, session, clock, poll, username, vault)
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
