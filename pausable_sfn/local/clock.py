"""The embedded AWS's one clock: what every timer of it reads, and what a test may move forward.

By default it is the wall clock. `advance(seconds)` moves it forward: each timer that falls due on
the way (a Wait, a task's timeout or heartbeat, a retry interval, an execution's timeout, an SQS
message becoming visible, an asynchronous invocation's retry) fires in order at the instant it
falls due, and the advance goes on only once what that timer woke has settled: every thread of
the embedded AWS is waiting again (on a timer, a callback, a message) or has ended. Then the
clock ticks on from where it was moved, at the wall clock's pace.

How it knows what runs and what waits (the only way to know when work has "settled"):
- the Step Functions interpreter's threads, events and conditions are this module's
  (`ClockThread`, `ClockEvent`, `ClockCondition`, patched into moto's modules by
  stepfunctions/gaps.py): a thread counts as busy from its start to its end, except while it
  waits on one of them; whoever wakes it (an API call setting an event, a timer falling due)
  counts it busy again before it runs, so the count never drops to zero in a hand-over;
- `busy()` marks any other work (a Lambda invocation, an HTTP request to the endpoint, an
  asynchronous delivery) for as long as it lasts;
- `idle_checks` say whether a service has work it has not started (a deliverable SQS message),
  and `timer_sources` when a service's next timer falls due (the next message to become visible).

Time never jumps by itself: only `advance`, or `run_until` while a caller waits for an outcome
and nothing is running (as Temporal's time-skipping test server skips only while a client waits
for a result: a test between two of its steps must not see a 3-day timeout fire).
"""

import datetime
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# How long an advance waits for the work a timer woke to settle, in real seconds: far above what
# anything the embedded AWS does takes, below what a test would wait without saying why.
SETTLE_TIMEOUT_SECONDS = 60.0
# Two looks this far apart (real seconds) must both find nothing running: a thread that was just
# handed work by a service that counts it only once it runs is caught by the second.
_QUIET_INTERVAL = 0.002


class ClockError(RuntimeError):
    """The clock cannot do what was asked (moving backwards, work that never settles)."""


class OutOfReachError(ClockError):
    """An advance the clock refuses before it moves at all: backwards, or past the last date."""


# No later date can be written (Python's datetime, and AWS's dates, end with the year 9999).
LAST_MOMENT = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


_local = threading.local()


def _holding(clock: "Clock") -> bool:
    """Whether this thread counts as busy on `clock` (a ClockThread, an asynchronous delivery):
    with an embedded AWS started inside another, a thread's waits release the clock it counts on."""
    return getattr(_local, "holding", None) is clock


