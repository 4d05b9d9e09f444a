"""Show a message in the page the way Telegram shows it.

The bot's HTML (already accepted by the fake, so well formed and limited to Telegram's tags) is
re-emitted with a whitelist: Telegram's tags map to safe HTML tags, every other character is
escaped, links keep only http(s)/tg addresses. Plain text (people's messages, or the bot's
without parse_mode) is escaped. As in Telegram, URLs and /commands in text become tappable, but
not inside code, pre or an existing link."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

TAGS = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u", "ins": "u", "s": "s", "strike": "s", "del": "s",
        "code": "code", "pre": "pre", "blockquote": "blockquote"}
_LINKIFY = re.compile(r"(https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]])|(?<![^\s(])(/[a-zA-Z][a-zA-Z0-9_]{0,31})(?![\w/])")


def _safe_url(url: str) -> str | None:
    url = url.strip()
    return url if url.startswith(("http://", "https://", "tg://")) else None


def linkify(text: str) -> str:
    """Escape `text`; URLs become links, /commands become buttons that send the command."""
    out, pos = [], 0
    for match in _LINKIFY.finditer(text):
        out.append(html.escape(text[pos:match.start()], quote=False))
        url, command = match.group(1), match.group(2)
        if url:
            out.append(f'<a href="{html.escape(url)}" target="_blank" rel="noopener">{html.escape(url)}</a>')
        else:
            out.append(f'<a href="#" class="cmd" data-command="{command}">{command}</a>')
        pos = match.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


class _Renderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.raw = 0  # inside code/pre/a: no linkify

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attrs_d = dict(attrs)
        if tag == "a":
            url = _safe_url(attrs_d.get("href") or "")
            self.out.append(f'<a href="{html.escape(url)}" target="_blank" rel="noopener">' if url else "<a>")
            self.stack.append("a")
            self.raw += 1
        elif tag == "tg-spoiler" or (tag == "span" and "tg-spoiler" in (attrs_d.get("class") or "")):
            self.out.append('<span class="spoiler">')
            self.stack.append("span")
        elif tag in TAGS:
            self.out.append(f"<{TAGS[tag]}>")
            self.stack.append(TAGS[tag])
            if tag in ("code", "pre"):
                self.raw += 1
        else:  # tg-emoji and anything unexpected: keep the text only
            self.stack.append("")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            return
        closing = self.stack.pop()
        if closing:
            self.out.append(f"</{closing}>")
        if closing in ("a", "code", "pre"):
            self.raw -= 1

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False) if self.raw else linkify(data))

    def result(self) -> str:
        self.close()
        while self.stack:
            closing = self.stack.pop()
            if closing:
                self.out.append(f"</{closing}>")
        return "".join(self.out)


def to_safe_html(text: str | None, telegram_html: str | None = None) -> str:
    if telegram_html is None:
        return linkify(text or "")
    renderer = _Renderer()
    renderer.feed(telegram_html)
    return renderer.result()
