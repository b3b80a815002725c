import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from handlers import clients

from pausable_sfn.app.names import STACK_NAME
from pausable_sfn.ops.operations import Operations

TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAA" + "x" * 600  # long and opaque, like the tokens Step Functions issues


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Each test gets its own clients, so a moto mock or stub never leaks into the next test."""
    clients.client.cache_clear()
    yield
    clients.client.cache_clear()


# The operator CLI against stubbed AWS clients (botocore's Stubber): what each call answers is queued
# by the test, and a call nobody queued fails the test.

STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:PausableStepFunction"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:PausableStepFunction:order-42"
OUTPUTS = {"StateMachineArn": STATE_MACHINE, "ResumeStepFunctionFunctionName": "ResumeStepFunction"}


class StubbedAws:
    """The clients Operations uses, each with a Stubber that answers what a test queues."""

    def __init__(self) -> None:
        self.stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str) -> Stubber:
        if service not in self.stubbers:
            client = boto3.client(
                service, region_name="us-east-1", aws_access_key_id="stub", aws_secret_access_key="stub"
            )
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.stubbers[service]

    def stack(self, outputs: dict[str, str] = OUTPUTS) -> None:
        stack = {
            "StackName": STACK_NAME,
            "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
            "StackStatus": "CREATE_COMPLETE",
            "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
        }
        self("cloudformation").add_response("describe_stacks", {"Stacks": [stack]})

    def refuse(self, service: str, operation: str, code: str, message: str) -> None:
        self(service).add_client_error(operation, service_error_code=code, service_message=message)

    def invoked(self, result: Any, **response: Any) -> None:
        """The resume function answers `result`."""
        payload = json.dumps(result).encode()
        body = StreamingBody(io.BytesIO(payload), len(payload))
        self("lambda").add_response("invoke", {"StatusCode": 200, "Payload": body, **response})


@pytest.fixture
def aws(monkeypatch) -> StubbedAws:
    stubbed = StubbedAws()
    monkeypatch.setattr(Operations, "client", lambda self, service: stubbed(service).client)
    return stubbed


@pytest.fixture
def cli(run_cli):
    return run_cli
