"""Engine and session factory.

SQLite: WAL, busy_timeout, foreign keys, secure_delete, and write transactions opened with
`BEGIN IMMEDIATE`: a deferred transaction that reads and then writes fails with SQLITE_BUSY
at once instead of waiting for the lock. The Python driver's own implicit BEGIN is switched off
so we control every BEGIN. PostgreSQL: asyncpg, plain READ COMMITTED with explicit row locks.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, Result, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict

WRITE_OPTION = "thidua_write"
log = logging.getLogger(__name__)



class _NoData(logging.Filter):
    """Drops the records in which a driver or SQLAlchemy writes statement parameters or result rows
    (SQLAlchemy's "Row ..." and "[generated in ...] (params)" lines, aiosqlite's "executing
    functools.partial(..., (params))"). Installed on the loggers themselves, so it holds whatever
    level anyone sets: a DEBUG log never carries a ballot, a name or a key share."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("aiosqlite"):
            return record.levelno > logging.INFO
        message = str(record.msg)
        if message.startswith(("Row ", "Col ")) or record.args and message.startswith("[") :
            return False
        return True


for _name in ("sqlalchemy.engine", "sqlalchemy.engine.Engine", "sqlalchemy.pool", "aiosqlite", "asyncpg"):
    logging.getLogger(_name).addFilter(_NoData())
SQLITE_JOURNAL_LIMIT = 4 * 1024 * 1024  # bytes the -wal may keep after a checkpoint
SQLITE_BUSY_TIMEOUT_MS = 15000


def _prepare_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Freed pages are zeroed: old ballot-box versions do not linger in the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_JOURNAL_LIMIT}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_engine(url: str, **kwargs) -> AsyncEngine:
    # Never put SQL parameters (names, ballots) into exception texts or logs.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        _prepare_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def is_sqlite(engine_or_session) -> bool:
    bind = getattr(engine_or_session, "bind", None) or engine_or_session
    return bind.dialect.name == "sqlite"


WATCHED_TABLES = ("person", "bloc", "unit", "representative")  # who is who (the actor cache)
NOTIFY_CHANNEL = "thidua_actors"
_WRITE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)
_DIRTY = "thidua_tables_written"


