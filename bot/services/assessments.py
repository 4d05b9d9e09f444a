"""Self-assessment: the scoring table of a bloc, rounds with a deadline, the units' drafts and
submitted versions, evidence files, the head's overview, returns, export data.

Rules kept here (not in handlers): a unit only ever touches its own draft; nothing is accepted
after close; after the deadline only if the bloc allows late submissions, and then marked late;
a submission needs every normal criterion scored; every submission is a new frozen version."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, func, select

from bot.clock import Clock
from bot.i18n import N_, _
from bot.services import reminders, scoring
from bot.services import settings as settings_service
from bot.services.blocs import Member, member_of, require_manager, require_representative
from bot.services.errors import NotAllowed, UserError
from bot.services.timefmt import clock_text, date_first, local_text, zone  # noqa: F401  (svc.local_text: views, render)
from bot.services.units import clean_name, list_units
from bot.views import usage  # refusals that name a command (no cycle)
from storage.db import abort, begin_write, is_sqlite
from storage.models import (
    AssessmentDraft,
    AssessmentRound,
    AuditEvent,
    Bloc,
    Criterion,
    EvidenceFile,
    Person,
    Representative,
    ScoringTable,
    SubmissionVersion,
    Unit,
)

PAYLOAD_PREFIX = "a_"
KIND_REMINDER = "assessment"  # item kind of the round's deadline reminders (bot/services/reminders.py)
TABLE_PAYLOAD = "a_table"
LATE_KEY = "assessment_late"
RESULTS_KEY = "assessment_results"
MAX_NOTE = 500
MAX_REASON = 500
MAX_EVIDENCE = 20
EVIDENCE_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
}
DATE_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %Hh%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y")


def _parse_results(raw: str) -> str:
    text = settings_service.folded(raw)
    if text in ("shared", "chung", "chiase", "congkhai", "all"):
        return "shared"
    if text in ("head", "head-only", "truongkhoi", "rieng"):
        return "head"
    raise UserError(_("Answer shared or head."))


def _show_results(value: str) -> str:
    return _("shared with all units") if value == "shared" else _("the bloc head only")


settings_service.register(settings_service.SettingSpec(
    LATE_KEY, N_("accept late self-assessments (marked late)"), False, settings_service.parse_bool,
    settings_service.show_bool, example="có"))
settings_service.register(settings_service.SettingSpec(
    RESULTS_KEY, N_("after a round closes, the scores are shown to: shared (all units) or head"), "shared",
    _parse_results, _show_results, example="congkhai"))


def allows_late(bloc: Bloc) -> bool:
    return bool(settings_service.value(bloc, LATE_KEY))


def results_shared(bloc: Bloc) -> bool:
    return settings_service.value(bloc, RESULTS_KEY) == "shared"


def _locked(session: AsyncSession, query):
    return query if is_sqlite(session) else query.with_for_update()


# -- scoring table ----------------------------------------------------------------------------

async def current_table(session: AsyncSession, bloc_id: int) -> ScoringTable | None:
    result = await session.execute(select(ScoringTable).where(ScoringTable.bloc_id == bloc_id)
                                   .order_by(col(ScoringTable.id).desc()).limit(1))
    return result.scalar_one_or_none()


async def criteria_of(session: AsyncSession, table_id: int) -> list[Criterion]:
    result = await session.execute(
        select(Criterion).where(col(Criterion.table_id) == table_id).order_by(col(Criterion.position)))
    return list(result.scalars())


async def load_table(session: AsyncSession, clock: Clock, member: Member, rows: list[scoring.CriterionRow],
                     source: str) -> tuple[ScoringTable, list[Criterion]]:
    """A new table becomes the bloc's current one. Rounds already opened keep theirs."""
    require_manager(member)
    if not rows:
        raise UserError(_("The table has no criterion."))
    await begin_write(session)
    now = clock.now()
    table = ScoringTable(bloc_id=member.bloc.id, year=member.bloc.year, source=source[:200], created_at=now,
                         created_by_person_id=member.person.id)
    session.add(table)
    await session.flush()
    criteria = [Criterion(table_id=table.id, position=i, code=r.code, group_name=r.group, text=r.text,
                          max_points=r.max_points, kind=r.kind) for i, r in enumerate(rows)]
    session.add_all(criteria)
    session.add(AuditEvent(bloc_id=member.bloc.id, at=now, actor_person_id=member.person.id, action="scoring.load",
                           detail={"table_id": table.id, "criteria": len(rows), "source": source[:200]}))
    await session.commit()
    return table, criteria


