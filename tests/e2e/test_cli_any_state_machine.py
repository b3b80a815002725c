"""The operator CLI on a state machine it has never heard of: made here with plain boto3, with two
pausable steps (SQS, then SNS, each with .waitForTaskToken) whose tokens sit where their author put
them, and driven only through `pausable-sfn ... --state-machine ARN` over the embedded AWS's endpoint."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from pausable_sfn.contracts import fingerprint
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

pytestmark = pytest.mark.emulator_only(reason="the state machine is made with a role ARN AWS would refuse")

# As an author would set it; nobody waits for it: the test moves the embedded AWS's clock.
HEARTBEAT_SECONDS = 600
WAREHOUSE, MANAGER = "Ask the warehouse", "Ask the manager"


@dataclass
class Orders:
    """A state machine of this test's own, with its queue, its topic, and a queue subscribed to the topic."""

    aws: EmbeddedAws
    arn: str
    queue_url: str
    approvals_url: str

    def status(self, name: str) -> dict[str, Any]:
        arn = self.arn.replace(":stateMachine:", ":execution:") + f":{name}"
        return self.aws.client("stepfunctions").describe_execution(executionArn=arn)

    def history(self, name: str) -> list[dict[str, Any]]:
        arn = self.arn.replace(":stateMachine:", ":execution:") + f":{name}"
        return self.aws.client("stepfunctions").get_execution_history(executionArn=arn)["events"]

    def received(self, queue_url: str) -> dict[str, Any]:
        """The one message sent to a queue (the warehouse's, or the manager's through the topic), parsed."""
        messages = wait_until(
            lambda: self.aws.client("sqs").receive_message(QueueUrl=queue_url).get("Messages"),
            what=f"a message in {queue_url}",
        )
        [message] = messages
        return json.loads(message["Body"])


@pytest.fixture
def orders(embedded: EmbeddedAws) -> Orders:
    return make_orders(embedded)


@pytest.fixture
def orders_with_heartbeat(embedded: EmbeddedAws) -> Orders:
    """The same, with a heartbeat timeout at the SQS step (only the test about heartbeats wants one:
    elsewhere, time skipping while a test waits would end the execution)."""
    return make_orders(embedded, heartbeat_seconds=HEARTBEAT_SECONDS)


def make_orders(embedded: EmbeddedAws, *, heartbeat_seconds: int | None = None) -> Orders:
    run = uuid.uuid4().hex[:8]
    sqs, sns = embedded.client("sqs"), embedded.client("sns")
    queue_url = sqs.create_queue(QueueName=f"warehouse-{run}")["QueueUrl"]
    approvals_url = sqs.create_queue(QueueName=f"approvals-{run}")["QueueUrl"]
    topic = sns.create_topic(Name=f"approvals-{run}")["TopicArn"]
    approvals_arn = sqs.get_queue_attributes(QueueUrl=approvals_url, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=approvals_arn["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    definition = {
        "StartAt": WAREHOUSE,
        "States": {
            WAREHOUSE: {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                # Not the usual taskToken, and not at the top of the message: where this author wants it.
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {"order.$": "$.order", "callback": {"resumeWith.$": "$$.Task.Token"}},
                },
                "ResultPath": "$.warehouse",
                "Next": MANAGER,
            },
            MANAGER: {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": topic, "Message": {"taskToken.$": "$$.Task.Token", "order.$": "$.order"}},
                "End": True,
            },
        },
    }
    if heartbeat_seconds is not None:
        # No TimeoutSeconds, as in AWS's own SQS callback example (its default is 99999999: gap 37).
        definition["States"][WAREHOUSE]["HeartbeatSeconds"] = heartbeat_seconds
    arn = embedded.client("stepfunctions").create_state_machine(
        name=f"Orders-{run}",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::123456789012:role/any-role",
    )["stateMachineArn"]
    return Orders(embedded, arn, queue_url, approvals_url)


