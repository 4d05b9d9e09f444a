"""Fronts other than Telegram. Nothing in this package imports aiogram.

- `bot.channels.textual`: renders a channel-neutral `bot.views.base.Reply` for a channel with no
  buttons, no HTML and no edits (numbered choices, typed words, 2,000-character parts).
- `bot.channels.zalo`: the Zalo Bot Platform (our own httpx client, update parsing, webhook
  endpoint, long-poll loop, durable replay de-duplication).
"""