# -- rounds -----------------------------------------------------------------------------------

def parse_deadline(raw: str, bloc: Bloc, now: datetime, bad_format: str | None = None) -> datetime:
    """'17:00 30/11/2026' or '30/11/2026 17:00' (or a date alone: end of that day) in the bloc's zone -> aware
    UTC. `bad_format`: the caller's own (translated) answer to text that is not a date."""
    text = date_first(clean_name(raw))
    for pattern in DATE_FORMATS:
        try:
            local = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if "%H" not in pattern:
            local = local.replace(hour=23, minute=59)
        when = local.replace(tzinfo=zone(bloc)).astimezone(now.tzinfo)
        if when <= now:
            raise UserError(_("The deadline {when} is already past.").format(when=clock_text(local)))
        return when
    raise UserError(bad_format or usage.assessment_deadline_format())


async def open_round_of(session: AsyncSession, bloc_id: int) -> AssessmentRound | None:
    result = await session.execute(select(AssessmentRound).where(
        AssessmentRound.bloc_id == bloc_id, AssessmentRound.closed_at == None)  # noqa: E711
        .order_by(col(AssessmentRound.id).desc()).limit(1))
    return result.scalar_one_or_none()


def status_probe(bloc_id: int, now: datetime):
    """/status: true when `open_round_of` finds a round (one SELECT with the other features')."""
    return select(AssessmentRound.id).where(
        AssessmentRound.bloc_id == bloc_id, AssessmentRound.closed_at == None).exists()  # noqa: E711


async def latest_round(session: AsyncSession, bloc_id: int) -> AssessmentRound | None:
    result = await session.execute(select(AssessmentRound).where(AssessmentRound.bloc_id == bloc_id)
                                   .order_by(col(AssessmentRound.id).desc()).limit(1))
    return result.scalar_one_or_none()


async def round_by_id(session: AsyncSession, round_id: int) -> AssessmentRound:
    rnd = await session.get(AssessmentRound, round_id)
    if rnd is None:
        raise UserError(_("This self-assessment round does not exist. Ask the bloc head for a new link."))
    return rnd


def parse_payload(payload: str) -> int:
    """`a_<round id>` -> round id; anything else is a forged or broken link."""
    rest = payload[len(PAYLOAD_PREFIX):] if payload.startswith(PAYLOAD_PREFIX) else ""
    if not rest.isdigit() or len(rest) > 12:
        raise UserError(_("This link is not valid or has expired. Ask the bloc head for a new one."))
    return int(rest)


async def open_round(session: AsyncSession, clock: Clock, member: Member, raw_deadline: str) -> AssessmentRound:
    require_manager(member)
    bloc = member.bloc
    deadline = parse_deadline(raw_deadline, bloc, clock.now())
    await begin_write(session)
    if await open_round_of(session, bloc.id) is not None:
        await abort(session)
        raise UserError(_("A self-assessment round is already open. Close it first (/assessment close)."))
    table = await current_table(session, bloc.id)
    if table is None:
        await abort(session)
        raise UserError(_("Load the scoring table first: /table in our private chat."))
    rnd = AssessmentRound(bloc_id=bloc.id, table_id=table.id, year=bloc.year, opened_at=clock.now(),
                          opened_by_person_id=member.person.id, deadline=deadline)
    session.add(rnd)
    await session.flush()
    session.add(AuditEvent(bloc_id=bloc.id, at=clock.now(), actor_person_id=member.person.id,
                           action="assessment.open", detail={"round_id": rnd.id}))
    await reminders.plan_item(session, clock, KIND_REMINDER, rnd.id)
    await session.commit()
    return rnd


async def _open_round_locked(session: AsyncSession, bloc_id: int) -> AssessmentRound:
    result = await session.execute(_locked(session, select(AssessmentRound).where(
        AssessmentRound.bloc_id == bloc_id, AssessmentRound.closed_at == None)))  # noqa: E711
    rnd = result.scalars().first()
    if rnd is None:
        await abort(session)
        raise UserError(usage.no_round_open())
    return rnd


