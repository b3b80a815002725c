"""Virtual time: a workflow of long waits (a 30-day Wait, a 7-day callback timeout, 10-minute
heartbeats, retries an hour apart) tested as deployed, in seconds of wall time, by advancing the
embedded AWS's clock. Its history is written in the clock's time, as AWS would write it.

What the timers do rests on the Step Functions developer guide: "Wait workflow state" (Seconds),
"Task workflow state" (TimeoutSeconds, HeartbeatSeconds: a heartbeat timeout is recorded as
States.Timeout), "Handling errors in Step Functions workflows" (Retry: IntervalSeconds, BackoffRate),
and "Step Functions service quotas" (an execution's TimeoutSeconds).
"""

import functools
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pausable_sfn.local.clock import ClockError
from pausable_sfn.local.embedded import EmbeddedAws

from .test_functions_created_through_the_api import TRUST, zipped

MINUTE, HOUR, DAY = 60, 3600, 86400
# Generous: what a test waits for happens in milliseconds, but a loaded machine may be slow.
REAL_TIMEOUT = 30


class Workflows:
    """The embedded AWS, a queue that receives task tokens, and state machines made on demand."""

    def __init__(self, aws: EmbeddedAws) -> None:
        self.aws = aws
        self.sfn = aws.client("stepfunctions")
        self.sqs = aws.client("sqs")
        self.role = aws.client("iam").create_role(RoleName="virtual-time", AssumeRolePolicyDocument=json.dumps(TRUST))[
            "Role"
        ]["Arn"]

    def machine(self, states: dict[str, Any], start_at: str, **top: Any) -> str:
        definition = {"StartAt": start_at, "States": states, **top}
        name = f"m-{uuid.uuid4().hex[:10]}"
        return self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=self.role)[
            "stateMachineArn"
        ]

    def inbox(self) -> str:
        return self.sqs.create_queue(QueueName=f"tokens-{uuid.uuid4().hex[:10]}")["QueueUrl"]

    def waiting_for_a_token(self, inbox: str, **timers: int) -> dict[str, Any]:
        """A task that sends its token to `inbox` and waits for it, with these timers."""
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": inbox, "MessageBody": {"token.$": "$$.Task.Token"}},
            **timers,
            "End": True,
        }

    def start(self, machine: str) -> str:
        arn = self.sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        self.aws.clock.settle()
        return arn

    def token(self, inbox: str) -> str:
        deadline = time.monotonic() + REAL_TIMEOUT
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(QueueUrl=inbox).get("Messages", [])
            if messages:  # taken off the queue: it would come back after its visibility timeout
                self.sqs.delete_message(QueueUrl=inbox, ReceiptHandle=messages[0]["ReceiptHandle"])
                return str(json.loads(messages[0]["Body"])["token"])
            self.aws.clock.settle()
        raise AssertionError("no task token reached the queue")

    def describe(self, execution: str) -> dict[str, Any]:
        return self.sfn.describe_execution(executionArn=execution)

    def events(self, execution: str) -> list[dict[str, Any]]:
        return self.sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]

    def advance_to(self, moment: datetime) -> None:
        """Moves the clock to `moment`: "a second before the deadline" and "a second after it"
        count from the event that set the deadline, not from whenever the test gets there (the
        clock ticks meanwhile, and on a loaded machine a second can pass between the two; the
        timer itself starts a few milliseconds after its event's timestamp)."""
        self.aws.clock.advance(moment.timestamp() - self.aws.clock.time())

    def at(self, execution: str, event_type: str, nth: int = 0) -> datetime:
        return [e["timestamp"] for e in self.events(execution) if e["type"] == event_type][nth]


@pytest.fixture(scope="module")
def workflows() -> Iterator[Workflows]:
    with EmbeddedAws() as aws:
        yield Workflows(aws)


def close_to(actual: timedelta, expected: timedelta) -> bool:
    """Within the milliseconds the embedded AWS takes between two events (a task's timer starts a
    moment before its TaskScheduled event is written; the state after a timer, a moment after)."""
    return abs(actual - expected) < timedelta(seconds=1)


def test_an_embedded_aws_starts_on_the_wall_clock():
    with EmbeddedAws() as aws:
        assert aws.clock.is_wall_clock
        assert abs(aws.clock.time() - time.time()) < 1
        with pytest.raises(ClockError, match="only moves forward"):
            aws.clock.advance(-1)


