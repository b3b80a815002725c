"""Waiting for an outcome in a test: poll a condition until it holds, with a deadline made for a
loaded machine; never a fixed sleep.

Given the embedded AWS's clock, the wait never waits for a timer either: whenever nothing runs and
the condition still does not hold, the clock skips to the next timer (a task's timeout, a job's
SQS delay, a retry) and fires it, so that a 7-day timeout takes milliseconds. Time moves only while
a test waits for an outcome, never between two of its steps."""

import time
from collections.abc import Callable
from typing import TypeVar

from ..local.clock import Clock

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float = 30,
    what: str = "the condition",
    interval: float = 0.05,
    clock: Clock | None = None,
) -> T:
    """Polls `condition` until it returns something truthy, which it returns; fails after `timeout`
    real seconds. With `clock`, time skips to the next timer whenever nothing runs."""
    if clock is not None:
        return _on_the_clock(clock, condition, timeout=timeout, what=what, interval=interval)
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:.0f} s")
        time.sleep(interval)
    return value


def _on_the_clock(clock: Clock, condition: Callable[[], T], *, timeout: float, what: str, interval: float) -> T:
    """Clock.run_until, returning what the condition returned: once truthy, it is kept (the clock
    looks at the condition again before it skips, and a condition may take what it finds, as
    take_messages does)."""
    found: list[T] = []

    def holds() -> bool:
        if not found and (value := condition()):
            found.append(value)
        return bool(found)

    try:
        clock.run_until(holds, timeout=timeout, poll=interval)
    except TimeoutError:
        raise AssertionError(f"{what} did not hold within {timeout:.0f} s (clock at {clock.now():%c})") from None
    return found[0]
