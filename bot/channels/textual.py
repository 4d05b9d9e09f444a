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
from bot.services.ballot_box import mask_of
from bot.services.errors import UserError
from bot.views.base import MASK_SLOT, Action, Reply, Typed, split_text

TEXT_LIMIT = 2000
CHOICE_MARK = "·"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
_NUMBER_LIST = re.compile(r"\d+(?:\s*[,;\s]\s*\d+)*")
_NUMBER_LABEL = re.compile(r"[\d.,\s]+")
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
    """The reply's callback actions, numbered from 1 in reading order (none when the reply letters
    its actions or lists its own lines instead)."""
    typed = reply.typed
    if typed is not None and (typed.letters or typed.lines):
        return []
    callbacks = [a for row in reply.actions for a in row if a.kind == "callback"]
    return list(enumerate(callbacks, start=1))


def lettered(reply: Reply) -> list[tuple[str, Action]]:
    """A reply with `Typed.letters`: its callback actions lettered a, b, c… (those labelled by a
    number alone are left out: typing the number does the same)."""
    if reply.typed is None or not reply.typed.letters:
        return []
    callbacks = [a for row in reply.actions for a in row
                 if a.kind == "callback" and not _NUMBER_LABEL.fullmatch(plain(a.label))]
    return list(zip(LETTERS, callbacks, strict=False))


def reply_words(reply: Reply) -> dict[str, str]:
    """Typed words the reply accepts -> action data: each choice's label (and short label), each
    start word, the letters of a lettered reply and the reply's own typed words."""
    words: dict[str, str] = {}
    typed = reply.typed
    for word, data in (typed.words if typed is not None else ()):
        words.setdefault(fold(word), data)
    for letter, action in lettered(reply):
        words.setdefault(letter, action.data)
    listed = typed is not None and bool(typed.lines)  # the reply's own lines replace its buttons
    for row in reply.actions:
        for action in row:
            if action.kind == "callback" and not listed:
                for label in (action.short, plain(action.label)):
                    key = fold(label or "")
                    if key and not key.isdigit():
                        words.setdefault(key, action.data)
            elif action.kind == "start":
                words.setdefault(fold(start_word(action.data)), START_PREFIX + action.data)
    return words


def _choice_lines(reply: Reply) -> list[str]:
    """The callback actions as lines to answer: the reply's own lines, lettered lines, or numbered
    lines ("1 · label"; a row whose actions all have a short label on one line: "1 Dự · 2 Vắng")."""
    typed = reply.typed
    if typed is not None and typed.lines:
        return list(typed.lines)
    if typed is not None and typed.letters:
        pairs = lettered(reply)
        lines = [f"{letter} {CHOICE_MARK} {plain(a.label)}" for letter, a in pairs]
        if pairs:
            lines.append(_("Or type the letter of a choice, for example {example}.").format(example=pairs[0][0]))
        return lines
    numbers = {id(a): n for n, a in numbered(reply)}
    lines = []
    for row in reply.actions:
        callbacks = [a for a in row if a.kind == "callback"]
        if len(callbacks) > 1 and all(a.short for a in callbacks):
            lines.append(f" {CHOICE_MARK} ".join(f"{numbers[id(a)]} {a.short}" for a in callbacks))
        else:
            lines += [f"{numbers[id(a)]} {CHOICE_MARK} {plain(a.label)}" for a in callbacks]
    if numbers:
        lines.append(_("Reply with the number of your choice, for example {example}.").format(example=1))
    return lines


def render_textual(reply: Reply, limit: int = TEXT_LIMIT) -> tuple[list[str], dict[int, str]]:
    """Reply -> (message parts, each <= limit characters; {number: callback action data})."""
    text = reply.typed.text if reply.typed is not None and reply.typed.text is not None else reply.text
    lines = [plain(text).strip("\n")]
    choices = numbered(reply)
    extra = _choice_lines(reply)
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


def resolve(text: str, choices: dict[int, str], words: dict[str, str] | None = None,
            typed: Typed | None = None) -> str | None:
    """What a person typed -> action data, or None. "3", " 3 ", a label or a word; with a reply's
    `Typed.pick`, several numbers at once ("1,4,7", "1 4 7"), refused (UserError) when a number
    is not in the list or there are more than allowed."""
    key = fold(text)
    if not key:
        return None
    if typed is not None and typed.pick and _NUMBER_LIST.fullmatch(text.strip()):
        return pick(text, typed)
    if key.isdigit():
        return choices.get(int(key))
    return (words or {}).get(key)


def pick(text: str, typed: Typed) -> str:
    """Numbers typed at once -> the pick's action data with their bit mask (number 1 = bit 0)."""
    assert typed.pick is not None
    numbers = sorted({int(n) for n in re.findall(r"\d+", text)})
    wrong = [n for n in numbers if not 1 <= n <= typed.count]
    if wrong:
        raise UserError(_("There is no number {number} in the list: type numbers from 1 to {count}, "
                          "for example 3 or 1,4,7.").format(number=wrong[0], count=typed.count))
    if typed.limit and len(numbers) > typed.limit:
        raise UserError(_("You may choose at most {n}, you typed {typed}. Type again, for example 3 or 1,4,7.")
                        .format(n=typed.limit, typed=len(numbers)))
    return typed.pick.replace(MASK_SLOT, mask_of([n - 1 for n in numbers]))


# -- pending choices ----------------------------------------------------------------------------
@dataclass
class _Pending:
    expires_at: datetime
    choices: dict[int, str]
    words: dict[str, str] = field(default_factory=dict)
    typed: Typed | None = None


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
                 words: dict[str, str] | None = None, typed: Typed | None = None, pushed: bool = False) -> None:
        """`pushed`: the reply was sent outside the person's own message (an outbox copy, a reminder).
        Without numbered choices or a typed pick of its own, it then adds its words to what the
        person is answering instead of replacing it (a vote card arriving mid-ballot keeps the ballot's
        numbers working)."""
        key = (channel, str(user_id))
        current = self._items.get(key)
        if pushed and not choices and (typed is None or not typed.pick) and current is not None \
                and current.expires_at > self.clock.now():
            current.words.update(words or {})
            return
        if not choices and not words and (typed is None or not typed.pick):
            self._items.pop(key, None)
            return
        now = self.clock.now()
        if len(self._items) >= self.max_entries:
            self._purge(now)
            while len(self._items) >= self.max_entries:  # still full: drop the oldest
                self._items.pop(next(iter(self._items)))
        self._items.pop(key, None)
        self._items[key] = _Pending(now + self.ttl, dict(choices), dict(words or {}), typed)

    def remember_reply(self, channel: str, user_id: str, reply: Reply, limit: int = TEXT_LIMIT,
                       pushed: bool = False) -> list[str]:
        """Render the reply, remember its choices and words; returns the parts to send."""
        parts, choices = render_textual(reply, limit)
        self.remember(channel, user_id, choices, reply_words(reply), reply.typed, pushed=pushed)
        return parts

    def resolve(self, channel: str, user_id: str, text: str) -> str | None:
        entry = self._items.get((channel, str(user_id)))
        if entry is None:
            return None
        if entry.expires_at <= self.clock.now():
            del self._items[(channel, str(user_id))]
            return None
        return resolve(text, entry.choices, entry.words, entry.typed)

    def forget(self, channel: str, user_id: str) -> None:
        self._items.pop((channel, str(user_id)), None)

    def _purge(self, now: datetime) -> None:
        for key in [k for k, v in self._items.items() if v.expires_at <= now]:
            del self._items[key]