@dataclass(eq=False)
class _Waiter:
    target: Any  # the event or condition waited on
    deadline: float | None  # clock seconds; None: no timeout
    holding: bool  # the waiting thread counted as busy before it waited
    done: bool = False  # woken (by a setter, a timer or itself): counted busy again, once
    signaled: bool = False  # woken by a set() or notify(), even if the event was cleared since
    order: int = field(default_factory=itertools.count().__next__)


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._offset = 0.0  # clock seconds minus wall-clock seconds
        self._frozen: float | None = None  # the instant it is held at while an advance's work settles
        self._busy = 0
        self._waiters: set[_Waiter] = set()
        self._advancing = threading.Lock()
        self.idle_checks: list[Callable[[], bool]] = []  # each True while its service has work to start
        self.timer_sources: list[Callable[[], float | None]] = []  # each its service's next due time
        self.listeners: list[Callable[[], None]] = []  # told each time the clock moves

    # --- reading it -------------------------------------------------------------------------
    def time(self) -> float:
        """Seconds since the epoch, as time.time()."""
        frozen = self._frozen
        return frozen if frozen is not None else time.time() + self._offset

    def now(self) -> datetime.datetime:
        """The current time, timezone-aware in UTC."""
        return datetime.datetime.fromtimestamp(self.time(), datetime.UTC)

    @property
    def offset(self) -> float:
        """How far ahead of the wall clock it is, in seconds (0 until it is advanced)."""
        frozen = self._frozen
        return self._offset if frozen is None else frozen - time.time()

    @property
    def is_wall_clock(self) -> bool:
        return self._offset == 0 and self._frozen is None

    # --- moving it --------------------------------------------------------------------------
    def advance(
        self,
        seconds: float | datetime.timedelta = 0,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
    ) -> datetime.datetime:
        """Moves the clock forward by `seconds` (a number or a timedelta) plus `days`, `hours` and
        `minutes` (`advance(days=3)` reads as the timeout it stands for), firing every timer due on
        the way in order, and returns the new time once the work they started has settled. The amount counts from the
        moment the work under way when it is called has settled: a timer that work sets (a
        heartbeat just sent re-arms its task's) is on the clock before it moves.
        OutOfReachError (backwards, past the year 9999) leaves the clock where it was; a ClockError
        raised while waiting for work to settle leaves it where it had got to."""
        if isinstance(seconds, datetime.timedelta):
            seconds = seconds.total_seconds()
        seconds += datetime.timedelta(days=days, hours=hours, minutes=minutes).total_seconds()
        if seconds < 0:
            raise OutOfReachError(f"the clock only moves forward: cannot advance by {seconds} seconds")
        with self._advancing:
            if self.time() + seconds > LAST_MOMENT.timestamp():
                room = max(0, int(LAST_MOMENT.timestamp() - self.time()))
                now = self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
                raise OutOfReachError(
                    f"the clock cannot pass {LAST_MOMENT:%Y-%m-%dT%H:%M:%SZ}, after which no date can be written: "
                    f"it is at {now}, {room} seconds before"
                )
            self.settle()
            target = self.time() + seconds
            while (due := self.next_due()) is not None and due <= target:
                self._fire_at(due)
            self._fire_at(target)
            return self.now()

    def advance_to_next_timer(self, unless: Callable[[], bool] = lambda: False) -> datetime.datetime | None:
        """Lets the work under way settle, then moves the clock to the next timer, fires it and lets
        its work settle; None if no timer is set, or if `unless()` holds once settled."""
        with self._advancing:
            self.settle()
            due = self.next_due()
            if due is None or unless():
                return None
            self._fire_at(due)
            return self.now()

    def run_until(self, condition: Callable[[], bool], *, timeout: float, poll: float = 0.01) -> None:
        """Waits (at most `timeout` real seconds) until `condition()` holds; meanwhile, whenever
        nothing runs, time skips to the next timer. The way for a test to wait for an outcome.
        The condition is looked at again once everything has settled, just before time skips: an
        outcome that came while it was last looked at is never skipped past."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the condition did not hold within {timeout:g} s (clock at {self.now():%c})")
            if not (self.is_idle() and self.next_due() is not None and self.advance_to_next_timer(unless=condition)):
                time.sleep(poll)

    def _fire_at(self, moment: float) -> None:
        """Moves the clock to `moment` (never back) and holds it there while the timers due run and
        settle: what they wake writes the instant they fell due, as Step Functions' history does
        (a Wait of 30 days exits 30 days after it began, whatever the machine's load). Then the
        clock ticks on from that instant."""
        with self._lock:
            if moment > self.time():
                self._frozen = moment
        try:
            self._wake_due()
            self.settle()
        finally:
            with self._lock:
                if self._frozen is not None:
                    self._offset = self._frozen - time.time()
                    self._frozen = None

    def _wake_due(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        # Every waiter recomputes what is left of its wait (a ticking wait slept in real seconds);
        # those now due end their wait, counted busy by _hand_over before this returns.
        for waiter in sorted(waiters, key=lambda w: (w.deadline or 0, w.order)):
            if waiter.deadline is not None and waiter.deadline <= self.time():
                self._hand_over(waiter)
            _notify(waiter.target)
        for listener in list(self.listeners):
            listener()

    def next_due(self) -> float | None:
        """When the next timer falls due (clock seconds), or None if none is set."""
        with self._lock:
            deadlines = [w.deadline for w in self._waiters if w.deadline is not None and not w.done]
        deadlines += [due for source in self.timer_sources if (due := source()) is not None]
        return min(deadlines, default=None)

    # --- knowing what runs ------------------------------------------------------------------
    @contextmanager
    def busy(self) -> Iterator[None]:
        """Marks work that runs for as long as the block does."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Runs the block as a thread counted busy by whoever handed it the work (`acquire` was
        called for it): its waits on clock events release the count, its end releases it."""
        _local.holding = self
        try:
            yield
        finally:
            _local.holding = None
            self.release()

    def acquire(self) -> None:
        """Counts work handed to a thread that will run it under `holding()` (or any work that
        `release` will end)."""
        with self._lock:
            self._busy += 1

    def is_idle(self) -> bool:
        with self._lock:
            if self._busy:
                return False
        return not any(check() for check in self.idle_checks)

    def settle(self, timeout: float = SETTLE_TIMEOUT_SECONDS) -> None:
        """Returns once nothing runs (two looks a moment apart both find it so)."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            if time.monotonic() > deadline:
                raise ClockError(
                    f"the embedded AWS was still busy after {timeout:g} s ({self._busy} threads or calls running)"
                )
            quiet = quiet + 1 if self.is_idle() else 0
            with self._lock:
                self._lock.wait(_QUIET_INTERVAL)

    def release(self) -> None:
        """Ends what `acquire` counted."""
        with self._lock:
            if self._busy <= 0:  # a release without its acquire: a count below 0 would never settle
                raise ClockError("the clock's busy count was released more often than acquired")
            self._busy -= 1
            self._lock.notify_all()

    # --- waits (called with the waited-on object's own lock held) ---------------------------
    def enter_wait(self, target: Any, timeout: float | None) -> _Waiter:
        deadline = None if timeout is None else self.time() + max(0.0, timeout)
        waiter = _Waiter(target, deadline, _holding(self))
        with self._lock:
            self._waiters.add(waiter)
            if waiter.holding:
                self._busy -= 1
                self._lock.notify_all()
        return waiter

    def leave_wait(self, waiter: _Waiter) -> None:
        with self._lock:
            self._waiters.discard(waiter)
            self._count_woken(waiter)

    def real_seconds_left(self, waiter: _Waiter) -> float | None:
        """How long the waiter may sleep in real seconds before it looks again (None: until woken)."""
        return None if waiter.deadline is None else waiter.deadline - self.time()

    def wake(self, target: Any, count: int | None = None) -> None:
        """Counts the threads waiting on `target` busy, as it is about to wake them (all of them,
        or the first `count`, as Condition.notify does)."""
        with self._lock:
            waiters = sorted((w for w in self._waiters if w.target is target and not w.done), key=lambda w: w.order)
            for waiter in waiters[:count]:
                waiter.signaled = True
                self._count_woken(waiter)

    def _hand_over(self, waiter: _Waiter) -> None:
        with self._lock:
            self._count_woken(waiter)

    def _count_woken(self, waiter: _Waiter) -> None:
        if not waiter.done:
            waiter.done = True
            if waiter.holding:
                self._busy += 1


