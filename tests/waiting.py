"""Waiting for an event in a test: poll a condition until it holds, with a deadline made for a
loaded machine; never a fixed sleep."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], *, timeout: float = 30, what: str = "the condition", interval: float = 0.05
) -> T:
    """Polls `condition` until it returns something truthy, which it returns; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:.0f} s")
        time.sleep(interval)
    return value
