"""The embedded AWS's clock on its own: threads that wait on it, timers it fires in order, and the
rule that it moves only when asked (advance) or while a caller waits and nothing runs (run_until)."""

import threading
import time
from collections.abc import Iterator

import pytest

from pausable_sfn.local import clock as clocks
from pausable_sfn.local.clock import Clock, ClockCondition, ClockError, ClockEvent, ClockThread

DAY = 86400


@pytest.fixture
def clock() -> Iterator[Clock]:
    clock = Clock()
    clocks.push(clock)
    yield clock
    clocks.pop(clock)


def sleeper(seconds: float, woke: list[str], name: str) -> ClockThread:
    """A thread that sleeps on the clock, then records that it woke and at what clock time."""

    def run() -> None:
        clocks.sleep(seconds)
        woke.append(name)

    thread = ClockThread(target=run, daemon=True)
    thread.start()
    return thread


def test_it_is_the_wall_clock_until_advanced_and_then_ahead_of_it(clock):
    assert clock.is_wall_clock
    assert abs(clock.time() - time.time()) < 1

    clock.advance(DAY)

    assert not clock.is_wall_clock
    assert abs(clock.time() - time.time() - DAY) < 1


def test_an_advance_is_given_in_seconds_or_in_days_hours_and_minutes_added_together(clock):
    start = clock.time()

    clock.advance(30, days=1, hours=2, minutes=3)

    assert clock.time() - start == pytest.approx(DAY + 2 * 3600 + 3 * 60 + 30, abs=1)


def test_it_never_moves_backwards(clock):
    with pytest.raises(ClockError, match="only moves forward"):
        clock.advance(-0.001)


def test_an_advance_fires_the_timers_due_on_the_way_in_the_order_they_fall_due(clock):
    woke: list[str] = []
    threads = [sleeper(3 * DAY, woke, "third"), sleeper(DAY, woke, "first"), sleeper(2 * DAY, woke, "second")]
    sleeper(10 * DAY, woke, "not due")
    clock.settle()

    clock.advance(3 * DAY)

    # Nothing is waited for here: advance returned once the woken threads had settled.
    assert woke == ["first", "second", "third"]
    assert all(not thread.is_alive() for thread in threads)


def test_a_thread_woken_by_a_timer_sees_the_instant_it_fell_due(clock):
    seen: list[float] = []
    due = clock.time() + DAY

    def run() -> None:
        clocks.sleep(DAY)
        seen.append(clock.time())

    ClockThread(target=run, daemon=True).start()
    clock.settle()
    clock.advance(2 * DAY)

    assert due <= seen[0] < due + 1


def test_a_set_wakes_the_waiter_even_if_the_event_is_cleared_at_once_as_threading_event_does(clock):
    event = ClockEvent()
    answers: list[bool] = []
    ClockThread(target=lambda: answers.append(event.wait(DAY)), daemon=True).start()
    clock.settle()

    event.set()
    event.clear()
    clock.settle()

    assert answers == [True]
    assert clock.is_wall_clock


def test_waiting_for_an_outcome_skips_time_only_while_nothing_runs(clock):
    woke: list[str] = []
    sleeper(DAY, woke, "timer")
    clock.settle()
    released, working = threading.Event(), threading.Event()

    def busy_for_a_moment() -> None:
        with clock.busy():
            working.set()
            released.wait(10)

    threading.Thread(target=busy_for_a_moment, daemon=True).start()
    assert working.wait(10)
    threading.Timer(0.3, released.set).start()

    clock.run_until(lambda: bool(woke), timeout=10)

    assert woke == ["timer"]
    assert released.is_set()  # the timer could fire only once the work had ended


def test_a_timed_condition_wait_is_not_cut_short_by_an_advance_that_does_not_reach_it(clock):
    condition = ClockCondition()
    answers: list[bool] = []

    def wait_a_day() -> None:
        with condition:
            answers.append(condition.wait(DAY))

    ClockThread(target=wait_a_day, daemon=True).start()
    clock.settle()
    clock.advance(3600)
    assert answers == []

    clock.advance(DAY)
    assert answers == [False]


def test_a_thread_of_an_outer_embedded_aws_waits_on_its_own_clock(clock):
    go = threading.Event()
    ClockThread(target=lambda: (go.wait(10), ClockEvent().wait(DAY)), daemon=True).start()
    inner = Clock()
    clocks.push(inner)  # an embedded AWS started inside another
    try:
        go.set()  # the outer's thread now waits on a timer while the inner clock is the active one

        clock.settle()  # the outer's count is released by its thread's wait...
        inner.settle()  # ...and the inner's untouched
        assert clock.next_due() is not None
        assert inner.next_due() is None
    finally:
        clocks.pop(inner)


def test_work_that_never_settles_is_reported_not_waited_for_forever(clock):
    with clock.busy(), pytest.raises(ClockError, match="still busy"):
        clock.settle(timeout=0.1)
