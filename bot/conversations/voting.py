"""Secret votes: /vote, /close, /results in the group; the ballot (`v_<poll>` deep link, /ballots) in
private; the closer job (closes votes at their time, reminds units that have not voted). No aiogram.

Never log an action's data or a selection here: a ballot's content must not sit next to a voter. The
selection in progress rides in the ballot's buttons (bot/conversations/ballot.py), never in dialog
state; key shares ride in the committee members' messages and live in the process's KeyVault.
The counting committee's keys: bot/conversations/voting_keys.py."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.conversations import ballot as act
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
    MemoryStates,
    Out,
    Outcome,
    ToGroup,
    ToPerson,
    edit,
    say,
)
from bot.conversations.guards import need_bloc, need_manager, need_member
from bot.i18n import _, use_locale
from bot.services import ballot_box, reminders
from bot.services import voting as svc
from bot.services.blocs import Member, bloc_of, require_representative
from bot.services.errors import UserError
from bot.services.units import count_units
from bot.services.voting.polls import status_probe as poll_probe
from bot.views import core as core_views
from bot.views import voting as views
from bot.views.base import Attachment, Reply
from storage.models import Bloc, Person, Poll

log = logging.getLogger(__name__)
conv = Conversations("voting")
CARD = "vote"
KEY_CARD = "vote_key"  # a committee member's key message, edited once the key opens nothing
SEATS = 1000  # a key message's card id: poll * SEATS + seat
CLOSER_INTERVAL = 15.0  # seconds between two looks at the database for due votes
DIALOG_CLOSE = {"m": None, "1h": timedelta(hours=1), "24h": timedelta(hours=24), "3d": timedelta(days=3)}


# -- the group card, kept current ----------------------------------------------------------------------
async def _render_card(ctx: Ctx, poll_id: int) -> CardView | None:
    poll = await ctx.session.get(Poll, poll_id)
    if poll is None:
        return None
    bloc = await bloc_of(ctx.session, poll.bloc_id)
    voted, eligible = await svc.turnout(ctx.session, poll)
    names = await svc.committee_names(ctx.session, poll)
    with use_locale(bloc.locale):
        reply = views.card(bloc, poll, voted, eligible, ctx.clock.now(), names, ctx.vault.count(poll.id))
    return CardView(bloc, reply, poll.group_message_id)


async def _remember_card(ctx: Ctx, poll_id: int, message_id: int) -> None:
    await svc.set_group_message(ctx.session, poll_id, message_id)


async def _render_key(ctx: Ctx, key_id: int) -> CardView | None:
    """A key message once its key opens nothing (counted, or the vote cancelled): no button, no code."""
    poll = await ctx.session.get(Poll, key_id // SEATS)
    entry = svc.seat_of(poll, key_id % SEATS) if poll is not None else None
    if poll is None or entry is None or not entry.get("message_id"):
        return None
    # The message sits in the member's private chat: the card's "group" is that chat.
    chat = SimpleNamespace(chat_id=entry["chat_id"], id=poll.bloc_id)
    return CardView(chat, views.key_spent(poll), entry["message_id"])  # type: ignore[arg-type]


async def _remember_nothing(ctx: Ctx, key_id: int, message_id: int) -> None:
    return None  # key messages are recorded together once all were sent (svc.record_share_messages)


conv.card(CARD, _render_card, _remember_card)
conv.card(KEY_CARD, _render_key, _remember_nothing)


def key_cards(poll: Poll) -> list[CardKey]:
    return [CardKey(KEY_CARD, poll.id * SEATS + e["seat"]) for e in poll.committee if e.get("message_id")]


# -- announcing results -----------------------------------------------------------------------------------
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


async def announce_closed(ctx: Ctx, poll: Poll, outcome: Outcome) -> Outcome:
    """A sealed box was locked: the card says so and the committee is asked for its keys. A counted
    (or pre-seal) vote: the results go to the group."""
    bloc = await bloc_of(ctx.session, poll.bloc_id)
    outcome.update(CardKey(CARD, poll.id))
    with use_locale(bloc.locale):
        if poll.status == "locked":
            if await ask_committee(ctx.session, ctx.clock, bloc, poll, "locked"):
                ctx.kick()
            return outcome
        outcome.say(await results_reply(ctx.session, poll), ToGroup(bloc))
    return outcome


async def ask_committee(session: AsyncSession, clock: Clock, bloc: Bloc, poll: Poll, event: str,
                        skip_seats: frozenset[int] = frozenset()) -> int:
    """Remind the committee members (through the outbox: rate-limited, once per event) to hand back
    their keys. The reminder carries no key: the server has none. The caller wakes the outbox."""
    targets = [(p, u) for p, u, entry in await svc.committee_people(session, poll) if entry["seat"] not in skip_seats]
    return await reminders.queue_now(session, clock, bloc, "vote", poll.id, f"keys-{event}",
                                     [(p, u) for p, u in targets if u is not None],
                                     lambda unit: views.committee_reminder(bloc, poll))


# -- opening: the keys go out in private first, then the card to the group ----------------------------------
def open_and_post(ctx: Ctx, opened: svc.Opened, member: Member, outcome: Outcome | None = None) -> Outcome:
    """Hand each committee member their key share in private (then forget it), then post the card.
    If one cannot be reached the vote is cancelled at once (a box that could never be opened must
    not collect ballots), the keys already sent are spent and the head is told who."""
    outcome = outcome or Outcome()
    bloc = member.bloc

    async def deliver(delivery: Delivery) -> None:
        poll = opened.poll
        sent: dict[int, tuple[Any, Any]] = {}
        failed: list[str] = []
        for seat in opened.seats:
            with use_locale(reminders.person_locale(seat.person, bloc)):
                reply = views.share_message(bloc, poll, seat.seat, seat.share)
            seat.share = b""
            done = await delivery.deliver(Out(reply, ToPerson(seat.person)))
            if done.ok and done.ref is not None:
                sent[seat.seat] = (done.ref.chat_id, done.ref.message_id)
            else:
                failed.append(seat.person.full_name)
        opened.seats.clear()
        await svc.record_share_messages(ctx.session, poll.id, sent)
        if failed:
            poll = await svc.cancel_vote(ctx.session, ctx.clock, poll.id, member)
            refresh = getattr(delivery, "refresh", None)  # fronts that can edit: spend the keys already sent
            if refresh is not None:
                for key in key_cards(poll):
                    await refresh(key)
            with use_locale(bloc.locale):
                await delivery.deliver(Out(views.committee_unreachable(failed)))
            return
        with use_locale(bloc.locale):
            view = await _render_card(ctx, poll.id)
        assert view is not None  # the poll exists: it was just opened
        await ctx.session.commit()
        await delivery.deliver(Out(view.reply, ToGroup(bloc), card=CardKey(CARD, poll.id)))

    outcome.after.append(deliver)
    return outcome


# -- group commands ---------------------------------------------------------------------------------------
EXTEND_WORDS = ("extend", "giahan", "gia-han")
CANCEL_WORDS = ("cancel", "huy", "hủy")
ALL_WORDS = ("all", "list", "tatca", "tất-cả")


@conv.command("vote", where=GROUP)
async def cmd_vote(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    args = event.args.strip()
    if not args:
        return say(views.dialog_kind())
    word, _sep, rest = args.partition(" ")
    if word.casefold() in EXTEND_WORDS:
        number, _sep, when = rest.strip().partition(" ")
        if not when.strip():
            raise UserError(views.extend_usage())
        spec = svc.parse_vote_line("flag " + when, member.bloc, ctx.clock.now())
        if spec.closing_at is None:
            raise UserError(views.extend_usage())
        poll = await svc.poll_in_bloc(ctx.session, member.bloc, number, "open")
        poll = await svc.extend_vote(ctx.session, ctx.clock, poll.id, member, spec.closing_at)
        return say(views.extended(member.bloc, poll)).update(CardKey(CARD, poll.id))
    if word.casefold() in CANCEL_WORDS:
        poll = await svc.poll_in_bloc(ctx.session, member.bloc, rest.strip() or None, "unfinished")
        return say(views.cancel_confirm(poll))
    spec = svc.parse_vote_line(args, member.bloc, ctx.clock.now())
    opened = await svc.open_vote(ctx.session, ctx.clock, member, spec)
    return open_and_post(ctx, opened, member)


@conv.command("close", where=GROUP)
async def cmd_close(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    poll = await svc.poll_in_bloc(ctx.session, member.bloc, event.args.strip() or None, "open")
    voted, eligible = await svc.turnout(ctx.session, poll)
    return say(views.close_confirm(member.bloc, poll, voted, eligible))


@conv.command("results", where=GROUP)
async def cmd_results(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    bloc = need_bloc(actor.bloc)
    arg = event.args.strip()
    if arg.casefold() in ALL_WORDS:
        return say(views.results_list(bloc, await svc.closed_polls(ctx.session, bloc.id)))
    poll = await svc.poll_in_bloc(ctx.session, bloc, arg or None, "closed")
    if poll.status != "closed":
        raise UserError(_("Results are shown only after the vote is closed."))
    return say(await results_reply(ctx.session, poll))


@conv.command("ballots", where=GROUP, elsewhere=True)
async def ballots_in_group(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return say(views.vote_in_private())


@conv.command("open", "mohom", where=GROUP)
async def cmd_open_status(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    """Who of the counting committee has not handed back a key yet (this instance's view)."""
    member = need_manager(actor.bloc, actor.member)
    poll = await svc.poll_in_bloc(ctx.session, member.bloc, event.args.strip() or None, "locked")
    if poll.status != "locked":
        raise UserError(_("No ballot box is waiting to be opened."))
    have = ctx.vault.indexes(poll.id)
    missing = [f"{p.full_name} ({u.name})" if u else p.full_name
               for p, u, entry in await svc.committee_people(ctx.session, poll) if entry["seat"] not in have]
    return say(Reply(views.waiting_keys(poll, missing, len(have))))


@conv.command("bienban", "minutes", where=GROUP)
async def cmd_minutes(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    """The facts of a vote's minutes: place, venue, conference, committee, witnesses, attendance."""
    member = need_manager(actor.bloc, actor.member)
    number, form = svc.split_number(event.args)
    if not form.strip():
        poll = await svc.poll_for_minutes(ctx.session, member.bloc, number)
        facts = await svc.minutes_facts(ctx.session, poll, member.bloc)
        return say(views.minutes_facts(member.bloc, poll, facts, saved=False))
    poll = await svc.set_minutes(ctx.session, ctx.clock, member, event.args)
    facts = await svc.minutes_facts(ctx.session, poll, member.bloc)
    return say(views.minutes_facts(member.bloc, poll, facts, saved=True))


# -- the opening dialog (group buttons) ----------------------------------------------------------------------
@conv.action(act.OpenDialog)
async def dialog(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    action = event.action
    assert isinstance(action, act.OpenDialog)
    member = need_manager(actor.bloc, actor.member)
    if action.kind not in svc.UNIT_KINDS or (action.close is not None and action.close not in DIALOG_CLOSE) \
            or (action.n is not None and not 1 <= action.n <= svc.MAX_OPTIONS):
        raise UserError(_("This button is no longer valid."))
    if action.n is None and action.kind == "merit":
        return edit(views.dialog_count(action.kind, await count_units(ctx.session, member.bloc.id)))
    if action.close is None:
        return edit(views.dialog_close(action.kind, action.n or 1))
    delta = DIALOG_CLOSE[action.close]
    spec = svc.VoteSpec(kind=action.kind, max_choices=action.n,
                        closing_at=ctx.clock.now() + delta if delta else None)
    opened = await svc.open_vote(ctx.session, ctx.clock, member, spec)
    return open_and_post(ctx, opened, member, edit(views.opened(opened.poll)))


# -- closing, cancelling, runoff (group buttons): every one checks rights and the vote's bloc -----------------
async def _managed_poll(ctx: Ctx, actor: Actor, poll_id: int) -> tuple[Member, Poll]:
    member = need_manager(actor.bloc, actor.member)
    poll = await svc.get_poll(ctx.session, poll_id)
    if poll.bloc_id != member.bloc.id:
        raise UserError(_("There is no vote number {number} in this bloc.").format(number=poll_id))
    return member, poll


@conv.action(act.CloseNow)
async def close_button(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    action = event.action
    assert isinstance(action, act.CloseNow)
    member, _poll = await _managed_poll(ctx, actor, action.poll)
    poll = await svc.close_vote(ctx.session, ctx.clock, action.poll, member)
    if poll is None:
        return edit(views.already_closed())
    return await announce_closed(ctx, poll, edit(views.closed(poll)))


@conv.action(act.CancelAsk)
async def cancel_ask(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, act.CancelAsk)
    _member, poll = await _managed_poll(ctx, actor, event.action.poll)
    return edit(views.cancel_confirm(poll))


@conv.action(act.CancelYes)
async def cancel_button(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, act.CancelYes)
    member, _poll = await _managed_poll(ctx, actor, event.action.poll)
    poll = await svc.cancel_vote(ctx.session, ctx.clock, event.action.poll, member)
    ctx.vault.forget(poll.id)
    return edit(views.cancelled(poll)).update(CardKey(CARD, poll.id))


@conv.action(act.KeepOpen)
async def keep_open(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, act.KeepOpen)
    await _managed_poll(ctx, actor, event.action.poll)
    return edit(views.kept_open())


@conv.action(act.Runoff)
async def runoff_button(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, act.Runoff)
    member, _poll = await _managed_poll(ctx, actor, event.action.poll)
    opened = await svc.open_runoff(ctx.session, ctx.clock, event.action.poll, member)
    return open_and_post(ctx, opened, member)


# -- the private ballot ----------------------------------------------------------------------------------------
def _private_only(actor: Actor) -> Person:
    """Ballot and key buttons work only in the presser's own private chat with the bot."""
    person = actor.person
    if person is None or not actor.private or str(actor.chat.id) != str(person.external_id):
        raise UserError(views.vote_in_private_only())
    return person


async def _voter(ctx: Ctx, actor: Actor, poll_id: int) -> svc.Voter:
    """The voter at a tick or review: may still vote in this poll (open, their unit on the list).
    Whether their unit has voted meanwhile is checked at the cast, under the box's lock."""
    person = _private_only(actor)  # the buttons' callers checked it already; this narrows the type
    return await svc.voter_at_step(ctx.session, ctx.clock, poll_id, person, actor.member)


@conv.start(svc.PAYLOAD_PREFIX)
async def start_ballot(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    poll_id = svc.parse_payload(event.args)
    if actor.person is None:
        raise UserError(views.vote_in_private_only())
    voter, voted = await svc.voter_and_voted(ctx.session, ctx.clock, poll_id, actor.person, actor.member)
    if voted:
        return say(views.already_voted(voter.bloc, voter.poll, voter.unit))
    return say(views.ballot(voter.bloc, voter.poll, voter.unit, []))


@conv.command("ballots", where=PRIVATE)
async def cmd_ballots(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_member(actor.member if actor.bloc is not None else None)
    unit = require_representative(member)
    rows = await svc.polls_for_unit(ctx.session, ctx.clock, member.bloc, unit)
    return say(views.my_ballots(member.bloc, unit, rows))


@conv.command("vote", "close", "results", "bienban", "minutes", where=PRIVATE, elsewhere=True)
async def group_command_in_private(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return say(core_views.group_only())


@conv.action(act.Tick)
async def toggle_button(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    action = event.action
    assert isinstance(action, act.Tick)
    _private_only(actor)
    voter = await _voter(ctx, actor, action.poll)
    current = act.selection(action.mask, len(voter.poll.options))
    selection = svc.toggle(voter.poll, current, action.index, voter.unit.id)
    return edit(views.ballot(voter.bloc, voter.poll, voter.unit, selection))


@conv.action(act.Review, act.Change)
async def confirm_button(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    action = event.action
    assert isinstance(action, (act.Review, act.Change))
    _private_only(actor)
    voter = await _voter(ctx, actor, action.poll)
    selection = act.selection(action.mask, len(voter.poll.options))
    unit = voter.unit
    if isinstance(action, act.Change):
        return edit(views.ballot(voter.bloc, voter.poll, unit, selection))
    svc.check_choices(voter.poll, selection, unit.id)
    return edit(views.confirm(voter.bloc, voter.poll, unit, selection))


@conv.action(act.Cast)
async def cast_button(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    action = event.action
    assert isinstance(action, act.Cast)
    person = _private_only(actor)
    receipt = await svc.cast(ctx.session, ctx.clock, action.poll, person,
                             lambda poll: act.selection(action.mask, len(poll.options)), actor.member)
    return refresh_soon(ctx, edit(views.cast_done(receipt)), CardKey(CARD, action.poll))


def refresh_soon(ctx: Ctx, outcome: Outcome, key: CardKey) -> Outcome:
    """A cast moves the card's turnout line only: the card may lag a few seconds. With the app's card
    refresher (bot/app.py CardRefresher) the card is marked once the cast is committed and edited
    by the scheduler, at most once per CARD_DELAY for a whole burst of casts; without one (a text
    front's own ctx, a bare step) it is refreshed with this outcome, as any other change."""
    cards = getattr(ctx.extras.get("app"), "cards", None)
    if cards is None:
        return outcome.update(key)

    async def mark(_delivery: Delivery) -> None:  # runs after the front committed the step
        cards.mark(key)

    outcome.after.append(mark)
    return outcome


# -- /status ------------------------------------------------------------------------------------------------------
@conv.status(probe=poll_probe)
async def status_lines(session: AsyncSession, clock: Clock, bloc: Bloc) -> list[str]:
    lines = []
    for poll in await svc.open_polls(session, bloc.id):
        voted, eligible = await svc.turnout(session, poll)
        lines.append(views.status_open(bloc, poll, voted, eligible))
    for poll in await svc.locked_polls(session, bloc.id):
        lines.append(views.status_locked(poll))
    return lines


# -- the closer: votes close at their time; units that have not voted are reminded first ----------------------
async def queue_vote_reminders(session: AsyncSession, clock: Clock, job: svc.ReminderJob) -> int:
    """Queue "you have not voted yet" in the outbox for each representative of a unit that has not
    voted (once per vote and person); the worker sends them through the shared rate limiter."""
    return await reminders.queue_now(session, clock, job.bloc, "vote", job.poll.id, "remind", job.recipients,
                                     lambda unit: views.reminder(job.bloc, job.poll, unit))


def _vault(app) -> ballot_box.KeyVault:
    vault = getattr(app, "vault", None)
    return vault if vault is not None else app.dp["vault"]


def _job_ctx(app, session: AsyncSession, vault: ballot_box.KeyVault) -> Ctx:
    states = MemoryStates()
    return Ctx(session=session, clock=app.clock, settings=app.settings, vault=vault,
               state=states.of(_NOWHERE, 0), states=states, kick=app.kick, table=getattr(app, "table", None),
               extras={"bot_username": app.dp.get("bot_username", "") if getattr(app, "dp", None) else "",
                       "app": app})


_NOWHERE = Chat("job", 0, False)


async def _deliver(app, ctx: Ctx, outcome: Outcome) -> None:
    """Send what the closer has to say, outside any update, through the composition root's
    `app.deliver_outcome(ctx, outcome)` (the Telegram front's sending code, or a text front's)."""
    await app.deliver_outcome(ctx, outcome)


async def tick(app) -> int:
    """One pass: queue reminders, then close every vote whose time has come. Returns the number closed."""
    clock = app.clock
    vault = _vault(app)
    asked: set[int] = app.extras.setdefault("committee_asked", set())
    async with app.db.session() as session:
        queued = 0
        for job in await svc.claim_reminders(session, clock):
            queued += await queue_vote_reminders(session, clock, job)
        due = await svc.due_polls(session, clock.now())
        # After a restart the shares handed back are gone with the old process: ask the committee again.
        for locked in await svc.all_locked_polls(session):
            if locked.id not in asked and vault.count(locked.id) == 0:
                asked.add(locked.id)
                bloc = await bloc_of(session, locked.bloc_id)
                with use_locale(bloc.locale):
                    queued += await ask_committee(session, clock, bloc, locked,
                                                  f"boot-{app.extras.setdefault('boot', id(app))}")
        await session.commit()
        if queued:
            app.kick()
    closed = 0
    for poll_id in due:
        async with app.db.session() as session:
            poll = await svc.close_vote(session, clock, poll_id)
            if poll is None:
                continue  # another closer (instance, /close) got there first
            closed += 1
            asked.add(poll.id)
            try:
                ctx = _job_ctx(app, session, vault)
                await _deliver(app, ctx, await announce_closed(ctx, poll, Outcome()))
            except Exception:
                log.exception("vote #%s closed but the announcement failed; /results shows it", poll_id)
    return closed


@conv.every(CLOSER_INTERVAL)
async def close_due(app) -> None:
    """The closer on the app's scheduler: votes close at their time, units that have not voted are
    reminded first, a locked box's committee is asked again after a restart."""
    await tick(app)


from bot.conversations import voting_keys  # noqa: E402,F401  (the committee's entries, after the ballot's)
