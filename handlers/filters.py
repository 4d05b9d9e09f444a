"""Small shared filters and guards for routers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.conversations.actions import ActionData, BadAction
from bot.conversations.core import unpack_for
from bot.i18n import _
from bot.services.errors import UserError

__all__ = ["IN_GROUP", "IN_PRIVATE", "Act", "ChatType", "NotCommand"]

class ChatType(Filter):
    """The chat type of a message, checked inline. A magic filter (`F.chat.type == ...`) is a sync
    callable, which aiogram runs in a worker thread; as a router-level filter on every router it
    cost a dozen thread hops per update (the largest share of /help's time in the profile)."""

    def __init__(self, *types: str) -> None:
        self.types = frozenset(types)

    async def __call__(self, message: Message) -> bool:
        return message.chat.type in self.types


IN_GROUP = ChatType("group", "supergroup")
IN_PRIVATE = ChatType("private")


class NotCommand(Filter):
    """A message that is not a /command (a dialog's answer)."""

    async def __call__(self, message: Message) -> bool:
        return not (message.text or "").startswith("/")


class Act(Filter):
    """Matches callback queries carrying one typed action (bot/conversations/actions.py) and hands
    the handler the unpacked `action`. Data with the action's prefix that does not unpack (forged,
    from an older version) is answered "no longer valid", never a traceback."""

    def __init__(self, *kinds: type[ActionData]) -> None:
        self.kinds = kinds

    async def __call__(self, callback: CallbackQuery) -> bool | dict:
        try:
            found = unpack_for(self.kinds, callback.data)
        except BadAction:
            raise UserError(_("This button is no longer valid.")) from None
        return False if found is None else {"action": found}