class ChangeFeed:
    """Tells a cache whether the rows it copied may have changed since, table by table. Nothing is
    cached while `usable` is false.

    Every statement that writes a table, through any session, bulk UPDATE or raw SQL on this engine,
    marks its connection with that table. While such a transaction is open the table counts as being
    written (`busy`: a reader must not store what it read, it may be the old row); when the connection
    goes back to the pool (after its commit or rollback) the table's version goes up, so whatever a
    reader copied before is dropped. On PostgreSQL, where other processes may write the same rows,
    the committing transaction also sends `NOTIFY thidua_actors, '<tables>'` (delivered by PostgreSQL
    at commit, to every listener): each process listens on one connection of its own and bumps the
    versions of the tables it hears. While that listening connection is not up, `usable` is false and
    every update reads the database. On SQLite only one process may use the file (bot/locking.py), so
    the local hooks are the whole story.

    `version(tables)` is one number per set of tables (None: all of them) that goes up whenever one
    of them may have changed; `generation`/`writing` are that for WATCHED_TABLES (the actor cache)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.epoch = 0  # bumped when a listener connection comes or goes: every copy may be old
        self.counts: dict[str, int] = {}  # table -> version
        self.total = 0  # sum of counts
        self.open: dict[str, int] = {}  # table -> transactions writing it now
        self.remote = engine.dialect.name != "sqlite"
        self.listening = False
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.caches: dict[str, Any] = {}  # caches that follow this feed, by name (bot/conversations/context.py)
        sync = engine.sync_engine
        event.listen(sync, "after_cursor_execute", self._after_execute)
        event.listen(sync, "commit", self._before_commit)
        event.listen(sync.pool, "checkin", self._checkin)

    @property
    def usable(self) -> bool:
        return not self.remote or self.listening

    def version(self, tables: tuple[str, ...] | None = None) -> int:
        if tables is None:
            return self.epoch + self.total
        counts = self.counts
        return self.epoch + sum(counts.get(t, 0) for t in tables)

    def busy(self, tables: tuple[str, ...] | None = None) -> bool:
        """Is a transaction writing one of these tables (any, for None) right now?"""
        if tables is None:
            return any(self.open.values())
        return any(self.open.get(t) for t in tables)

    @property
    def generation(self) -> int:
        return self.version(WATCHED_TABLES)

    @property
    def writing(self) -> bool:
        return self.busy(WATCHED_TABLES)

    def bump(self, tables: Any = None) -> None:
        """Some of these tables (all, for None) may have changed."""
        if tables is None:
            self.epoch += 1
            return
        for table in tables:
            self.counts[table] = self.counts.get(table, 0) + 1
            self.total += 1

    def _after_execute(self, conn: Connection, cursor, statement: str, parameters, context, executemany) -> None:
        match = _WRITE.match(statement)
        if match is None:
            return
        table = match.group(1).lower()
        dirty = conn.info.setdefault(_DIRTY, set())
        if table not in dirty:
            dirty.add(table)
            self.open[table] = self.open.get(table, 0) + 1
        self.bump((table,))

    def _before_commit(self, conn: Connection) -> None:
        dirty = conn.info.get(_DIRTY)
        if self.remote and dirty:
            conn.exec_driver_sql(f"NOTIFY {NOTIFY_CHANNEL}, '{','.join(sorted(dirty))}'")

    def _checkin(self, dbapi_connection, record) -> None:
        dirty = record.info.pop(_DIRTY, None)
        if dirty:
            for table in dirty:
                self.open[table] -= 1
            self.bump(dirty)

    def _heard(self, payload: str) -> None:
        tables = [t for t in payload.split(",") if t]
        self.bump(tables or None)

    async def listen(self) -> None:
        """PostgreSQL: start listening (once; a lost connection is retried every few seconds). The
        first call waits, briefly, for the listening connection to be up."""
        if not self.remote or self._task is not None:
            return
        self._ready = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._listen_loop())
        try:
            await asyncio.wait_for(self._ready.wait(), 5)
        except TimeoutError:
            log.warning("not listening for changes yet: every update reads the database meanwhile")

    async def _listen_loop(self) -> None:
        import asyncpg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(url)
            except (OSError, asyncpg.PostgresError):
                self._ready.set()  # nobody waits for a server that is down; retried below
                await asyncio.sleep(5)
                continue
            try:
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(NOTIFY_CHANNEL, lambda _c, _pid, _ch, payload: self._heard(payload))
                self.bump()  # whatever was copied before we listened may be old
                self.listening = True
                self._ready.set()
                await lost.wait()
            except (OSError, asyncpg.PostgresError):
                pass
            finally:
                self.listening = False
                self.bump()
                if not conn.is_closed():
                    await conn.close()
            await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 -- stopping anyway
                pass
            self._task = None
        self.listening = False


_COLUMNS: dict[type, tuple[Any, tuple[str, ...]]] = {}


def detached_copy(obj: Any) -> Any:
    """A detached copy of a loaded row (its columns only), as if loaded by another session: its
    values go into the new instance's dict as the ORM's loader puts them (nothing is "changed")."""
    kind = type(obj)
    known = _COLUMNS.get(kind)
    if known is None:
        mapper = sa_inspect(kind)
        known = _COLUMNS[kind] = (mapper.class_manager, tuple(mapper.column_attrs.keys()))
    manager, keys = known
    new = manager.new_instance()
    source = instance_dict(obj)
    instance_dict(new).update({key: source.get(key) for key in keys})
    make_transient_to_detached(new)
    return new


class Memo:
    """Values computed from the database, kept while none of the tables they were read from has
    changed (`ChangeFeed.version`) and for `ttl` seconds at most. `stamp()` before reading, `put()`
    after: a value read while one of its tables was being written, or that changed meanwhile, is
    not kept. A value is handed out as is: keep only what nobody mutates (rendered text, tuples)."""

    def __init__(self, feed: ChangeFeed, tables: tuple[str, ...] | None = None, ttl: float = 30.0,
                 size: int = 5000) -> None:
        self.feed, self.tables, self.ttl, self.size = feed, tables, ttl, size
        self.entries: dict[Any, tuple[int, float, Any]] = {}
        self.hits = self.misses = 0

    @classmethod
    def of(cls, session: AsyncSession, name: str, tables: tuple[str, ...] | None = None,
           ttl: float = 30.0) -> Memo | None:
        """The memo called `name` of the database this session came from (None: no feed)."""
        feed = changes_of(session)
        if feed is None:
            return None
        memo = feed.caches.get(name)
        if memo is None:
            memo = feed.caches[name] = cls(feed, tables, ttl)
        return cast("Memo", memo)

    def stamp(self) -> int | None:
        feed = self.feed
        if not feed.usable or feed.busy(self.tables):
            return None
        return feed.version(self.tables)

    def get(self, key: Any) -> Any:
        entry = self.entries.get(key)
        if entry is None or not self.feed.usable or entry[0] != self.feed.version(self.tables) \
                or time.monotonic() - entry[1] > self.ttl:
            self.misses += 1
            return None
        self.hits += 1
        return entry[2]

    def put(self, key: Any, stamp: int | None, value: Any) -> None:
        if stamp is None or stamp != self.stamp():
            return  # written meanwhile (or being written): what was read may be old
        if len(self.entries) >= self.size:
            self.entries.clear()
        self.entries[key] = (stamp, time.monotonic(), value)


_FEEDS: weakref.WeakKeyDictionary[Any, ChangeFeed] = weakref.WeakKeyDictionary()


def changes_of(session: AsyncSession) -> ChangeFeed | None:
    """The ChangeFeed of the Database a session came from (None for a session made otherwise)."""
    bind = session.bind
    return _FEEDS.get(bind.sync_engine) if isinstance(bind, AsyncEngine) else None


class Database:
    """Owns the engine; hands out one AsyncSession per unit of work (per update)."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.changes = ChangeFeed(self.engine)
        _FEEDS[self.engine.sync_engine] = self.changes

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    async def dispose(self) -> None:
        await self.changes.stop()
        await self.engine.dispose()


