"""Self-assessment, the head's side: the scoring table (/table, `a_table`), rounds (/assessment
open/status/close/extend/remind/history), the group's round post kept current, /export, /return,
the /status line and the deadline reminders. The representative's form is assessment_form.py."""

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
    Delivery,
    Event,
    Out,
    Outcome,
    ToGroup,
    ToPerson,
    edit,
    say,
)
from bot.conversations.guards import need_bloc, need_manager
from bot.conversations.reminders import with_mute
from bot.i18n import _, use_locale
from bot.render import assessment_xlsx
from bot.services import assessments as svc
from bot.services import reminders, scoring
from bot.services import units as unit_service
from bot.services.blocs import Member, bloc_of, require_manager
from bot.services.errors import NotAllowed, UserError
from bot.services.reminders import DeadlineItem, DeadlineSource
from bot.views import assessments as views
from bot.views.base import Attachment, Reply
from storage.models import AssessmentRound, Bloc, Unit

conv = Conversations("assessment_rounds")
CARD = "assessment_round"
TABLE_STATE = "assess:table"
CLOSE_WORDS = ("close", "dong", "đóng")
EXTEND_WORDS = ("extend", "giahan")
REMIND_WORDS = ("remind", "nhac", "nhắc")
HISTORY_WORDS = ("history", "lichsu")


# -- typed actions ------------------------------------------------------------------------------------
@action("tbt")
@dataclass(frozen=True)
class UseTemplate(ActionData):
    """Load the built-in scoring table."""


@action("tbd")
@dataclass(frozen=True)
class DownloadTemplate(ActionData):
    """Send the template file to fill in."""


@action("tbx")
@dataclass(frozen=True)
class CancelTable(ActionData):
    """Leave the table menu without loading anything."""


@action("arc")
@dataclass(frozen=True)
class AskClose(ActionData):
    rnd: int


@action("ary")
@dataclass(frozen=True)
class CloseYes(ActionData):
    rnd: int


@action("arn")
@dataclass(frozen=True)
class CloseNo(ActionData):
    rnd: int


@action("arr")
@dataclass(frozen=True)
class Remind(ActionData):
    rnd: int


@action("ard")
@dataclass(frozen=True)
class Scores(ActionData):
    """The status with scores, sent to the head in private."""

    rnd: int


class TableButtons:
    def template(self) -> str:
        return UseTemplate().pack()

    def download(self) -> str:
        return DownloadTemplate().pack()

    def cancel(self) -> str:
        return CancelTable().pack()


@dataclass(frozen=True)
class RoundButtons:
    rnd: int

    def remind(self) -> str:
        return Remind(self.rnd).pack()

    def close(self) -> str:
        return AskClose(self.rnd).pack()

    def close_yes(self) -> str:
        return CloseYes(self.rnd).pack()

    def close_no(self) -> str:
        return CloseNo(self.rnd).pack()

    def scores(self) -> str:
        return Scores(self.rnd).pack()


# -- the group's round post, kept current ---------------------------------------------------------------
async def _render_post(ctx: Ctx, round_id: int) -> CardView | None:
    rnd = await ctx.session.get(AssessmentRound, round_id)
    if rnd is None:
        return None
    bloc = await bloc_of(ctx.session, rnd.bloc_id)
    done, total = await svc.progress(ctx.session, rnd)
    with use_locale(bloc.locale):
        return CardView(bloc, views.round_post(bloc, rnd, done, total), rnd.group_message_id)


async def _remember_post(ctx: Ctx, round_id: int, message_id: int) -> None:
    await svc.set_group_message(ctx.session, round_id, message_id)


conv.card(CARD, _render_post, _remember_post)


def private_or_say(actor: Actor, reply: Reply) -> Outcome:
    """In private: the reply. In the group: the reply in private, and in the group whether it went."""
    if actor.private:
        return say(reply)
    person = actor.person

    async def deliver(delivery: Delivery) -> None:
        got = await delivery.deliver(Out(reply, ToPerson(person))) if person is not None else None
        await delivery.deliver(Out(views.sent_to_private() if got and got.ok else views.need_private_chat()))

    return Outcome(after=[deliver])


