"""The Zalo long-poll loop: getUpdates, one update at a time, until stopped.

HTTP 408 means "nothing new" and the loop polls again at once. Every update goes through the
durable de-duplication (`dedup.first_time`) before the handler sees it, because getUpdates has
no offset and may serve an update again. Errors back off (1, 2, 5, 10, 30, 60 s, reset by the
next good poll); a 429 waits its retry delay; a wrong token (401) stops the loop with the error.
Sleeping and the clock are injectable, so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.channels.zalo.client import RetryLater, Unauthorized, ZaloClient, ZaloError
from bot.channels.zalo.dedup import UpdateHandler, only_first
from bot.clock import Clock, SystemClock
from storage.db import Database

log = logging.getLogger(__name__)

BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class ZaloPoller:
    def __init__(self, client: ZaloClient, handler: UpdateHandler, db: Database, *, poll_timeout: int = 30,
                 clock: Clock | None = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 backoff: tuple[float, ...] = BACKOFF) -> None:
        self.client = client
        self.clock = clock or SystemClock()
        self._handler = handler
        self.handle = only_first(db, client.bot_id, self._counted, self.clock)
        self.poll_timeout = poll_timeout
        self.sleep = sleep
        self.backoff = backoff
        self.failures = 0
        self.polls = 0
        self.handled = 0  # updates that reached the handler (replays excluded)
        self._stop = asyncio.Event()

    async def _counted(self, update) -> None:
        self.handled += 1
        await self._handler(update)

    def stop(self) -> None:
        """Ask the loop to end; a poll in flight is cancelled, a handler running is let finish."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def _until_stopped(self, awaitable: Awaitable):
        """Run awaitable unless stop() comes first. Returns (True, result) or (False, None)."""
        task = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if task.done():
            return True, task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return False, None

    async def _pause(self, seconds: float) -> None:
        await self._until_stopped(self.sleep(seconds))

    async def run(self) -> None:
        log.info("zalo polling started")
        try:
            while not self._stop.is_set():
                try:
                    finished, updates = await self._until_stopped(self.client.get_updates(self.poll_timeout))
                except Unauthorized:
                    log.error("zalo polling stopped: the bot token was refused (401)")
                    raise
                except RetryLater as err:
                    log.warning("zalo polling: %s, waiting %.0f s", type(err).__name__, err.retry_after)
                    await self._pause(err.retry_after)
                    continue
                except ZaloError as err:
                    delay = self.backoff[min(self.failures, len(self.backoff) - 1)]
                    self.failures += 1
                    log.warning("zalo polling: %s (%s), retrying in %.0f s", type(err).__name__, err.code, delay)
                    await self._pause(delay)
                    continue
                if not finished:
                    break
                self.polls += 1
                self.failures = 0
                for update in updates:
                    try:
                        await self.handle(update)
                    except Exception:  # one bad update must not stop the loop; its content is not logged
                        log.exception("zalo polling: handling a %s update failed", update.event_name)
        finally:
            log.info("zalo polling stopped")
