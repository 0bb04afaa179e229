"""Progress lines for long runs, decoupled from how (or whether) they are shown.

Library code calls :func:`report` with a short message ("sites…", "routes day 2 of
7…"); the command line installs a reporter that prints the line to stderr, and
library users see nothing unless they install one. Keeping the hook a plain
module-level callback means any stage can report progress without importing the CLI.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

Reporter = Callable[[str], None]

_reporter: Reporter | None = None


def report(message: str) -> None:
    """Pass one progress line to the installed reporter (nothing happens without one)."""
    if _reporter is not None:
        _reporter(message)


def set_reporter(reporter: Reporter | None) -> Reporter | None:
    """Install ``reporter`` (None: silence) and return the one it replaces."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Use ``reporter`` inside the block, then put the previous one back."""
    previous = set_reporter(reporter)
    try:
        yield
    finally:
        set_reporter(previous)


def stream_reporter(stream: TextIO | None = None, *, start: float | None = None) -> Reporter:
    """A reporter printing ``[  12 s] message`` lines, timed from ``start``, to stderr.

    The stream is looked up at each call (not at creation) so that a replaced
    ``sys.stderr``, as in tests, receives the lines.
    """
    t0 = time.perf_counter() if start is None else start

    def emit(message: str) -> None:
        out = stream if stream is not None else sys.stderr
        print(f"[{time.perf_counter() - t0:5.0f} s] {message}", file=out, flush=True)

    return emit
