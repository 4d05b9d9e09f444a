"""Self-assessment, the representative's side: the form in private (`a_<round>` deep link, /assess),
criterion by criterion (a tapped or typed score, notes, a jump list), evidence files, the summary,
submit and edit again. The dialog's state lives in `ctx.state` ("assess:score" with the round and
the criterion shown, "assess:note", "assess:evidence")."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.conversations.actions import ActionData, action
from bot.conversations.assessment_rounds import CARD
from bot.conversations.core import GROUP, PRIVATE, Actor, CardKey, Conversations, Ctx, Event, Outcome, edit, say
from bot.conversations.guards import need_person
from bot.i18n import _
from bot.services import assessments as svc
from bot.services import files, uploads
from bot.services.errors import NotAllowed, UserError
from bot.views import assessments as views
from bot.views.base import Reply
from storage.models import Person

conv = Conversations("assessment_form")
SCORE, NOTE, EVIDENCE = "assess:score", "assess:note", "assess:evidence"
# Several scores in one message: "1:8 2:9,5 3:10" (criterion number : score, comma or point).
PAIR = re.compile(r"(\d{1,4})\s*[:=]\s*(\d+(?:[.,]\d+)?)")
SEVERAL = re.compile(r"\s*\d{1,4}\s*[:=]\s*\d+(?:[.,]\d+)?(?:[\s;]+\d{1,4}\s*[:=]\s*\d+(?:[.,]\d+)?)*\s*")


# -- typed actions (all carry the round) -----------------------------------------------------------------
@action("afs")
@dataclass(frozen=True)
class Score(ActionData):
    rnd: int
    index: int
    value: str


@action("afg")
@dataclass(frozen=True)
class Goto(ActionData):
    rnd: int
    index: int


@action("afc")
@dataclass(frozen=True)
class Clear(ActionData):
    rnd: int
    index: int


@action("afn")
@dataclass(frozen=True)
class Note(ActionData):
    rnd: int
    index: int


@action("afj")
@dataclass(frozen=True)
class Jump(ActionData):
    rnd: int


@action("afe")
@dataclass(frozen=True)
class Evidence(ActionData):
    rnd: int


@action("afr")
@dataclass(frozen=True)
class RemoveEvidence(ActionData):
    rnd: int
    evidence: int


@action("afm")
@dataclass(frozen=True)
class Summary(ActionData):
    rnd: int


@action("afx")
@dataclass(frozen=True)
class Submit(ActionData):
    rnd: int


@action("afo")
@dataclass(frozen=True)
class Reopen(ActionData):
    rnd: int


@dataclass(frozen=True)
class FormButtons:
    """The form's buttons for one round, packed for the views."""

    rnd: int

    def score(self, index: int, value: str) -> str:
        return Score(self.rnd, index, value).pack()

    def goto(self, index: int) -> str:
        return Goto(self.rnd, index).pack()

    def jump(self) -> str:
        return Jump(self.rnd).pack()

    def note(self, index: int) -> str:
        return Note(self.rnd, index).pack()

    def clear(self, index: int) -> str:
        return Clear(self.rnd, index).pack()

    def evidence(self) -> str:
        return Evidence(self.rnd).pack()

    def remove(self, evidence_id: int) -> str:
        return RemoveEvidence(self.rnd, evidence_id).pack()

    def summary(self) -> str:
        return Summary(self.rnd).pack()

    def submit(self) -> str:
        return Submit(self.rnd).pack()

    def reopen(self) -> str:
        return Reopen(self.rnd).pack()


def _b(form: svc.Form) -> FormButtons:
    return FormButtons(form.round.id)


def _round_of(data: dict) -> int:
    """The round the open form belongs to (every form state stores it; a missing one reads as a lost round)."""
    round_id = data.get("round_id")
    if round_id is None:
        raise UserError(_("This self-assessment round does not exist. Ask the bloc head for a new link."))
    return round_id


async def _at(ctx: Ctx, state: str, round_id: int, index: int | None = None) -> None:
    data: dict = {"round_id": round_id}
    if index is not None:
        data["index"] = index
    await ctx.state.set(state, data)