def test_a_month_long_workflow_of_every_timer_is_tested_as_deployed(workflows):
    """A 30-day Wait, then a task with a 7-day timeout and a 10-minute heartbeat, retried an hour
    after a heartbeat timeout: a month and more of waiting, each timer as deployed."""
    inbox = workflows.inbox()
    ask = workflows.waiting_for_a_token(inbox, TimeoutSeconds=7 * DAY, HeartbeatSeconds=10 * MINUTE)
    ask["Retry"] = [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": HOUR, "MaxAttempts": 1, "BackoffRate": 1}]
    machine = workflows.machine(
        {"Wait a month": {"Type": "Wait", "Seconds": 30 * DAY, "Next": "Ask"}, "Ask": ask}, "Wait a month"
    )
    execution = workflows.start(machine)

    workflows.aws.clock.advance(timedelta(days=30))
    first_token = workflows.token(inbox)
    for _ in range(6):  # an hour of work, a heartbeat every 9 minutes, then silence
        workflows.aws.clock.advance(9 * MINUTE)
        workflows.sfn.send_task_heartbeat(taskToken=first_token)
    workflows.aws.clock.advance(10 * MINUTE + HOUR)  # the heartbeat timeout, then the retry's hour
    second_token = workflows.token(inbox)
    workflows.sfn.send_task_success(taskToken=second_token, output='{"done": true}')
    workflows.aws.clock.settle()

    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    at = functools.partial(workflows.at, execution)
    assert close_to(at("WaitStateExited") - at("WaitStateEntered"), timedelta(days=30))
    assert close_to(at("TaskTimedOut") - at("TaskScheduled"), timedelta(minutes=64))  # 6 × 9 min + 10
    assert close_to(at("TaskScheduled", 1) - at("TaskTimedOut"), timedelta(hours=1))
    assert first_token != second_token


def test_a_thirty_day_wait_ends_thirty_days_after_it_began(workflows):
    machine = workflows.machine(
        {"Wait a month": {"Type": "Wait", "Seconds": 30 * DAY, "Next": "Done"}, "Done": {"Type": "Succeed"}},
        "Wait a month",
    )
    execution = workflows.start(machine)

    entered = workflows.at(execution, "WaitStateEntered")
    workflows.advance_to(entered + timedelta(days=30, seconds=-1))
    assert workflows.describe(execution)["status"] == "RUNNING"
    workflows.advance_to(entered + timedelta(days=30, seconds=1))

    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    waited = workflows.at(execution, "WaitStateExited") - workflows.at(execution, "WaitStateEntered")
    assert close_to(waited, timedelta(days=30))


def test_a_seven_day_callback_timeout_fires_after_seven_days_and_not_before(workflows):
    inbox = workflows.inbox()
    machine = workflows.machine({"Ask": workflows.waiting_for_a_token(inbox, TimeoutSeconds=7 * DAY)}, "Ask")
    execution = workflows.start(machine)
    token = workflows.token(inbox)

    scheduled = workflows.at(execution, "TaskScheduled")
    workflows.advance_to(scheduled + timedelta(days=7, seconds=-1))
    assert workflows.describe(execution)["status"] == "RUNNING"
    workflows.advance_to(scheduled + timedelta(days=7, seconds=1))

    described = workflows.describe(execution)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    waited = workflows.at(execution, "TaskTimedOut") - workflows.at(execution, "TaskScheduled")
    assert close_to(waited, timedelta(days=7))
    # The token of a task that timed out during the advance is refused as on AWS.
    with pytest.raises(ClientError) as refused:
        workflows.sfn.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] == "TaskTimedOut"


def test_heartbeats_every_nine_minutes_keep_a_ten_minute_heartbeat_task_alive_until_they_stop(workflows):
    inbox = workflows.inbox()
    machine = workflows.machine(
        {"Work": workflows.waiting_for_a_token(inbox, TimeoutSeconds=HOUR, HeartbeatSeconds=10 * MINUTE)}, "Work"
    )
    execution = workflows.start(machine)
    token = workflows.token(inbox)

    for _ in range(5):  # 45 minutes of work, a heartbeat every 9
        workflows.aws.clock.advance(9 * MINUTE)
        workflows.sfn.send_task_heartbeat(taskToken=token)
    last_heartbeat = workflows.aws.clock.now()
    workflows.aws.clock.advance(10 * MINUTE)

    described = workflows.describe(execution)
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert close_to(workflows.at(execution, "TaskTimedOut") - last_heartbeat, timedelta(minutes=10))


