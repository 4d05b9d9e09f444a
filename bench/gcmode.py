"""The garbage collector's settings a benchmark runs under.

`thidua run` settles its heap once built (bot.runner.settle_heap: gc.freeze, a larger young
generation). A bare aiogram process, as anyone runs it, keeps Python's defaults. The benchmarks
measure the bare aiogram echo both ways, so each ratio says which baseline it is against."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

PYTHON_DEFAULTS = (700, 10, 10)


@contextmanager
def python_defaults() -> Iterator[None]:
    """Python's own collector settings for the block (nothing frozen, default thresholds); whatever
    was in force comes back after it (frozen again, if it was)."""
    frozen, thresholds = gc.get_freeze_count() > 0, gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(*PYTHON_DEFAULTS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if frozen:
            gc.freeze()
