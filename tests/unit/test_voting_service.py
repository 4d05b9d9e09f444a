"""The voting service against the real database (SQLite, or PostgreSQL with TEST_DATABASE_URL):
one ballot per unit under concurrency, idempotent closing, rule checks at cast time, parsing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.services import ballot_box
from bot.services import voting as svc
from bot.services.blocs import member_of
from bot.services.errors import UserError
from storage.models import BallotBox, Bloc, Person, Poll, Representative, Unit

N_UNITS = 14


async def make_bloc(db, clock, n_units=N_UNITS, reps_per_unit=1, settings=None):
    """A bloc, its units, one (or more) representative per unit, and a founder who manages."""
    async with db.session() as s:
        founder = Person(external_id=1, full_name="Trưởng khối", started=True, created_at=clock.now())
        s.add(founder)
        await s.flush()
        bloc = Bloc(chat_id=-100, title="Khối", year=2026, founder_person_id=founder.id,
                    settings=settings or {}, created_at=clock.now())
        s.add(bloc)
        await s.flush()
        units = [Unit(bloc_id=bloc.id, name=f"TTYT số {i}", name_key=f"ttyt số {i}", position=i,
                      created_at=clock.now()) for i in range(1, n_units + 1)]
        s.add_all(units)
        await s.flush()
        reps: dict[int, list[Person]] = {}
        ext = 1000
        for unit in units:
            for _ in range(reps_per_unit):
                ext += 1
                person = Person(external_id=ext, full_name=f"Đại diện {ext}", started=True, created_at=clock.now())
                s.add(person)
                await s.flush()
                s.add(Representative(bloc_id=bloc.id, unit_id=unit.id, person_id=person.id, joined_at=clock.now()))
                reps.setdefault(unit.id, []).append(person)
        await s.commit()
        return bloc, founder, units, reps


SEATS: dict[int, list] = {}  # poll id -> the committee's (seat, person, share), as their private chats hold them


async def open_poll(db, clock, bloc, founder, **spec) -> Poll:
    async with db.session() as s:
        member = await member_of(s, bloc, founder)
        opened = await svc.open_vote(s, clock, member, svc.VoteSpec(**{"kind": "flag", **spec}))
    SEATS[opened.poll.id] = [(x.seat, x.person, x.share) for x in opened.seats]
    return opened.poll


async def hand_keys(db, clock, poll_id, vault=None, seats=None):
    """Committee members hand back their keys (the first k by default); returns the last Handed."""
    vault = vault or ballot_box.KeyVault()
    chosen = SEATS[poll_id] if seats is None else seats
    async with db.session() as s:
        k = (await s.get(Poll, poll_id)).committee_k
    handed = None
    for seat, person, share in (chosen if seats is not None else chosen[:k]):
        async with db.session() as s:
            handed = await svc.hand_back(s, clock, vault, poll_id, seat, share, person)
    return handed


async def close_and_count(db, clock, poll_id, member=None) -> Poll:
    async with db.session() as s:
        closed = await svc.close_vote(s, clock, poll_id, member)
    assert closed.status == "locked"
    handed = await hand_keys(db, clock, poll_id)
    assert handed.counted
    return handed.poll


async def cast(db, clock, poll_id, person, choices):
    async with db.session() as s:
        return await svc.cast(s, clock, poll_id, person, choices)


async def box_of(db, poll_id) -> BallotBox:
    async with db.session() as s:
        return (await s.execute(select(BallotBox).where(BallotBox.poll_id == poll_id))).scalar_one()


async def test_fifty_concurrent_casts_for_one_unit_make_one_ballot(db, clock):
    bloc, founder, units, reps = await make_bloc(db, clock, reps_per_unit=5)
    poll = await open_poll(db, clock, bloc, founder)
    people = reps[units[0].id]
    results = await asyncio.gather(*[cast(db, clock, poll.id, people[i % 5], [i % N_UNITS]) for i in range(50)],
                                   return_exceptions=True)
    ok = [r for r in results if isinstance(r, svc.Receipt)]
    refused = [r for r in results if isinstance(r, svc.AlreadyVoted)]
    assert len(ok) == 1 and len(refused) == 49, [
        type(r) for r in results if not isinstance(r, (svc.Receipt, svc.AlreadyVoted))]
    box = await box_of(db, poll.id)
    assert len(box.ballots) == 1 and box.voters == [units[0].id] and box.version == 1


async def test_fourteen_units_at_once_with_duplicates_tally_equals_ballots(db, clock):
    bloc, founder, units, reps = await make_bloc(db, clock, reps_per_unit=2)
    poll = await open_poll(db, clock, bloc, founder, kind="merit", max_choices=3)
    jobs = []
    expected: dict[int, list[int]] = {}
    for i, unit in enumerate(units):
        choice = sorted({i % N_UNITS, (i * 3 + 1) % N_UNITS})
        expected[unit.id] = choice
        for person in reps[unit.id]:  # both representatives, twice each
            jobs += [cast(db, clock, poll.id, person, choice) for _ in range(2)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    assert sum(isinstance(r, svc.Receipt) for r in results) == N_UNITS
    assert sum(isinstance(r, svc.AlreadyVoted) for r in results) == len(jobs) - N_UNITS
    box = await box_of(db, poll.id)
    assert box.voters == sorted(u.id for u in units) and len(box.ballots) == N_UNITS
    closed = await close_and_count(db, clock, poll.id)
    async with db.session() as s:
        out = await svc.outcome(s, closed)
    per_option = {i: 0 for i in range(N_UNITS)}
    for choice in expected.values():
        for c in choice:
            per_option[c] += 1
    assert {c.candidate: c.votes for c in out.result.counts} == per_option
    assert out.result.returned == N_UNITS and out.result.issued == N_UNITS


async def test_close_is_idempotent_under_two_closers(db, clock):
    bloc, founder, units, reps = await make_bloc(db, clock, n_units=3)
    poll = await open_poll(db, clock, bloc, founder, closing_at=clock.now() + timedelta(hours=1))

    async def close():
        async with db.session() as s:
            return await svc.close_vote(s, clock, poll.id)

    clock.advance(hours=2)
    results = await asyncio.gather(*[close() for _ in range(6)])
    assert sum(r is not None for r in results) == 1
    async with db.session() as s:
        assert (await s.get(Poll, poll.id)).status == "locked"  # sealed: closed and waiting for the committee
        assert await svc.due_polls(s, clock.now()) == []


async def test_cast_refused_when_closed_cancelled_or_not_eligible(db, clock):
    bloc, founder, units, reps = await make_bloc(db, clock, n_units=3)
    poll = await open_poll(db, clock, bloc, founder, closing_at=clock.now() + timedelta(hours=1))
    clock.advance(hours=2)  # past its time, even before the closer ran
    with pytest.raises(UserError, match="đã đóng|closed"):
        await cast(db, clock, poll.id, reps[units[0].id][0], [0])
    poll2 = await open_poll(db, clock, bloc, founder)
    async with db.session() as s:
        await svc.cancel_vote(s, clock, poll2.id, await member_of(s, bloc, founder))
    with pytest.raises(UserError, match="hủy|cancelled"):
        await cast(db, clock, poll2.id, reps[units[0].id][0], [0])
    poll3 = await open_poll(db, clock, bloc, founder)
    async with db.session() as s:  # a unit added after opening has no ballot in this vote
        late = Unit(bloc_id=bloc.id, name="Mới", name_key="mới", created_at=clock.now())
        s.add(late)
        await s.flush()
        newcomer = Person(external_id=99, full_name="Mới", created_at=clock.now())
        s.add(newcomer)
        await s.flush()
        s.add(Representative(bloc_id=bloc.id, unit_id=late.id, person_id=newcomer.id, joined_at=clock.now()))
        await s.commit()
    with pytest.raises(UserError, match="danh sách|list"):
        await cast(db, clock, poll3.id, newcomer, [0])
    with pytest.raises(UserError, match="đại diện|representative"):
        await cast(db, clock, poll3.id, founder, [0])
    assert (await box_of(db, poll3.id)).ballots == []


async def test_rules_enforced_at_cast_time(db, clock):
    settings = {"vote": {"self_vote": False, "blank_allowed": False}}
    bloc, founder, units, reps = await make_bloc(db, clock, n_units=4, settings=settings)
    poll = await open_poll(db, clock, bloc, founder, kind="merit", max_choices=2)
    voter = reps[units[0].id][0]
    with pytest.raises(UserError, match="tự bầu|itself"):
        await cast(db, clock, poll.id, voter, [0])  # option 0 is the voter's own unit
    with pytest.raises(UserError, match="phiếu trắng|Blank"):
        await cast(db, clock, poll.id, voter, [])
    with pytest.raises(UserError, match="tối đa|at most"):
        await cast(db, clock, poll.id, voter, [1, 2, 3])
    with pytest.raises(UserError):
        svc.toggle(poll, [], 0, units[0].id)
    assert svc.toggle(poll, [1], 2, units[0].id) == [1, 2]
    with pytest.raises(UserError, match="tối đa|at most"):
        svc.toggle(poll, [1, 2], 3, units[0].id)
    assert (await box_of(db, poll.id)).ballots == []
    receipt = await cast(db, clock, poll.id, voter, [2, 1])
    (sealed,) = (await box_of(db, poll.id)).ballots
    assert isinstance(sealed, str) and len(receipt.code) == 11  # only a ciphertext is stored
    counted = await close_and_count(db, clock, poll.id)
    assert (await box_of(db, counted.id)).ballots == [[receipt.code, [1, 2]]]


async def test_reminders_claimed_once_for_units_not_voted(db, clock):
    bloc, founder, units, reps = await make_bloc(db, clock, n_units=3)
    poll = await open_poll(db, clock, bloc, founder, closing_at=clock.now() + timedelta(hours=2))
    await cast(db, clock, poll.id, reps[units[0].id][0], [1])
    async with db.session() as s:
        assert await svc.claim_reminders(s, clock) == []  # not yet within the hour before closing
    clock.advance(hours=1, minutes=5)
    async with db.session() as s:
        jobs = await svc.claim_reminders(s, clock)
    assert len(jobs) == 1 and sorted(u.id for _p, u in jobs[0].recipients) == [units[1].id, units[2].id]
    async with db.session() as s:
        assert await svc.claim_reminders(s, clock) == []


async def test_extend_and_runoff(db, clock):
    bloc, founder, units, reps = await make_bloc(db, clock, n_units=4)
    poll = await open_poll(db, clock, bloc, founder, closing_at=clock.now() + timedelta(hours=1))
    async with db.session() as s:
        member = await member_of(s, bloc, founder)
        with pytest.raises(UserError):
            await svc.extend_vote(s, clock, poll.id, member, clock.now() + timedelta(minutes=30))
        extended = await svc.extend_vote(s, clock, poll.id, member, clock.now() + timedelta(hours=3))
    assert extended.closing_at == clock.now() + timedelta(hours=3)
    for unit, pick in zip(units, (0, 0, 1, 1), strict=False):
        await cast(db, clock, poll.id, reps[unit.id][0], [pick])
    async with db.session() as s:
        s_poll = await svc.get_poll(s, poll.id)
        s_poll.rule = {**s_poll.rule, "strict": False}
        await s.commit()
    async with db.session() as s:
        member = await member_of(s, bloc, founder)
    closed = await close_and_count(db, clock, poll.id, member)
    async with db.session() as s:
        out = await svc.outcome(s, closed)
        assert out.result.tied == [0, 1]
        runoff = (await svc.open_runoff(s, clock, poll.id, member)).poll
    assert [o["unit_id"] for o in runoff.options] == [units[0].id, units[1].id]
    assert svc.rule_of(runoff).max_choices == 1 and runoff.runoff_of_id == poll.id


def test_parse_one_line_forms():
    bloc = Bloc(chat_id=1, title="K", year=2026, timezone="Asia/Ho_Chi_Minh", created_at=datetime.now(UTC))
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
    spec = svc.parse_vote_line("flag 18:00 25/12/2026", bloc, now)
    assert spec.kind == "flag" and spec.closing_at == datetime(2026, 12, 25, 11, 0, tzinfo=UTC)
    spec = svc.parse_vote_line("bằngkhen 3 -2,5 board", bloc, now)
    assert (spec.kind, spec.max_choices, spec.exclude, spec.publish_board, spec.closing_at) == (
        "merit", 3, [2, 5], True, None)
    assert svc.parse_vote_line("head 2h", bloc, now).closing_at == now + timedelta(hours=2)
    assert svc.parse_vote_line("head 2h30m", bloc, now).closing_at == now + timedelta(hours=2, minutes=30)
    assert svc.parse_vote_line("bk 3 trừ 2 5", bloc, now).exclude == [2, 5]
    assert svc.parse_vote_line("co bkp 2,5 9", bloc, now).committee == [2, 5, 9]
    for bad in ("bk 0", "co 2h30", "co 18h00", "co tomorrow", "co 25-12-2026", "co ngày-mai", "co | A"):
        with pytest.raises(UserError):
            svc.parse_vote_line(bad, bloc, now)
    assert svc.parse_vote_line("pho 17:00", bloc, now).closing_at == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    spec = svc.parse_vote_line("custom 2 Chọn nơi họp? | Hạ Long | Móng Cái | Cô Tô", bloc, now)
    assert (spec.question, spec.options, spec.max_choices) == ("Chọn nơi họp?", ["Hạ Long", "Móng Cái", "Cô Tô"], 2)
    spec = svc.parse_vote_line("custom\nChọn nơi họp?\nHạ Long\nMóng Cái", bloc, now)
    assert (spec.question, spec.options) == ("Chọn nơi họp?", ["Hạ Long", "Móng Cái"])
    with pytest.raises(UserError):
        svc.parse_vote_line("bogus", bloc, now)
    with pytest.raises(UserError):
        svc.parse_vote_line("flag 10:00 31/02/2026", bloc, now)


def test_vote_defaults_come_from_bloc_settings():
    bloc = Bloc(chat_id=1, title="K", year=2026, created_at=datetime.now(UTC),
                settings={"vote": {"threshold": "2/3", "base": "valid", "cap_merit": "20%", "junk": 1}})
    d = svc.vote_defaults(bloc)
    assert d["threshold"] == "2/3" and d["quorum"] == "2/3" and "junk" not in d
    rule = svc.default_rule(bloc, "merit", 5, 14, proposed_before=1)
    assert rule.effective_cap(14) == 2 and rule.base == "valid" and rule.max_choices == 5  # 20% of the 13 others
    assert svc.default_rule(bloc, "flag", 1, 14).cap == 1


class _Statements:
    def __init__(self, db) -> None:
        from sqlalchemy import event

        self.n = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_args) -> None:
        self.n += 1


async def test_ticks_read_the_memoized_poll_and_the_cast_still_refuses_what_changed(db, clock):
    """A tick or review reads nothing from the database once the ballot was opened (the poll is a
    memoized copy); the memo is dropped by any write to the poll table, and the cast, which reads the
    box under the write lock, refuses a unit that voted meanwhile and a poll cancelled meanwhile."""
    bloc, founder, units, reps = await make_bloc(db, clock, n_units=3, reps_per_unit=2)
    await db.changes.listen()  # PostgreSQL: what the first update does (bot/conversations/context.py)
    poll = await open_poll(db, clock, bloc, founder)
    first, second = reps[units[0].id]
    async with db.session() as s:
        member = await member_of(s, bloc, second)
        voter, voted = await svc.voter_and_voted(s, clock, poll.id, second, member)  # the ballot opened
    assert not voted and voter.unit.id == units[0].id
    statements = _Statements(db)
    async with db.session() as s:
        before = statements.n
        again = await svc.voter_at_step(s, clock, poll.id, second, member)
        assert statements.n == before and again.poll.options == voter.poll.options
    await cast(db, clock, poll.id, first, [1])  # the unit's other representative votes meanwhile
    async with db.session() as s:
        await svc.voter_at_step(s, clock, poll.id, second, member)  # a tick on the old ballot: shown
    with pytest.raises(svc.AlreadyVoted):
        await cast(db, clock, poll.id, second, [2])  # the cast refuses it
    assert len((await box_of(db, poll.id)).ballots) == 1
    async with db.session() as s:
        await svc.cancel_vote(s, clock, poll.id, await member_of(s, bloc, founder))
    async with db.session() as s:  # the cancel wrote the poll table: the memo's copy is gone
        with pytest.raises(UserError, match="hủy|cancelled"):
            await svc.voter_at_step(s, clock, poll.id, reps[units[1].id][0])
    with pytest.raises(UserError, match="hủy|cancelled"):
        await cast(db, clock, poll.id, reps[units[1].id][0], [0])


async def test_a_close_by_another_process_is_seen_at_cast_before_its_notify(db, db_url, clock):
    """PostgreSQL, two processes: the other closes the poll; before its NOTIFY can reach us, our cast
    still refuses, because the cast reads the poll's state under FOR SHARE and drops a memoized copy
    that differs. (SQLite allows one process per file, bot/locking.py.)"""
    from storage.db import Database

    bloc, founder, units, reps = await make_bloc(db, clock, n_units=3)
    poll = await open_poll(db, clock, bloc, founder)
    voter = reps[units[0].id][0]
    if db.dialect == "sqlite":
        return
    await db.changes.listen()
    async with db.session() as s:
        await svc.voter_at_step(s, clock, poll.id, voter)  # the poll memoized, status "open"
    other = Database(db_url)
    try:
        async with other.session() as s:
            await svc.close_vote(s, clock, poll.id)
    finally:
        await other.dispose()
    memo = db.changes.caches["ballot-polls"]
    # as if the other process's NOTIFY had not arrived yet: the memo's "open" copy still looks fresh
    memo.entries[poll.id] = (db.changes.version(("poll",)),) + memo.entries[poll.id][1:]
    assert memo.get(poll.id).status == "open"
    with pytest.raises(UserError, match="đã đóng|closed"):
        await cast(db, clock, poll.id, voter, [0])
    assert (await box_of(db, poll.id)).ballots == []
