"""PausableTask: the hand-off state, its payload, its clocks and how it ends, read from the ASL."""

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from pausable_sfn.constructs import PausableStateMachine, PausableTask
from pausable_sfn.constructs.pausable_task import pascal_case

from .conftest import synthesize

HALF_AN_HOUR = sfn.Timeout.duration(Duration.minutes(30))


class Receivers:
    """One of each thing a task can hand its token to, in `stack`."""

    def __init__(self, stack: cdk.Stack) -> None:
        self.function = lambda_.Function(
            stack,
            "Notify",
            runtime=lambda_.Runtime.PYTHON_3_13,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return None\n"),
        )
        self.queue = sqs.Queue(stack, "Reviews")
        self.topic = sns.Topic(stack, "Approvers")


def machine(stack: cdk.Stack, name: str, definition: sfn.IChainable) -> None:
    sfn.StateMachine(stack, name, definition_body=sfn.DefinitionBody.from_chainable(definition))


@pytest.fixture(scope="module")
def synthesized():
    app = cdk.App()
    stack = cdk.Stack(app, "Tasks")
    to = Receivers(stack)

    approve = PausableTask(
        stack,
        "Approve order",
        function=to.function,
        timeout=HALF_AN_HOUR,
        heartbeat=Duration.minutes(5),
        payload={"orderId": sfn.JsonPath.string_at("$.orderId"), "channel": "email"},
        result_path="$.approval",
        comment="Asks the approver",
    )
    machine(stack, "FunctionMachine", approve.next(sfn.Pass(stack, "Ship")))
    review = PausableTask(
        stack,
        "Wait for review",
        queue=to.queue,
        timeout=sfn.Timeout.at("$.reviewSeconds"),
        payload={"document.$": "$.document"},
    )
    machine(stack, "QueueMachine", review)
    ask = PausableTask(stack, "Ask a person", topic=to.topic, timeout=sfn.Timeout.duration(Duration.days(7)))
    machine(stack, "TopicMachine", ask)
    escalate = PausableTask(
        stack,
        "Escalate",
        function=to.function,
        timeout=HALF_AN_HOUR,
        failure_path="$.why",
        on_timeout=sfn.Pass(stack, "Remind"),
        on_failure=sfn.Pass(stack, "Give up"),
    )
    machine(stack, "ChainsMachine", escalate)
    first = PausableTask(stack, "Approve", function=to.function, timeout=HALF_AN_HOUR)
    second = PausableTask(stack, "Countersign", topic=to.topic, timeout=HALF_AN_HOUR)
    machine(stack, "TwoTasksMachine", first.next(second))
    return synthesize(app, stack)


@pytest.fixture(scope="module")
def states_of(synthesized) -> Callable[[str], dict[str, Any]]:
    return lambda machine_name: synthesized.definition(machine_name)["States"]


@pytest.fixture(scope="module")
def function_id(synthesized) -> str:
    return synthesized.logical_id("AWS::Lambda::Function", "Notify")


TOKEN_FIELDS = {"taskToken.$": "$$.Task.Token", "executionId.$": "$$.Execution.Id"}


def test_a_function_receives_the_token_and_the_payload_and_the_task_waits_for_the_callback(states_of, function_id):
    task = states_of("FunctionMachine")["Approve order"]

    assert task["Type"] == "Task"
    assert task["Resource"] == "arn:<AWS::Partition>:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"] == {
        "FunctionName": f"<{function_id}.Arn>",
        "Payload": {**TOKEN_FIELDS, "orderId.$": "$.orderId", "channel": "email"},
    }
    assert (task["ResultPath"], task["Comment"]) == ("$.approval", "Asks the approver")


def test_a_queue_receives_the_token_in_the_message_body(synthesized, states_of):
    task = states_of("QueueMachine")["Wait for review"]

    assert task["Resource"] == "arn:<AWS::Partition>:states:::sqs:sendMessage.waitForTaskToken"
    assert task["Parameters"] == {
        "QueueUrl": f"<{synthesized.logical_id('AWS::SQS::Queue', 'Reviews')}>",
        "MessageBody": {**TOKEN_FIELDS, "document.$": "$.document"},
    }


def test_a_topic_receives_the_token_in_the_published_message(synthesized, states_of):
    task = states_of("TopicMachine")["Ask a person"]

    assert task["Resource"] == "arn:<AWS::Partition>:states:::sns:publish.waitForTaskToken"
    assert task["Parameters"] == {
        "TopicArn": f"<{synthesized.logical_id('AWS::SNS::Topic', 'Approvers')}>",
        "Message": TOKEN_FIELDS,
    }


