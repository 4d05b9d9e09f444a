"""Channel-neutral replies: text (Telegram's HTML subset) plus rows of actions.

A Telegram front turns actions into inline keyboards; a text-only front (Zalo) turns them into
numbered choices. Nothing here knows about aiogram.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Literal


def esc(value: object) -> str:
    """Escape anything that came from a user before it goes into an HTML reply."""
    return html.escape(str(value), quote=False)


@dataclass(frozen=True)
class Action:
    """A button. kind 'callback' carries `data` (<= 64 bytes) back to us; 'url' opens a link;
    'start' is a deep link into the private chat with the bot (`data` is the start payload)."""

    label: str
    data: str
    kind: Literal["callback", "url", "start"] = "callback"
    # A channel without buttons (Zalo) shows a row whose actions all have a short label on one line,
    # "1 Dự · 2 Vắng · 3 Cử người thay"; the short label also works as a typed word.
    short: str | None = None


MASK_SLOT = "{mask}"


@dataclass(frozen=True)
class Typed:
    """How a channel without buttons (Zalo) asks for this reply's answer and reads it; Telegram
    ignores it (bot/channels/textual.py).

    - `lines`: shown instead of the numbered list of the callback actions (candidates, a prompt);
    - `text`: the reply's text there, when the text speaks of buttons ("press Next");
    - `pick`: action data in which `MASK_SLOT` stands for the hex bit mask of the numbers typed at
      once ("3", "1,4,7", "1 4 7"; number 1 is bit 0), valid from 1 to `count`, at most `limit`;
    - `words`: typed words (any case, with or without diacritics) -> action data ("co" -> Cast);
    - `letters`: the callback actions are lettered a, b, c… instead of numbered, so a number
      typed goes to the dialog step (a score); actions labelled by a number alone are left out
      (typing that number does the same)."""

    lines: tuple[str, ...] = ()
    text: str | None = None  # the reply's text there, when it speaks of buttons
    pick: str | None = None
    count: int = 0
    limit: int = 0
    words: tuple[tuple[str, str], ...] = ()
    letters: bool = False


@dataclass(frozen=True)
class Attachment:
    """A file to send: its bytes, or `ref`, a file the channel already holds (a Telegram file_id)."""

    filename: str
    content: bytes
    kind: Literal["document", "photo"] = "document"
    caption: str | None = None
    ref: str | None = None


@dataclass
class Reply:
    text: str
    actions: list[list[Action]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    # Where the reply should go when it is not simply "back to the same chat".
    private: bool = False
    typed: Typed | None = None  # the wording for channels without buttons (None: numbered buttons)

    def add_row(self, *actions: Action) -> "Reply":
        self.actions.append(list(actions))
        return self


def deep_link(bot_username: str, payload: str) -> str:
    return f"https://t.me/{bot_username}?start={payload}"


TELEGRAM_LIMIT = 4096


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split a long reply at line breaks so each part fits in one message.

    Lines are kept whole (an HTML tag never spans lines in our views); a single line longer than
    the limit is cut hard."""
    parts, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts
