"""What the outbox needs from a messenger (no aiogram here): a sender, and the refusals it understands.

A `ChannelSender` sends one channel-neutral `Reply` to one chat and returns where it landed
(`SentRef`). Whatever the messenger answers is translated to one of the errors below, so the
outbox decides by kind, never by a messenger's exception class:

- `RetryLater(retry_after)`: flood control (Telegram 429); the row goes back to pending then.
- `Unreachable`: the person blocked the bot or never started it (403); the row fails, the
  person is flagged `blocked`.
- `BadContent`: the messenger could not parse the formatted text (400 "can't parse entities");
  the outbox resends the same reply as plain text (`send(..., plain=True)`).
- `Rejected`: any other permanent refusal (400 chat not found, 404); the row fails.
- `Transient`: network errors, timeouts, 5xx; retried with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.views.base import Reply


@dataclass(frozen=True)
class SentRef:
    chat_id: int | str
    message_id: int | str


class SendError(Exception):
    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class RetryLater(SendError):
    """`per_chat`: the limit is this chat's (Telegram flood control: the limiter holds the chat);
    False: the sender's own (Zalo's monthly quota): only the row waits, the chat is not held."""

    def __init__(self, retry_after: float, message: str = "", per_chat: bool = True) -> None:
        super().__init__(message or f"retry after {retry_after}s")
        self.retry_after = retry_after
        self.per_chat = per_chat


class Unreachable(SendError):
    """403: blocked the bot, never pressed Start, kicked from the group."""


class Rejected(SendError):
    """A permanent refusal of this message (400/404)."""


class BadContent(Rejected):
    """The formatted text could not be parsed: resend it plain."""


class Transient(SendError):
    """Network, timeout, 5xx: try again later."""


class ChannelSender(Protocol):
    async def send(self, chat_id: int | str, reply: Reply, *, plain: bool = False) -> SentRef:
        """Send the reply's first part (and its buttons) to `chat_id`; raise a SendError on refusal."""
        ...
