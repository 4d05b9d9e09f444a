"""Assessment services with an injected clock: deadlines in the bloc's zone, late rules,
versioning, returns, ranking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.app import build_table
from bot.services import assessments as svc
from bot.services import scoring
from bot.services import settings as settings_service
from bot.services.blocs import Member, Role
from bot.services.errors import UserError
from storage.models import AssessmentRound, Bloc, Person, Representative, SubmissionVersion, Unit


@pytest.fixture(autouse=True)
def deadline_sources():
    """Opening a round plans its reminders: the composition root registers the deadline sources."""
    build_table()


async def make_world(session, clock):
    now = clock.now()
    head = Person(external_id=1, full_name="Lan", created_at=now, started=True)
    rep = Person(external_id=2, full_name="Hùng", created_at=now, started=True)
    session.add_all([head, rep])
    await session.flush()
    bloc = Bloc(chat_id=-100, title="Khối", year=2026, created_at=now, founder_person_id=head.id)
    session.add(bloc)
    await session.flush()
    units = [Unit(bloc_id=bloc.id, name=f"Đơn vị {i}", name_key=f"đơn vị {i}", position=i, created_at=now)
             for i in range(1, 4)]
    session.add_all(units)
    await session.flush()
    session.add(Representative(bloc_id=bloc.id, unit_id=units[0].id, person_id=rep.id, joined_at=now))
    await session.commit()
    manager = Member(bloc=bloc, person=head, unit=None, role=Role.founder)
    return bloc, manager, rep, units


async def fill_all(session, clock, round_id, person, value="1"):
    form = await svc.load_form(session, round_id, person)
    for i, c in enumerate(form.criteria):
        if c.kind == "normal":
            await svc.set_score(session, clock, round_id, person, i, value)


def test_deadline_is_read_in_the_bloc_zone(clock):
    bloc = Bloc(chat_id=1, title="x", year=2026, timezone="Asia/Ho_Chi_Minh", created_at=clock.now())
    when = svc.parse_deadline("30/11/2026 17:00", bloc, clock.now())
    assert when == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert svc.parse_deadline("30/11/2026", bloc, clock.now()) == datetime(2026, 11, 30, 16, 59, tzinfo=UTC)
    assert svc.local_text(bloc, when) == "17:00 ngày 30/11/2026"
    with pytest.raises(UserError):
        svc.parse_deadline("22/11/2026 10:00", bloc, clock.now())
    with pytest.raises(UserError):
        svc.parse_deadline("ngày mai", bloc, clock.now())


def test_acceptance_deadline_late_and_closed(clock):
    bloc = Bloc(chat_id=1, title="x", year=2026, created_at=clock.now(), settings={})
    rnd = AssessmentRound(bloc_id=1, table_id=1, year=2026, opened_at=clock.now(),
                          deadline=clock.now() + timedelta(hours=1))
    assert svc.acceptance(rnd, bloc, clock.now()) is False
    clock.advance(hours=2)
    with pytest.raises(UserError) as err:
        svc.acceptance(rnd, bloc, clock.now())
    assert "quá hạn" in err.value.message
    bloc.settings = {svc.LATE_KEY: True}
    assert svc.acceptance(rnd, bloc, clock.now()) is True
    rnd.closed_at = clock.now()
    with pytest.raises(UserError):
        svc.acceptance(rnd, bloc, clock.now())


async def test_versions_late_flag_and_return(session, clock):
    bloc, manager, rep, units = await make_world(session, clock)
    await svc.load_table(session, clock, manager, scoring.template_rows(), "template")
    rnd = await svc.open_round(session, clock, manager, "24/11/2026 17:00")
    with pytest.raises(UserError):  # one open round at a time
        await svc.open_round(session, clock, manager, "25/11/2026 17:00")
    await fill_all(session, clock, rnd.id, rep, "2")
    _form, v1 = await svc.submit(session, clock, rnd.id, rep)
    assert (v1.version, v1.total, v1.late, v1.submitted_by_person_id) == (1, 20.0, False, rep.id)
    with pytest.raises(UserError):  # submitted: reopen before changing
        await svc.set_score(session, clock, rnd.id, rep, 0, "3")
    await svc.reopen(session, clock, rnd.id, rep)
    await svc.set_score(session, clock, rnd.id, rep, 0, "3")
    clock.advance(days=2)  # past the deadline
    with pytest.raises(UserError):
        await svc.submit(session, clock, rnd.id, rep)
    await svc.extend_deadline(session, clock, manager, "26/11/2026 17:00")
    _form, v2 = await svc.submit(session, clock, rnd.id, rep)
    assert (v2.version, v2.total, v2.late) == (2, 21.0, False)
    rows = await svc.overview(session, rnd)
    assert [r.state for r in rows] == ["submitted", "none", "none"]
    with pytest.raises(UserError):
        await svc.return_submission(session, clock, manager, units[0], "   ")
    await svc.return_submission(session, clock, manager, units[0], "Thiếu minh chứng")
    assert [r.state for r in await svc.overview(session, rnd)][0] == "returned"
    assert await svc.progress(session, rnd) == (0, 3)
    clock.advance(days=2)
    with pytest.raises(UserError):  # late, and the bloc does not allow it
        await svc.submit(session, clock, rnd.id, rep)
    await settings_service.set_value(session, clock, bloc, svc.LATE_KEY, "có", manager.person.id)
    _form, v3 = await svc.submit(session, clock, rnd.id, rep)
    assert (v3.version, v3.late) == (3, True)
    versions = (await session.execute(select(SubmissionVersion).order_by(SubmissionVersion.version))).scalars().all()
    assert [v.return_reason for v in versions] == [None, "Thiếu minh chứng", None]
    await svc.close_round(session, clock, manager)
    with pytest.raises(UserError):
        await svc.reopen(session, clock, rnd.id, rep)


async def test_only_representatives_fill_and_managers_manage(session, clock):
    bloc, manager, rep, units = await make_world(session, clock)
    outsider = Person(external_id=9, full_name="Khách", created_at=clock.now())
    session.add(outsider)
    await session.commit()
    rep_member = Member(bloc=bloc, person=rep, unit=units[0], role=Role.representative)
    with pytest.raises(UserError):
        await svc.load_table(session, clock, rep_member, scoring.template_rows(), "template")
    with pytest.raises(UserError):  # no table yet
        await svc.open_round(session, clock, manager, "30/11/2026 17:00")
    await svc.load_table(session, clock, manager, scoring.template_rows(), "template")
    rnd = await svc.open_round(session, clock, manager, "30/11/2026 17:00")
    with pytest.raises(UserError):
        await svc.set_score(session, clock, rnd.id, outsider, 0, "1")
    with pytest.raises(UserError):
        await svc.export_data(session, rep_member)
    with pytest.raises(UserError):
        await svc.add_evidence(session, clock, rnd.id, rep, "f", "u", "a.exe", 10, 20)


def test_ranking_shares_equal_totals():
    rows = [svc.UnitStatus(Unit(id=i, bloc_id=1, name=str(i), name_key=str(i), created_at=datetime.now(UTC)),
                           SubmissionVersion(round_id=1, unit_id=i, version=1, total=t, submitted_at=datetime.now(
                               UTC)), None) for i, t in [(1, 80), (2, 90), (3, 80), (4, 70)]]
    assert svc.ranking(rows) == {2: 1, 1: 2, 3: 2, 4: 4}
