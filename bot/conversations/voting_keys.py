"""The counting committee hands back its keys: by the button under its key message (HandKey) or by
typing the key's code (channels without buttons). The k-th key opens and counts the box. No aiogram."""

from __future__ import annotations

from bot.conversations import ballot as act
from bot.conversations.core import PRIVATE, Actor, CardKey, Ctx, Event, Outcome, say
from bot.conversations.voting import CARD, _private_only, announce_closed, conv, key_cards
from bot.services import ballot_box
from bot.services import voting as svc
from bot.services.errors import UserError
from bot.views import voting as views
from storage.models import Person


async def _hand_back(ctx: Ctx, person: Person, poll_id: int, seat: int, share: bytes | None) -> Outcome:
    if share is None:
        raise UserError(views.not_a_key_of(poll_id))
    handed = await svc.hand_back(ctx.session, ctx.clock, ctx.vault, poll_id, seat, share, person)
    reply = views.key_received(handed.poll, handed.have, handed.need)
    if not handed.counted:
        return say(reply).update(CardKey(CARD, poll_id))
    poll = handed.poll
    outcome = await announce_closed(ctx, poll, Outcome())
    outcome.update(*key_cards(poll))  # the keys open nothing now: take their buttons and codes away
    return outcome.say(reply)


@conv.action(act.HandKey)
async def key_button(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    action = event.action
    assert isinstance(action, act.HandKey)
    person = _private_only(actor)
    share = ballot_box.share_from_token(action.token)
    return await _hand_back(ctx, person, action.poll, action.seat, share)


@conv.text(ballot_box.SHARE_CODE.pattern, where=PRIVATE)
async def key_typed(ctx: Ctx, actor: Actor, event: Event) -> Outcome:
    parsed = ballot_box.parse_share_code(event.text or "")
    if parsed is None or actor.person is None:
        raise UserError(views.not_a_key())
    poll_id, seat, share = parsed
    return await _hand_back(ctx, actor.person, poll_id, seat, share)
