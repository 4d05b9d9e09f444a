"""Two instances of the bot (`python -m bot run`, webhook mode) behind a round-robin haproxy, on one
PostgreSQL database and one Redis: the fake Bot API sends every update through the proxy, so
consecutive updates land on alternate instances. 14 units vote (a key handed back on one instance,
the next on the other), a meeting is set up through a four-step dialog whose steps alternate
between instances (Redis FSM), then one instance is killed mid-way through a second vote and
nothing is lost: every update answered once with a 2xx, every ballot counted once, one result per
vote, the meeting's reminder sent once to the group and once to each unit (both instances' outbox
workers claim from one table), every outbox message sent once."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import SystemClock
from bot.conversations import ballot as act
from storage.db import Database
from storage.models import Bloc, OutboxMessage, Person, Poll, Representative, Unit
from tests.e2e.httpflow import HttpFlow
from tests.flows.test_assessment_form import bloc_with_reps, button, open_round
from tests.flows.test_assessment_scenario import TABLE, fill, submit
from tests.support import databases
from tests.support.cluster import Cluster, haproxy_path
from tests.unit.test_scoring import xlsx

pytestmark = pytest.mark.slow
UNITS = 14
PG_BASE = databases.pg_base_url() or "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REDIS_URL = os.environ.get("TEST_REDIS_CLUSTER_URL", "redis://127.0.0.1:6379/13")


async def seed(db_url: str, tg) -> tuple[dict, list[dict], dict]:
    """A bloc of 14 units, each with its representative; the head represents unit 1."""
    clock = SystemClock()
    reps = [tg.add_user(f"Đại diện {i + 1}") for i in range(UNITS)]
    head = reps[0]
    for user in reps:
        tg.started.add(user["id"])
    group = await tg.create_group("Khối thi đua TTYT", head, members=reps[1:], admins=[head], with_bot=False)
    tg.bot_in.add(group["id"])
    db = Database(db_url)
    try:
        async with db.session() as s:
            people = []
            for user in reps:
                person = Person(external_id=user["id"], full_name=user["first_name"], language_code="vi",
                                started=True, created_at=clock.now())
                s.add(person)
                people.append(person)
            await s.flush()
            bloc = Bloc(chat_id=group["id"], title="Khối thi đua TTYT", year=2026, founder_person_id=people[0].id,
                        created_at=clock.now())
            s.add(bloc)
            await s.flush()
            for i, person in enumerate(people):
                unit = Unit(bloc_id=bloc.id, name=f"TTYT số {i + 1}", name_key=f"ttyt số {i + 1}", position=i,
                            created_at=clock.now())
                s.add(unit)
                await s.flush()
                if i == 0:
                    bloc.head_unit_id = unit.id
                s.add(Representative(bloc_id=bloc.id, unit_id=unit.id, person_id=person.id, joined_at=clock.now()))
            await s.commit()
    finally:
        await db.dispose()
    return head, reps, group


async def poll_ids(db_url: str) -> list[int]:
    db = Database(db_url)
    try:
        async with db.session() as s:
            return list((await s.execute(select(Poll.id).order_by(Poll.id))).scalars())
    finally:
        await db.dispose()


def buttons(message: dict) -> dict[str, str]:
    return {b["text"]: b.get("callback_data") for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row}


async def open_vote(tg, head, group, db_url) -> int:
    before = set(await poll_ids(db_url))
    await tg.send_text(head, group, "/vote co")
    (poll,) = set(await poll_ids(db_url)) - before
    return poll


async def ballot(tg, user, poll: int, choice: int) -> None:
    chat = tg.private_chat(user)
    await tg.send_text(user, chat, f"/start v_{poll}")
    message = [m for m in tg.messages(user["id"], from_bot=True) if m.get("reply_markup")][-1]
    await tg.click(user, message, act.Tick(poll, "0", choice).pack(), force=True)
    await tg.click(user, message, act.Review(poll, act.mask([choice])).pack(), force=True)
    await tg.click(user, message, act.Cast(poll, act.mask([choice])).pack(), force=True)


async def close_and_count(tg, head, group, poll: int, keys_by: dict[int, dict]) -> None:
    await tg.send_text(head, group, f"/close {poll}")
    confirm = tg.messages(group["id"], from_bot=True)[-1]
    data = next(d for d in buttons(confirm).values() if d)
    await tg.click(head, confirm, data, force=True)
    for user_id, key_message in keys_by.items():
        await tg.click(tg.users[user_id], key_message, next(d for d in buttons(key_message).values() if d), force=True)


def key_messages(tg, reps, poll: int) -> dict[int, dict]:
    out = {}
    for user in reps:
        for m in tg.messages(user["id"], from_bot=True):
            text = m.get("text") or ""
            # the code starts its own line; "K2-" may also occur inside another vote's random code
            if text.startswith("🔑") and re.search(rf"(?:\n|<code>)K{poll}-", text):
                out[user["id"]] = m
    return out


def reminders(tg, chat_id: int) -> list[str]:
    return [t for t in tg.bot_texts(chat_id) if "Nhắc lịch" in t]


def results_in(tg, group, poll: int) -> list[str]:
    return [t for t in tg.bot_texts(group["id"]) if t.startswith(f"📊 Kết quả bỏ phiếu #{poll}:")]


@pytest.fixture
def pg_url():
    url = databases.create_pg_database(PG_BASE)  # a fresh database, migrated
    yield url
    databases.drop_pg_database(PG_BASE, url)


async def test_two_instances_behind_a_proxy_lose_nothing(pg_url):
    assert haproxy_path() is not None, "haproxy is needed (scripts/test.sh installs Debian's)"
    pg = pg_url
    redis_url = REDIS_URL
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        async with Cluster.start(pg, redis_url) as cluster:
            tg = cluster.tg
            head, reps, group = await seed(pg, tg)

            # 1. A vote of 14 units; its 56 updates alternate between the two instances.
            poll = await open_vote(tg, head, group, pg)
            keys = key_messages(tg, reps, poll)
            assert len(keys) >= 2, tg.bot_texts(group["id"])
            for i, user in enumerate(reps):
                await ballot(tg, user, poll, i % 3)
            # The committee's keys: consecutive clicks land on different instances (shares in Redis).
            need = next(p for p in [await _poll(pg, poll)]).committee_k
            await close_and_count(tg, head, group, poll, dict(list(keys.items())[:need]))
            await tg.wait_for(lambda: results_in(tg, group, poll), timeout=30)
            counted = await _poll(pg, poll)
            assert counted.status == "closed"

            # 2. A meeting through the dialog: /meeting, when, place, title, agenda (alternate instances).
            # It starts in a little over two hours: its "2 hours before" reminder falls due during step 3.
            soon = datetime.now(UTC) + timedelta(hours=2, seconds=30)
            when = (soon + timedelta(seconds=60 - soon.second)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
            for text in ("/meeting", when.strftime("%d/%m/%Y %H:%M"), "Hội trường TTYT số 1", "Họp giao ban quý",
                         "-"):
                await tg.send_text(head, group, text)
            await tg.wait_bot_message(group["id"], "Họp giao ban quý", timeout=10)

            # 3. A second vote; one instance is killed half-way; the other takes every update.
            second = await open_vote(tg, head, group, pg)
            keys2 = key_messages(tg, reps, second)
            before_kill: dict[str, int] = {}
            for i, user in enumerate(reps):
                if i == UNITS // 2:
                    before_kill = cluster.served()  # round robin so far: each instance took half
                    assert min(before_kill.values()) >= tg.pushed // 2 - 1, (before_kill, tg.pushed)
                    cluster.kill(1)
                await ballot(tg, user, second, (i + 1) % 3)
            await close_and_count(tg, head, group, second, dict(list(keys2.items())[:need]))
            await tg.wait_for(lambda: results_in(tg, group, second), timeout=30)
            # The reminder: once in the group, once to each unit that has not answered (all 14).
            await tg.wait_for(lambda: all(reminders(tg, u["id"]) for u in [group, *reps]), timeout=120)
            await asyncio.sleep(2)  # a duplicate would arrive now
            assert [len(reminders(tg, u["id"])) for u in [group, *reps]] == [1] * (UNITS + 1)
            assert len(results_in(tg, group, poll)) == len(results_in(tg, group, second)) == 1

            served = cluster.served()
            assert served["bot0"] > before_kill["bot0"], served  # the survivor took the rest
            # Every update ended in one 2xx (retries after the kill included); no failure told to anyone.
            assert tg.webhook_answers.count(200) == tg.pushed, Counter(tg.webhook_answers)
            assert not [t for t in tg.bot_texts(group["id"]) if "gặp sự cố" in t]
            for user in reps:
                receipts = [t for t in tg.bot_texts(user["id"]) if "Mã biên nhận" in t or "biên nhận" in t]
                assert len(receipts) >= 2, (user["id"], tg.bot_texts(user["id"])[-3:])
            await _every_ballot_counted_once(pg, [poll, second])
            await _outbox_sent_once(pg, tg)
            assert "Traceback" not in cluster.log(0)
    finally:
        client.flushdb()
        client.close()


async def _poll(db_url: str, poll_id: int) -> Poll:
    db = Database(db_url)
    try:
        async with db.session() as s:
            poll = await s.get(Poll, poll_id)
            assert poll is not None
            return poll
    finally:
        await db.dispose()


async def _every_ballot_counted_once(db_url: str, polls: list[int]) -> None:
    from bot.services import voting as svc

    db = Database(db_url)
    try:
        async with db.session() as s:
            for poll_id in polls:
                out = await svc.outcome(s, await svc.get_poll(s, poll_id))
                assert sum(c.votes for c in out.result.counts) == UNITS, poll_id
    finally:
        await db.dispose()


async def _outbox_sent_once(db_url: str, tg) -> None:
    db = Database(db_url)
    try:
        async with db.session() as s:
            rows = list((await s.execute(select(OutboxMessage))).scalars())
    finally:
        await db.dispose()
    now = datetime.now(UTC)
    due = [r for r in rows if r.due_at <= now and r.kind != "fanout"]
    assert due and all(r.status in ("sent", "failed") for r in due), [(r.kind, r.status, r.due_at) for r in rows]
    assert all(r.due_at > now for r in rows if r.status == "pending"), [(r.kind, r.due_at) for r in rows]
    # Each message the outbox sent arrived once (both instances' workers claimed from the same table).
    for row in (r for r in rows if r.status == "sent" and r.chat_id is not None):
        same = [m for m in tg.messages(row.chat_id, from_bot=True) if m["message_id"] == row.message_id]
        assert len(same) == 1
        if row.text:
            body = (same[0].get("html") or same[0].get("text") or "")[:40]
            twins = [m for m in tg.messages(row.chat_id, from_bot=True)
                     if (m.get("html") or m.get("text") or "")[:40] == body and m["message_id"] != row.message_id]
            assert not twins, (row.kind, body)
    print("outbox:", Counter((r.kind, r.status) for r in rows))


class ClusterFlow(HttpFlow):
    """The HTTP flow API over a cluster: each update is handled before the fake's webhook POST
    returns (handle_in_background=False), so settling only waits for the outbox's sends."""

    def __init__(self, cluster: Cluster) -> None:  # noqa: D107 -- no Dispatcher in this process
        self.tg, self.app, self.run = cluster.tg, None, None
        self.sent = []
        self._users = {}
        self._events = self.tg.subscribe()
        self._names = itertools.count(1)

    async def settle(self, timeout: float = 10) -> None:
        await asyncio.sleep(0.05)
        self._drain()


