"""The end-to-end suite: the deployed app, driven as a user would.

By default it runs on the embedded AWS, where the app is deployed as `make demo` deploys it (its
real timeouts: 1 hour for a job, 7 days for a person) and, for the heartbeat scenarios, a copy
with a 10-minute heartbeat timeout (CDK context). Nobody waits for them: a Stack waits for an
outcome on the embedded AWS's clock, which skips to the next timer whenever nothing runs
(tests/waiting.py), and `let_time_pass` moves it forward.

With PAUSABLE_SFN_TARGET=aws (`make test-live`) the same scenarios run against the stacks
deployed in a real account, in real time: the timeout and heartbeat scenarios there use the copy
with short timeouts that `make test-live` deploys (SHORT_TIMEOUTS); scenarios marked
`emulator_only` are skipped.
"""

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pausable_sfn.app.names import STACK_NAME
from pausable_sfn.app.settings import Settings
from pausable_sfn.local.clock import Clock
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.local.timekeeping import ClockDatetime
from pausable_sfn.ops.history import TERMINAL, read_history
from pausable_sfn.testing.polling import Snapshot, wait_for
from pausable_sfn.testing.waiting import wait_until
from tests.live import SHORT_STACK, SHORT_TIMEOUTS

from .targets import AwsTarget, TargetError, stack_outputs, target_name

T = TypeVar("T")
# The embedded AWS's clock fires a timer at its deadline, then ticks on at the wall clock's pace:
# an event a timer caused is recorded within milliseconds of its deadline (the woken thread's
# start), a little more on a loaded machine. AWS's own timers are a few seconds late at most.
CLOCK_SLACK_SECONDS = 0.25
AWS_SLACK_SECONDS = 5.0
# The heartbeat copy on the embedded AWS: the app as deployed, with 10-minute heartbeats.
HEARTBEAT_STACK = f"{STACK_NAME}Heartbeats"
HEARTBEAT_CONTEXT = {"longJobHeartbeatSeconds": 600}

