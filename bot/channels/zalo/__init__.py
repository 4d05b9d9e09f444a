"""Zalo Bot Platform front: client, updates, webhook, poller, de-duplication.

Nothing here starts by itself: the runner wires it only when ZALO_BOT_TOKEN is set."""

from bot.channels.zalo.client import (
    BadRequest,
    Forbidden,
    NetworkError,
    NotFound,
    QuotaExceeded,
    RetryLater,
    ServerError,
    Unauthorized,
    ZaloClient,
    ZaloError,
    bot_id_from_token,
    redact,
)
from bot.channels.zalo.updates import ZaloUpdate, parse_update, parse_updates

__all__ = [
    "BadRequest", "Forbidden", "NetworkError", "NotFound", "QuotaExceeded", "RetryLater", "ServerError",
    "Unauthorized", "ZaloClient", "ZaloError", "ZaloUpdate", "bot_id_from_token", "parse_update",
    "parse_updates", "redact",
]
