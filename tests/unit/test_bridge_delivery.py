"""The Telegram front sends a private message to a person on another messenger through that
messenger's sender (a Zalo representative of a Telegram bloc), and reports a refusal."""

from __future__ import annotations

from bot.channels.base import SentRef, Unreachable
from bot.conversations.core import Ctx, MemoryStates, Out, Table, ToPerson
from bot.views.base import Reply
from handlers.bridge import TelegramDelivery
from storage.models import Person


class Recorder:
    def __init__(self, refuse: bool = False) -> None:
        self.sent: list[tuple[int | str, str]] = []
        self.refuse = refuse

    async def send(self, chat_id, reply, *, plain=False):
        if self.refuse:
            raise Unreachable("never wrote to the bot")
        self.sent.append((chat_id, reply.text))
        return SentRef(chat_id, 77)


class FakeApp:
    def __init__(self, sender) -> None:
        self.sender = sender

    def senders(self, bot):
        return {"zalo": self.sender}


def _ctx(session, clock, settings, app):
    states = MemoryStates()
    return Ctx(session=session, clock=clock, settings=settings, vault=None, state=None, states=states,  # type: ignore[arg-type]
               extras={"app": app})


async def test_private_message_to_a_zalo_person_goes_through_zalo(session, clock, settings):
    zalo = Recorder()
    mai = Person(channel="zalo", external_id=5, full_name="Chị Mai", created_at=clock.now())
    delivery = TelegramDelivery(None, Table([]), _ctx(session, clock, settings, FakeApp(zalo)), None, None)  # type: ignore[arg-type]
    result = await delivery.deliver(Out(Reply("Nhắc lịch"), ToPerson(mai)))
    assert result.ok and zalo.sent == [(5, "Nhắc lịch")]

    refused = TelegramDelivery(None, Table([]), _ctx(session, clock, settings, FakeApp(Recorder(refuse=True))),  # type: ignore[arg-type]
                               None, None)
    assert not (await refused.deliver(Out(Reply("Nhắc lịch"), ToPerson(mai)))).ok