RUN_ID = os.environ.get("PAUSABLE_SFN_RUN_ID", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        target = target_name()
    except TargetError as error:
        raise pytest.UsageError(str(error)) from None
    if target != "embedded":
        for item in items:
            marker = item.get_closest_marker("emulator_only")
            if marker is not None:
                item.add_marker(pytest.mark.skip(reason=f"emulator only: {marker.kwargs.get('reason', '')}"))


@dataclass
class Stack:
    """One deployed copy of the app, with the calls a user makes against it, on either target."""

    aws: Any  # EmbeddedAws or AwsTarget: client(service), invoke(function, event), wait_idle()
    outputs: dict[str, str]
    name: str = STACK_NAME
    # The CDK context it was deployed with: its task timeouts and heartbeat.
    settings: Settings = field(default_factory=lambda: Settings.from_values({}))

    @property
    def clock(self) -> Clock | None:
        """The embedded AWS's clock; None on AWS, where time passes as it does."""
        return self.aws.clock if isinstance(self.aws, EmbeddedAws) else None

    @property
    def timer_slack(self) -> float:
        """How late after its deadline a timer's event may be recorded."""
        return AWS_SLACK_SECONDS if self.clock is None else CLOCK_SLACK_SECONDS

    @property
    def sfn(self) -> Any:
        return self.aws.client("stepfunctions")

    def output(self, key: str) -> str:
        return self.outputs[key]

    def start(self, execution_input: Any, name: str | None = None) -> str:
        # Named after the run, so that parallel runs and leftovers on a real account are easy to find.
        name = name or uuid.uuid4().hex
        options = {"name": f"{RUN_ID}-{name}"[:80] if RUN_ID else name}
        return self.sfn.start_execution(
            stateMachineArn=self.output("StateMachineArn"), input=json.dumps(execution_input), **options
        )["executionArn"]

    def wait_paused(self, arn: str, timeout: float = 30) -> Snapshot:
        snapshot = self._wait(arn, lambda s: s.paused, timeout)
        assert snapshot.paused, f"{arn} did not pause: {snapshot.status}"
        return snapshot

    def wait_end(self, arn: str, timeout: float = 30) -> dict[str, Any]:
        """The execution's description once it has ended: on the embedded AWS, time skips to each
        next timer meanwhile (a 7-day timeout, a job's delay), as `wait_until` says."""
        self._wait(arn, lambda s: False, timeout)
        return self.sfn.describe_execution(executionArn=arn)

    def _wait(self, arn: str, until: Callable[[Snapshot], bool], timeout: float) -> Snapshot:
        if self.clock is None:
            return wait_for(self.sfn, arn, until, timeout=timeout)

        def reached() -> Snapshot | None:
            snapshot = Snapshot(self.sfn, arn, self.sfn.describe_execution(executionArn=arn)["status"])
            return snapshot if snapshot.status in TERMINAL or until(snapshot) else None

        return self.wait_until(reached, timeout=timeout, what=f"{arn} to pause or end")

    def wait_until(self, condition: Callable[[], T], *, timeout: float = 30, what: str = "the condition") -> T:
        """tests/waiting.py's wait_until, on the embedded AWS's clock when there is one."""
        return wait_until(condition, timeout=timeout, what=what, clock=self.clock)

    def let_time_pass(self, seconds: float) -> None:
        """`seconds` go by: the clock moves forward (firing each timer due on the way, in order),
        or, on AWS, the test sleeps."""
        if self.clock is None:
            time.sleep(seconds)
        else:
            self.clock.advance(seconds)

    def settle(self) -> None:
        """Returns once what the stack was doing has been done (asynchronous deliveries, SQS batches)."""
        if self.clock is None:
            self.aws.wait_idle()
        else:
            self.clock.settle()

    def history(self, arn: str) -> list[dict[str, Any]]:
        return read_history(self.sfn, arn)

    def resume(self, callback: dict[str, Any]) -> dict[str, Any]:
        """Invokes ResumeStepFunctionLambda as `aws lambda invoke` does; the parsed response."""
        response = self.aws.invoke(self.output("ResumeStepFunctionFunctionName"), callback)
        return {"FunctionError": response.get("FunctionError"), "Payload": json.loads(response["Payload"].read())}


@pytest.fixture(scope="package")
def embedded() -> Iterator[EmbeddedAws]:
    """The embedded AWS itself: only emulator-only scenarios ask for it."""
    if target_name() != "embedded":
        pytest.skip("emulator only")
    # Lambda's own intervals between the attempts of an asynchronous event (1 and 2 minutes): the
    # clock skips them while a test waits.
    with EmbeddedAws(async_retry_delays=(60.0, 120.0)) as aws:
        yield aws


@pytest.fixture(autouse=True)
def operators_read_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI runs in this process: its "now" (how long an execution has been paused, when a graph
    was drawn) is the embedded AWS's clock, as an operator's beside that AWS would be, not the wall
    clock it is ahead of once a test has let time pass."""
    if target_name() == "embedded":
        for module in ("pausable_sfn.ops.cli", "pausable_sfn.ops.operations"):
            monkeypatch.setattr(f"{module}.datetime", ClockDatetime)


@pytest.fixture(scope="package")
def live() -> AwsTarget | None:
    return AwsTarget() if target_name() == "aws" else None


@pytest.fixture(scope="package")
def app_assembly(synthesized_once) -> Path:
    return synthesized_once("app")


@pytest.fixture(scope="package")
def app(live: AwsTarget | None, request: pytest.FixtureRequest) -> Stack:
    if live is not None:
        return Stack(live, stack_outputs(live, STACK_NAME))
    embedded: EmbeddedAws = request.getfixturevalue("embedded")
    return Stack(embedded, embedded.deploy(request.getfixturevalue("app_assembly")).outputs)


@pytest.fixture
def own_copy(live: AwsTarget | None, app: Stack, request: pytest.FixtureRequest) -> Stack:
    """A copy of the app deployed for this test alone, for scenarios about *every* execution of a
    state machine (a batch resume): nothing another test started can be among them. A real
    account has only the stacks `make test-live` deployed: there it is the app itself."""
    if live is not None:
        return app
    embedded: EmbeddedAws = request.getfixturevalue("embedded")
    name = f"Copy{uuid.uuid4().hex[:8]}"
    return Stack(embedded, embedded.deploy(request.getfixturevalue("app_assembly"), as_stack=name).outputs, name)


def short_timeouts(live: AwsTarget) -> Stack:
    """The copy with short timeouts that `make test-live` deploys beside the app: on AWS, nobody
    waits 7 days for a timeout."""
    name = os.environ.get("PAUSABLE_SFN_SHORT_STACK", SHORT_STACK)
    return Stack(live, stack_outputs(live, name), name, Settings.from_values(SHORT_TIMEOUTS))


@pytest.fixture(scope="package")
def timeouts(live: AwsTarget | None, app: Stack) -> Stack:
    """The stack whose task timeouts the timeout scenarios wait out: the app as deployed on the
    embedded AWS (the clock skips the 7 days), the short-timeouts copy on AWS."""
    return app if live is None else short_timeouts(live)


@pytest.fixture(scope="package")
def heartbeats(live: AwsTarget | None, request: pytest.FixtureRequest) -> Stack:
    """A stack whose task has a heartbeat timeout: on the embedded AWS the app with 10-minute
    heartbeats (the default app has none), the short-timeouts copy (5 s) on AWS."""
    if live is not None:
        return short_timeouts(live)
    embedded: EmbeddedAws = request.getfixturevalue("embedded")
    assembly = request.getfixturevalue("synthesized_once")("heartbeats", HEARTBEAT_CONTEXT)
    deployed = embedded.deploy(assembly, as_stack=HEARTBEAT_STACK)
    return Stack(embedded, deployed.outputs, HEARTBEAT_STACK, Settings.from_values(HEARTBEAT_CONTEXT))


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def first(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    return next(event for event in events if event["type"] == event_type)


def seconds_between(earlier: dict[str, Any], later: dict[str, Any]) -> float:
    return (later["timestamp"] - earlier["timestamp"]).total_seconds()


def assert_fired_after(stack: Stack, seconds: float, *, started: tuple[datetime, datetime], at: datetime) -> None:
    """A timer of `seconds` that started between two recorded moments fired at `at`: not before its
    deadline (history timestamps are whole milliseconds), nor later than the stack's timer slack
    after it. A history records no event when a timer starts: a task's timeout starts between
    TaskStateEntered and TaskScheduled, its heartbeat timeout by TaskSubmitted."""
    earliest, latest = ((at - moment).total_seconds() for moment in started)
    assert seconds - 0.001 <= earliest, f"fired {earliest} s after it could have started: before its {seconds} s"
    assert latest <= seconds + stack.timer_slack, f"fired {latest} s after it started at the latest, not {seconds} s"


def take_messages(aws: Any, queue_url: str, *markers: str) -> list[dict[str, Any]]:
    """The messages now in the queue whose body carries one of `markers`, received and deleted.
    Other messages are left for whoever they belong to: a shared queue holds other tests' too."""
    sqs = aws.client("sqs")
    taken: list[dict[str, Any]] = []
    others: list[str] = []
    # Every message received is hidden for a while, so that the scan sees each once.
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            if any(marker in message["Body"] for marker in markers):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                taken.append(message)
            else:
                others.append(message["ReceiptHandle"])
    for receipt in others:
        try:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
        except sqs.exceptions.ClientError as error:
            # SQS refuses to move a message's visibility once 12 hours have passed since it was first
            # received (on a clock a test moved by days): it shows again when its 30 s are over.
            if error.response["Error"]["Code"] != "InvalidParameterValue":
                raise
    return taken
