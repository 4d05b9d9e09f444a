"""The one place that sends scheduled and broadcast messages: the outbox worker.

The database is the truth. APScheduler (AsyncIOScheduler, in-memory job store) is only the
clock: it wakes the worker on a short interval and at the next due time; a process that
restarts loses nothing because every message is an `outbox` row.

Claiming. A worker claims up to `batch` due rows in one statement:

    UPDATE outbox SET status='claimed', claim_token=:t, lease_until=now+lease, attempts=attempts+1
    WHERE id IN (SELECT id FROM outbox
                 WHERE (status='pending' AND due_at<=now) OR (status='claimed' AND lease_until<=now)
                 ORDER BY due_at LIMIT :n  [FOR UPDATE SKIP LOCKED on PostgreSQL])
    RETURNING *

On SQLite the statement runs in a `BEGIN IMMEDIATE` transaction (one writer at a time, so two
workers never claim the same row); on PostgreSQL `FOR UPDATE SKIP LOCKED` lets two processes
claim disjoint batches concurrently. The claim commits before any Telegram call. After each send
the row is marked `sent` with Telegram's message id in its own short transaction, guarded by the
claim token (a worker whose lease ran out cannot overwrite another worker's claim).

Outcomes. 429 -> the row goes back to `pending` at now + retry_after (and the limiter stops
sending to that chat until then); 403 (blocked the bot / never pressed Start) -> `failed`, and
the person is flagged `blocked`; the head sees failures in /status; network errors and 5xx ->
retry with exponential backoff (5 s .. 15 min), `failed` after MAX_ATTEMPTS; a reply Telegram
cannot parse as HTML is resent as plain text. No row is ever deleted or dropped silently.

Restart safety and the duplicate risk. A row claimed by a process that dies is re-claimed once
its lease (LEASE, 120 s) has passed. If the process died *before* the Telegram call, nothing was
sent and the row is sent once. If it died *after* Telegram accepted the message but *before* the
`sent` commit, the message is sent a second time. That window is one HTTP response plus the
commit of the outcome; outcomes are written by one flusher, many rows per transaction, so
concurrent sends do not queue on SQLite's write lock and the window stays a few milliseconds.
At most the rows in flight at the moment of death (<= max_inflight, itself capped at what the
limiter sends in MAX_HOLD seconds, ~75 at 25/s) can repeat; in practice far fewer.
Measured (bench/bench_outbox.py, `crash`: SIGKILL of a worker process at a random moment of a
150-row fan-out at 25 msg/s, restart after the lease, deliveries counted per row; SQLite):
10 kills -> 0 lost, 2 duplicated of 1,500 rows (0.2 duplicate per crash; before outcome
batching it was ~6 per crash). tests/unit/test_outbox_worker.py covers the exact
kill-between-claim-and-send path: 0 lost, 0 duplicated. Exactly-once across a crash would need
Telegram to deduplicate for us, which it does not. The lease only has to outlast the time a
claimed row can wait: the limiter never books a row more than MAX_HOLD seconds ahead (rows that
would wait longer, e.g. the 21st message to one group in a minute, are re-queued for that time
instead), and each send has a request timeout (the sender's, e.g. telegram.SEND_TIMEOUT) well under the lease.

Channels. The worker imports no messenger: it sends through `senders` (bot.channels.base.ChannelSender,
one per channel name, given by the composition root bot/app.py), chosen by the recipient's
`Person.channel`; group rows go to the bloc's chat. The sender translates its messenger's refusals
to RetryLater / Unreachable / BadContent / Rejected / Transient. A row for a channel with no
sender in this process stays pending (re-checked every NO_SENDER_WAIT), logged once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlmodel import col

from bot.channels.base import BadContent, ChannelSender, Rejected, RetryLater, SentRef, Transient, Unreachable
from bot.clock import Clock, SystemClock
from bot.ratelimit import RateLimiter
from bot.services import reminders
from bot.views.base import Action, Attachment, Reply
from storage.db import Database, rowcount, write
from storage.models import OutboxMessage, Person

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
MAX_HOLD = 3.0  # seconds a claimed row may wait for its rate-limit slot
MAX_ATTEMPTS = 8
WAKE_INTERVAL = 15  # seconds between routine wake-ups
NO_SENDER_WAIT = timedelta(minutes=5)  # a row for a channel this process cannot send on waits (stays pending)
GROUP_CHANNEL = "telegram"  # blocs live in a Telegram group: group rows go to bloc.chat_id there


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(900, 5 * 2 ** max(0, attempts - 1)))


@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    retried_429: int = 0
    retried_error: int = 0
    requeued_for_limit: int = 0  # a chat/group window (or the global pace) is further than max_hold
    skipped: int = 0
    lost_claims: int = 0  # rows whose claim had passed to another worker when we tried to mark them
    latencies: list[float] = field(default_factory=list)  # seconds from due_at to the send call


class OutboxWorker:
    """Sends due rows through `senders` (one ChannelSender per channel name, chosen by the
    recipient's `Person.channel`; group rows go to the bloc's chat on GROUP_CHANNEL)."""

    def __init__(self, db: Database, senders: dict[str, ChannelSender], clock: Clock,
                 limiter: RateLimiter | None = None, *, batch: int = 30, max_inflight: int = 75,
                 lease: timedelta = LEASE, max_hold: float = MAX_HOLD, name: str | None = None) -> None:
        self.db, self.senders, self.clock = db, senders, clock
        self.limiter = limiter or RateLimiter()
        self._channels: dict[int, str] = {}  # person id -> channel (a person's channel never changes)
        self._unserved: set[str] = set()  # channels without a sender, logged once
        self.batch, self.max_inflight, self.lease, self.max_hold = batch, max_inflight, lease, max_hold
        self.name = name or secrets.token_hex(4)
        self.stats = Stats()
        self._drain_lock = asyncio.Lock()
        self._outcomes: list[tuple[OutboxMessage, dict[str, Any], asyncio.Future]] = []
        self._flusher: asyncio.Task | None = None
        # Never hold more rows than the limiter can send within max_hold (they would be re-queued).
        self.max_inflight = max(1, min(max_inflight, int(max_hold / self.limiter.tick)))
        self.batch = max(1, min(batch, self.max_inflight))

    # -- claiming ---------------------------------------------------------------------------
    async def claim(self, limit: int) -> list[OutboxMessage]:
        """Claim up to `limit` due rows (and rows whose lease expired) for this worker."""
        now = self.clock.now()
        token = f"{self.name}-{secrets.token_hex(6)}"
        t = OutboxMessage.__table__
        due = or_(and_(t.c.status == "pending", t.c.due_at <= now),
                  and_(t.c.status == "claimed", t.c.lease_until <= now))
        pick = select(t.c.id).where(due, self._served).order_by(t.c.due_at, t.c.id).limit(limit)
        if not await self._due_count():
            return []  # idle: no write transaction (on SQLite it would make other writers wait)
        if self.db.dialect == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        async with self.db.session() as session, write(session):  # SQLite: BEGIN IMMEDIATE, one claimer at a time
            stmt = (update(t).where(t.c.id.in_(pick.scalar_subquery()))
                    .values(status="claimed", claim_token=token, lease_until=now + self.lease,
                            attempts=t.c.attempts + 1)
                    .returning(*t.c))
            rows = [OutboxMessage(**dict(r._mapping)) for r in (await session.execute(stmt)).all()]
        rows.sort(key=lambda r: (r.due_at, r.id))
        await self._learn_channels(rows)
        return rows

    @cached_property
    def _served(self) -> ColumnElement[bool]:
        """The rows this process can handle (built once: the senders are fixed at construction):
        planned rows still to be prepared (a fan-out expanded into private rows, a group reminder
        copied to the members the group does not reach: any worker does that), group rows if it
        sends on GROUP_CHANNEL, and the rows of people on a channel it has a sender for. With several
        instances, Zalo may be served by one of them only: the others leave its rows alone instead of
        claiming them and putting them back NO_SENDER_WAIT later (a reminder up to 5 minutes late)."""
        t, people = OutboxMessage.__table__, Person.__table__  # type: ignore[attr-defined]
        mine = t.c.person_id.in_(select(people.c.id).where(people.c.channel.in_(sorted(self.senders))))
        to_prepare = and_(t.c.text.is_(None), t.c.kind.in_(("group", "fanout")))
        if GROUP_CHANNEL in self.senders:
            return or_(to_prepare, t.c.person_id.is_(None), mine)
        return or_(to_prepare, mine)

    async def unserved_waiting(self) -> dict[str, int]:
        """Pending rows for channels this process has no sender for, by channel (said once at start:
        if no instance serves that channel, its rows wait until one does)."""
        t, people = OutboxMessage.__table__, Person.__table__  # type: ignore[attr-defined]
        query = (select(people.c.channel, func.count()).select_from(t.join(people, t.c.person_id == people.c.id))
                 .where(t.c.status.in_(("pending", "claimed")), people.c.channel.not_in(sorted(self.senders)))
                 .group_by(people.c.channel))
        async with self.db.session() as session:
            found = {channel: int(n) for channel, n in (await session.execute(query)).all()}
            if GROUP_CHANNEL not in self.senders:
                groups = (await session.execute(select(func.count()).select_from(t).where(
                    t.c.status.in_(("pending", "claimed")), t.c.person_id.is_(None), t.c.text.is_not(None)))).scalar()
                if groups:
                    found[GROUP_CHANNEL] = found.get(GROUP_CHANNEL, 0) + int(groups)
        return found

    async def _learn_channels(self, rows: list[OutboxMessage]) -> None:
        unknown = {r.person_id for r in rows if r.person_id is not None and r.person_id not in self._channels}
        if not unknown:
            return
        async with self.db.session() as session:
            found = (await session.execute(
                select(col(Person.id), col(Person.channel)).where(col(Person.id).in_(unknown)))).all()
        self._channels.update({pid: channel for pid, channel in found})

    def channel_of(self, row: OutboxMessage) -> str:
        if row.person_id is None:
            return GROUP_CHANNEL
        return self._channels.get(row.person_id, "telegram")

    async def next_due(self) -> datetime | None:
        t = OutboxMessage.__table__
        async with self.db.session() as session:
            pending = (await session.execute(select(t.c.due_at).where(t.c.status == "pending", self._served)
                                             .order_by(t.c.due_at).limit(1))).scalar()
            lease = (await session.execute(select(t.c.lease_until).where(t.c.status == "claimed", self._served)
                                           .order_by(t.c.lease_until).limit(1))).scalar()
        times = [x for x in (pending, lease) if x is not None]
        return min(times) if times else None

    # -- finishing a row -----------------------------------------------------------------------
    async def _finish(self, row: OutboxMessage, **values: Any) -> bool:
        """Record a row's outcome. Outcomes are written by one flusher, many per transaction: on
        SQLite, dozens of concurrent one-row write transactions would queue on the write lock
        (busy-wait), and every millisecond between Telegram's answer and this commit is a window
        in which a crash repeats the message."""
        future = asyncio.get_running_loop().create_future()
        self._outcomes.append((row, values, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        ok = await future
        if not ok:
            self.stats.lost_claims += 1
            log.warning("outbox row %s: claim lost before it was marked (%s)", row.id, values.get("status"))
        return ok

    async def _flush(self) -> None:
        t = OutboxMessage.__table__
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                async with self.db.session() as session, write(session):
                    results = []
                    for row, values, _future in batch:
                        result = await session.execute(update(t).where(
                            t.c.id == row.id, t.c.claim_token == row.claim_token, t.c.status == "claimed")
                            .values(**values))
                        results.append(rowcount(result) == 1)
            except Exception as err:  # the rows stay claimed and come back after the lease
                for _row, _values, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            for (_row, _values, future), ok in zip(batch, results, strict=False):
                if not future.done():
                    future.set_result(ok)

    async def _requeue(self, row: OutboxMessage, at: datetime, error: str | None = None,
                       count_attempt: bool = True) -> None:
        values: dict[str, Any] = {"status": "pending", "due_at": at, "claim_token": None, "lease_until": None}
        if error:
            values["last_error"] = error[:200]
        if not count_attempt:
            values["attempts"] = max(0, row.attempts - 1)
        await self._finish(row, **values)

    async def _fail(self, row: OutboxMessage, reason: str) -> None:
        self.stats.failed += 1
        await self._finish(row, status="failed", last_error=reason[:200], sent_at=self.clock.now(),
                           lease_until=None)

    # -- preparing (render / fan out) ------------------------------------------------------------
    async def _prepare(self, row: OutboxMessage) -> bool:
        """Render a row that carries no text yet, or expand a fanout row. True: send `row`."""
        if row.text is not None:
            return True
        async with self.db.session() as session, write(session):
            fresh = await session.get(OutboxMessage, row.id, with_for_update=True)
            if fresh is None or fresh.claim_token != row.claim_token or fresh.status != "claimed":
                self.stats.lost_claims += 1
                return False
            prepared = await reminders.prepare(session, self.clock, fresh)
            if prepared.send:
                assert prepared.fields is not None  # a row without text is rendered when it is sent
                fresh.text = prepared.fields["text"]
                fresh.actions = prepared.fields["actions"]
                row.text, row.actions = fresh.text, fresh.actions
            else:
                fresh.status = "sent" if row.kind == "fanout" else "skipped"
                fresh.last_error = prepared.reason[:200]
                fresh.sent_at = self.clock.now()
                fresh.lease_until = None
                self.stats.skipped += 1
        return prepared.send

    # -- sending ----------------------------------------------------------------------------------
    def _reply(self, row: OutboxMessage) -> Reply:
        # [label, data, kind] or, with a short label for channels without buttons, [label, data, kind, short]
        actions = [[Action(label, data, kind, short=rest[0] if rest else None) for label, data, kind, *rest in r]
                   for r in (row.actions or [])]
        # A photo to send by its public URL after the text (payload "photos": [[url, caption]], Zalo's sendPhoto)
        photos = [Attachment("", b"", kind="photo", caption=caption, ref=url)
                  for url, caption in (row.payload or {}).get("photos", [])]
        return Reply(row.text or "", actions=actions, attachments=photos)

    async def _send(self, sender: ChannelSender, row: OutboxMessage, chat_id: int) -> SentRef:
        reply = self._reply(row)
        try:
            return await sender.send(chat_id, reply)
        except BadContent as err:
            log.error("outbox row %s: formatted text refused (%s); sending as plain text", row.id, err.message)
            return await sender.send(chat_id, reply, plain=True)

    async def _no_sender(self, row: OutboxMessage, channel: str) -> None:
        """Nothing in this process sends on `channel`: the row waits, pending (another process, or
        this one once configured, sends it). Never dropped, never counted as an attempt."""
        if channel not in self._unserved:
            self._unserved.add(channel)
            log.warning("outbox: no sender for channel %r; its rows stay pending", channel)
        # A group row this worker has just prepared goes back as it was due: `_served` keeps this
        # worker from claiming it again, and the instance that sends on GROUP_CHANNEL takes it now.
        later = row.due_at if row.person_id is None else self.clock.now() + NO_SENDER_WAIT
        await self._requeue(row, later, f"no sender for channel {channel}"[:200], count_attempt=False)

    async def deliver(self, row: OutboxMessage) -> None:
        try:
            await self._deliver(row)
        except Exception:  # a bug must not kill the worker; the row stays claimed and comes back after the lease
            log.exception("outbox row %s: unexpected error", row.id)

    async def _deliver(self, row: OutboxMessage) -> None:
        if not await self._prepare(row):
            return
        channel = self.channel_of(row)
        sender = self.senders.get(channel)
        if sender is None:
            await self._no_sender(row, channel)
            return
        chat_id = row.chat_id
        assert chat_id is not None  # only fanout rows have no chat, and they are expanded, never sent
        wait = self.limiter.book(chat_id, max_wait=self.max_hold)
        if wait is None:
            self.stats.requeued_for_limit += 1
            later = self.clock.now() + timedelta(seconds=self.limiter.delay(chat_id))
            await self._requeue(row, later, count_attempt=False)
            return
        if wait > 0:
            await asyncio.sleep(wait)
        self.stats.latencies.append((self.clock.now() - row.due_at).total_seconds())
        try:
            message = await self._send(sender, row, chat_id)
        except RetryLater as err:
            self.stats.retried_429 += 1
            if err.per_chat:
                self.limiter.penalize(chat_id, err.retry_after)
            await self._requeue(row, self.clock.now() + timedelta(seconds=err.retry_after),
                                f"429 retry after {err.retry_after}s", count_attempt=False)
            return
        except Unreachable as err:
            await self._fail(row, f"403 {err.message}")
            await self._flag_blocked(row)
            return
        except Rejected as err:
            await self._fail(row, f"400 {err.message}")
            return
        except Transient as err:
            await self._retry_later(row, err.message)
            return
        except (TimeoutError, OSError) as err:  # a sender that let a timeout through
            await self._retry_later(row, f"{type(err).__name__}: {err}")
            return
        message_id = message.message_id if isinstance(message.message_id, int) else None  # Zalo's are hex strings
        if await self._finish(row, status="sent", message_id=message_id, sent_at=self.clock.now(),
                              lease_until=None, last_error=None):
            self.stats.sent += 1

    async def _retry_later(self, row: OutboxMessage, error: str) -> None:
        if row.attempts >= MAX_ATTEMPTS:
            await self._fail(row, f"gave up after {row.attempts} attempts: {error}")
            return
        self.stats.retried_error += 1
        await self._requeue(row, self.clock.now() + backoff(row.attempts), error)

    async def _flag_blocked(self, row: OutboxMessage) -> None:
        if row.person_id is None:
            return
        async with self.db.session() as session, write(session):
            await session.execute(update(Person).where(col(Person.id) == row.person_id).values(blocked=True))

    # -- the loop -----------------------------------------------------------------------------------
    async def drain(self) -> int:
        """Send everything due now; return how many rows were handled."""
        async with self._drain_lock:
            handled = 0
            inflight: set[asyncio.Task] = set()
            exhausted = False
            while True:
                room = self.max_inflight - len(inflight)
                ask = min(room, self.batch)
                if not exhausted and room >= min(self.batch, self.max_inflight // 2):
                    rows = await self.claim(ask)
                    handled += len(rows)
                    inflight |= {asyncio.create_task(self.deliver(r)) for r in rows}
                    exhausted = len(rows) < ask
                if not inflight:
                    if exhausted and await self._due_count() == 0:
                        return handled
                    exhausted = False  # a fan-out may have added rows due now: look again
                    continue
                _done, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)

    async def _due_count(self) -> int:
        t = OutboxMessage.__table__
        now = self.clock.now()
        async with self.db.session() as session:
            return len((await session.execute(select(t.c.id).where(or_(
                and_(t.c.status == "pending", t.c.due_at <= now),
                and_(t.c.status == "claimed", t.c.lease_until <= now)), self._served).limit(1))).all())


class OutboxService:
    """Worker + clock for one process: the app's APScheduler (AsyncIOScheduler, in-memory job store)
    wakes the worker every WAKE_INTERVAL seconds and at the next due time; `kick()` wakes it at
    once (after planning new rows). Given no scheduler it makes and runs its own (benchmarks)."""

    def __init__(self, worker: OutboxWorker, scheduler: AsyncIOScheduler | None = None,
                 interval: float = WAKE_INTERVAL) -> None:
        self.worker = worker
        self.interval = interval
        self._own_scheduler = scheduler is None
        self.scheduler = scheduler if scheduler is not None else AsyncIOScheduler(timezone="UTC")
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def kick(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        self.scheduler.add_job(self.kick, "interval", seconds=self.interval, id="outbox-interval",
                               coalesce=True, max_instances=1, replace_existing=True)
        if self._own_scheduler:
            self.scheduler.start()
        _services.append(self)
        for channel, n in (await self.worker.unserved_waiting()).items():
            log.warning("outbox: %d messages wait for channel %r, which this process does not send on; "
                        "another instance must serve it", n, channel)
        self._task = asyncio.create_task(self._run(), name="outbox-worker")
        self.kick()

    async def stop(self) -> None:
        if self in _services:
            _services.remove(self)
        if self._own_scheduler and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        else:
            for job_id in ("outbox-interval", "outbox-next"):
                if self.scheduler.get_job(job_id) is not None:
                    self.scheduler.remove_job(job_id)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.worker.drain()
                await self._plan_next_wake()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox worker pass failed; next wake-up retries")

    async def _plan_next_wake(self) -> None:
        due = await self.worker.next_due()
        if due is None:
            return
        delay = max(0.0, (due - self.worker.clock.now()).total_seconds())
        if delay < self.interval:
            run_at = SystemClock().now() + timedelta(seconds=delay)  # APScheduler runs on real time
            self.scheduler.add_job(self.kick, "date", run_date=run_at, id="outbox-next", replace_existing=True)


_services: list[OutboxService] = []


def kick_all() -> None:
    """Wake the workers of this process (a service planned rows due now, e.g. a notice)."""
    for service in _services:
        service.kick()
