"""One rate limiter for every message the outbox sends (Telegram's flood limits).

Limits: about `global_per_sec` messages per second overall, `group_per_min` per minute per group
chat, `chat_per_sec` per second per chat. A sender *books* a slot before it sends:

- per chat, the slot respects the 1/s spacing and the sliding 60 s window of the group limit,
  counting slots already booked (so 25 messages for one group in one batch do not all take
  the first minute);
- globally, every booked slot is a distinct tick of 1/global_per_sec seconds, so bookings in
  the future never block earlier free ticks (a message waiting for its group does not hold up
  everyone else).

Booking is synchronous (no await between reading and writing the state: asyncio makes it
atomic); the sender then sleeps until its slot. When the earliest slot is further away than the
caller may hold a claimed row (`max_wait`), nothing is booked and the caller re-queues the row in
the database for that time instead. Small margins absorb timer jitter, so a slot computed as
exactly 1 s after the previous one is never observed by Telegram as 0.99 s.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _ChatState:
    booked: deque = field(default_factory=deque)  # slot times (monotonic), ascending
    blocked_until: float = 0.0


class RateLimiter:
    def __init__(self, global_per_sec: float = 25.0, group_per_min: int = 20, chat_per_sec: float = 1.0,
                 margin: float = 0.05, time_fn: Callable[[], float] = time.monotonic) -> None:
        self.tick = 1.0 / global_per_sec
        self.group_per_min = group_per_min
        self.chat_gap = 1.0 / chat_per_sec + margin
        self.group_window = 60.0 + 2 * margin
        self.time = time_fn
        self._epoch = time_fn()
        self._ticks: set[int] = set()
        self._chats: dict[int, _ChatState] = {}
        self._global_blocked_until = 0.0

    @staticmethod
    def is_group(chat_id: int) -> bool:
        return chat_id < 0

    def _chat_ready(self, chat_id: int, now: float) -> float:
        state = self._chats.get(chat_id)
        if state is None:
            return now
        ready = max(now, state.blocked_until)
        if state.booked:
            ready = max(ready, state.booked[-1] + self.chat_gap)
        if self.is_group(chat_id) and len(state.booked) >= self.group_per_min:
            ready = max(ready, state.booked[-self.group_per_min] + self.group_window)
        return ready

    def _free_tick(self, not_before: float) -> int:
        k = max(0, math.ceil((not_before - self._epoch) / self.tick))
        while k in self._ticks:
            k += 1
        return k

    def delay(self, chat_id: int) -> float:
        """Seconds until this chat could send (ignoring the global pace)."""
        now = self.time()
        return max(0.0, self._chat_ready(chat_id, max(now, self._global_blocked_until)) - now)

    def book(self, chat_id: int, max_wait: float | None = None) -> float | None:
        """Book the earliest slot for one message to `chat_id`; return the seconds to wait before
        sending, or None (nothing booked) when that is more than `max_wait`."""
        now = self.time()
        self._prune(now)
        if chat_id in self._chats:
            self._trim(self._chats[chat_id], now)
        ready = self._chat_ready(chat_id, max(now, self._global_blocked_until))
        k = self._free_tick(ready)
        at = self._epoch + k * self.tick
        if max_wait is not None and at - now > max_wait:
            return None
        self._ticks.add(k)
        self._chats.setdefault(chat_id, _ChatState()).booked.append(at)
        return max(0.0, at - now)

    def penalize(self, chat_id: int, retry_after: float, whole_bot: bool = False) -> None:
        """Telegram answered 429: nothing more to this chat (or at all) before retry_after."""
        until = self.time() + retry_after
        state = self._chats.setdefault(chat_id, _ChatState())
        state.blocked_until = max(state.blocked_until, until)
        if whole_bot:
            self._global_blocked_until = max(self._global_blocked_until, until)

    def _prune(self, now: float) -> None:
        if len(self._ticks) > 4096:
            floor = math.floor((now - 1.0 - self._epoch) / self.tick)
            self._ticks = {k for k in self._ticks if k >= floor}
        if len(self._chats) > 20000:
            horizon = now - self.group_window
            self._chats = {c: s for c, s in self._chats.items()
                           if (s.booked and s.booked[-1] > horizon) or s.blocked_until > now}

    def _trim(self, state: _ChatState, now: float) -> None:
        keep = max(self.group_per_min, 1)
        while len(state.booked) > keep or (state.booked and state.booked[0] < now - self.group_window
                                           and len(state.booked) > 1):
            state.booked.popleft()