@pytest.fixture
def cli(embedded: EmbeddedAws, run_cli, monkeypatch):
    """`pausable-sfn ARGS` in this process, its AWS calls going to the embedded AWS's endpoint."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded.endpoint_url)
    return run_cli


def paused_rows(cli, orders: Orders) -> dict[str, dict[str, Any]]:
    code, out, err = cli("paused", "--state-machine", orders.arn, "--json")
    assert code == 0, err
    return {row["name"]: row for row in json.loads(out)}


def test_an_sqs_then_sns_workflow_is_paused_resumed_and_failed_by_name(cli, orders):
    name = f"order-{uuid.uuid4().hex[:8]}"

    code, out, err = cli(
        "start", "--state-machine", orders.arn, "--name", name, "--input", '{"order": 42}', "--wait", "--json"
    )
    assert (code, err) == (0, ""), err
    assert json.loads(out)["status"] == "PAUSED"

    # At the SQS step: the token is the one the warehouse got, under the author's key.
    at_warehouse = paused_rows(cli, orders)[name]
    sent = orders.received(orders.queue_url)
    assert at_warehouse["state"] == WAREHOUSE
    assert at_warehouse["mode"] is None
    assert at_warehouse["taskToken"] == fingerprint(sent["callback"]["resumeWith"])

    code, out, _ = cli("resume", name, "--state-machine", orders.arn, "--output", '{"inStock": true}')
    assert (code, out) == (0, f"resumed {name}\n")

    # At the SNS step: the token is the one the manager got through the topic.
    at_manager = wait_until(
        lambda: (row := paused_rows(cli, orders).get(name)) and row["state"] == MANAGER and row,
        what=f"{name} paused at {MANAGER}",
    )
    published = orders.received(orders.approvals_url)
    assert at_manager["taskToken"] == fingerprint(published["taskToken"])
    assert published["order"] == 42

    code, out, _ = cli("fail", name, "--state-machine", orders.arn, "--error", "Rejected", "--cause", "over budget")
    assert (code, out) == (0, f"failed {name}: Rejected\n")

    ended = wait_until(lambda: (d := orders.status(name))["status"] != "RUNNING" and d, what=f"{name} to end")
    assert (ended["status"], ended["error"], ended["cause"]) == ("FAILED", "Rejected", "over budget")
    warehouse_output = next(e for e in orders.history(name) if e["type"] == "TaskSucceeded")
    assert json.loads(warehouse_output["taskSucceededEventDetails"]["output"]) == {"inStock": True}


def test_heartbeats_by_name_keep_the_sqs_step_alive_past_its_heartbeat_timeout(cli, orders_with_heartbeat):
    orders = orders_with_heartbeat
    name = f"beat-{uuid.uuid4().hex[:8]}"
    code, _, err = cli("start", "--state-machine", orders.arn, "--name", name, "--input", '{"order": 7}', "--wait")
    assert code == 0, err

    # A heartbeat every five minutes while three heartbeat timeouts go by: each goes to the live task.
    for _ in range(6):
        code, out, err = cli("heartbeat", name, "--state-machine", orders.arn)
        assert (code, out, err) == (0, f"heartbeat sent for {name}\n", "")
        orders.aws.clock.advance(HEARTBEAT_SECONDS / 2)

    assert orders.status(name)["status"] == "RUNNING"
    assert "TaskTimedOut" not in [event["type"] for event in orders.history(name)]
    assert paused_rows(cli, orders)[name]["state"] == WAREHOUSE
    cli("fail", name, "--state-machine", orders.arn, "--error", "Done", "--cause", "the test is over")


def test_moto_records_the_sqs_message_body_and_the_sns_message_as_objects(cli, orders):
    """What the embedded AWS (moto 5.2.5) writes in TaskScheduled: the messages as JSON objects, as
    the definition has them (the locator reads JSON strings too, should an upgrade change it)."""
    name = f"shape-{uuid.uuid4().hex[:8]}"
    cli("start", "--state-machine", orders.arn, "--name", name, "--input", '{"order": 1}', "--wait")
    cli("resume", name, "--state-machine", orders.arn)
    wait_until(lambda: paused_rows(cli, orders).get(name, {}).get("state") == MANAGER, what=f"{name} at {MANAGER}")

    scheduled = [
        json.loads(event["taskScheduledEventDetails"]["parameters"])
        for event in orders.history(name)
        if event["type"] == "TaskScheduled"
    ]

    assert [type(parameters.get("MessageBody", parameters.get("Message"))) for parameters in scheduled] == [dict, dict]
    cli("fail", name, "--state-machine", orders.arn, "--error", "Done", "--cause", "the test is over")
