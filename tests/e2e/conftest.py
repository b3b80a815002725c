"""The end-to-end suite: the deployed app, driven as a user would.

By default it runs on the embedded AWS, where two deployments share one emulator: the app as
`make demo` deploys it, and the same app synthesized with short task timeouts (CDK context) for
the timeout scenarios. With PAUSABLE_SFN_TARGET=aws (`make test-live`) the same scenarios run
against the two stacks deployed in a real account; scenarios marked `emulator_only` are skipped.
"""

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pausable_sfn.contracts import STACK_NAME
from pausable_sfn.live import SHORT_STACK, SHORT_TIMEOUTS
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.ops.history import Snapshot, read_history, wait_for

from .targets import AwsTarget, TargetError, stack_outputs, target_name

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
        snapshot = wait_for(self.sfn, arn, lambda s: s.paused, timeout=timeout)
        assert snapshot.paused, f"{arn} did not pause: {snapshot.status}"
        return snapshot

    def wait_end(self, arn: str, timeout: float = 30) -> dict[str, Any]:
        wait_for(self.sfn, arn, lambda s: False, timeout=timeout)
        return self.sfn.describe_execution(executionArn=arn)

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
    with EmbeddedAws(async_retry_delays=(0.05, 0.1)) as aws:
        yield aws


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


@pytest.fixture(scope="package")
def short_timeouts(live: AwsTarget | None, request: pytest.FixtureRequest) -> Stack:
    if live is not None:
        return Stack(live, stack_outputs(live, os.environ.get("PAUSABLE_SFN_SHORT_STACK", SHORT_STACK)))
    embedded: EmbeddedAws = request.getfixturevalue("embedded")
    assembly = request.getfixturevalue("synthesized_once")("short-timeouts", SHORT_TIMEOUTS)
    return Stack(embedded, embedded.deploy(assembly, as_stack=SHORT_STACK).outputs, SHORT_STACK)


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def first(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    return next(event for event in events if event["type"] == event_type)


def seconds_between(earlier: dict[str, Any], later: dict[str, Any]) -> float:
    return (later["timestamp"] - earlier["timestamp"]).total_seconds()


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
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    return taken
