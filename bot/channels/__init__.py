"""One adapter per messenger, and what the text fronts share.

- `bot.channels.telegram`: the aiogram glue (the only module here that imports aiogram): turns a
  channel-neutral `bot.views.base.Reply` into Telegram messages and inline keyboards, sends it so
  that Telegram's refusals lose nothing, and is the outbox's sender for Telegram people.
- `bot.channels.textual`: renders a Reply for a channel with no buttons, no HTML and no edits
  (numbered choices, typed words, 2,000-character parts).
- `bot.channels.textfront`: runs the conversation table for such a channel (no aiogram).
- `bot.channels.zalo`: the Zalo Bot Platform (our own httpx client, update parsing, webhook
  endpoint, long-poll loop, durable replay de-duplication).
"""
