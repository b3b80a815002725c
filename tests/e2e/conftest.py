"""The end-to-end suite: the synthesized app deployed into the embedded AWS, driven as a user would.

Two deployments share one embedded AWS: the app as `make demo` deploys it, and the same app
synthesized with short task timeouts (CDK context) for the timeout scenarios.
"""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pausable_sfn import STACK_NAME
from pausable_sfn.cdk_app import synthesize
from pausable_sfn.history import Snapshot, wait_for
from pausable_sfn.local.deployer import Deployment
from pausable_sfn.local.embedded import EmbeddedAws

SHORT_TIMEOUTS = {"longJobTimeoutSeconds": 3, "manualResumeTimeoutSeconds": 3, "longJobHeartbeatSeconds": 1}
SHORT_STACK = f"{STACK_NAME}ShortTimeouts"


@dataclass
class Stack:
    """One deployed copy of the app, with the calls a user makes against it."""

    aws: EmbeddedAws
    deployment: Deployment

    @property
    def sfn(self) -> Any:
        return self.aws.client("stepfunctions")

    def output(self, key: str) -> str:
        return self.deployment.outputs[key]

    def start(self, execution_input: Any, name: str | None = None) -> str:
        options = {"name": name} if name else {}
        return self.sfn.start_execution(
            stateMachineArn=self.output("StateMachineArn"), input=json.dumps(execution_input), **options
        )["executionArn"]

    def wait_paused(self, arn: str, timeout: float = 10) -> Snapshot:
        snapshot = wait_for(self.sfn, arn, lambda s: s.paused, timeout=timeout)
        assert snapshot.paused, f"{arn} did not pause: {snapshot.status}"
        return snapshot

    def wait_end(self, arn: str, timeout: float = 15) -> dict[str, Any]:
        wait_for(self.sfn, arn, lambda s: False, timeout=timeout)
        return self.sfn.describe_execution(executionArn=arn)

    def history(self, arn: str) -> list[dict[str, Any]]:
        return wait_for(self.sfn, arn, lambda s: True, timeout=1).events

    def resume(self, callback: dict[str, Any]) -> dict[str, Any]:
        """Invokes ResumeStepFunctionLambda as `aws lambda invoke` does; the parsed response."""
        response = self.aws.invoke(self.output("ResumeStepFunctionFunctionName"), callback)
        return {"FunctionError": response.get("FunctionError"), "Payload": json.loads(response["Payload"].read())}


@pytest.fixture(scope="package")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedAws]:
    with EmbeddedAws(async_retry_delays=(0.05, 0.1)) as aws:
        yield aws


@pytest.fixture(scope="package")
def app(embedded: EmbeddedAws, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    return Stack(embedded, embedded.deploy(synthesize(tmp_path_factory.mktemp("cdk.out"))))


@pytest.fixture(scope="package")
def short_timeouts(embedded: EmbeddedAws, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    assembly = synthesize(tmp_path_factory.mktemp("cdk.out.short"), SHORT_TIMEOUTS)
    return Stack(embedded, embedded.deploy(assembly, as_stack=SHORT_STACK))


def event_types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def first(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    return next(event for event in events if event["type"] == event_type)


def seconds_between(earlier: dict[str, Any], later: dict[str, Any]) -> float:
    return (later["timestamp"] - earlier["timestamp"]).total_seconds()


def sleep_briefly() -> None:
    time.sleep(0.3)


def drain(aws: EmbeddedAws, queue_url: str) -> list[dict[str, Any]]:
    """Every message now in the queue, received and deleted."""
    sqs = aws.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages += batch
    return messages
