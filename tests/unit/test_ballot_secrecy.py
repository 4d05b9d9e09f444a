"""The secret-ballot property, attacked.

Ballots are cast in a known order with known choices (each unit's choice is unique, so a choice
names its unit). Then every table is dumped (SQLite: `iterdump`; PostgreSQL: every row of every
table in physical order, `SELECT ctid, *`, and `ORDER BY` each column) and an attacker tries to
pair units with choices from what is stored: by position against the casting order, by position
against the list of units that voted, by any other row that changed while ballots were cast. Over
many trials none does better than chance (a random pairing of 14 gets 1 right on average). The
logs of a run through the Dispatcher (DEBUG) never carry a choice or a ballot button.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sqlite3
from statistics import mean

from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.services import voting as svc
from tests.unit.test_voting_service import N_UNITS, cast, make_bloc, open_poll

TRIALS = 30


async def dump_all(db) -> dict[str, list]:
    """Everything stored, as an attacker with the database would see it: table -> rows in
    physical order (plus, on PostgreSQL, the same rows ORDER BY every column)."""
    import storage.models  # noqa: F401

    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    if db.dialect == "sqlite":
        path = make_url(db.url).database
        conn = sqlite3.connect(path)
        try:
            lines = list(conn.iterdump())
        finally:
            conn.close()
        out: dict[str, list] = {"__dump__": lines}
        for name in tables:
            out[name] = [ln for ln in lines if ln.startswith(f'INSERT INTO "{name}"')]
        return out
    out = {}
    async with db.engine.connect() as conn:
        for name in tables:
            table = SQLModel.metadata.tables[name]
            rows = (await conn.execute(text(f'SELECT ctid, * FROM "{name}"'))).all()
            out[name] = [tuple(r) for r in rows]
            for column in table.columns:
                ordered = (await conn.execute(text(f'SELECT * FROM "{name}" ORDER BY "{column.name}"::text'))).all()
                out[f"{name} by {column.name}"] = [tuple(r) for r in ordered]
    return out


def stored_boxes(dump: dict[str, list], dialect: str) -> dict[int, tuple[list, list]]:
    """poll id -> (ballots as stored, voters as stored), parsed from the dump."""
    boxes = {}
    if dialect == "sqlite":
        for line in dump["ballot_box"]:
            m = re.match(r"""INSERT INTO "ballot_box" VALUES\((\d+),'(.*)','(.*)',(\d+)\);$""", line)
            assert m, line
            boxes[int(m.group(1))] = (json.loads(m.group(2)), json.loads(m.group(3)))
    else:
        for row in dump["ballot_box"]:
            _ctid, poll_id, ballots, voters, _version = row
            ballots = json.loads(ballots) if isinstance(ballots, str) else ballots
            voters = json.loads(voters) if isinstance(voters, str) else voters
            boxes[poll_id] = (ballots, voters)
    return boxes


async def test_dump_recovers_no_unit_choice_link(db, clock):
    bloc, founder, units, reps = await make_bloc(db, clock)
    rng = random.Random(20261123)
    trials = []
    for _ in range(TRIALS):
        poll = await open_poll(db, clock, bloc, founder, kind="merit", max_choices=1)
        choice_of = dict(zip((u.id for u in units), rng.sample(range(N_UNITS), N_UNITS)))  # unique: choice names unit
        order = rng.sample(units, N_UNITS)
        for unit in order:
            await cast(db, clock, poll.id, reps[unit.id][0], [choice_of[unit.id]])
        trials.append((poll.id, choice_of, [u.id for u in order]))

    dump = await dump_all(db)
    boxes = stored_boxes(dump, db.dialect)
    by_cast_order, by_voter_list, first_cast_first = [], [], 0
    for poll_id, choice_of, order in trials:
        ballots, voters = boxes[poll_id]
        assert len(ballots) == N_UNITS and sorted(voters) == voters == sorted(choice_of)
        # The stored order is the order of the random ids, whatever the casting order.
        assert [b[0] for b in ballots] == sorted(b[0] for b in ballots)
        assert all(re.fullmatch(r"[0-9a-f]{32}", b[0]) for b in ballots)
        stored_choices = [b[1][0] for b in ballots]
        # Attack 1: the attacker knows who voted when (e.g. the turnout line moving): k-th cast = k-th stored?
        by_cast_order.append(sum(stored_choices[k] == choice_of[order[k]] for k in range(N_UNITS)))
        # Attack 2: pair the stored voter list with the stored ballots, position by position.
        by_voter_list.append(sum(stored_choices[k] == choice_of[voters[k]] for k in range(N_UNITS)))
        first_cast_first += stored_choices[0] == choice_of[order[0]]
    # A random pairing gets 1 of 14 right on average; storing in casting order would get 14.
    assert mean(by_cast_order) < 2.0, by_cast_order
    assert mean(by_voter_list) < 2.0, by_voter_list
    assert first_cast_first <= TRIALS // 4  # chance: 1/14 of the trials

    # Attack 3: any other stored trace of a ballot. No table but ballot_box holds choices or a
    # ballot id, and no row anywhere carries a receipt code.
    ids = {b[0] for ballots, _v in boxes.values() for b in ballots}
    codes = {svc.receipt_code(i) for i in ids}
    for name, rows in dump.items():
        if name.startswith("ballot_box") or name == "__dump__":
            continue
        blob = "\n".join(map(str, rows))
        assert not any(i in blob for i in ids), name
        assert not any(c in blob for c in codes), name
    if db.dialect == "sqlite":
        whole = "\n".join(dump["__dump__"])
        assert not any(c in whole for c in codes)


async def test_casting_writes_nothing_but_the_box(db, clock):
    """No per-ballot row, timestamp, audit line or counter anywhere else: every table except the
    ballot box is byte-for-byte the same before and after the ballots are cast."""
    bloc, founder, units, reps = await make_bloc(db, clock)
    poll = await open_poll(db, clock, bloc, founder)
    before = await dump_all(db)
    for i, unit in enumerate(random.Random(7).sample(units, N_UNITS)):
        clock.advance(minutes=1)
        await cast(db, clock, poll.id, reps[unit.id][0], [i % N_UNITS])
    after = await dump_all(db)
    changed = {name for name in before if name != "__dump__" and before[name] != after[name]}
    assert changed and all(name.startswith("ballot_box") for name in changed), changed
    if db.dialect == "sqlite":
        diff = set(after["__dump__"]) ^ set(before["__dump__"])
        assert all(line.startswith('INSERT INTO "ballot_box"') for line in diff), diff


async def test_logs_and_fsm_of_a_vote_through_the_dispatcher(db, clock, settings, caplog):
    from bot.app import build_dispatcher
    from tests.flows.test_assessment_form import bloc_with_reps, start_payloads
    from tests.support.flow import Flow

    caplog.set_level(logging.DEBUG)
    flow = Flow(build_dispatcher(settings, db, clock=clock, storage=MemoryStorage()))
    head, reps = await bloc_with_reps(flow, count=3)
    await flow.send(head, "/vote merit 2", chat=flow.group)
    card = [s for s in flow.sent if s.text and "Bỏ phiếu kín" in s.text][-1]
    payload = start_payloads(flow, card, "v_")[0]
    pid = payload[2:]
    for rep, picks in zip(reps, ([1, 2], [3], [2, 4])):
        await flow.send(rep, f"/start {payload}")
        ballot = flow.last(rep.id)
        for pick in picks:
            await flow.click(rep, ballot, f"vt:{pid}:{pick}")
        await flow.click(rep, ballot, f"vc:{pid}")
        await flow.click(rep, ballot, f"vk:{pid}")
        ctx = flow.app.dp.fsm.get_context(bot=flow.bot, chat_id=rep.id, user_id=rep.id)
        assert "ballot" not in await ctx.get_data()  # the selection is forgotten at cast
    async with db.session() as s:
        poll = await svc.get_poll(s, int(pid))
        box = await svc.get_box(s, int(pid))
    assert len(box.ballots) == 3
    ids = [b[0] for b in box.ballots]
    labels = {o["label"] for i, o in enumerate(poll.options) if i in (1, 2, 3, 4)}
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records  # the run did log (so the scan below means something)
    for needle in [f"vt:{pid}", f"vk:{pid}", f"vc:{pid}", *labels, *ids, *map(svc.receipt_code, ids)]:
        assert needle not in logged, needle