def _notify(target: Any) -> None:
    """Wakes the waiters of `target` to look at the clock again (not as a set() or notify() would:
    threading.Condition's own notify_all, which ClockCondition does not count as a signal)."""
    condition = target if isinstance(target, threading.Condition) else target._cond
    with condition:
        # The base class's notify: its notify_all would call ClockCondition.notify, a signal.
        threading.Condition.notify(condition, len(condition._waiters))  # type: ignore[union-attr]


# The clocks of the embedded AWSs that run, the innermost last (one at a time as a rule: moto's
# backends are one per process; an embedded AWS may still be started inside another).
_running: list[Clock] = []


def active() -> Clock | None:
    return _running[-1] if _running else None


def current_time() -> float:
    """The active clock's time, or the wall clock's when no embedded AWS runs."""
    clock = active()
    return time.time() if clock is None else clock.time()


def push(clock: Clock) -> None:
    """Makes `clock` the active one until `pop(clock)`."""
    _running.append(clock)


def pop(clock: Clock) -> None:
    _running.remove(clock)


def _waits_on() -> Clock | None:
    """The clock a wait of this thread is on: the one the thread counts on, else the active one."""
    return getattr(_local, "holding", None) or active()


class ClockEvent(threading.Event):
    """A threading.Event whose timed waits are on the active clock (a timer it can fire)."""

    def wait(self, timeout: float | None = None) -> bool:
        clock = _waits_on()
        if clock is None:
            return super().wait(timeout)
        with self._cond:  # type: ignore[attr-defined]
            if self._flag:
                return True
            waiter = clock.enter_wait(self, timeout)
            try:
                # As threading.Event: a set() wakes the waiters even if a clear() follows at once
                # (moto pulses its program-state event so).
                while not (self._flag or waiter.signaled):
                    left = clock.real_seconds_left(waiter)
                    if left is not None and left <= 0:
                        break
                    self._cond.wait(left)  # type: ignore[attr-defined]
                return bool(self._flag or waiter.signaled)
            finally:
                clock.leave_wait(waiter)

    def set(self) -> None:
        with self._cond:  # type: ignore[attr-defined]
            for clock in list(_running):  # its waiters wait on one of them
                clock.wake(self)
            self._flag = True
            self._cond.notify_all()  # type: ignore[attr-defined]


