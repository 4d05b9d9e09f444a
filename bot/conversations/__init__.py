"""Channel-neutral dialogs: event + actor + state -> replies, card updates, new state. No aiogram.

`actions` declares the typed button actions every dialog uses (pack/unpack, 64-byte check)."""