async def extend_deadline(session: AsyncSession, clock: Clock, member: Member, raw_deadline: str) -> AssessmentRound:
    require_manager(member)
    deadline = parse_deadline(raw_deadline, member.bloc, clock.now())
    await begin_write(session)
    rnd = await _open_round_locked(session, member.bloc.id)
    old = rnd.deadline
    rnd.deadline = deadline
    session.add(AuditEvent(bloc_id=member.bloc.id, at=clock.now(), actor_person_id=member.person.id,
                           action="assessment.deadline", detail={"round_id": rnd.id, "old": old.isoformat(),
                                                                 "new": deadline.isoformat()}))
    await reminders.plan_item(session, clock, KIND_REMINDER, rnd.id)
    await session.commit()
    return rnd


async def close_round(session: AsyncSession, clock: Clock, member: Member) -> AssessmentRound:
    require_manager(member)
    await begin_write(session)
    rnd = await _open_round_locked(session, member.bloc.id)
    rnd.closed_at = clock.now()
    session.add(AuditEvent(bloc_id=member.bloc.id, at=clock.now(), actor_person_id=member.person.id,
                           action="assessment.close", detail={"round_id": rnd.id}))
    await reminders.cancel_item(session, KIND_REMINDER, rnd.id)
    await session.commit()
    return rnd


async def set_group_message(session: AsyncSession, round_id: int, message_id: int) -> None:
    await begin_write(session)
    rnd = await session.get(AssessmentRound, round_id, populate_existing=True)
    assert rnd is not None  # the round this message was just posted for
    rnd.group_message_id = message_id
    await session.commit()


def acceptance(rnd: AssessmentRound, bloc: Bloc, now: datetime) -> bool:
    """May the unit change or submit now? Returns whether it would be late; raises when refused."""
    if rnd.closed_at is not None:
        raise UserError(_("This self-assessment round is closed. Nothing can be changed any more."))
    if now > rnd.deadline:
        if not allows_late(bloc):
            raise UserError(_("The deadline ({when}) has passed; the bloc does not accept late self-assessments.")
                            .format(when=local_text(bloc, rnd.deadline)))
        return True
    return False


# -- the unit's form --------------------------------------------------------------------------

@dataclass
class Form:
    round: AssessmentRound
    bloc: Bloc
    unit: Unit
    member: Member
    criteria: list[Criterion]
    draft: AssessmentDraft | None
    versions: list[SubmissionVersion] = field(default_factory=list)
    evidence: list[EvidenceFile] = field(default_factory=list)

    @property
    def scores(self) -> dict[str, float]:
        return dict(self.draft.scores) if self.draft else {}

    @property
    def notes(self) -> dict[str, str]:
        return dict(self.draft.notes) if self.draft else {}

    @property
    def submitted(self) -> bool:
        return self.draft is not None and self.draft.state == "submitted"

    @property
    def last_version(self) -> SubmissionVersion | None:
        return self.versions[-1] if self.versions else None

    def totals(self) -> scoring.Totals:
        return scoring.totals(self.criteria, self.scores)

    def criterion(self, index: int) -> Criterion:
        if not 0 <= index < len(self.criteria):
            raise UserError(_("There is no criterion number {number}.").format(number=index + 1))
        return self.criteria[index]


async def form_member(session: AsyncSession, rnd: AssessmentRound, person: Person) -> Member:
    """The person's membership in the round's bloc (the private chat may be about another bloc)."""
    bloc = await session.get(Bloc, rnd.bloc_id)
    if bloc is None or not bloc.is_active:
        raise UserError(_("This link is not valid or has expired. Ask the bloc head for a new one."))
    member = await member_of(session, bloc, person)
    require_representative(member)
    return member


async def load_form(session: AsyncSession, round_id: int, person: Person, lock: bool = False) -> Form:
    rnd = await round_by_id(session, round_id)
    member = await form_member(session, rnd, person)
    unit = require_representative(member)  # form_member checked it already
    query = select(AssessmentDraft).where(AssessmentDraft.round_id == rnd.id, AssessmentDraft.unit_id == unit.id)
    draft = (await session.execute(_locked(session, query) if lock else query)).scalar_one_or_none()
    versions = list((await session.execute(select(SubmissionVersion).where(
        SubmissionVersion.round_id == rnd.id, SubmissionVersion.unit_id == unit.id)
        .order_by(col(SubmissionVersion.version)))).scalars())
    evidence = await evidence_of(session, rnd.id, unit.id)
    return Form(round=rnd, bloc=member.bloc, unit=unit, member=member,
                criteria=await criteria_of(session, rnd.table_id), draft=draft, versions=versions, evidence=evidence)


