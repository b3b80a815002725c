"""An execution as a test drives it: start it, wait until it pauses, resume or fail the paused
task, and read how it ended, on the embedded AWS or on AWS alike.

What a failure says matters more than what a success does: when an execution does not do what a
test waits for, the error tells what it did instead (the states it went through and its last
events), and on the embedded AWS why waiting longer would not help (nothing runs, and nothing will
before the wait's deadline: no timer, or one that falls due after it).

Tokens stay credentials here too: a paused task's payload holds its token as a MaskedToken, and
the history, the story and every message show tokens by their fingerprint.
"""

import difflib
import functools
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from botocore.exceptions import ClientError

# The clock's module is standard library only: importing it needs no extra.
from ..local.clock import ClockError
from ..ops.errors import OperationError
from ..ops.history import TERMINAL, ScheduledTask, read_history, state_visits, timeline
from ..ops.operations import Operations
from ..ops.tokens import TokenLocator, states_of
from .masking import fingerprinted, keep_unshown
from .waiting import wait_until

if TYPE_CHECKING:
    from ..local.clock import Clock

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.05
# Step Functions' API refills a few calls a second per account: a test polls AWS gently.
AWS_POLL_SECONDS = 0.5
# How many of an execution's last events a failure quotes.
QUOTED_EVENTS = 8
# Where each integration hands the task its payload, in the parameters the TaskScheduled event records.
RECEIVER_FIELDS: Mapping[str, tuple[str | int, ...]] = {
    "lambda:invoke": ("Payload",),
    "sqs:sendMessage": ("MessageBody",),
    "sns:publish": ("Message",),
    "events:putEvents": ("Entries", 0, "Detail"),
}


def _registration(value: Any) -> dict[str, Any] | None:
    """The event a PausableTask with a correlation key gives the channel's registrar, if `value` is one."""
    fields = ("taskToken", "correlationKey", "keyInUseError", "payload")
    if isinstance(value, dict) and all(name in value for name in fields) and isinstance(value["payload"], dict):
        return value
    return None


class WorkflowError(Exception):
    """What a test asked of a workflow cannot be done: a name that is not there, a mock on AWS."""


class ExecutionError(AssertionError):
    """An execution did not do what the test waited for; the message tells what it did instead."""


class Target(Protocol):
    """Where the workflow runs: the embedded AWS or AWS."""

    @property
    def clock(self) -> "Clock | None": ...

    def client(self, service: str) -> Any: ...

    def embedded(self, what: str) -> Any: ...


@dataclass(frozen=True)
class Result:
    """How an execution ended."""

    status: str  # SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    output: Any  # the output, parsed from JSON; None unless it succeeded
    error: str | None
    cause: str | None


class PausedTask:
    """A `.waitForTaskToken` task that waits for its callback. Its token is kept here, never shown."""

    def __init__(self, execution: "Execution", task: ScheduledTask, token: str) -> None:
        self.execution = execution
        self.state = task.state
        self.scheduled_at = task.scheduled_at
        self.resource = task.resource
        self._parameters = task.parameters
        self._token = token

    def __repr__(self) -> str:
        return f"<PausedTask {self.state!r} of {self.execution.name}>"

    @property
    def payload(self) -> Any:
        """What the receiver got: a Lambda function's event, an SQS message's body, an SNS
        message, an event's detail (JSON text is parsed); for another integration, the task's
        parameters. The task token is in it, as in what the receiver got, as a MaskedToken: equal
        to the token, shown only as its fingerprint. A PausableTask with a correlation key hands
        its receiver its payload with `correlationKey` and `executionId`, and no token."""
        parameters = keep_unshown(_parsed(self._parameters), self._token)
        path = next((p for prefix, p in RECEIVER_FIELDS.items() if self.resource.startswith(prefix)), ())
        value = parameters
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return parameters
        value = keep_unshown(_parsed(value), self._token)
        registration = _registration(value)
        if registration is None:
            return value
        handed = "taskToken" if registration["correlationKey"] is None else "correlationKey"
        return {**registration["payload"], handed: registration[handed], "executionId": registration["executionId"]}

    @property
    def correlation_key(self) -> Any:
        """The business key a PausableTask with a correlation key waits on (None: it waits by token)."""
        parameters = _parsed(self._parameters)
        registration = _registration(_parsed(parameters.get("Payload"))) if isinstance(parameters, dict) else None
        return None if registration is None else registration["correlationKey"]

    def resume(self, output: Any = None) -> None:
        """SendTaskSuccess with `output` (anything JSON can hold; `{}` when none is given)."""
        self.execution._operate(lambda ops: ops.resume(self._token, json.dumps({} if output is None else output)))

    def fail(self, error: str, cause: str = "") -> None:
        """SendTaskFailure: the task fails with `error`, as a receiver that gives up reports it."""
        self.execution._operate(lambda ops: ops.fail(self._token, error, cause))

    def heartbeat(self) -> None:
        """SendTaskHeartbeat: the task's heartbeat timeout starts again."""
        self.execution._operate(lambda ops: ops.heartbeat(self._token))