def test_a_task_with_a_heartbeat_and_no_timeout_waits_as_long_as_heartbeats_come(workflows):
    inbox = workflows.inbox()
    machine = workflows.machine({"Work": workflows.waiting_for_a_token(inbox, HeartbeatSeconds=10 * MINUTE)}, "Work")
    execution = workflows.start(machine)
    token = workflows.token(inbox)

    for _ in range(20):  # three hours of heartbeats: no timeout of its own ends it
        workflows.aws.clock.advance(9 * MINUTE)
        workflows.sfn.send_task_heartbeat(taskToken=token)
    workflows.sfn.send_task_success(taskToken=token, output="{}")
    workflows.aws.clock.settle()

    assert workflows.describe(execution)["status"] == "SUCCEEDED"


def test_retries_an_hour_apart_happen_an_hour_apart(workflows):
    flaky = {
        "Type": "Parallel",
        "Branches": [{"StartAt": "Break", "States": {"Break": {"Type": "Fail", "Error": "Flaky", "Cause": "down"}}}],
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": HOUR, "MaxAttempts": 3, "BackoffRate": 1.0}],
        "End": True,
    }
    execution = workflows.start(workflows.machine({"Flaky": flaky}, "Flaky"))

    workflows.aws.clock.advance(2 * HOUR + 59 * MINUTE)
    assert workflows.describe(execution)["status"] == "RUNNING"
    workflows.aws.clock.advance(MINUTE)

    assert workflows.describe(execution)["status"] == "FAILED"
    attempts = [e["timestamp"] for e in workflows.events(execution) if e["type"] == "ParallelStateStarted"]
    assert len(attempts) == 4
    assert all(close_to(later - earlier, timedelta(hours=1)) for earlier, later in itertools.pairwise(attempts))


def test_an_execution_times_out_after_its_own_timeout_seconds(workflows):
    inbox = workflows.inbox()
    machine = workflows.machine({"Ask": workflows.waiting_for_a_token(inbox)}, "Ask", TimeoutSeconds=DAY)
    execution = workflows.start(machine)

    workflows.aws.clock.advance(DAY)

    described = workflows.describe(execution)
    assert described["status"] == "TIMED_OUT"
    assert close_to(described["stopDate"] - described["startDate"], timedelta(days=1))
    # The waiting task ends with its execution: nothing more is written, and no timer of it is left.
    workflows.aws.clock.advance(timedelta(days=365))
    assert workflows.events(execution)[-1]["type"] == "ExecutionTimedOut"
    assert workflows.describe(execution)["status"] == "TIMED_OUT"


def test_stopping_an_execution_ends_the_wait_of_its_task(workflows):
    inbox = workflows.inbox()
    machine = workflows.machine({"Ask": workflows.waiting_for_a_token(inbox, TimeoutSeconds=7 * DAY)}, "Ask")
    execution = workflows.start(machine)
    token = workflows.token(inbox)

    workflows.sfn.stop_execution(executionArn=execution, error="Cancelled", cause="by the test")
    workflows.aws.clock.settle()

    assert workflows.describe(execution)["status"] == "ABORTED"
    assert workflows.events(execution)[-1]["type"] == "ExecutionAborted"
    with pytest.raises(ClientError) as refused:
        workflows.sfn.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] == "TaskTimedOut"
    workflows.aws.clock.advance(8 * DAY)
    assert workflows.events(execution)[-1]["type"] == "ExecutionAborted"


def test_a_callback_sent_after_an_advance_is_recorded_at_the_clock_s_time(workflows):
    inbox = workflows.inbox()
    machine = workflows.machine({"Ask": workflows.waiting_for_a_token(inbox, TimeoutSeconds=7 * DAY)}, "Ask")
    execution = workflows.start(machine)
    token = workflows.token(inbox)
    workflows.aws.clock.advance(timedelta(days=2))
    sent_at = workflows.aws.clock.now()

    workflows.sfn.send_task_success(taskToken=token, output='{"approved": true}')
    workflows.aws.clock.settle()

    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    assert close_to(workflows.at(execution, "TaskSucceeded") - sent_at, timedelta(0))


