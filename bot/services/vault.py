"""Where the counting committee's handed-back key shares wait for the k-th one: `make_vault`."""

from __future__ import annotations

from bot.config import Settings
from bot.services.ballot_box import KeyVault


def make_vault(settings: Settings) -> KeyVault:
    """This process's memory (bot/services/ballot_box.KeyVault)."""
    return KeyVault()
