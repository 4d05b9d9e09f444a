"""Small shared filters and guards for routers."""

from __future__ import annotations

from aiogram import F

from bot.i18n import _
from bot.services.blocs import Member
from bot.services.errors import NotAllowed, UserError
from storage.models import Bloc

IN_GROUP = F.chat.type.in_({"group", "supergroup"})
IN_PRIVATE = F.chat.type == "private"


def need_bloc(bloc: Bloc | None) -> Bloc:
    if bloc is None or not bloc.is_active:
        raise UserError(_("This group is not a bloc yet. A group administrator can start with:\n"
                          "<code>/setup Khối thi đua ...</code>"))
    return bloc


def need_member(member: Member | None) -> Member:
    if member is None:
        raise NotAllowed(_("You are not a member of any bloc yet. Open the join link your bloc head sent you."))
    return member
