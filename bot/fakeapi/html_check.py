"""Telegram's HTML parse mode, checked as strictly as Telegram does.

Returns the visible text (tags removed, entities decoded) or raises ValueError with a
Telegram-like reason, which the server turns into 400 "can't parse entities: ..."."""

from __future__ import annotations

import html
import re

ALLOWED = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
           "blockquote", "tg-emoji"}
_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*)?)\s*>|<|&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);|&")
_NAMED = {"lt", "gt", "amp", "quot"}


def visible_text(source: str) -> str:
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(source):
        out.append(source[pos:match.start()])
        pos = match.end()
        token = match.group(0)
        if match.group(2):  # a tag
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3) or ""
            if name not in ALLOWED:
                raise ValueError(f"Unsupported start tag \"{name}\" at byte offset {match.start()}")
            if name == "span" and not closing and "tg-spoiler" not in attrs:
                raise ValueError(f"Tag \"span\" must have class \"tg-spoiler\" at byte offset {match.start()}")
            if closing:
                if not stack or stack[-1] != name:
                    raise ValueError(f"Unmatched end tag at byte offset {match.start()}, expected \"</{stack[-1]}>\", "
                                     f"found \"</{name}>\"" if stack else
                                     f"Unexpected end tag at byte offset {match.start()}")
                stack.pop()
            else:
                stack.append(name)
        elif token == "<":
            raise ValueError(f"Unexpected character '<' at byte offset {match.start()}")
        elif token == "&":
            raise ValueError(f"Character '&' is reserved and must be escaped at byte offset {match.start()}")
        else:
            entity = match.group(4)
            if not entity.startswith("#") and entity not in _NAMED:
                raise ValueError(f"Unsupported HTML entity \"&{entity};\" at byte offset {match.start()}")
            out.append(html.unescape(token))
    out.append(source[pos:])
    if stack:
        raise ValueError(f"Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
