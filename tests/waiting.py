"""Waiting for an event in a test: poll a condition until it holds, with a deadline made for a
loaded machine; never a fixed sleep.

Given the embedded AWS's clock, the wait never waits for a timer either: whenever nothing runs and
the condition still does not hold, the clock skips to the next timer (a task's timeout, a job's
SQS delay, a retry) and fires it, so that a 7-day timeout takes milliseconds. Time moves only while
a test waits for an outcome, never between two of its steps."""

import time
from collections.abc import Callable
from typing import TypeVar

from pausable_sfn.local.clock import Clock

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
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:.0f} s")
        if clock is not None and skip_to_next_timer(clock, condition):
            continue
        time.sleep(interval)
    return value


def skip_to_next_timer(clock: Clock, condition: Callable[[], object]) -> bool:
    """Fires the clock's next timer if nothing runs and `condition` still does not hold. True when
    the condition is worth a look at once (the timer fired, or the condition came to hold).

    Not Clock.run_until, which looks at the condition, then at the clock: an outcome reached
    between the two looks is skipped past (a task seen running, paused meanwhile, then timed out
    by the skip). Here the condition is looked at again once all is quiet, and the clock moves no
    further than the timer seen then (work that started meanwhile settles first)."""
    if not clock.is_idle():
        return False
    clock.settle()
    if condition():
        return True
    due = clock.next_due()
    if due is None:
        return False
    clock.advance(max(0.0, due - clock.time()))
    return True