# -- opening the form -----------------------------------------------------------------------------------
@conv.command("assess", where=GROUP, elsewhere=True)
async def assess_in_group(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return say(views.form_in_group())


@conv.command("assess", where=PRIVATE)
async def cmd_assess(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    if actor.bloc is None:
        raise NotAllowed(_("You are not a member of any bloc yet. Open the join link your bloc head sent you."))
    rnd = await svc.open_round_of(ctx.session, actor.bloc.id)
    if rnd is None:
        return say(views.no_open_round())
    return await _open_form(ctx, need_person(actor.person), rnd.id)


@conv.start(svc.PAYLOAD_PREFIX)
async def start_form(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    return await _open_form(ctx, need_person(actor.person), svc.parse_payload(event.args))


async def _open_form(ctx: Ctx, person: Person, round_id: int) -> Outcome:
    form = await svc.start_form(ctx.session, ctx.clock, round_id, person)
    if form.submitted:
        await ctx.state.clear()
        return say(views.summary(form, _b(form)))
    index = min(form.draft.position if form.draft else 0, len(form.criteria) - 1)
    await _at(ctx, SCORE, round_id, index)
    return say(views.criterion_card(form, index, _b(form)))


# -- the form's buttons (private only) --------------------------------------------------------------------
def _private(actor: Actor) -> Person:
    if not actor.private:
        raise UserError(_("The self-assessment is filled in private, not in the group."))
    return need_person(actor.person)


@conv.action(Score)
async def score_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    act = event.action
    assert isinstance(act, Score)
    form = await svc.set_score(ctx.session, ctx.clock, act.rnd, _private(actor), act.index, act.value)
    nxt = min(act.index + 1, len(form.criteria) - 1)
    await _at(ctx, SCORE, act.rnd, nxt)
    if act.index + 1 < len(form.criteria):
        return edit(views.criterion_card(form, nxt, _b(form)))
    return edit(views.summary(form, _b(form)))


@conv.action(Goto)
async def goto_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    act = event.action
    assert isinstance(act, Goto)
    form = await svc.remember_position(ctx.session, ctx.clock, act.rnd, _private(actor), act.index)
    await _at(ctx, SCORE, act.rnd, act.index)
    return edit(views.criterion_card(form, act.index, _b(form)))


@conv.action(Clear)
async def clear_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    act = event.action
    assert isinstance(act, Clear)
    form = await svc.clear_score(ctx.session, ctx.clock, act.rnd, _private(actor), act.index)
    return edit(views.criterion_card(form, act.index, _b(form)))


@conv.action(Jump)
async def jump_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Jump)
    form = await svc.load_form(ctx.session, event.action.rnd, _private(actor))
    return edit(views.jump_list(form, _b(form)))


@conv.action(Note)
async def note_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    act = event.action
    assert isinstance(act, Note)
    form = await svc.load_form(ctx.session, act.rnd, _private(actor))
    svc.acceptance(form.round, form.bloc, ctx.clock.now())
    await _at(ctx, NOTE, act.rnd, act.index)
    return edit(views.note_prompt(form, act.index, _b(form)))


async def upload_link(session: AsyncSession, clock: Clock, settings: Settings, channel: str, form: svc.Form,
                      person: Person) -> str | None:
    """Where files cannot be sent in the chat (every channel but Telegram: Zalo), a fresh one-time
    upload page for this form ("" when the bot has no public address); None on Telegram."""
    if channel == "telegram" or form.submitted:
        return None
    if not settings.public_base_url:
        return ""
    token = await uploads.issue(session, clock, form.round.id, person.id)
    return uploads.link(settings.public_base_url, token)


@conv.action(Evidence)
async def evidence_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Evidence)
    person = _private(actor)
    form = await svc.load_form(ctx.session, event.action.rnd, person)
    await _at(ctx, EVIDENCE, event.action.rnd)
    upload = await upload_link(ctx.session, ctx.clock, ctx.settings, ctx.channel, form, person)
    return edit(views.evidence_screen(form, ctx.settings.max_upload_mb, _b(form), upload))


@conv.action(RemoveEvidence)
async def remove_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    act = event.action
    assert isinstance(act, RemoveEvidence)
    person = _private(actor)
    form = await svc.remove_evidence(ctx.session, ctx.clock, act.rnd, person, act.evidence)
    upload = await upload_link(ctx.session, ctx.clock, ctx.settings, ctx.channel, form, person)
    return edit(views.evidence_screen(form, ctx.settings.max_upload_mb, _b(form), upload))


@conv.every(3600)
async def prune_links(app) -> None:
    """Hourly: expired download links (bot/services/files.py) and upload tickets leave the database."""
    async with app.db.session() as session:
        await files.prune(session, app.clock)
        await uploads.prune(session, app.clock)


async def after_upload(session: AsyncSession, clock: Clock, settings: Settings, channel: str,
                       accepted: uploads.Accepted) -> Reply:
    """What the chat says once a file came in through the upload page (bot/web/uploads.py): the
    evidence list with the file, and a fresh link for the next one. The form goes on from there."""
    form = accepted.form
    upload = await upload_link(session, clock, settings, channel, form, accepted.person)
    return views.evidence_added(form, accepted.item.name, settings.max_upload_mb, _b(form), upload)


@conv.action(Summary)
async def summary_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Summary)
    form = await svc.load_form(ctx.session, event.action.rnd, _private(actor))
    return edit(views.summary(form, _b(form)))


