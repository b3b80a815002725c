"""A JSONata PausableTask ends as its JSONPath twin does, run on the embedded AWS: the definition
CDK synthesizes, with a queue as the receiver, is created through the Step Functions API."""

import json
import time
from collections.abc import Iterator
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from pausable_sfn.constructs import PausableStateMachine, PausableTask
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

from ..constructs.conftest import synthesize

ROLE = "arn:aws:iam::123456789012:role/jsonata-task"
JSONATA = sfn.QueryLanguage.JSONATA


def definitions() -> dict[str, str]:
    """Two JSONata state machines of one PausableTask each, their ASL with <Ref> placeholders."""
    app = cdk.App()
    stack = cdk.Stack(app, "JsonataEnds")
    queue = sqs.Queue(stack, "Jobs")
    timed = PausableTask(
        stack,
        "Review",
        query_language=JSONATA,
        queue=queue,
        payload={"document": "{% $states.input.document %}"},
        timeout=sfn.Timeout.jsonata("{% $states.input.seconds %}"),
    )
    PausableStateMachine(stack, "Timed", definition=timed, query_language=JSONATA)
    beating = PausableTask(
        stack,
        "Pack",
        query_language=JSONATA,
        queue=queue,
        timeout=sfn.Timeout.duration(Duration.minutes(10)),
        heartbeat=Duration.seconds(1),
    )
    PausableStateMachine(stack, "Beating", definition=beating, query_language=JSONATA)
    synthesized = synthesize(app, stack)
    queue_ref = f"<{synthesized.logical_id('AWS::SQS::Queue', 'Jobs')}>"
    return {
        name: json.dumps(synthesized.definition(name)).replace("<AWS::Partition>", "aws").replace(queue_ref, "QUEUE")
        for name in ("Timed", "Beating")
    }


@pytest.fixture(scope="module")
def aws() -> Iterator[tuple[EmbeddedAws, str, dict[str, str]]]:
    with EmbeddedAws() as embedded:
        queue = embedded.client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
        sfn_client = embedded.client("stepfunctions")
        arns = {
            name: sfn_client.create_state_machine(
                name=name, definition=definition.replace("QUEUE", queue), roleArn=ROLE
            )["stateMachineArn"]
            for name, definition in definitions().items()
        }
        yield embedded, queue, arns


def start(aws: tuple[EmbeddedAws, str, dict[str, str]], machine: str, execution_input: dict[str, Any]) -> str:
    embedded, _, arns = aws
    name = f"e-{time.monotonic_ns()}"
    return embedded.client("stepfunctions").start_execution(
        stateMachineArn=arns[machine], name=name, input=json.dumps(execution_input)
    )["executionArn"]


def token_of(aws: tuple[EmbeddedAws, str, dict[str, str]], execution: str) -> str:
    """The token this execution's task sent to the queue (messages of other executions are left)."""
    embedded, queue, _ = aws
    sqs_client = embedded.client("sqs")

    def mine() -> str | None:
        for message in sqs_client.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(message["Body"])
            if body["executionId"] == execution:
                sqs_client.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                return str(body["taskToken"])
            sqs_client.change_message_visibility(
                QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        return None

    return wait_until(mine, what="the task's message")


def ending(aws: tuple[EmbeddedAws, str, dict[str, str]], execution: str) -> dict[str, Any]:
    sfn_client = aws[0].client("stepfunctions")
    return wait_until(
        lambda: (d := sfn_client.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        what="the execution's end",
    )


def test_a_rejection_keeps_the_callbacks_error_and_cause(aws):
    execution = start(aws, "Timed", {"document": "d-1", "seconds": 600})

    aws[0].client("stepfunctions").send_task_failure(taskToken=token_of(aws, execution), error="Rejected", cause="no")

    ended = ending(aws, execution)
    assert (ended["status"], ended["error"], ended["cause"]) == ("FAILED", "Rejected", "no")


def test_a_rejection_without_error_or_cause_fails_with_the_prefixed_error(aws):
    execution = start(aws, "Timed", {"document": "d-2", "seconds": 600})

    aws[0].client("stepfunctions").send_task_failure(taskToken=token_of(aws, execution))

    ended = ending(aws, execution)
    assert (ended["status"], ended["error"], ended.get("cause", "")) == ("FAILED", "ReviewFailed", "")


def test_a_timeout_read_from_the_input_says_how_long_the_task_allowed(aws):
    execution = start(aws, "Timed", {"document": "d-3", "seconds": 1})

    ended = ending(aws, execution)

    assert (ended["status"], ended["error"]) == ("FAILED", "ReviewTimedOut")
    assert ended["cause"] == "No callback arrived in time (States.Timeout; the task allows 1 seconds)."


def test_a_missed_heartbeat_ends_in_its_own_fail_state_with_the_timed_out_error(aws):
    execution = start(aws, "Beating", {})

    ended = ending(aws, execution)

    assert (ended["status"], ended["error"]) == ("FAILED", "PackTimedOut")
    assert ended["cause"] == (
        "No callback arrived in time (States.HeartbeatTimeout; the task allows 1 seconds between heartbeats)."
    )
    events = aws[0].client("stepfunctions").get_execution_history(executionArn=execution)["events"]
    assert "PackHeartbeatTimedOut" in [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def test_a_success_passes_the_callbacks_output_on(aws):
    execution = start(aws, "Timed", {"document": "d-4", "seconds": 600})

    aws[0].client("stepfunctions").send_task_success(taskToken=token_of(aws, execution), output='{"approved": true}')

    ended = ending(aws, execution)
    assert (ended["status"], json.loads(ended["output"])) == ("SUCCEEDED", {"approved": True})
