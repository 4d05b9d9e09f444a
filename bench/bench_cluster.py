"""Several instances behind haproxy (numbers printed, never asserted).

`python -m bot run` processes in webhook mode behind Debian's haproxy (round robin), on one fresh
PostgreSQL database and one Redis (tests/support/cluster.py), the fake Bot API delivering every
update through the proxy. B blocs x 14 units vote at once (4 updates a ballot, each answered only
once handled); printed: ballots/s, whole-ballot p50/p99, each vote counted exactly once, for one
instance and for two in the same run.

Run: .venv/bin/python bench/bench_cluster.py [blocs]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_two_instances import UNITS, ballot, open_vote, seed  # noqa: E402
from tests.support import databases  # noqa: E402
from tests.support.cluster import Cluster, haproxy_path  # noqa: E402

PG_BASE = databases.pg_base_url() or "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(instances: int, blocs: int, pg: str) -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    with contextlib.nullcontext():
        async with Cluster.start(pg, REDIS_URL, instances=instances) as cluster:
            tg = cluster.tg
            polls = []
            for _ in range(blocs):
                head, reps, group = await seed(pg, tg)
                polls.append((await open_vote(tg, head, group, pg), reps))
            whole: list[float] = []

            async def voter(poll: int, user: dict, choice: int) -> None:
                t = time.perf_counter()
                await ballot(tg, user, poll, choice)
                whole.append((time.perf_counter() - t) * 1000)

            start = time.perf_counter()
            await asyncio.gather(*[voter(poll, user, i % 3) for poll, reps in polls for i, user in enumerate(reps)])
            elapsed = time.perf_counter() - start
            exact = "yes"
            try:
                await _count_check(pg, [p for p, _r in polls])
            except AssertionError:
                exact = "NO"
            n = len(whole)
            answers = {status: tg.webhook_answers.count(status) for status in set(tg.webhook_answers)}
            print(f"{instances} instance(s) behind haproxy, PostgreSQL + Redis: "
                  f"{blocs} blocs x {UNITS} units = "
                  f"{n} ballots at once, 4 updates each")
            print(f"  {n / elapsed:8.1f} ballots/s ({elapsed:.1f} s)   "
                  f"whole ballot p50 {statistics.median(whole):7.0f} ms   p99 {pct(whole, 0.99):7.0f} ms   "
                  f"every ballot in its box once: {exact}   "
                  f"webhook answers by status: {answers}")


async def _count_check(db_url: str, polls: list[int]) -> None:
    from sqlmodel import select

    from storage.db import Database
    from storage.models import BallotBox

    db = Database(db_url)
    try:
        async with db.session() as s:
            for poll_id in polls:
                box = (await s.execute(select(BallotBox).where(BallotBox.poll_id == poll_id))).scalar_one()
                assert len(box.ballots) == UNITS and len(set(box.voters)) == UNITS
    finally:
        await db.dispose()


def main() -> None:
    if haproxy_path() is None:
        print("haproxy is not installed (apt-get install haproxy): skipped")
        return
    blocs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for instances in (1, 2):
        pg = databases.create_pg_database(PG_BASE)  # a fresh database each, migrated
        try:
            asyncio.run(run(instances, blocs, pg))
        finally:
            databases.drop_pg_database(PG_BASE, pg)


if __name__ == "__main__":
    main()
