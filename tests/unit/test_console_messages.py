"""What the console says when an action cannot be done is said in its own terms: a person in a
browser has no command line, so no message tells them to pass a flag, whatever the operations'
error says to a person at a terminal."""

import html
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from werkzeug.test import Client

from pausable_sfn.console.app import NO_APPROVAL_FUNCTION, ConsoleApp
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.ops.errors import OperationError, TokenNotFoundError
from pausable_sfn.ops.operations import Operations, StateMachineArn, _unreachable
from pausable_sfn.testing.polling import wait_for

from .console_harness import MOUNT

ROLE = "arn:aws:iam::123456789012:role/console-messages"
FLAG = re.compile(r"(?<![\w-])--[a-z]")  # a command-line flag: --token, not an HTML comment's dashes


class ConsoleOnEmbeddedAws:
    """The console, told nothing of any app, over an embedded AWS in this process."""

    def __init__(self, aws: EmbeddedAws) -> None:
        self.aws = aws
        self.client = Client(ConsoleApp(aws.client))

    def act(self, arn: str, action: str) -> tuple[int, str]:
        """Posts the execution page's action form, as its button does."""
        page = self.client.get(f"{MOUNT}execution?arn={quote(arn, safe='')}").get_data(as_text=True)
        found = re.search(r'name="formKey" value="([^"]+)"', page)
        assert found, page
        form = {"formKey": html.unescape(found.group(1)), "arn": arn, "action": action}
        answer = self.client.post(f"{MOUNT}act", data=form)
        return answer.status_code, html.unescape(answer.get_data(as_text=True))


@pytest.fixture(scope="module")
def console() -> Iterator[ConsoleOnEmbeddedAws]:
    with EmbeddedAws() as aws:
        yield ConsoleOnEmbeddedAws(aws)


def paused_at_a_queue(aws: EmbeddedAws, message_body: dict[str, Any]) -> str:
    """An execution of a state machine of no app, waiting at an SQS task for its callback."""
    suffix = time.monotonic_ns()
    queue = aws.client("sqs").create_queue(QueueName=f"jobs-{suffix}")["QueueUrl"]
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": message_body},
        "End": True,
    }
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"queue-{suffix}", definition=json.dumps({"StartAt": "Wait", "States": {"Wait": task}}), roleArn=ROLE
    )["stateMachineArn"]
    arn: str = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert wait_for(sfn, arn, lambda snapshot: snapshot.paused, timeout=30).paused
    return arn


def test_a_token_the_definition_hides_in_a_string_is_not_found_and_no_flag_is_offered(console):
    arn = paused_at_a_queue(console.aws, {"note.$": "States.Format('token {}', $$.Task.Token)"})

    status, page = console.act(arn, "resume")

    assert status == 409
    assert "Cannot find the task token of state 'Wait'" in page
    assert "--token" not in page
    assert not FLAG.search(page)


def test_an_approval_link_for_a_state_machine_no_stack_names_says_so_without_a_flag(console):
    arn = paused_at_a_queue(console.aws, {"taskToken.$": "$$.Task.Token"})

    status, page = console.act(arn, "link")

    assert status == 409
    assert NO_APPROVAL_FUNCTION in page
    assert "--approval-function" not in page
    assert not FLAG.search(page)


@pytest.mark.parametrize(
    "error",
    [
        TokenNotFoundError("Wait", "a token inside a string has no path to read"),
        _unreachable(EndpointConnectionError(endpoint_url="http://127.0.0.1:1")),
        _unreachable(ReadTimeoutError(endpoint_url="http://127.0.0.1:1")),
    ],
    ids=["token not found", "unreachable", "no answer"],
)
def test_an_error_that_tells_the_terminal_a_flag_has_a_reason_that_names_none(error: OperationError):
    assert FLAG.search(str(error)) or "pausable-sfn" in str(error)
    assert not FLAG.search(error.reason)
    assert "pausable-sfn" not in error.reason


def test_the_operations_errors_a_console_can_meet_have_reasons_without_flags():
    with pytest.raises(OperationError) as not_an_arn:
        StateMachineArn.parse("Orders")
    with pytest.raises(OperationError) as no_outputs:
        _ = Operations(state_machine="arn:aws:states:us-east-1:123456789012:stateMachine:Orders").outputs
    with pytest.raises(OperationError) as no_function:
        Operations(state_machine="arn:aws:states:us-east-1:123456789012:stateMachine:Orders").approval_link("t")

    for caught in (not_an_arn, no_outputs, no_function):
        assert FLAG.search(str(caught.value))
        assert not FLAG.search(caught.value.reason)