def test_the_task_chains_like_a_state(states_of):
    assert states_of("FunctionMachine")["Approve order"]["Next"] == "Ship"


def test_a_static_timeout_and_the_heartbeat_are_written_in_seconds(states_of):
    task = states_of("FunctionMachine")["Approve order"]

    assert (task["TimeoutSeconds"], task["HeartbeatSeconds"]) == (1800, 300)


def test_a_timeout_read_from_the_state_is_a_timeout_path(states_of):
    task = states_of("QueueMachine")["Wait for review"]

    assert task["TimeoutSecondsPath"] == "$.reviewSeconds"
    assert "TimeoutSeconds" not in task
    assert "HeartbeatSeconds" not in task


def test_the_error_prefix_is_the_id_in_pascal_case():
    assert pascal_case("Approve order") == "ApproveOrder"
    assert pascal_case("wait for a human's OK") == "WaitForAHumanSOK"


def test_each_clock_has_its_catch_and_both_fail_with_the_timed_out_error_and_a_cause_naming_the_clock(states_of):
    # Step Functions records a heartbeat timeout as States.Timeout: only a Catch naming
    # States.HeartbeatTimeout, placed first, tells the two clocks apart.
    states = states_of("FunctionMachine")
    [heartbeat, timeout, _] = states["Approve order"]["Catch"]

    assert heartbeat == {
        "ErrorEquals": ["States.HeartbeatTimeout"],
        "ResultPath": "$.failure",
        "Next": "ApproveOrderHeartbeatTimedOut",
    }
    assert timeout == {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.failure", "Next": "ApproveOrderTimedOut"}
    assert states["ApproveOrderHeartbeatTimedOut"] == {
        "Type": "Fail",
        "Error": "ApproveOrderTimedOut",
        "Cause": "No callback arrived in time (States.HeartbeatTimeout; the task allows 300 seconds between "
        "heartbeats).",
    }
    assert states["ApproveOrderTimedOut"] == {
        "Type": "Fail",
        "Error": "ApproveOrderTimedOut",
        "Cause": "No callback arrived in time (States.Timeout; the task allows 1800 seconds).",
    }


def test_a_task_without_heartbeat_catches_only_the_timeout(states_of):
    [timeout, _] = states_of("QueueMachine")["Wait for review"]["Catch"]

    assert timeout["ErrorEquals"] == ["States.Timeout"]


def test_a_timeout_read_from_the_state_is_read_again_for_the_cause(states_of):
    states = states_of("QueueMachine")

    assert states["WaitForReviewTimedOut"]["CausePath"] == (
        "States.Format('No callback arrived in time (States.Timeout; the task allows {} seconds).', $.reviewSeconds)"
    )


def test_a_rejection_keeps_the_callbacks_error_and_cause(states_of):
    states = states_of("FunctionMachine")
    [*_, failures] = states["Approve order"]["Catch"]

    assert failures == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Read the ApproveOrder error"}
    read = states["Read the ApproveOrder error"]
    assert read["Default"] == "ApproveOrderFailed"
    assert states["ApproveOrderFailed"] == {
        "Type": "Fail",
        "ErrorPath": "$.failure.Error",
        "CausePath": "$.failure.Cause",
    }


def test_a_failed_hand_off_fails_with_the_prefixed_error_and_a_cause_naming_the_states_error(states_of):
    # A Fail state may not raise an error named States.*: Step Functions reserves the prefix.
    states = states_of("FunctionMachine")
    [rule] = states["Read the ApproveOrder error"]["Choices"]

    assert rule == {
        "Variable": "$.failure.Error",
        "StringMatches": "States.*",
        "Next": "ApproveOrderFailed in Step Functions",
    }
    assert states["ApproveOrderFailed in Step Functions"] == {
        "Type": "Fail",
        "Error": "ApproveOrderFailed",
        "CausePath": "States.Format('{}: {}', $.failure.Error, $.failure.Cause)",
    }


def test_chains_given_for_timeouts_and_failures_replace_the_default_ends(states_of):
    states = states_of("ChainsMachine")

    assert [(catch["Next"], catch["ResultPath"]) for catch in states["Escalate"]["Catch"]] == [
        ("Remind", "$.why"),
        ("Give up", "$.why"),
    ]
    assert set(states) == {"Escalate", "Remind", "Give up"}


def test_two_tasks_in_one_state_machine_have_state_names_of_their_own(states_of):
    states = states_of("TwoTasksMachine")

    assert set(states) == {
        "Approve",
        "ApproveTimedOut",
        "Read the Approve error",
        "ApproveFailed",
        "ApproveFailed in Step Functions",
        "Countersign",
        "CountersignTimedOut",
        "Read the Countersign error",
        "CountersignFailed",
        "CountersignFailed in Step Functions",
    }
    assert states["Approve"]["Next"] == "Countersign"
    assert [catch["Next"] for catch in states["Countersign"]["Catch"]] == [
        "CountersignTimedOut",
        "Read the Countersign error",
    ]


# Each refused prop: (id, props given the receivers, what the message says after "PausableTask '<id>': ").
JSONATA = sfn.QueryLanguage.JSONATA
REFUSED: dict[str, tuple[str, Callable[[Receivers], dict[str, Any]], str]] = {
    "result_path in a JSONata task": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "query_language": JSONATA, "result_path": "$.r"},
        "result_path belongs to JSONPath tasks, and this one is JSONata: give output= or assign= instead",
    ),
    "output in a JSONPath task": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "output": "{% $states.result %}"},
        "output belongs to JSONata tasks, and this one is JSONPath: give result_path= instead",
    ),
    "a timeout path in a JSONata task": (
        "Approve",
        lambda to: {"function": to.function, "timeout": sfn.Timeout.at("$.s"), "query_language": JSONATA},
        "timeout reads a JSONPath ($.s) and the task is JSONata: give sfn.Timeout.jsonata('{% ... %}') or a duration",
    ),
    "a JSONata timeout in a JSONPath task": (
        "Approve",
        lambda to: {"function": to.function, "timeout": sfn.Timeout.jsonata("{% 60 %}")},
        "timeout is a JSONata expression and the task is JSONPath: give query_language=JSONATA",
    ),
    "a JSONPath value, nested, in a JSONata task": (
        "Approve",
        lambda to: {
            "function": to.function,
            "timeout": HALF_AN_HOUR,
            "query_language": JSONATA,
            "payload": {"order": {"id": sfn.JsonPath.string_at("$.id")}},
        },
        "payload keys order.id are JSONPath; in a JSONata task a value is an expression: "
        '{"key": "{% $states.input.x %}"}',
    ),
    "a JSONPath payload key in a JSONata task": (
        "Approve",
        lambda to: {
            "function": to.function,
            "timeout": HALF_AN_HOUR,
            "query_language": JSONATA,
            "payload": {"order.$": "$.order"},
        },
        "payload keys order.$ are JSONPath; in a JSONata task a value is an expression: "
        '{"key": "{% $states.input.x %}"}',
    ),
    "no receiver": (
        "Approve",
        lambda to: {"timeout": HALF_AN_HOUR},
        "give exactly one of function, queue, topic or approval to hand the task token to, not none",
    ),
    "two receivers": (
        "Approve",
        lambda to: {"function": to.function, "topic": to.topic, "timeout": HALF_AN_HOUR},
        "give exactly one of function, queue, topic or approval to hand the task token to, not function and topic",
    ),
    "a FIFO queue": (
        "Approve",
        lambda to: {"queue": sqs.Queue(cdk.Stack.of(to.queue), "Ordered", fifo=True), "timeout": HALF_AN_HOUR},
        "queue is a FIFO queue, which takes a message only with a MessageGroupId, and the task sends none: "
        "give a standard queue",
    ),
    "a FIFO topic": (
        "Approve",
        lambda to: {"topic": sns.Topic(cdk.Stack.of(to.topic), "Ordered", fifo=True), "timeout": HALF_AN_HOUR},
        "topic is a FIFO topic, which takes a message only with a MessageGroupId, and the task sends none: "
        "give a standard topic",
    ),
    "a heartbeat as long as the timeout": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "heartbeat": Duration.hours(1)},
        "heartbeat (PT1H) must be shorter than timeout (PT30M)",
    ),
    "a heartbeat under a second": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "heartbeat": Duration.millis(500)},
        "heartbeat (PT0.5S) must be a whole number of seconds, at least 1",
    ),
    "a zero timeout": (
        "Approve",
        lambda to: {"function": to.function, "timeout": sfn.Timeout.duration(Duration.seconds(0))},
        "timeout (PT0S) must be from 1 second to a year (P365D)",
    ),
    "a timeout over a year": (
        "Approve",
        lambda to: {"function": to.function, "timeout": sfn.Timeout.duration(Duration.days(366))},
        "timeout (P366D) must be from 1 second to a year (P365D)",
    ),
    "a payload setting the token": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "payload": {"taskToken": "mine"}},
        "payload may not set taskToken: the task sets taskToken and executionId itself",
    ),
    "a payload setting the execution id from a path": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "payload": {"executionId.$": "$.id"}},
        "payload may not set executionId.$",
    ),
    "a failure path that replaces the whole state": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "failure_path": "$"},
        "failure_path ($) must be a field of the state, like $.failure",
    ),
    "a timeout path the caught error overwrites": (
        "Approve",
        lambda to: {"function": to.function, "timeout": sfn.Timeout.at("$.failure.seconds")},
        "timeout ($.failure.seconds) is read again after a timeout",
    ),
    "an error prefix in Step Functions' namespace": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "error_prefix": "States.Approval"},
        "error_prefix ('States.Approval') must start with a letter, hold only letters, digits, - and _",
    ),
    "an error prefix too long for the state names": (
        "Approve",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "error_prefix": "A" * 57},
        f"error_prefix ('{'A' * 57}') must start with a letter, hold only letters, digits, - and _, "
        "and have at most 56 characters: error and state names are made from it",
    ),
    "an id that gives no error prefix": (
        "2nd approval",
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR},
        "error_prefix cannot be derived from the id ('2ndApproval' is not a valid one): give it",
    ),
    "an id too long for a state name": (
        "A" * 81,
        lambda to: {"function": to.function, "timeout": HALF_AN_HOUR, "error_prefix": "Approve"},
        "id names the task state, and a state's name has at most 80 characters",
    ),
}


