"""The long-poll loop against the fake Zalo API: idle polls, replays dropped (even after a
restart), backoff on errors, 429 waits, 401 stops, stop() ends a poll in flight."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.zalo.client import Unauthorized, ZaloClient
from bot.channels.zalo.poller import ZaloPoller
from bot.fakeapi.zalo import FakeZalo
from storage.db import Database

TOKEN = "5151515151:poller-secret"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def zalo():
    async with FakeZalo(token=TOKEN, poll_timeout=0.02) as fake:
        yield fake


async def _run_until(poller: ZaloPoller, zalo: FakeZalo, predicate) -> None:
    task = asyncio.create_task(poller.run())
    try:
        await zalo.wait_for(predicate)
    finally:
        poller.stop()
        await asyncio.wait_for(task, 5)


async def test_updates_handled_once_replays_dropped_across_restart(zalo, db, db_url, clock):
    handled: list[tuple[str, str]] = []

    async def handler(update):
        handled.append((update.message_id, update.text))

    user = zalo.add_user("An")
    first = await zalo.send_text(user, "một")
    await zalo.send_text(user, "hai")
    async with ZaloClient(TOKEN, zalo.base_url) as client:
        poller = ZaloPoller(client, handler, db, poll_timeout=1, clock=clock, sleep=Sleeps())
        await _run_until(poller, zalo, lambda: len(handled) == 2 and zalo.pending() == 0)
        await zalo.replay(first)  # Zalo serves an old update again
        poller2 = ZaloPoller(client, handler, db, poll_timeout=1, clock=clock, sleep=Sleeps())
        await _run_until(poller2, zalo, lambda: zalo.pending() == 0 and poller2.polls >= 2)
    assert [text for _, text in handled] == ["một", "hai"]
    assert poller2.handled == 0

    # a restart: new Database on the same storage, new client, the old update comes once more
    await zalo.replay(first)
    restarted = Database(db_url)
    try:
        async with ZaloClient(TOKEN, zalo.base_url) as client:
            poller3 = ZaloPoller(client, handler, restarted, poll_timeout=1, clock=clock, sleep=Sleeps())
            await zalo.send_text(user, "ba")
            await _run_until(poller3, zalo, lambda: len(handled) == 3 and zalo.pending() == 0)
    finally:
        await restarted.dispose()
    assert [text for _, text in handled] == ["một", "hai", "ba"]


async def test_backoff_then_recovers(zalo, db, clock):
    handled: list[str] = []

    async def handler(update):
        handled.append(update.text)

    zalo.inject_error("getUpdates", 500, count=4)
    user = zalo.add_user("An")
    await zalo.send_text(user, "sau lỗi")
    sleeps = Sleeps()
    async with ZaloClient(TOKEN, zalo.base_url) as client:
        poller = ZaloPoller(client, handler, db, poll_timeout=1, clock=clock, sleep=sleeps)
        await _run_until(poller, zalo, lambda: handled)
    assert sleeps.delays == [1.0, 2.0, 5.0, 10.0] and handled == ["sau lỗi"] and poller.failures == 0


async def test_quota_429_waits_its_delay(zalo, db, clock):
    zalo.inject_error("getUpdates", 429, count=1, description="Quota exceeded")
    sleeps = Sleeps()
    async with ZaloClient(TOKEN, zalo.base_url) as client:
        poller = ZaloPoller(client, lambda u: asyncio.sleep(0), db, poll_timeout=1, clock=clock, sleep=sleeps)
        await _run_until(poller, zalo, lambda: poller.polls >= 1)
    assert sleeps.delays == [3600.0]


async def test_wrong_token_stops_the_loop(zalo, db, clock):
    async with ZaloClient("5151515151:wrong", zalo.base_url) as client:
        poller = ZaloPoller(client, lambda u: asyncio.sleep(0), db, clock=clock, sleep=Sleeps())
        with pytest.raises(Unauthorized):
            await asyncio.wait_for(poller.run(), 5)


async def test_a_failing_handler_does_not_stop_the_loop(zalo, db, clock):
    handled: list[str] = []

    async def handler(update):
        if update.text == "boom":
            raise RuntimeError("handler bug")
        handled.append(update.text)

    user = zalo.add_user("An")
    await zalo.send_text(user, "boom")
    await zalo.send_text(user, "ok")
    async with ZaloClient(TOKEN, zalo.base_url) as client:
        poller = ZaloPoller(client, handler, db, poll_timeout=1, clock=clock, sleep=Sleeps())
        await _run_until(poller, zalo, lambda: handled)
    assert handled == ["ok"]


async def test_stop_ends_a_poll_in_flight(db, clock):
    async with FakeZalo(token=TOKEN, poll_timeout=60) as zalo:
        async with ZaloClient(TOKEN, zalo.base_url) as client:
            poller = ZaloPoller(client, lambda u: asyncio.sleep(0), db, poll_timeout=30, clock=clock, sleep=Sleeps())
            task = asyncio.create_task(poller.run())
            await zalo.wait_for(lambda: "getupdates" in zalo.arrivals)
            assert not task.done() and zalo.calls == []  # the poll is in flight, unanswered
            poller.stop()
            await asyncio.wait_for(task, 5)
            assert poller.polls == 0 and task.exception() is None