async def evidence_of(session: AsyncSession, round_id: int, unit_id: int | None = None) -> list[EvidenceFile]:
    query = select(EvidenceFile).where(EvidenceFile.round_id == round_id, EvidenceFile.removed_at == None)  # noqa: E711
    if unit_id is not None:
        query = query.where(EvidenceFile.unit_id == unit_id)
    return list((await session.execute(query.order_by(col(EvidenceFile.id)))).scalars())


async def _editable(session: AsyncSession, clock: Clock, round_id: int, person: Person) -> Form:
    """Open a write transaction and load the form for a change; refuse when not allowed."""
    await begin_write(session)
    form = await load_form(session, round_id, person, lock=True)
    try:
        acceptance(form.round, form.bloc, clock.now())
        if form.submitted:
            raise UserError(_("Your unit has already submitted. Press “Edit again” to change it."))
    except UserError:
        await abort(session)
        raise
    if form.draft is None:
        form.draft = AssessmentDraft(round_id=form.round.id, unit_id=form.unit.id, scores={}, notes={},
                                     updated_at=clock.now(), updated_by_person_id=person.id)
        session.add(form.draft)
    return form


def _draft(form: Form) -> AssessmentDraft:
    """The draft of a form `_editable` returned (it creates the draft when there is none)."""
    assert form.draft is not None
    return form.draft


def _touch(form: Form, clock: Clock, person: Person) -> None:
    _draft(form).updated_at = clock.now()
    _draft(form).updated_by_person_id = person.id


async def start_form(session: AsyncSession, clock: Clock, round_id: int, person: Person) -> Form:
    """What /assess and the deep link show: read-only, creates nothing."""
    form = await load_form(session, round_id, person)
    if form.round.closed_at is not None:
        raise UserError(_("This self-assessment round is closed. Nothing can be changed any more."))
    if not form.criteria:
        raise UserError(_("The scoring table of this round is empty."))
    return form


async def set_score(session: AsyncSession, clock: Clock, round_id: int, person: Person, index: int,
                    raw: str | float) -> Form:
    """Validate first (nothing written on a bad score), then store the score in the draft."""
    form = await _editable(session, clock, round_id, person)
    try:
        criterion = form.criterion(index)
        value = scoring.parse_score(str(raw), criterion.max_points)
    except UserError:
        await abort(session)
        raise
    draft = _draft(form)
    draft.scores = {**draft.scores, str(criterion.id): value}
    draft.position = min(index + 1, len(form.criteria) - 1)
    _touch(form, clock, person)
    await session.commit()
    return form


async def set_scores(session: AsyncSession, clock: Clock, round_id: int, person: Person,
                     scores: list[tuple[int, str]]) -> Form:
    """Several scores at once, (criterion index, typed score): every one is validated first, and
    nothing is written if one is wrong."""
    form = await _editable(session, clock, round_id, person)
    values: dict[str, float] = {}
    try:
        for index, raw in scores:
            if not 0 <= index < len(form.criteria):
                raise UserError(_("There is no criterion number {number}: the form has {count}.").format(
                    number=index + 1, count=len(form.criteria)))
            criterion = form.criterion(index)
            try:
                values[str(criterion.id)] = scoring.parse_score(raw, criterion.max_points)
            except UserError as err:
                reason = _("Criterion {number}: {reason}").format(number=index + 1, reason=err.message)
                raise UserError(reason) from None
    except UserError:
        await abort(session)
        raise
    draft = _draft(form)
    draft.scores = {**draft.scores, **values}
    _touch(form, clock, person)
    await session.commit()
    return form


async def clear_score(session: AsyncSession, clock: Clock, round_id: int, person: Person, index: int) -> Form:
    form = await _editable(session, clock, round_id, person)
    criterion = form.criterion(index)
    draft = _draft(form)
    draft.scores = {k: v for k, v in draft.scores.items() if k != str(criterion.id)}
    _touch(form, clock, person)
    await session.commit()
    return form


async def set_note(session: AsyncSession, clock: Clock, round_id: int, person: Person, index: int, text: str) -> Form:
    note = clean_name(text)
    if len(note) > MAX_NOTE:
        raise UserError(_("The note is too long (at most {limit} characters).").format(limit=MAX_NOTE))
    form = await _editable(session, clock, round_id, person)
    try:
        criterion = form.criterion(index)
    except UserError:
        await abort(session)
        raise
    draft = _draft(form)
    notes = {k: v for k, v in draft.notes.items() if k != str(criterion.id)}
    if note:
        notes[str(criterion.id)] = note
    draft.notes = notes
    _touch(form, clock, person)
    await session.commit()
    return form


