"""In-process fake Telegram Bot API: shared by the end-to-end tests and the sandbox."""

from bot.fakeapi.server import ApiError, FakeTelegram

__all__ = ["ApiError", "FakeTelegram"]
