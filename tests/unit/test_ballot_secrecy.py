"""The secret-ballot property, attacked (issue 11: the sealed ballot box).

A 14-unit vote in which every unit picks a different candidate (so a choice names its unit) is
cast in a known order. The attacker then gets what operations leave lying around:
- SQLite: a copy of the database file AND its -wal after every single cast (a running bot's
  files, a volume snapshot), opened with sqlite3 and read raw;
- PostgreSQL: every heap page of the box table and its TOAST table after every cast, live and
  dead tuples (pageinspect), and two dumps taken on either side of one cast;
- the logs of a whole vote at DEBUG for every logger.
The attacker diffs consecutive versions (new voter <-> new box entry) and looks for any plaintext
trace of a ballot (its receipt code, which only the plaintext and the voter's chat hold). It must
get unit -> ciphertext at most, never unit -> choice, and after the count the -wal is empty.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import shutil
import sqlite3
from pathlib import Path
from statistics import mean
from types import SimpleNamespace

from nacl.public import PrivateKey
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.app import cut_wal
from bot.services import ballot_box
from bot.services import voting as svc
from bot.services.errors import UserError
from storage.db import Database, retry_wal_truncation, wal_cut_pending
from storage.migrate import upgrade
from tests.unit.test_voting_service import N_UNITS, SEATS, cast, close_and_count, make_bloc, open_poll

TRIALS = 8


def _versions_sqlite(folder: Path) -> tuple[list[str], list[int]]:
    """The ballot box as SQLite itself reads a copied db + -wal pair."""
    conn = sqlite3.connect(folder / "copy.sqlite3")
    try:
        ballots, voters = conn.execute("SELECT ballots, voters FROM ballot_box").fetchone()
    finally:
        conn.close()
    return json.loads(ballots), json.loads(voters)


def _snapshot_sqlite(db, folder: Path) -> tuple[bytes, tuple[list, list]]:
    """Raw bytes of the database file and its -wal as they are on disk now, and the box they hold."""
    path = Path(make_url(db.url).database)
    folder.mkdir(parents=True, exist_ok=True)
    raw = path.read_bytes()
    wal = Path(f"{path}-wal")
    raw_wal = wal.read_bytes() if wal.exists() else b""
    shutil.copyfile(path, folder / "copy.sqlite3")
    (folder / "copy.sqlite3-wal").write_bytes(raw_wal)
    return raw + raw_wal, _versions_sqlite(folder)


async def _pages_pg(db) -> bytes:
    """Every tuple (live and dead) of the box table and its TOAST table, raw."""
    out = []
    async with db.engine.connect() as conn:
        await conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        for rel in ("ballot_box", await _toast(conn)):
            if rel is None:
                continue
            pages = (await conn.execute(text(f"SELECT pg_relation_size('{rel}') / 8192"))).scalar()
            for page in range(pages):
                rows = await conn.execute(text(
                    f"SELECT t_data FROM heap_page_items(get_raw_page('{rel}', {page})) WHERE t_data IS NOT NULL"))
                out += [bytes(r[0]) for r in rows]
            out.append(b"".join(bytes(r[0]) for r in await conn.execute(
                text(f"SELECT get_raw_page('{rel}', p) FROM generate_series(0, {pages} - 1) p"))))
        await conn.commit()
    return b"\n".join(out)


async def _toast(conn) -> str | None:
    name = (await conn.execute(text(
        "SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'ballot_box' AND reltoastrelid <> 0"
    ))).scalar()
    return name


async def _box_now(db, poll_id) -> tuple[list, list]:
    box = await svc_box(db, poll_id)
    return list(box.ballots), list(box.voters)


async def svc_box(db, poll_id):
    async with db.session() as s:
        return await svc.get_box(s, poll_id)


def _plain_traces(blob: bytes, receipts: list[str]) -> list[str]:
    """Receipt codes (which sit only inside the plaintext ballot) found in raw bytes."""
    found = []
    for code in receipts:
        for form in (code, code.replace("-", "")):
            if form.encode() in blob:
                found.append(code)
    return found


async def test_storage_history_pairs_units_with_ciphertexts_never_with_choices(db, clock, tmp_path):
    bloc, founder, units, reps = await make_bloc(db, clock)
    poll = await open_poll(db, clock, bloc, founder, kind="merit", max_choices=1)
    choice_of = dict(zip((u.id for u in units), random.Random(11).sample(range(N_UNITS), N_UNITS), strict=False))
    order = random.Random(12).sample(units, N_UNITS)
    receipts, blobs, versions = [], [], []
    for k, unit in enumerate(order):
        receipt = await cast(db, clock, poll.id, reps[unit.id][0], [choice_of[unit.id]])
        receipts.append(receipt.code)
        if db.dialect == "sqlite":
            blob, version = _snapshot_sqlite(db, tmp_path / f"s{k}")
        else:
            blob, version = await _pages_pg(db), await _box_now(db, poll.id)
        blobs.append(blob)
        versions.append(version)
    # The diffing attack: consecutive versions give the new voter and the new box entry.
    lengths, linked = set(), {}
    previous = ([], [])
    for ballots, voters in versions:
        (new_voter,) = set(voters) - set(previous[1])
        (new_entry,) = set(ballots) - set(previous[0])
        linked[new_voter] = new_entry
        lengths.add(len(base64.b64decode(new_entry)))
        assert ballots == sorted(ballots) and voters == sorted(voters)  # the order says nothing of casting
        previous = (ballots, voters)
    assert len(linked) == N_UNITS and len(lengths) == 1  # one fixed size: a choice cannot be read off the length
    stranger = PrivateKey.generate()
    assert all(ballot_box.unseal(stranger, c) is None for c in linked.values())  # no key, no choice
    for blob in blobs:
        assert _plain_traces(blob, receipts) == []
        assert not re.search(rb'\[\s*"[0-9a-f]{32}"\s*,\s*\[', blob)  # the pre-seal [id, [choices]] layout
    # The count replaces the ciphertexts by the board; SQLite's -wal is cut to nothing after it.
    counted = await close_and_count(db, clock, poll.id)
    ballots, voters = await _box_now(db, counted.id)
    assert sorted(code for code, _c in ballots) == sorted(receipts)
    if db.dialect == "sqlite":
        wal = Path(f"{make_url(db.url).database}-wal")
        assert not wal.exists() or wal.stat().st_size == 0
    # Even holding the whole history and the board, position attacks do no better than chance.
    board_choice = [c[0] for _code, c in ballots]
    assert sum(board_choice[k] == choice_of[voters[k]] for k in range(N_UNITS)) <= 4


async def test_two_dumps_around_one_cast_reveal_no_choice(db, clock):
    bloc, founder, units, reps = await make_bloc(db, clock)
    rng = random.Random(5)
    hits = []
    for _ in range(TRIALS):
        poll = await open_poll(db, clock, bloc, founder, kind="merit", max_choices=1)
        choice_of = dict(zip((u.id for u in units), rng.sample(range(N_UNITS), N_UNITS), strict=False))
        before_dump, last = None, None
        for unit in rng.sample(units, N_UNITS):
            before_dump = await _dump_box(db, poll.id)
            await cast(db, clock, poll.id, reps[unit.id][0], [choice_of[unit.id]])
            last = unit
        after_dump = await _dump_box(db, poll.id)
        assert _box_text_choices(after_dump) == [] and _box_text_choices(before_dump) == []
        await close_and_count(db, clock, poll.id)
        ballots, voters = await _box_now(db, poll.id)
        # The best the attacker can do: guess that the last voter's choice is any board entry.
        hits.append(ballots[random.Random(len(hits)).randrange(N_UNITS)][1][0] == choice_of[last.id])
    assert mean(hits) < 0.5


async def _dump_box(db, poll_id) -> str:
    async with db.engine.connect() as conn:
        row = (await conn.execute(text("SELECT ballots, voters FROM ballot_box WHERE poll_id = :p"),
                                  {"p": poll_id})).one()
    return json.dumps([row[0] if isinstance(row[0], str) else json.dumps(row[0]), str(row[1])])


def _box_text_choices(dump: str) -> list[str]:
    """Choice-looking structures in a dumped box: [[...], ...] pairs or small integer lists as ballots."""
    return re.findall(r'\[\\?"[0-9a-f]{32}\\?", \[', dump)


async def test_committee_opens_with_k_shares_and_refuses_the_rest(db, clock, caplog):
    caplog.set_level(logging.DEBUG)
    bloc, founder, units, reps = await make_bloc(db, clock, n_units=5)
    poll = await open_poll(db, clock, bloc, founder, kind="merit", max_choices=2)
    other = await open_poll(db, clock, bloc, founder)
    seats = SEATS[poll.id]
    assert len(seats) == 3 and poll.committee_k == 2 and seats[0][1].id == founder.id  # the head and two others
    picks = {u.id: [i % 5, (i + 1) % 5] for i, u in enumerate(units)}
    for unit in units:
        await cast(db, clock, poll.id, reps[unit.id][0], picks[unit.id])
    vault = ballot_box.KeyVault()
    seat, person, share = seats[0]
    async with db.session() as s:
        try:
            await svc.hand_back(s, clock, vault, poll.id, seat, share, person)
            raise AssertionError("a share was taken while the box was open")
        except UserError as err:
            assert "vẫn đang mở" in err.message
        await svc.close_vote(s, clock, poll.id)
    refusals = []
    for attempt in ((poll.id, seat, bytes(16), person),  # forged
                    (poll.id, seat, SEATS[other.id][0][2], person),  # another vote's share
                    (poll.id, seats[1][0], seats[1][2], person)):  # someone else's share
        async with db.session() as s:
            try:
                await svc.hand_back(s, clock, vault, *attempt[:3], attempt[3])
            except UserError as err:
                refusals.append(err.message)
    assert len(refusals) == 3 and vault.count(poll.id) == 0
    async with db.session() as s:
        first = await svc.hand_back(s, clock, vault, poll.id, seat, share, person)
    assert not first.counted and first.have == 1
    async with db.session() as s:
        try:
            await svc.hand_back(s, clock, vault, poll.id, seat, share, person)  # replayed
            raise AssertionError("a replayed share counted twice")
        except UserError as err:
            assert "đã nộp khóa" in err.message
        assert (await s.get(type(poll), poll.id)).status == "locked"  # one share opens nothing
    # A restart: the vault is gone, the members hand their keys back again, the box opens.
    restarted = ballot_box.KeyVault()
    for seat_i, person_i, share_i in (seats[2], seats[0]):
        async with db.session() as s:
            handed = await svc.hand_back(s, clock, restarted, poll.id, seat_i, share_i, person_i)
    assert handed.counted and restarted.count(poll.id) == 0
    async with db.session() as s:
        out = await svc.outcome(s, await svc.get_poll(s, poll.id))
    expected = {i: sum(i in p for p in picks.values()) for i in range(5)}
    assert {c.candidate: c.votes for c in out.result.counts} == expected
    # The key is nowhere: not in any table, not in the logs.
    secret = ballot_box.combine([(seats[0][0], seats[0][2]), (seats[2][0], seats[2][2])])
    key = ballot_box.private_key(secret)
    needles = [bytes(key).hex(), base64.b64encode(bytes(key)).decode(), secret.hex(),
               base64.b64encode(secret).decode(), *(ballot_box.share_token(x[2]) for x in seats),
               *(ballot_box.share_code(poll.id, x[0], x[2]) for x in seats)]
    everything = await _all_rows(db)
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    for needle in needles:
        assert needle not in everything and needle not in logged


async def _all_rows(db) -> str:
    import storage.models  # noqa: F401

    out = []
    async with db.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            out += [str(tuple(r)) for r in (await conn.execute(text(f'SELECT * FROM "{table.name}"'))).all()]
    return "\n".join(out)


async def test_runoff_opens_once_under_concurrency(db, clock):
    import asyncio

    from bot.services.blocs import member_of

    bloc, founder, units, reps = await make_bloc(db, clock, n_units=4)
    poll = await open_poll(db, clock, bloc, founder)
    for unit, pick in zip(units, (0, 0, 1, 1), strict=False):
        await cast(db, clock, poll.id, reps[unit.id][0], [pick])
    async with db.session() as s:
        p = await svc.get_poll(s, poll.id)
        p.rule = {**p.rule, "strict": False}
        await s.commit()
    await close_and_count(db, clock, poll.id)

    async def press():
        async with db.session() as s:
            member = await member_of(s, bloc, founder)
            return await svc.open_runoff(s, clock, poll.id, member)

    results = await asyncio.gather(*[press() for _ in range(5)], return_exceptions=True)
    assert sum(isinstance(r, svc.Opened) for r in results) == 1
    assert all(isinstance(r, (svc.Opened, UserError)) for r in results), results


async def test_a_reader_at_the_count_holds_up_the_wal_cut_only_until_the_retry_job(clock, tmp_path, caplog):
    """The claim "after the count the -wal is empty" under a reader that began before the count (on a
    busy bot: another update, mid-way between its reads and its reply). SQLite cannot cut the -wal
    while that reader may still need its pages. The count must not sit out the 15 s busy timeout
    for it nor fail silently: it says so in the log, and the app's periodic job cuts the -wal once
    the reader has ended. SQLite's own file, whatever backend the suite runs on."""
    url = f"sqlite+aiosqlite:///{tmp_path}/wal.sqlite3"
    await upgrade(url)
    db = Database(url)
    wal = tmp_path / "wal.sqlite3-wal"
    try:
        bloc, founder, units, reps = await make_bloc(db, clock)
        poll = await open_poll(db, clock, bloc, founder, kind="merit", max_choices=1)
        for k, unit in enumerate(units):
            await cast(db, clock, poll.id, reps[unit.id][0], [k % N_UNITS])
        caplog.set_level(logging.INFO, logger="storage.db")
        async with db.session() as reader:
            await reader.execute(text("SELECT count(*) FROM poll"))  # its read transaction stays open
            counted = await close_and_count(db, clock, poll.id)
            assert counted.status == "closed"
            assert wal.stat().st_size > 0 and wal_cut_pending(db)
            assert [r.levelname for r in caplog.records if "could not be cut" in r.getMessage()] == ["WARNING"]
            assert await retry_wal_truncation(db) is False  # still held: tried again, not said twice
            assert len([r for r in caplog.records if "could not be cut" in r.getMessage()]) == 1
        await cut_wal(SimpleNamespace(db=db))  # the app's job, once the reader has ended
        assert wal.stat().st_size == 0 and not wal_cut_pending(db)
        assert any("cut on a retry" in r.getMessage() for r in caplog.records)
        assert await retry_wal_truncation(db) is True  # nothing owed any more
    finally:
        await db.dispose()
