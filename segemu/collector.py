"""Pausing Python's garbage collector around work that makes many objects that all live on.

Reading back a store of 100,000 calls, or the identity graph beside it, makes millions of
containers that are kept: the automatic collector would walk the growing heap again and again
(a reload took 60% longer with it running). The pause nests: only the outermost one turns the
collector back on, and only if it was on.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