def test_waiting_for_an_outcome_that_comes_without_a_timer_skips_no_time(workflows):
    inbox = workflows.inbox()
    machine = workflows.machine({"Ask": workflows.waiting_for_a_token(inbox, TimeoutSeconds=3 * DAY)}, "Ask")
    before = workflows.aws.clock.now()
    execution = workflows.sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]

    # The token reaches the queue as the task starts: the 3-day timeout must not be skipped to.
    workflows.aws.clock.run_until(
        lambda: bool(
            workflows.sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["All"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
            != "0"
        ),
        timeout=REAL_TIMEOUT,
    )

    assert workflows.describe(execution)["status"] == "RUNNING"
    assert workflows.aws.clock.now() - before < timedelta(days=3)


def test_waiting_for_an_outcome_skips_to_each_timer_while_nothing_runs(workflows):
    machine = workflows.machine(
        {
            "First": {"Type": "Wait", "Seconds": 3 * DAY, "Next": "Second"},
            "Second": {"Type": "Wait", "Seconds": 4 * DAY, "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
        "First",
    )
    started = workflows.aws.clock.now()
    execution = workflows.start(machine)

    workflows.aws.clock.run_until(lambda: workflows.describe(execution)["status"] != "RUNNING", timeout=REAL_TIMEOUT)

    assert workflows.describe(execution)["status"] == "SUCCEEDED"
    assert workflows.aws.clock.now() - started >= timedelta(days=7)


def test_jsonata_now_and_millis_read_the_clock(workflows):
    machine = workflows.machine(
        {"Stamp": {"Type": "Pass", "Output": {"now": "{% $now() %}", "millis": "{% $millis() %}"}, "End": True}},
        "Stamp",
        QueryLanguage="JSONata",
    )
    workflows.aws.clock.advance(timedelta(days=365))
    before = workflows.aws.clock.time()

    execution = workflows.start(machine)
    workflows.aws.clock.run_until(lambda: workflows.describe(execution)["status"] != "RUNNING", timeout=REAL_TIMEOUT)

    output = json.loads(workflows.describe(execution)["output"])
    now = datetime.fromisoformat(output["now"]).timestamp()
    assert before - 0.001 <= now <= workflows.aws.clock.time()
    assert before * 1000 - 1 <= output["millis"] <= workflows.aws.clock.time() * 1000


LAMBDA_CLOCK = """
import time
from datetime import datetime, timezone

def read(event, context):
    now = datetime.now(timezone.utc).isoformat()
    return {"time": time.time(), "now": now, "left": context.get_remaining_time_in_millis()}
"""


def test_lambda_code_reads_the_same_clock_while_its_timeout_stays_real(workflows):
    name = f"clock-{uuid.uuid4().hex[:8]}"
    workflows.aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=workflows.role,
        Handler="handlers.read",
        Code={"ZipFile": zipped({"handlers.py": LAMBDA_CLOCK})},
        Timeout=30,
    )
    workflows.aws.clock.advance(timedelta(days=3))
    before = workflows.aws.clock.time()

    answer = workflows.aws.invoke(name, {})
    seen = json.loads(answer["Payload"].read())

    assert before <= seen["time"] <= workflows.aws.clock.time()
    assert before <= datetime.fromisoformat(seen["now"]).timestamp() <= workflows.aws.clock.time()
    assert 25_000 < seen["left"] <= 30_000


def test_a_message_is_deleted_once_its_queue_s_retention_period_has_passed(workflows):
    queue = workflows.sqs.create_queue(
        QueueName=f"retention-{uuid.uuid4().hex[:10]}", Attributes={"MessageRetentionPeriod": "60"}
    )["QueueUrl"]
    workflows.sqs.send_message(QueueUrl=queue, MessageBody="old")
    workflows.aws.clock.advance(59)
    workflows.sqs.send_message(QueueUrl=queue, MessageBody="new")

    workflows.aws.clock.advance(2)  # the first is 61 s old, the second 2 s

    def counts() -> tuple[str, ...]:
        attributes = workflows.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        names = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        return tuple(attributes[name] for name in names)

    assert counts() == ("1", "0")
    received = workflows.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in received] == ["new"]
    workflows.aws.clock.advance(60)  # the second's turn; the received one is gone though hidden
    assert counts() == ("0", "0")
    assert workflows.sqs.receive_message(QueueUrl=queue).get("Messages", []) == []