async def remember_position(session: AsyncSession, clock: Clock, round_id: int, person: Person, index: int) -> Form:
    """Back / skip / jump: only the place changes. A closed or submitted form is shown, not changed."""
    form = await load_form(session, round_id, person)
    form.criterion(index)
    if form.draft is not None and not form.submitted and form.round.closed_at is None:
        await begin_write(session)
        draft = await session.get(AssessmentDraft, form.draft.id, populate_existing=True)
        assert draft is not None  # just loaded in this transaction
        draft.position = index
        await session.commit()
        form.draft = draft
    return form


async def submit(session: AsyncSession, clock: Clock, round_id: int, person: Person) -> tuple[Form, SubmissionVersion]:
    form = await _editable(session, clock, round_id, person)
    late = form.round.deadline < clock.now()
    sums = form.totals()
    if sums.scored == 0:
        await abort(session)
        raise UserError(_("Nothing is scored yet: score the criteria before submitting."))
    if sums.missing:
        codes = ", ".join(c.code for c in sums.missing[:10])
        more = "…" if len(sums.missing) > 10 else ""
        await abort(session)
        raise UserError(_("{n} criteria are not scored yet ({codes}). Score them (0 is a score), then submit.")
                        .format(n=len(sums.missing), codes=codes + more))
    number = (form.last_version.version if form.last_version else 0) + 1
    version = SubmissionVersion(round_id=form.round.id, unit_id=form.unit.id, version=number,
                                scores=dict(_draft(form).scores), notes=dict(_draft(form).notes), total=sums.total,
                                late=late, submitted_at=clock.now(), submitted_by_person_id=person.id)
    session.add(version)
    _draft(form).state = "submitted"
    _touch(form, clock, person)
    session.add(AuditEvent(bloc_id=form.bloc.id, at=clock.now(), actor_person_id=person.id,
                           action="assessment.submit", detail={"round_id": form.round.id, "unit_id": form.unit.id,
                                                               "version": number, "late": late}))
    await session.commit()
    form.versions.append(version)
    return form, version


async def reopen(session: AsyncSession, clock: Clock, round_id: int, person: Person) -> Form:
    """Edit again after submitting: the submitted version stays valid until a new one is sent."""
    await begin_write(session)
    form = await load_form(session, round_id, person, lock=True)
    try:
        acceptance(form.round, form.bloc, clock.now())
    except UserError:
        await abort(session)
        raise
    if form.draft is not None and form.draft.state != "editing":
        form.draft.state = "editing"
        form.draft.position = 0
        _touch(form, clock, person)
    await session.commit()
    return form


def check_evidence(name: str, size: int, max_mb: int) -> str:
    """The file's type by its extension; raises with what is accepted."""
    lower = (name or "").lower()
    ext = next((e for e in EVIDENCE_TYPES if lower.endswith(e)), None)
    if ext is None:
        raise UserError(_("This file type is not accepted. Send PDF, DOCX, XLSX, JPG or PNG."))
    if size > max_mb * 1024 * 1024:
        raise UserError(_("The file is too large (at most {mb} MB).").format(mb=max_mb))
    return EVIDENCE_TYPES[ext]


async def add_evidence(session: AsyncSession, clock: Clock, round_id: int, person: Person, file_id: str,
                       file_unique_id: str, name: str, size: int, max_mb: int,
                       before_commit: Callable[[], Awaitable[None]] | None = None) -> tuple[Form, EvidenceFile]:
    """`before_commit` runs in the same write transaction once every check has passed (the upload
    page spends its one-time link and stores the bytes there); a UserError from it undoes all."""
    mime = check_evidence(name, size, max_mb)
    form = await _editable(session, clock, round_id, person)
    if len(form.evidence) >= MAX_EVIDENCE:
        await abort(session)
        raise UserError(_("At most {limit} evidence files per unit.").format(limit=MAX_EVIDENCE))
    item = EvidenceFile(round_id=form.round.id, unit_id=form.unit.id, file_id=file_id[:256],
                        file_unique_id=(file_unique_id or "")[:128], name=clean_name(name)[:256] or "file",
                        size=size, mime=mime, uploaded_at=clock.now(), uploaded_by_person_id=person.id)
    session.add(item)
    _touch(form, clock, person)
    if before_commit is not None:
        try:
            await before_commit()
        except UserError:
            await abort(session)
            raise
    await session.commit()
    form.evidence.append(item)
    return form, item


