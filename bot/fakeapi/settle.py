"""Wait until the bot has handled everything people did so far (tests and the sandbox)."""

from __future__ import annotations

import asyncio


class Settler:
    """Counts the updates a Dispatcher has handled (wrapping its feed_update), so the human side can
    wait until every update the fake produced has been handled and none is in flight."""

    def __init__(self, dp, tg) -> None:
        self.tg = tg
        self.handled = 0
        self.inflight = 0
        self._changed = asyncio.Condition()
        original = dp.feed_update

        async def counted(bot, update, **kwargs):
            self.inflight += 1
            try:
                return await original(bot, update, **kwargs)
            finally:
                self.inflight -= 1
                self.handled += 1
                async with self._changed:
                    self._changed.notify_all()

        dp.feed_update = counted

    async def settle(self, timeout: float = 10) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(
                lambda: self.handled >= self.tg.pushed and self.inflight == 0), timeout)
