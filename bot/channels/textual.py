"""Replies for a channel with no buttons, no HTML and no edits (Zalo), rendered from the same views.

`render_textual(reply)` turns a `bot.views.base.Reply` into plain-text parts of at most 2,000
characters (split on line boundaries) and a map {number: action data}:

- the HTML subset is stripped and entities unescaped (`<a href=X>label</a>` becomes "label (X)");
- callback actions become numbered lines "1 · label", followed by a line asking for a number;
- deep-link (`start`) actions become a word to type: the payload prefix names the feature
  (`v_12` -> "phieu 12", `j_..` -> "dk ..", see START_WORDS), resolved back to "start:<payload>";
- url actions become "label: URL".

`PendingChoices` remembers, per (channel, user), the numbers and words of the last reply for a
while, and `resolve()` maps what the person typed back to action data: "3", " 3 ", a choice's
label or a word, with or without diacritics, case or a leading slash ("Dự", "du", "/PHIEU 12").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser

from bot.clock import Clock, SystemClock
from bot.i18n import _
from bot.views.base import Action, Reply, split_text

TEXT_LIMIT = 2000
CHOICE_MARK = "·"
START_PREFIX = "start:"
# Deep-link payload prefix (docs/CONVENTIONS.md) -> the word a person types instead of the link.
START_WORDS = {"j_": "dk", "v_": "phieu", "m_": "hop", "a_": "tudanhgia", "p_": "camket"}


# -- text ---------------------------------------------------------------------------------------
class _Plain(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.out)))
        elif tag == "br":
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag == "a" and self._links:
            href, start = self._links.pop()
            label = "".join(self.out[start:]).strip()
            if href and href != label and not href.startswith("tg://"):
                self.out.append(f" ({href})")

    def handle_data(self, data):
        self.out.append(data)


def plain(text: str) -> str:
    """Telegram-HTML subset -> plain text (tags stripped, entities unescaped)."""
    parser = _Plain()
    parser.feed(text)
    parser.close()
    return "".join(parser.out)


def fold(text: str) -> str:
    """Fold for matching what people type: no diacritics (đ -> d), lower case, no leading slash,
    punctuation and symbols as spaces, spaces collapsed. "  /Phiếu  12 " -> "phieu 12"."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn").casefold()
    text = re.sub(r"[^\w,:\-]+", " ", text)
    return " ".join(text.split()).lstrip("/")


# -- actions ------------------------------------------------------------------------------------
def start_word(payload: str) -> str:
    """The typed word standing for a deep link: `v_12` -> "phieu 12"."""
    for prefix, word in START_WORDS.items():
        if payload.startswith(prefix):
            rest = payload[len(prefix):]
            return f"{word} {rest}" if rest else word
    return payload


def numbered(reply: Reply) -> list[tuple[int, Action]]:
    """The reply's callback actions, numbered from 1 in reading order."""
    callbacks = [a for row in reply.actions for a in row if a.kind == "callback"]
    return list(enumerate(callbacks, start=1))


def reply_words(reply: Reply) -> dict[str, str]:
    """Typed words the reply accepts -> action data: each choice's label and each start word."""
    words: dict[str, str] = {}
    for row in reply.actions:
        for action in row:
            if action.kind == "callback":
                key = fold(plain(action.label))
                if key and not key.isdigit():
                    words.setdefault(key, action.data)
            elif action.kind == "start":
                words.setdefault(fold(start_word(action.data)), START_PREFIX + action.data)
    return words


def render_textual(reply: Reply, limit: int = TEXT_LIMIT) -> tuple[list[str], dict[int, str]]:
    """Reply -> (message parts, each <= limit characters; {number: callback action data})."""
    lines = [plain(reply.text).strip("\n")]
    choices = numbered(reply)
    extra: list[str] = []
    if choices:
        extra += [f"{n} {CHOICE_MARK} {plain(a.label)}" for n, a in choices]
        extra.append(_("Reply with the number of your choice, for example {example}.").format(example=choices[0][0]))
    for row in reply.actions:
        for action in row:
            if action.kind == "start":
                extra.append(_("{label}: type {word}").format(label=plain(action.label), word=start_word(action.data)))
            elif action.kind == "url":
                extra.append(f"{plain(action.label)}: {action.data}")
    if extra:
        lines += ["", *extra]
    text = "\n".join(lines).strip("\n")
    parts = [p.strip("\n") for p in split_text(text, limit)]
    return [p for p in parts if p.strip()] or [], {n: a.data for n, a in choices}


def resolve(text: str, choices: dict[int, str], words: dict[str, str] | None = None) -> str | None:
    """What a person typed -> action data, or None. "3", " 3 ", a label or a word."""
    key = fold(text)
    if not key:
        return None
    if key.isdigit():
        return choices.get(int(key))
    return (words or {}).get(key)


# -- pending choices ----------------------------------------------------------------------------
@dataclass
class _Pending:
    expires_at: datetime
    choices: dict[int, str]
    words: dict[str, str] = field(default_factory=dict)


class PendingChoices:
    """In-memory, per (channel, user id): the numbered choices of the last reply, for `ttl`.

    Lost on restart by design: a person answering an old list is asked again."""

    def __init__(self, ttl: timedelta = timedelta(minutes=30), clock: Clock | None = None,
                 max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.clock = clock or SystemClock()
        self.max_entries = max_entries
        self._items: dict[tuple[str, str], _Pending] = {}

    def __len__(self) -> int:
        return len(self._items)

    def remember(self, channel: str, user_id: str, choices: dict[int, str],
                 words: dict[str, str] | None = None) -> None:
        key = (channel, str(user_id))
        if not choices and not words:
            self._items.pop(key, None)
            return
        now = self.clock.now()
        if len(self._items) >= self.max_entries:
            self._purge(now)
            while len(self._items) >= self.max_entries:  # still full: drop the oldest
                self._items.pop(next(iter(self._items)))
        self._items.pop(key, None)
        self._items[key] = _Pending(now + self.ttl, dict(choices), dict(words or {}))

    def remember_reply(self, channel: str, user_id: str, reply: Reply, limit: int = TEXT_LIMIT) -> list[str]:
        """Render the reply, remember its choices and words; returns the parts to send."""
        parts, choices = render_textual(reply, limit)
        self.remember(channel, user_id, choices, reply_words(reply))
        return parts

    def resolve(self, channel: str, user_id: str, text: str) -> str | None:
        entry = self._items.get((channel, str(user_id)))
        if entry is None:
            return None
        if entry.expires_at <= self.clock.now():
            del self._items[(channel, str(user_id))]
            return None
        return resolve(text, entry.choices, entry.words)

    def forget(self, channel: str, user_id: str) -> None:
        self._items.pop((channel, str(user_id)), None)

    def _purge(self, now: datetime) -> None:
        for key in [k for k, v in self._items.items() if v.expires_at <= now]:
            del self._items[key]
