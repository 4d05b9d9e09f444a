"""Small shared filters and guards for routers."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.conversations.actions import ActionData, BadAction
from bot.i18n import _
from bot.services.blocs import Member, require_manager
from bot.services.errors import NotAllowed, UserError
from storage.models import Bloc

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


def need_bloc(bloc: Bloc | None) -> Bloc:
    if bloc is None or not bloc.is_active:
        raise UserError(_("This group is not a bloc yet. A group administrator can start with:\n"
                          "<code>/setup Khối thi đua ...</code>"))
    return bloc


def need_manager(bloc: Bloc | None, member: Member | None) -> Member:
    """The bloc of this chat exists and the sender is its head or deputy (or its founding admin)."""
    need_bloc(bloc)
    if member is None:
        raise NotAllowed(_("Only the bloc head or deputy can do this."))
    require_manager(member)
    return member


def need_member(member: Member | None) -> Member:
    if member is None:
        raise NotAllowed(_("You are not a member of any bloc yet. Open the join link your bloc head sent you."))
    return member


class Act(Filter):
    """Matches callback queries carrying one typed action (bot/conversations/actions.py) and hands
    the handler the unpacked `action`. Data with the action's prefix that does not unpack (forged,
    from an older version) is answered "no longer valid", never a traceback."""

    def __init__(self, *kinds: type[ActionData]) -> None:
        self.kinds = kinds

    async def __call__(self, callback: CallbackQuery) -> bool | dict:
        for kind in self.kinds:
            if kind.matches(callback.data):
                try:
                    return {"action": kind.unpack(callback.data)}
                except BadAction:
                    raise UserError(_("This button is no longer valid.")) from None
        return False