class Execution:
    """One execution a test started. Its waits poll the execution until what they wait for holds,
    for at most `timeout` real seconds. The embedded AWS's clock ticks at the wall clock's pace
    and jumps only when the test moves it (`clock.advance`) or passes `skip_time=True`, which lets
    it skip to the next timer (a Wait, a timeout, a retry) whenever nothing runs. Without it, a
    wait that nothing could end before its deadline (nothing runs, and no timer falls due in
    time) fails at once, saying so. On AWS, `skip_time=True` skips the test."""

    def __init__(self, target: Target, operations: Operations, arn: str, name: str, state_machine: str) -> None:
        self._target = target
        self._operations = operations
        self.arn = arn
        self.name = name
        self.state_machine = state_machine

    def __repr__(self) -> str:
        return f"<Execution {self.name} of {self.state_machine}>"

    @property
    def status(self) -> str:
        return str(self._sfn.describe_execution(executionArn=self.arn)["status"])

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every event, oldest first, as GetExecutionHistory gives them (with execution data),
        each task token in them replaced by its fingerprint."""
        events = read_history(self._sfn, self.arn)
        definition = self._sfn.describe_state_machine_for_execution(executionArn=self.arn)["definition"]
        locator = TokenLocator(definition)
        tokens = {
            locator.locate_anywhere(str(event["taskScheduledEventDetails"].get("parameters", "")))
            for event in events
            if event["type"] == "TaskScheduled"
        }
        masked: list[dict[str, Any]] = fingerprinted(events, [token for token in tokens if token])
        return masked

    @property
    def states_entered(self) -> list[str]:
        """The states entered so far, in order; a state entered again (a loop) is listed again."""
        return [visit.name for visit in state_visits(self.history)]

    def wait_until_paused(
        self, state: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, skip_time: bool = False
    ) -> PausedTask:
        """The task that waits for its callback in `state` (in any state when None), once it does."""
        __tracebackhide__ = True  # a failing test's report shows the test's line and the story, not this
        if state is not None:
            definition = self._sfn.describe_state_machine_for_execution(executionArn=self.arn)["definition"]
            check_state_names(json.loads(definition), [state], what=self.state_machine)
        what = f"paused at {state!r}" if state else "paused at a task that waits for its callback"

        def paused() -> PausedTask | None:
            task = self._operations.scheduled_task(self.arn)
            if task is None or (state is not None and task.state != state):
                return None
            try:
                found = self._operations.waiting_task(self.arn)
            except OperationError as error:  # its definition does not say where the token is
                raise WorkflowError(str(error)) from None
            if found is None or found.state != task.state:
                return None
            return PausedTask(self, task, found.token)

        return self._wait(paused, what=what, timeout=timeout, skip_time=skip_time, ends_it=False)

    def result(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, skip_time: bool = False) -> Result:
        """How the execution ended, once it has."""
        __tracebackhide__ = True

        def ended() -> Result | None:
            description = self._sfn.describe_execution(executionArn=self.arn)
            if description["status"] not in TERMINAL:
                return None
            output = description.get("output")
            return Result(
                description["status"],
                json.loads(output) if output is not None else None,
                description.get("error"),
                description.get("cause"),
            )

        return self._wait(ended, what="reached its end", timeout=timeout, skip_time=skip_time, ends_it=True)

    def stop(self) -> None:
        """StopExecution, if it still runs."""
        try:
            self._sfn.stop_execution(executionArn=self.arn, error="StoppedByTest", cause="the test ended")
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise

    def story(self) -> str:
        """What the execution did: its status, the states it entered, its last events. Tokens are
        never in it: the timeline describes events by their type, error and cause."""
        events = self.history
        status = self.status
        path = " → ".join(visit.name for visit in state_visits(events)) or "no state"  # one history read
        lines = [f"{self.name} is {status}; states entered: {path}"]
        entries = timeline(events)
        if entries:
            lines.append(f"its last {min(QUOTED_EVENTS, len(entries))} events:")
            for entry in entries[-QUOTED_EVENTS:]:
                where = f" [{entry.state}]" if entry.state else ""
                detail = f": {entry.detail}" if entry.detail else ""
                lines.append(f"  +{entry.elapsed_ms / 1000:.3f}s {entry.event}{where}{detail}")
        return "\n".join(lines)

    # Waiting

    @property
    def _sfn(self) -> Any:
        return self._target.client("stepfunctions")

    def _wait(self, found: Callable[[], T | None], *, what: str, timeout: float, skip_time: bool, ends_it: bool) -> T:
        __tracebackhide__ = True
        clock = self._target.clock
        if skip_time and clock is None:
            self._target.embedded("skip_time=True")  # skips the test on AWS, whose timers run in real time
        kept: list[T] = []
        deadline = time.monotonic() + timeout

        def holds() -> bool:
            __tracebackhide__ = True
            if not kept:
                try:
                    value = found()
                except OperationError as error:  # throttled, unreachable: said in a test's words
                    raise WorkflowError(f"{self.name}: {error.reason}") from None
                if value is not None:
                    kept.append(value)
            if not kept and not ends_it and self.status in TERMINAL:
                raise ExecutionError(f"{self.name} ended and never {what}.\n{self.story()}")
            return bool(kept)

        def holds_or_stuck() -> bool:
            """Holds, or raises when nothing runs and no timer could change that in time."""
            __tracebackhide__ = True
            if holds() or clock is None or not clock.is_idle():
                return bool(kept)
            try:
                clock.settle()
            except ClockError as error:
                raise ExecutionError(f"{self.name}: {error}") from None
            due = clock.next_due()
            in_time = due is not None and (skip_time or due - clock.time() <= deadline - time.monotonic())
            if not holds() and not in_time:
                raise ExecutionError(self._stuck(what, clock, due, timeout))
            return bool(kept)

        if clock is not None and skip_time:
            try:
                clock.run_until(holds_or_stuck, timeout=timeout, poll=POLL_SECONDS)
            except TimeoutError:
                raise ExecutionError(self._late(what, timeout)) from None
            return kept[0]
        while not holds_or_stuck():
            if time.monotonic() > deadline:
                raise ExecutionError(self._late(what, timeout))
            time.sleep(POLL_SECONDS if clock is not None else AWS_POLL_SECONDS)
        return kept[0]

    def _late(self, what: str, timeout: float) -> str:
        return f"{self.name} has not {what} within {timeout:g} s.\n{self.story()}"

    def _stuck(self, what: str, clock: "Clock", due: float | None, timeout: float) -> str:
        now = clock.now()
        if due is None:
            why = "and no timer is set: only a callback can move it on"
        else:
            when = datetime.fromtimestamp(due, now.tzinfo)
            why = (
                f"and its next timer falls due at {when:%Y-%m-%d %H:%M:%S} (the clock is at {now:%Y-%m-%d %H:%M:%S}), "
                f"after this wait's {timeout:g} s"
            )
        return (
            f"{self.name} has not {what}, nothing runs on the embedded AWS, {why}. Resume or fail its paused "
            "task, move the clock (embedded_aws.clock.advance(...)), or pass skip_time=True to let the clock "
            f"skip to each timer while the test waits.\n{self.story()}"
        )

    def _operate(self, call: Callable[[Operations], None]) -> None:
        try:
            call(self._operations)
        except OperationError as error:  # the token has closed, the output is too large...
            raise WorkflowError(str(error)) from None


@dataclass
class StartedExecutions:
    """The executions one test started, so that it sees only those, and stops them when it ends."""

    executions: list[Execution] = field(default_factory=list)

    def stop_running(self) -> None:
        """Stops those still running, and returns once they have ended (the embedded AWS reflects a
        stop a moment after StopExecution answers; AWS does at once)."""
        stopped = [execution for execution in self.executions if execution.status == "RUNNING"]
        for execution in stopped:
            execution.stop()
        for execution in stopped:
            wait_until(functools.partial(_has_ended, execution), what=f"{execution.name} stopped")


def _has_ended(execution: Execution) -> bool:
    return execution.status != "RUNNING"


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def execution_name(test_name: str, suffix: str) -> str:
    """A name Step Functions takes (at most 80 of A-Z a-z 0-9 - _) that says which test started it."""
    readable = "".join(c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in test_name).strip("-")
    return f"{readable[: 79 - len(suffix)]}-{suffix}"


def check_state_names(definition: Mapping[str, Any], names: Iterable[str], *, what: str) -> None:
    """WorkflowError for a name that is no state of the definition (a task never waits there, a
    mock never applies), with the nearest ones."""
    __tracebackhide__ = True
    states = [name for name, _ in states_of(definition)]
    for name in names:
        if name not in states:
            near = difflib.get_close_matches(name, states, n=3)
            hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else f" (its states: {', '.join(states)})"
            raise WorkflowError(f"{what}: {name!r} is not a state of its definition{hint}")