# -- /table ---------------------------------------------------------------------------------------------
@conv.command("table", where=GROUP)
async def group_table(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    bloc = need_bloc(actor.bloc)
    table = await svc.current_table(ctx.session, bloc.id)
    criteria = await svc.criteria_of(ctx.session, table.id) if table else None
    return say(views.table_current(criteria, bool(actor.member and actor.member.can_manage)))


async def _table_menu(ctx: Ctx, actor: Actor) -> Outcome:
    need_manager(actor.bloc, actor.member)
    await ctx.state.set(TABLE_STATE, {})
    return say(views.table_menu(ctx.settings.max_upload_mb, TableButtons()))


@conv.command("table", where=PRIVATE)
async def private_table(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return await _table_menu(ctx, actor)


@conv.start(svc.TABLE_PAYLOAD)
async def start_table(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return await _table_menu(ctx, actor)


@conv.action(CancelTable)
async def table_cancel(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    await ctx.state.clear()
    return edit(views.table_cancelled())


@conv.action(DownloadTemplate)
async def table_download(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    need_manager(actor.bloc, actor.member)
    reply = Reply(views.table_template_caption(), attachments=[Attachment(
        assessment_xlsx.TEMPLATE_FILENAME, assessment_xlsx.template_xlsx())])
    return say(reply, ToPerson(actor.person)) if actor.person is not None else say(reply)


@conv.action(UseTemplate)
async def table_template(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    _table, criteria = await svc.load_table(ctx.session, ctx.clock, member, scoring.template_rows(), "template")
    await ctx.state.clear()
    return edit(views.table_loaded(criteria, "template"))


@conv.state(TABLE_STATE, where=PRIVATE)
async def table_file(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    file = event.file
    if file is None:
        raise UserError(_("Send the table as a file (.xlsx or .csv), or press a button above."))
    if not file.name.lower().endswith(scoring.TABLE_FILE_TYPES):
        raise UserError(_("Send the scoring table as a .xlsx or .csv file."))
    max_mb = ctx.settings.max_upload_mb
    if file.size > max_mb * 1024 * 1024:
        raise UserError(_("The file is too large (at most {mb} MB).").format(mb=max_mb))
    try:
        rows = scoring.parse_table(file.name, await ctx.download(file))
    except scoring.TableProblems as problems:
        return say(views.table_problems(problems.problems))
    _table, criteria = await svc.load_table(ctx.session, ctx.clock, member, rows, file.name)
    await ctx.state.clear()
    return say(views.table_loaded(criteria, file.name))


# -- /assessment ------------------------------------------------------------------------------------------
def _no_open_round() -> UserError:
    return UserError(_("No self-assessment round is open. Open one: <code>/assessment 17:00 30/11/2026</code>"))


@conv.command("assessment")
async def cmd_assessment(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    bloc = need_bloc(actor.bloc)
    args = event.args.strip()
    word, _sep, rest = args.partition(" ")
    word = word.lower()
    session = ctx.session
    if not args:
        return await _status(ctx, actor, bloc)
    member = need_manager(bloc, actor.member)
    if word in CLOSE_WORDS:
        rnd = await svc.open_round_of(session, bloc.id)
        if rnd is None:
            raise _no_open_round()
        done, total = await svc.progress(session, rnd)
        return say(views.close_confirm(rnd, done, total, RoundButtons(rnd.id)))
    if word in EXTEND_WORDS:
        rnd = await svc.extend_deadline(session, ctx.clock, member, rest)
        return say(views.deadline_extended(bloc, rnd)).update(CardKey(CARD, rnd.id))
    if word in REMIND_WORDS:
        rnd = await svc.open_round_of(session, bloc.id)
        if rnd is None:
            raise _no_open_round()
        return say(await remind_missing(ctx, bloc, rnd))
    if word in HISTORY_WORDS:
        rnd = await svc.latest_round(session, bloc.id)
        if rnd is None:
            raise UserError(_("There is no self-assessment round to export yet."))
        unit = await unit_service.unit_by_number(session, bloc.id, rest)
        versions = await svc.versions_of(session, rnd.id, unit.id)
        names = await svc.person_names(session, {v.submitted_by_person_id for v in versions})
        return private_or_say(actor, views.history(bloc, unit.name, versions, names))
    rnd = await svc.open_round(session, ctx.clock, member, args)
    done, total = await svc.progress(session, rnd)
    with use_locale(bloc.locale):
        post = views.round_post(bloc, rnd, done, total)
    outcome = say(post, ToGroup(bloc), card=CardKey(CARD, rnd.id))
    if actor.private:
        outcome.say(views.round_opened(bloc, rnd))
    return outcome


async def _status(ctx: Ctx, actor: Actor, bloc: Bloc) -> Outcome:
    session = ctx.session
    rnd = await svc.open_round_of(session, bloc.id) or await svc.latest_round(session, bloc.id)
    manager = bool(actor.member and actor.member.can_manage)
    if rnd is None:
        return say(views.assessment_usage(manager))
    rows = await svc.overview(session, rnd)
    # Scores never go to the group before close, nor after it when the bloc keeps them head-only.
    if actor.private:
        with_scores = svc.can_see_results(actor.member, rnd)
    else:
        with_scores = rnd.closed_at is not None and svc.results_shared(bloc)
    names = await svc.person_names(session, {r.version.submitted_by_person_id for r in rows if r.version}) \
        if with_scores else None
    buttons = RoundButtons(rnd.id) if manager else None
    return say(views.round_status(bloc, rnd, rows, buttons, names, with_scores))


async def remind_missing(ctx: Ctx, bloc: Bloc, rnd: AssessmentRound) -> Reply:
    """/assessment remind: queue a private reminder (outbox) now for every reachable representative
    of a unit that has not submitted, at most once an hour per person; say who cannot be reached."""
    targets = await svc.units_to_remind(ctx.session, rnd)
    people = [(person, unit) for unit, persons in targets for person in persons
              if person.started and not person.blocked]
    queued = await reminders.queue_now(ctx.session, ctx.clock, bloc, svc.KIND_REMINDER, rnd.id,
                                       reminders.hourly(ctx.clock), people,
                                       lambda unit: views.reminder(bloc, rnd, unit.name))
    if queued:
        ctx.kick()
    reached = {unit.id for _person, unit in people}
    unreachable = [unit.name for unit, _persons in targets if unit.id not in reached]
    return views.reminded(queued, len(targets), unreachable, again=bool(people) and not queued)


# -- the head's round buttons -------------------------------------------------------------------------------
async def _round_and_manager(ctx: Ctx, actor: Actor, round_id: int) -> tuple[AssessmentRound, Member]:
    try:
        rnd = await svc.round_by_id(ctx.session, round_id)
    except ValueError:
        raise UserError(_("This button is no longer valid.")) from None
    member = actor.member
    if member is None or member.bloc.id != rnd.bloc_id:
        raise NotAllowed(_("Only the bloc head or deputy can do this."))
    require_manager(member)
    return rnd, member


@conv.action(AskClose)
async def ask_close(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, AskClose)
    rnd, _member = await _round_and_manager(ctx, actor, event.action.rnd)
    done, total = await svc.progress(ctx.session, rnd)
    return say(views.close_confirm(rnd, done, total, RoundButtons(rnd.id)))


@conv.action(CloseNo)
async def close_no(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, CloseNo)
    await _round_and_manager(ctx, actor, event.action.rnd)
    return edit(Reply(_("Nothing was changed.")))


@conv.action(CloseYes)
async def close_yes(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, CloseYes)
    _rnd, member = await _round_and_manager(ctx, actor, event.action.rnd)
    bloc = member.bloc
    rnd = await svc.close_round(ctx.session, ctx.clock, member)
    rows = await svc.overview(ctx.session, rnd)
    done = sum(1 for r in rows if r.state == "submitted")
    outcome = edit(views.round_closed(bloc, rnd, done, len(rows))).update(CardKey(CARD, rnd.id))
    if svc.results_shared(bloc):
        with use_locale(bloc.locale):
            results = Out(views.results_post(bloc, rnd, rows), ToGroup(bloc))

        async def post_results(delivery: Delivery) -> None:  # after the round post shows it closed
            await delivery.deliver(results)

        outcome.after.append(post_results)
    return outcome


@conv.action(Remind)
async def remind_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Remind)
    rnd, member = await _round_and_manager(ctx, actor, event.action.rnd)
    if rnd.closed_at is not None:
        raise UserError(_("This self-assessment round is closed. Nothing can be changed any more."))
    return say(await remind_missing(ctx, member.bloc, rnd))


@conv.action(Scores)
async def scores_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Scores)
    rnd, member = await _round_and_manager(ctx, actor, event.action.rnd)
    rows = await svc.overview(ctx.session, rnd)
    names = await svc.person_names(ctx.session, {r.version.submitted_by_person_id for r in rows if r.version})
    reply = views.round_status(member.bloc, rnd, rows, RoundButtons(rnd.id), names, with_scores=True)
    if actor.private:
        return say(reply)
    person = actor.person

    async def deliver(delivery: Delivery) -> None:
        got = await delivery.deliver(Out(reply, ToPerson(person))) if person is not None else None
        if not (got and got.ok):
            await delivery.deliver(Out(views.need_private_chat()))

    return Outcome(after=[deliver])


# -- /export, /return ---------------------------------------------------------------------------------------
@conv.command("export")
async def cmd_export(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    data = await svc.export_data(ctx.session, member)
    content = assessment_xlsx.export_xlsx(data)
    reply = Reply(views.export_caption(data.bloc, data.round), attachments=[Attachment(
        assessment_xlsx.export_filename(data), content)])
    return private_or_say(actor, reply)


@conv.command("return")
async def cmd_return(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    member = need_manager(actor.bloc, actor.member)
    number, _sep, reason = event.args.strip().partition(" ")
    if not number or not reason.strip():
        return say(views.return_usage())
    unit = await unit_service.unit_by_number(ctx.session, member.bloc.id, number)
    rnd, version = await svc.return_submission(ctx.session, ctx.clock, member, unit, reason)
    reps = (await svc.representatives_of(ctx.session, [unit.id])).get(unit.id, [])
    notices = []
    for person in reps:
        if person.blocked:
            continue
        with use_locale(person.locale or member.bloc.locale):
            notices.append(Out(views.returned_notice(member.bloc, rnd, unit.name, version), ToPerson(person)))
    unit_name = unit.name

    async def deliver(delivery: Delivery) -> None:
        told = False
        for notice in notices:
            told = (await delivery.deliver(notice)).ok or told
        await delivery.deliver(Out(views.returned_ok(unit_name, version, told)))

    outcome = Outcome(after=[deliver])
    return outcome.update(CardKey(CARD, rnd.id))


# -- /status line and deadline reminders ----------------------------------------------------------------------
@conv.status(probe=svc.status_probe)
async def status_lines(session: AsyncSession, clock: Clock, bloc: Bloc) -> list[str]:
    rnd = await svc.open_round_of(session, bloc.id)
    if rnd is None:
        return []
    done, total = await svc.progress(session, rnd)
    return [views.status_line(bloc, rnd, done, total)]


async def _load_deadline(session: AsyncSession, round_id: int) -> DeadlineItem | None:
    rnd = await session.get(AssessmentRound, round_id)
    if rnd is None or rnd.closed_at is not None:
        return None
    bloc = await bloc_of(session, rnd.bloc_id)
    # The version follows the deadline: extending it re-plans, reminders of the old time are dropped.
    return DeadlineItem(svc.KIND_REMINDER, rnd.id, bloc, rnd.deadline, version=int(rnd.deadline.timestamp()) // 60,
                        title=_("self-assessment"), obj=rnd)


async def _pending_units(session: AsyncSession, item: DeadlineItem) -> list[Unit]:
    return [unit for unit, _reps in await svc.units_to_remind(session, item.obj)]


def _group_reminder(item: DeadlineItem, pending: list[Unit], now: datetime) -> Reply:
    return views.group_reminder(item, pending, now)


conv.deadline(DeadlineSource(svc.KIND_REMINDER, _load_deadline, _pending_units, _group_reminder,
                             with_mute(views.private_reminder)))