def rowcount(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched. `session.execute()` is typed as returning a plain
    Result, but for such a statement it is always a CursorResult, the one that has `rowcount`."""
    return cast("CursorResult[Any]", result).rowcount or 0


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction as a write transaction.

    Call before the first read of any read-modify-write. On SQLite this is `BEGIN IMMEDIATE`
    (takes the write lock up front, waits up to busy_timeout). A read transaction already open
    is committed first (expire_on_commit is off, loaded objects stay usable).
    """
    if session.in_transaction():
        await session.commit()
    queue = _writers_of(session)
    if queue is None:
        await session.connection(execution_options={WRITE_OPTION: True})
        return
    await queue.acquire()
    try:
        conn = await session.connection(execution_options={WRITE_OPTION: True})
    except BaseException:
        queue.release()
        raise
    conn.info[_QUEUED] = queue  # released when this connection goes back to the pool (commit/rollback)


_QUEUED = "thidua_write_queue"


class WriteQueue:
    """SQLite: this process's write transactions wait here, in order, rather than in SQLite's busy
    handler. That handler sleeps and polls (1, 2, 5 ... 100 ms) while the lock is taken; with tens of
    writers waiting at once (a vote's casts), most of the time went to sleeping. Only one process
    may use the file (bot/locking.py), so an in-process queue sees every writer; the lock is handed
    to the next one the moment the connection of the last one goes back to the pool. A writer that
    waits longer than busy_timeout fails as SQLite would have."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._lock = asyncio.Lock()
        event.listen(engine.sync_engine.pool, "checkin", self._checkin)

    async def acquire(self) -> None:
        try:
            await asyncio.wait_for(self._lock.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000)
        except TimeoutError:
            raise TimeoutError("database is locked: no write transaction could start within busy_timeout") from None

    def release(self) -> None:
        if self._lock.locked():
            self._lock.release()

    def _checkin(self, dbapi_connection, record) -> None:
        queue = record.info.pop(_QUEUED, None)
        if queue is not None:
            queue.release()


_QUEUES: weakref.WeakKeyDictionary[Any, WriteQueue] = weakref.WeakKeyDictionary()


def _writers_of(session: AsyncSession) -> WriteQueue | None:
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    queue = _QUEUES.get(bind.sync_engine)
    if queue is None:
        queue = _QUEUES[bind.sync_engine] = WriteQueue(bind)
    return queue


async def abort(session: AsyncSession) -> None:
    """Roll back the transaction WITHOUT expiring what was loaded.

    A plain rollback expires every object in the session; the person, bloc and membership that
    the middleware loaded for this update would then lazy-load on their next attribute access,
    which async SQLAlchemy forbids. Expunged first, they stay readable (detached) instead."""
    session.expunge_all()
    await session.rollback()


@asynccontextmanager
async def write(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """One write transaction: `async with write(session): ...`.

    Opens it with `begin_write` (BEGIN IMMEDIATE on SQLite), commits when the block ends normally,
    and on ANY exception rolls back with `abort` (loaded objects stay readable) and re-raises."""
    await begin_write(session)
    try:
        yield session
    except BaseException:
        await abort(session)
        raise
    await session.commit()


def _engine_of(session_or_db) -> Any:
    """The engine behind a Database (`.engine`) or an AsyncSession (`.bind`); None for neither."""
    return getattr(session_or_db, "engine", None) or getattr(session_or_db, "bind", None)


WAL_CUT_WAIT_MS = 1000  # how long cutting the -wal waits for readers before the retry job takes over
_WAL_PENDING: weakref.WeakSet[Any] = weakref.WeakSet()  # engines whose -wal could not be cut yet


async def truncate_wal(session_or_db) -> bool:
    """SQLite: fold the -wal file into the database and cut it to zero bytes (old page versions,
    e.g. of a ballot box, do not stay behind in it). True when it is cut (PostgreSQL: nothing to do).

    A reader whose transaction began before the last commit (another update, mid-way) still reads
    pages of the -wal, and SQLite cannot cut it until that reader ends: the checkpoint waits for it
    up to WAL_CUT_WAIT_MS (not the connections' 15 s busy timeout: the count's results wait on this),
    then returns False, says so in the log, and leaves the engine marked: `retry_wal_truncation`
    (a periodic job of the app) cuts it as soon as the readers are gone."""
    engine = _engine_of(session_or_db)
    if engine is None or engine.dialect.name != "sqlite":
        return True
    async with engine.connect() as conn:
        await conn.exec_driver_sql(f"PRAGMA busy_timeout={WAL_CUT_WAIT_MS}")
        try:
            busy, frames, moved = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        finally:
            await conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    sync = engine.sync_engine
    if busy:
        if sync not in _WAL_PENDING:
            log.warning("the -wal could not be cut yet (%s of its %s frames folded into the database): a reader "
                        "began before the last commit; retried until it is cut", moved, frames)
        _WAL_PENDING.add(sync)
        return False
    if sync in _WAL_PENDING:
        _WAL_PENDING.discard(sync)
        log.info("the -wal was cut on a retry")
    return True


def wal_cut_pending(session_or_db) -> bool:
    """Is a cut of this engine's -wal still owed (see truncate_wal)?"""
    engine = _engine_of(session_or_db)
    return engine is not None and engine.sync_engine in _WAL_PENDING


async def retry_wal_truncation(session_or_db) -> bool:
    """The periodic job's pass: cut the -wal if a cut is owed. True when nothing is owed any more."""
    if not wal_cut_pending(session_or_db):
        return True
    return await truncate_wal(session_or_db)
