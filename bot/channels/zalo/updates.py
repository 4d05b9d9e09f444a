"""Zalo updates as a small neutral dataclass, whatever shape they arrive in.

An update is `{event_name, message: {message_id, date (ms), from: {id, display_name}, chat: {id,
chat_type}, text | photo + caption}}`, sometimes wrapped in `{ok, result}`, and getUpdates may
answer one update or (defensively) a list. Ids are hex strings. Events we do not know — and
documents, which arrive as `message.unsupported.received` without any content — are kept with
kind "unsupported" so the front can answer "I cannot read this here" instead of dropping them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KINDS = {
    "message.text.received": "text",
    "message.image.received": "image",
    "message.sticker.received": "sticker",
}
UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class ZaloUpdate:
    event_name: str
    kind: str  # text | image | sticker | unsupported
    message_id: str | None
    date: datetime | None
    user_id: str | None
    display_name: str | None
    chat_id: str | None
    chat_type: str | None  # PRIVATE | GROUP (as Zalo sends it)
    text: str | None = None
    photo_url: str | None = None
    caption: str | None = None
    # The message as received (never logged: it holds what the person wrote).
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_private(self) -> bool:
        return (self.chat_type or "PRIVATE").upper() == "PRIVATE"


def _str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _date(value: Any) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number > 1e11:  # milliseconds (Zalo's unit); a plain seconds value is tolerated too
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def unwrap(body: Any) -> Any:
    """`{ok: true, result: X}` -> X; anything else is returned as it is."""
    if isinstance(body, dict) and "ok" in body and ("result" in body or body.get("ok") is True):
        return body.get("result")
    return body


def parse_update(body: Any) -> ZaloUpdate | None:
    """One update (wrapped or not) -> ZaloUpdate; None when the body is no update at all."""
    body = unwrap(body)
    if not isinstance(body, dict):
        return None
    event = body.get("event_name")
    message = body.get("message")
    if not isinstance(event, str) and not isinstance(message, dict):
        return None
    event = event if isinstance(event, str) else ""
    message = message if isinstance(message, dict) else {}
    sender = message.get("from")
    sender = sender if isinstance(sender, dict) else {}
    chat = message.get("chat")
    chat = chat if isinstance(chat, dict) else {}
    kind = KINDS.get(event, UNSUPPORTED)
    text = message.get("text") if kind == "text" else None
    photo = message.get("photo") if kind == "image" else None
    if isinstance(photo, list):  # tolerate a Telegram-like list of sizes
        photo = next((p.get("url") if isinstance(p, dict) else p for p in reversed(photo)), None)
    elif isinstance(photo, dict):
        photo = photo.get("url")
    return ZaloUpdate(
        event_name=event,
        kind=kind,
        message_id=_str(message.get("message_id")),
        date=_date(message.get("date")),
        user_id=_str(sender.get("id")),
        display_name=_str(sender.get("display_name") or sender.get("name")),
        chat_id=_str(chat.get("id")) or _str(sender.get("id")),
        chat_type=_str(chat.get("chat_type")),
        text=str(text) if text is not None else ("" if kind == "text" else None),
        photo_url=_str(photo),
        caption=_str(message.get("caption")) if kind == "image" else None,
        raw=body,
    )


def parse_updates(body: Any) -> list[ZaloUpdate]:
    """A getUpdates or webhook body -> its updates (normally exactly one)."""
    body = unwrap(body)
    items = body if isinstance(body, list) else [body]
    return [u for u in (parse_update(item) for item in items) if u is not None]
