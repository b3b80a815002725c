"""A pytest plugin for the bench (`-p bench.session_clock`): writes, to the file that
$BENCH_SESSION_CLOCK names, how long after the epoch time in $BENCH_SESSION_T0 (set just before
pytest's process started) the session's first test began: the wait before a user's first test."""

import os
import time
from pathlib import Path

_written = False


def pytest_runtest_call(item: object) -> None:
    global _written
    if not _written:
        _written = True
        began = time.time() - float(os.environ["BENCH_SESSION_T0"])
        Path(os.environ["BENCH_SESSION_CLOCK"]).write_text(f"{began}\n")