@conv.action(Submit)
async def submit_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Submit)
    form, version = await svc.submit(ctx.session, ctx.clock, event.action.rnd, _private(actor))
    await ctx.state.clear()
    return edit(views.submitted(form, version, _b(form))).update(CardKey(CARD, form.round.id))


@conv.action(Reopen)
async def reopen_pressed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    assert isinstance(event.action, Reopen)
    form = await svc.reopen(ctx.session, ctx.clock, event.action.rnd, _private(actor))
    await _at(ctx, SCORE, event.action.rnd, 0)
    return edit(views.criterion_card(form, 0, _b(form)))


# -- what is typed or sent while the form is open ---------------------------------------------------------
@conv.state(SCORE, where=PRIVATE)
async def typed_score(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    if event.file is not None:
        return await _evidence_file(ctx, actor, event)
    if not (event.text or "").strip():
        raise UserError(_("Send the evidence as a file (PDF, DOCX, XLSX, JPG or PNG), or press a button above."))
    _name, data = await ctx.state.get()
    round_id, index = _round_of(data), data.get("index", 0)
    if SEVERAL.fullmatch(event.text or ""):
        return await _typed_scores(ctx, actor, round_id, event.text or "")
    form = await svc.set_score(ctx.session, ctx.clock, round_id, need_person(actor.person), index, event.text or "")
    if index + 1 < len(form.criteria):
        await _at(ctx, SCORE, round_id, index + 1)
        return say(views.criterion_card(form, index + 1, _b(form)))
    return say(views.summary(form, _b(form)))


async def _typed_scores(ctx: Ctx, actor: Actor, round_id: int, text: str) -> Outcome:
    """"1:8 2:9,5 3:10": several criteria at once (numbered as in the form), then the first one
    still without a score, or the summary when none is left."""
    pairs = [(int(number) - 1, score) for number, score in PAIR.findall(text)]
    form = await svc.set_scores(ctx.session, ctx.clock, round_id, need_person(actor.person), pairs)
    note = _("Saved {n} scores.").format(n=len(pairs))
    left = [i for i, c in enumerate(form.criteria) if str(c.id) not in form.scores]
    if left:
        await _at(ctx, SCORE, round_id, left[0])
        reply = views.criterion_card(form, left[0], _b(form))
    else:
        reply = views.summary(form, _b(form))
    reply.text = note + "\n\n" + reply.text
    if reply.typed is not None and reply.typed.text is not None:
        reply.typed = replace(reply.typed, text=note + "\n\n" + reply.typed.text)
    return say(reply)


@conv.state(NOTE, where=PRIVATE)
async def typed_note(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    if event.file is not None:
        return await _evidence_file(ctx, actor, event)
    _name, data = await ctx.state.get()
    round_id, index = _round_of(data), data.get("index", 0)
    text = event.text or ""
    text = "" if text.strip() == "-" else text
    form = await svc.set_note(ctx.session, ctx.clock, round_id, need_person(actor.person), index, text)
    await _at(ctx, SCORE, round_id, index)
    return say(views.criterion_card(form, index, _b(form)))


@conv.state(EVIDENCE, where=PRIVATE)
async def evidence_text(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    if event.file is not None:
        return await _evidence_file(ctx, actor, event)
    if ctx.channel != "telegram":  # no files in this chat: the upload page's link is in the list above
        raise UserError(_("This chat cannot carry files: upload the evidence with the link in the list above, "
                          "or choose a line of the list."))
    raise UserError(_("Send the evidence as a file (PDF, DOCX, XLSX, JPG or PNG), or press a button above."))


async def _evidence_file(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    _name, data = await ctx.state.get()
    round_id = _round_of(data)
    file = event.file
    assert file is not None  # only called when the message carries a file
    max_mb = ctx.settings.max_upload_mb
    # The channel's file reference stands for the file's identity too (Telegram: the file_id).
    form, item = await svc.add_evidence(ctx.session, ctx.clock, round_id, need_person(actor.person), file.ref, file.ref,
                                        file.name, file.size, max_mb)
    await _at(ctx, EVIDENCE, round_id)
    return say(views.evidence_added(form, item.name, max_mb, _b(form)))

