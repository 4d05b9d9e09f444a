"""`thidua sandbox`: the real bot, unchanged, against the built-in fake Bot API (bot/fakeapi),
with a Telegram-like web page on 127.0.0.1 so anyone can try the whole product without a token."""
