"""An execution as a test drives it: start it, wait until it pauses, resume or fail the paused
task, and read how it ended, on the embedded AWS or on AWS alike.

What a failure says matters more than what a success does: when an execution does not do what a
test waits for, the error tells what it did instead (the states it went through and its last
events), and on the embedded AWS why waiting longer would not help (nothing runs, and the next
thing to happen is a timer that only the clock can bring).
"""

import functools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from botocore.exceptions import ClientError

from ..ops.errors import OperationError
from ..ops.history import TERMINAL, ScheduledTask, read_history, state_visits, timeline
from ..ops.operations import Operations
from .waiting import wait_until

if TYPE_CHECKING:
    from ..local.clock import Clock

T = TypeVar("T")
DEFAULT_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.05
# How many of an execution's last events a failure quotes.
QUOTED_EVENTS = 8
# Where each integration hands the task its payload, in the parameters the TaskScheduled event records.
RECEIVER_FIELDS: Mapping[str, tuple[str | int, ...]] = {
    "lambda:invoke": ("Payload",),
    "sqs:sendMessage": ("MessageBody",),
    "sns:publish": ("Message",),
    "events:putEvents": ("Entries", 0, "Detail"),
}


class WorkflowError(Exception):
    """What a test asked of a workflow cannot be done: a name that is not there, a mock on AWS."""


class ExecutionError(AssertionError):
    """An execution did not do what the test waited for; the message tells what it did instead."""


class Target(Protocol):
    """Where the workflow runs: the embedded AWS or AWS."""

    @property
    def clock(self) -> "Clock | None": ...

    def client(self, service: str) -> Any: ...


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
        parameters. The task token is in it, as it is in what the receiver got."""
        parameters = _parsed(self._parameters)
        path = next((p for prefix, p in RECEIVER_FIELDS.items() if self.resource.startswith(prefix)), ())
        value = parameters
        for step in path:
            try:
                value = value[step]
            except (KeyError, IndexError, TypeError):
                return parameters
        return _parsed(value)

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
    for at most `timeout` real seconds. On the embedded AWS the clock stands still unless the test
    moves it (`clock.advance`) or passes `skip_time=True`, which lets it skip to the next timer
    (a Wait, a timeout, a retry) whenever nothing runs; without it, a wait that only a timer could
    end fails at once, saying so."""

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
        """Every event, oldest first, as GetExecutionHistory gives them (with execution data)."""
        return read_history(self._sfn, self.arn)

    @property
    def states_entered(self) -> list[str]:
        """The states entered so far, in order; a state entered again (a loop) is listed again."""
        return [visit.name for visit in state_visits(self.history)]

    def wait_until_paused(
        self, state: str | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS, skip_time: bool = False
    ) -> PausedTask:
        """The task that waits for its callback in `state` (in any state when None), once it does."""
        __tracebackhide__ = True  # a failing test's report shows the test's line and the story, not this
        what = f"pausing at {state!r}" if state else "pausing at a task that waits for its callback"

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

        return self._wait(ended, what="ending", timeout=timeout, skip_time=skip_time, ends_it=True)

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
        path = " → ".join(self.states_entered) or "no state"
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
        kept: list[T] = []

        def holds() -> bool:
            __tracebackhide__ = True
            if not kept and (value := found()) is not None:
                kept.append(value)
            if not kept and not ends_it and self.status in TERMINAL:
                raise ExecutionError(f"{self.name} ended without {what}.\n{self.story()}")
            return bool(kept)

        if clock is not None and skip_time:
            try:
                clock.run_until(holds, timeout=timeout, poll=POLL_SECONDS)
            except TimeoutError:
                raise ExecutionError(self._late(what, timeout)) from None
            return kept[0]
        deadline = time.monotonic() + timeout
        while not holds():
            if clock is not None and clock.is_idle():
                # Nothing runs: only a timer can move it on, and the clock moves when the test says.
                clock.settle()
                if not holds():
                    raise ExecutionError(self._stuck(what, clock))
            if time.monotonic() > deadline:
                raise ExecutionError(self._late(what, timeout))
            time.sleep(POLL_SECONDS)
        return kept[0]

    def _late(self, what: str, timeout: float) -> str:
        return f"{self.name} was not done {what} within {timeout:g} s.\n{self.story()}"

    def _stuck(self, what: str, clock: "Clock") -> str:
        due = clock.next_due()
        when = (
            f"the next timer falls due at {datetime.fromtimestamp(due, clock.now().tzinfo):%Y-%m-%d %H:%M:%S} "
            f"(the clock is at {clock.now():%Y-%m-%d %H:%M:%S})"
            if due is not None
            else "no timer is set, so only a callback can move it on"
        )
        return (
            f"{self.name} is not done {what}, and nothing runs on the embedded AWS: {when}. Resume or fail "
            "its paused task, move the clock (embedded_aws.clock.advance(...)), or pass skip_time=True to let "
            f"the clock skip to each timer while the test waits.\n{self.story()}"
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
    readable = "".join(c if c.isalnum() or c in "-_" else "-" for c in test_name).strip("-")
    return f"{readable[: 79 - len(suffix)]}-{suffix}"