class ClockCondition(threading.Condition):
    """A threading.Condition whose waits release the waiting thread's busy count."""

    def wait(self, timeout: float | None = None) -> bool:
        clock = _waits_on()
        if clock is None:
            return super().wait(timeout)
        waiter = clock.enter_wait(self, timeout)
        try:
            while not waiter.signaled:
                left = clock.real_seconds_left(waiter)
                if left is not None and left <= 0:
                    return False
                super().wait(left)  # woken by a notify, or by the clock moving (to look again)
            return True
        finally:
            clock.leave_wait(waiter)

    def notify(self, n: int = 1) -> None:
        for clock in list(_running):
            clock.wake(self, n)
        super().notify(n)

    def notify_all(self) -> None:
        for clock in list(_running):
            clock.wake(self)
        super().notify_all()


class ClockThread(threading.Thread):
    """A thread counted busy from start() to its end, whose timed join is on the clock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ended = ClockEvent()
        self._clock = active()

    def start(self) -> None:
        if self._clock is not None:
            self._clock.acquire()
        try:
            super().start()
        except BaseException:
            if self._clock is not None:
                self._clock.release()
            raise

    def run(self) -> None:
        if self._clock is None:
            super().run()
            self._ended.set()
            return
        with self._clock.holding():
            try:
                super().run()
            finally:
                self._ended.set()  # hands the joining thread its count before this one's goes

    def join(self, timeout: float | None = None) -> None:
        if self._clock is None:
            super().join(timeout)
            return
        if self._ended.wait(timeout):  # waits released from the busy count
            super().join()


def sleep(seconds: float) -> None:
    """time.sleep on the clock: a timer that an advance fires."""
    ClockEvent().wait(seconds)


def idle_sleep(seconds: float) -> None:
    """A real pause of a polling loop, during which the sleeping thread does not count as busy."""
    clock = getattr(_local, "holding", None)
    if clock is None:
        time.sleep(seconds)
        return
    clock.release()
    try:
        time.sleep(seconds)
    finally:
        clock.acquire()
