"""How a bloc is named in a sentence: "khối" or "cụm" (the bloc's `bloc_word` setting, /settings),
never doubled ("khối Khối thi đua …"): `bloc_name(bloc)` is plain text, callers escape it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import N_, _
from bot.render.model import bloc_phrase

if TYPE_CHECKING:
    from storage.models import Bloc

WORD_KEY = "bloc_word"
CLUSTER = "cụm"
WORDS = {"khối": N_("bloc"), CLUSTER: N_("cluster")}


def is_cluster(bloc: Bloc) -> bool:
    """The bloc calls itself a "cụm thi đua" (with a "Trưởng cụm")."""
    return (bloc.settings or {}).get(WORD_KEY) == CLUSTER


def bloc_word(bloc: Bloc) -> str:
    word = WORDS[CLUSTER] if is_cluster(bloc) else WORDS["khối"]
    return _(word)


def bloc_name(bloc: Bloc) -> str:
    """ "khối các TTYT tuyến huyện", or the title alone when it already says "Khối …"/"Cụm …"."""
    return bloc_phrase(bloc.title, bloc_word(bloc))