@pytest.mark.parametrize(("task_id", "props", "message"), REFUSED.values(), ids=REFUSED.keys())
def test_props_that_cannot_work_are_refused_with_a_message_naming_the_prop(task_id, props, message):
    stack = cdk.Stack(cdk.App(), "Refused")
    to = Receivers(stack)

    with pytest.raises(ValueError, match=r"^PausableTask '") as refused:
        PausableTask(stack, task_id, **props(to))

    assert str(refused.value).startswith(f"PausableTask '{task_id}': {message}")
    assert stack.node.try_find_child(task_id) is None  # nothing half-built is left in the tree


def test_a_heartbeat_with_a_timeout_read_from_the_state_is_accepted():
    stack = cdk.Stack(cdk.App(), "Accepted")

    task = PausableTask(
        stack,
        "Approve",
        function=Receivers(stack).function,
        timeout=sfn.Timeout.at("$.seconds"),
        heartbeat=Duration.hours(1),
    )

    assert task.error_prefix == "Approve"


def test_a_jsonata_task_hands_the_token_in_its_arguments_and_ends_in_jsonata_states():
    app = cdk.App()
    stack = cdk.Stack(app, "JsonataTasks")
    to = Receivers(stack)
    task = PausableTask(
        stack,
        "Approve order",
        query_language=JSONATA,
        function=to.function,
        timeout=sfn.Timeout.jsonata("{% $states.input.seconds %}"),
        heartbeat=Duration.minutes(5),
        payload={"orderId": "{% $states.input.orderId %}"},
        assign={"approval": "{% $states.result %}"},
    )
    PausableStateMachine(stack, "Machine", definition=task, query_language=JSONATA)

    definition = synthesize(app, stack).definition("Machine")
    states = definition["States"]

    assert definition["QueryLanguage"] == "JSONata"
    approve = states["Approve order"]
    assert approve["Arguments"]["Payload"] == {
        "taskToken": "{% $states.context.Task.Token %}",
        "executionId": "{% $states.context.Execution.Id %}",
        "orderId": "{% $states.input.orderId %}",
    }
    assert approve["TimeoutSeconds"] == "{% $states.input.seconds %}"
    assert approve["Assign"] == {"approval": "{% $states.result %}"}
    [heartbeat, timeout, failure] = approve["Catch"]
    assert heartbeat == {"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "ApproveOrderHeartbeatTimedOut"}
    assert timeout["Output"] == ("{% $merge([$states.errorOutput, {'allowedSeconds': ($states.input.seconds)}]) %}")
    assert states["ApproveOrderTimedOut"]["Cause"] == (
        "{% 'No callback arrived in time (States.Timeout; the task allows ' & $string($states.input.allowedSeconds)"
        " & ' seconds).' %}"
    )
    assert failure == {"ErrorEquals": ["States.ALL"], "Next": "Read the ApproveOrder error"}
    [rule] = states["Read the ApproveOrder error"]["Choices"]
    assert rule["Condition"] == "{% $substring($string($states.input.Error), 0, 7) = 'States.' %}"
    assert not [name for name, state in states.items() if {"Parameters", "ResultPath", "CausePath"} & set(state)]


def test_a_jsonata_state_machine_refuses_a_jsonpath_task():
    stack = cdk.Stack(cdk.App(), "Mixed")
    task = PausableTask(stack, "Approve", function=Receivers(stack).function, timeout=HALF_AN_HOUR)

    with pytest.raises(ValueError, match="the state machine is JSONata and the tasks Approve are JSONPath"):
        PausableStateMachine(stack, "Machine", definition=task, query_language=JSONATA)