async def test_self_assessment_round_across_two_instances(pg_url):
    """A bloc set up through the group (join links), a scoring table uploaded, a round opened, and
    three units filling the form in private: every typed score is one step of a dialog whose state
    lives in Redis, on alternating instances. The ranking reaches the group once."""
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    async with Cluster.start(pg_url, REDIS_URL) as cluster:
        flow = await ClusterFlow(cluster).setup()
        head, reps = await bloc_with_reps(flow, count=3)
        await flow.send(head, "/table")
        await flow.send_document(head, "khung_tieu_chi_2026.xlsx", xlsx(TABLE))
        assert "Tổng điểm các tiêu chí: <b>100</b>" in flow.last_text(head.id)
        payload = await open_round(flow, head, "31/12/2026 17:00")
        await fill(flow, reps[0], payload, ["60", "20", "19,5", "5", "2"])
        assert "<b>Tổng điểm: 102,5</b>" in flow.last(reps[0].id).text
        await submit(flow, reps[0])
        await fill(flow, reps[1], payload, ["50", "15,5", "20", "", ""])
        await submit(flow, reps[1])
        await fill(flow, reps[2], payload, ["40", "10", "10", "", "0"])
        await submit(flow, reps[2])
        await flow.send(head, "/assessment close", chat=flow.group)
        confirm = flow.last(flow.group.id)
        await flow.click(head, confirm, button(flow, confirm, "Đóng"))
        results = [t for t in flow.texts(flow.group.id) if "Kết quả tự chấm điểm" in t]
        assert len(results) == 1 and "1. TTYT thị xã Đông Triều — <b>102,5</b>" in results[0]
        assert cluster.tg.webhook_answers.count(200) == cluster.tg.pushed
        served = cluster.served()  # round robin: both instances took half of the updates
        assert min(served.values()) >= cluster.tg.pushed // 2 - 1, served