async def remove_evidence(session: AsyncSession, clock: Clock, round_id: int, person: Person, evidence_id: int) -> Form:
    form = await _editable(session, clock, round_id, person)
    item = next((e for e in form.evidence if e.id == evidence_id), None)
    if item is None:  # another unit's file, or already removed
        await abort(session)
        raise UserError(_("This file is not in your unit's evidence list."))
    item.removed_at = clock.now()
    _touch(form, clock, person)
    await session.commit()
    form.evidence = [e for e in form.evidence if e.id != evidence_id]
    return form


# -- the head's view --------------------------------------------------------------------------

@dataclass
class UnitStatus:
    unit: Unit
    version: SubmissionVersion | None  # the latest version, returned or not
    draft: AssessmentDraft | None
    evidence: int = 0

    @property
    def state(self) -> str:
        """submitted | returned | draft | none"""
        if self.version is not None and self.version.returned_at is None:
            return "submitted"
        if self.version is not None:
            return "returned"
        if self.draft is not None and (self.draft.scores or self.draft.notes):
            return "draft"
        return "none"


async def overview(session: AsyncSession, rnd: AssessmentRound) -> list[UnitStatus]:
    """Every active unit, plus inactive ones that have submitted in this round."""
    drafts = {d.unit_id: d for d in (await session.execute(select(AssessmentDraft).where(
        AssessmentDraft.round_id == rnd.id))).scalars()}
    latest: dict[int, SubmissionVersion] = {}
    for v in (await session.execute(select(SubmissionVersion).where(SubmissionVersion.round_id == rnd.id)
                                    .order_by(col(SubmissionVersion.version)))).scalars():
        latest[v.unit_id] = v
    counts = dict((await session.execute(select(EvidenceFile.unit_id, func.count()).where(
        EvidenceFile.round_id == rnd.id, EvidenceFile.removed_at == None)  # noqa: E711
        .group_by(col(EvidenceFile.unit_id)))).all())
    units = await list_units(session, rnd.bloc_id, active_only=False)
    return [UnitStatus(u, latest.get(u.id), drafts.get(u.id), counts.get(u.id, 0)) for u in units
            if u.is_active or u.id in latest]


async def progress(session: AsyncSession, rnd: AssessmentRound) -> tuple[int, int]:
    rows = await overview(session, rnd)
    return sum(1 for r in rows if r.state == "submitted"), len(rows)


async def versions_of(session: AsyncSession, round_id: int, unit_id: int) -> list[SubmissionVersion]:
    return list((await session.execute(select(SubmissionVersion).where(
        SubmissionVersion.round_id == round_id, SubmissionVersion.unit_id == unit_id)
        .order_by(col(SubmissionVersion.version)))).scalars())


async def return_submission(session: AsyncSession, clock: Clock, member: Member, unit: Unit,
                            reason: str) -> tuple[AssessmentRound, SubmissionVersion]:
    """The head sends a submission back with a reason; the unit edits and resubmits (new version)."""
    require_manager(member)
    reason = clean_name(reason)
    if not reason:
        raise UserError(usage.return_usage())
    if len(reason) > MAX_REASON:
        raise UserError(_("The reason is too long (at most {limit} characters).").format(limit=MAX_REASON))
    await begin_write(session)
    rnd = await _open_round_locked(session, member.bloc.id)
    version = (await session.execute(_locked(session, select(SubmissionVersion).where(
        SubmissionVersion.round_id == rnd.id, SubmissionVersion.unit_id == unit.id)
        .order_by(col(SubmissionVersion.version).desc())))).scalars().first()
    if version is None or version.returned_at is not None:
        await abort(session)
        raise UserError(_("{unit} has no submission to return.").format(unit=unit.name))
    version.returned_at, version.returned_by_person_id, version.return_reason = clock.now(), member.person.id, reason
    draft = (await session.execute(_locked(session, select(AssessmentDraft).where(
        AssessmentDraft.round_id == rnd.id, AssessmentDraft.unit_id == unit.id)))).scalar_one_or_none()
    if draft is not None:
        draft.state = "editing"
    session.add(AuditEvent(bloc_id=member.bloc.id, at=clock.now(), actor_person_id=member.person.id,
                           action="assessment.return", detail={"round_id": rnd.id, "unit_id": unit.id,
                                                               "version": version.version}))
    await session.commit()
    return rnd, version


