"""With REDIS_URL (RedisStorage, a real Redis on a test db): after whole ballots, an abandoned one
and two representatives of one unit racing, no Redis key holds a selection or anything of a ballot,
and every FSM key has a TTL."""

from __future__ import annotations

import asyncio
import os

import redis.asyncio as aioredis

from bot.app import build_dispatcher, make_storage
from bot.config import Settings
from bot.conversations import ballot as act
from tests.flows.test_assessment_form import bloc_with_reps, start_payloads
from tests.flows.test_voting import action_on, card_of, open_ballot, press, vote
from tests.support.flow import Flow

REDIS_URL = os.environ.get("TEST_REDIS_SEALED_URL", "redis://127.0.0.1:6379/11")


async def test_no_selection_in_redis_and_every_key_expires(db, clock, db_url):
    client = aioredis.from_url(REDIS_URL)
    await client.flushdb()
    settings = Settings(_env_file=None, bot_token="123456:TEST", database_url=db_url, redis_url=REDIS_URL)
    storage = make_storage(settings)
    flow = Flow(build_dispatcher(settings, db, clock=clock, storage=storage))
    try:
        head, reps = await bloc_with_reps(flow, count=3)
        await flow.send(head, "/vote bangkhen 2", chat=flow.group)
        payload = start_payloads(flow, card_of(flow), "v_")[0]
        await vote(flow, reps[0], payload, [2, 3])
        abandoned = await open_ballot(flow, reps[1], payload)
        await press(flow, reps[1], abandoned, act.Tick, 4)  # ticked, never cast
        racer = await open_ballot(flow, reps[2], payload)
        await press(flow, reps[2], racer, act.Tick, 1)
        await press(flow, reps[2], racer, act.Review)
        cast = action_on(flow, racer, act.Cast)
        await asyncio.gather(flow.click(reps[2], racer, cast), flow.click(reps[2], racer, cast))
        keys = await client.keys("*")
        values = []
        for key in keys:
            kind = (await client.type(key)).decode()
            values.append((await client.get(key)) if kind == "string" else str(await client.hgetall(key)).encode())
            assert await client.ttl(key) > 0, key  # nothing stays forever
        blob = b"\n".join(v or b"" for v in values)
        for needle in (b"sel", b"ballot", act.mask([4]).encode() + b'"', b"vt:", b"vk:", b"TTYT"):
            assert needle not in blob, needle
    finally:
        await storage.close()
        await client.flushdb()
        await client.aclose()


async def test_fsm_keys_expire(db_url):
    from aiogram.fsm.storage.base import StorageKey

    client = aioredis.from_url(REDIS_URL)
    await client.flushdb()
    storage = make_storage(Settings(_env_file=None, bot_token="1:x", database_url=db_url, redis_url=REDIS_URL,
                                    fsm_ttl_hours=2))
    try:
        key = StorageKey(bot_id=1, chat_id=5, user_id=5)
        await storage.set_state(key, "Form:score")
        await storage.set_data(key, {"criterion": 3})
        keys = await client.keys("*")
        assert len(keys) == 2
        ttls = [await client.ttl(k) for k in keys]
        assert all(0 < t <= 7200 for t in ttls), ttls
    finally:
        await storage.close()
        await client.flushdb()
        await client.aclose()