async def representatives_of(session: AsyncSession, unit_ids: list[int]) -> dict[int, list[Person]]:
    if not unit_ids:
        return {}
    result = await session.execute(select(Representative.unit_id, Person).join(
        Person, col(Person.id) == col(Representative.person_id)).where(
        col(Representative.unit_id).in_(unit_ids), col(Representative.revoked_at) == None))  # noqa: E711
    found: dict[int, list[Person]] = {}
    for unit_id, person in result.all():
        found.setdefault(unit_id, []).append(person)
    return found


async def units_to_remind(session: AsyncSession, rnd: AssessmentRound) -> list[tuple[Unit, list[Person]]]:
    """Units that have not submitted (or were returned), with their representatives. The
    outbox/reminder worker can call this with the round of `open_rounds_with_deadlines`."""
    rows = [r for r in await overview(session, rnd) if r.state != "submitted" and r.unit.is_active]
    reps = await representatives_of(session, [r.unit.id for r in rows])
    return [(r.unit, reps.get(r.unit.id, [])) for r in rows]


async def open_rounds_with_deadlines(session: AsyncSession) -> list[tuple[Bloc, AssessmentRound]]:
    """For the reminder scheduler: every open round and its deadline (AssessmentRound.deadline, UTC)."""
    result = await session.execute(select(Bloc, AssessmentRound).join(
        AssessmentRound, col(AssessmentRound.bloc_id) == col(Bloc.id)).where(
        AssessmentRound.closed_at == None, Bloc.is_active == True))  # noqa: E711,E712
    return [(b, r) for b, r in result.all()]


def can_see_results(member: Member | None, rnd: AssessmentRound) -> bool:
    """Scores of other units: managers always; members only after close if the bloc shares them."""
    if member is None:
        return False
    if member.can_manage:
        return True
    return rnd.closed_at is not None and results_shared(member.bloc) and member.unit is not None


def ranking(rows: list[UnitStatus]) -> dict[int, int]:
    """unit id -> rank by total (1 = best); equal totals share a rank (1, 2, 2, 4)."""
    # a submitted row always has a version
    done = sorted(((r, r.version) for r in rows if r.state == "submitted" and r.version is not None),
                  key=lambda pair: -pair[1].total)
    ranks: dict[int, int] = {}
    for i, (row, version) in enumerate(done):
        if i and version.total == done[i - 1][1].total:
            ranks[row.unit.id] = ranks[done[i - 1][0].unit.id]
        else:
            ranks[row.unit.id] = i + 1
    return ranks


@dataclass
class ExportData:
    bloc: Bloc
    round: AssessmentRound
    criteria: list[Criterion]
    rows: list[UnitStatus]
    ranks: dict[int, int]
    people: dict[int, Person]
    evidence: list[EvidenceFile]


async def export_data(session: AsyncSession, member: Member, rnd: AssessmentRound | None = None) -> ExportData:
    require_manager(member)
    rnd = rnd or await latest_round(session, member.bloc.id)
    if rnd is None:
        raise UserError(_("There is no self-assessment round to export yet."))
    rows = await overview(session, rnd)
    person_ids = {r.version.submitted_by_person_id for r in rows if r.version}
    evidence = await evidence_of(session, rnd.id)
    person_ids |= {e.uploaded_by_person_id for e in evidence}
    people = {}
    if person_ids - {None}:
        people = {p.id: p for p in (await session.execute(select(Person).where(
            col(Person.id).in_(person_ids - {None})))).scalars()}
    return ExportData(bloc=member.bloc, round=rnd, criteria=await criteria_of(session, rnd.table_id), rows=rows,
                      ranks=ranking(rows), people=people, evidence=evidence)


async def person_names(session: AsyncSession, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {p.id: p.full_name for p in (await session.execute(select(Person).where(col(Person.id).in_(ids)))).scalars()}


def deadline_soon(rnd: AssessmentRound, now: datetime, within: timedelta) -> bool:
    return rnd.closed_at is None and now <= rnd.deadline <= now + within


def require_round_member(member: Member | None) -> Member:
    if member is None:
        raise NotAllowed(_("You are not a member of any bloc yet. Open the join link your bloc head sent you."))
    return member
