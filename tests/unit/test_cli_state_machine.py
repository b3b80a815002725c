"""The operator commands on any state machine, named by --state-machine ARN: no CloudFormation call,
names resolved against it, the token of whichever state waits, and one line for each mistake.
AWS is stubbed (botocore's Stubber): each call a command makes must be one the test queued."""

import json
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pausable_sfn.contracts import fingerprint
from pausable_sfn.ops.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE

from .conftest import TOKEN

ORDERS = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
TOPIC = "arn:aws:sns:us-east-1:123456789012:approvals"
NOW = datetime.now(UTC)
OTHER_TOKEN = "BQCEAAAAKgAAAAMAAAAAAAAAA" + "y" * 600

DEFINITION = json.dumps(
    {
        "StartAt": "Ask the warehouse",
        "States": {
            "Ask the warehouse": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": QUEUE,
                    "MessageBody": {"order.$": "$.order", "resumeWith.$": "$$.Task.Token"},
                },
                "Next": "Ask the manager",
            },
            "Ask the manager": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": TOPIC, "Message": {"taskToken.$": "$$.Task.Token"}},
                "Next": "Tell the customer",
            },
            "Tell the customer": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish.waitForTaskToken",
                "Parameters": {"TopicArn": TOPIC, "Message.$": "States.Format('Reply with {}', $$.Task.Token)"},
                "End": True,
            },
        },
    }
)
PARAMETERS = {
    "Ask the warehouse": (
        "sqs",
        "sendMessage.waitForTaskToken",
        {"QueueUrl": QUEUE, "MessageBody": {"resumeWith": TOKEN}},
    ),
    "Ask the manager": ("sns", "publish.waitForTaskToken", {"TopicArn": TOPIC, "Message": {"taskToken": OTHER_TOKEN}}),
    "Tell the customer": ("sns", "publish.waitForTaskToken", {"TopicArn": TOPIC, "Message": f"Reply with {TOKEN}"}),
}


def execution_arn(name: str) -> str:
    return f"arn:aws:states:us-east-1:123456789012:execution:Orders:{name}"


def waiting_at(state: str, scheduled: datetime = NOW) -> list[dict[str, Any]]:
    """The newest events of an execution whose task waits in `state`, newest first, as GetExecutionHistory
    gives them with reverseOrder."""
    resource_type, resource, parameters = PARAMETERS[state]
    return task_waiting_events(state, resource_type, resource, parameters, scheduled)


def task_waiting_events(
    state: str, resource_type: str, resource: str, parameters: dict[str, Any], scheduled: datetime = NOW
) -> list[dict[str, Any]]:
    """The newest events, newest first, of an execution whose task of `state` was sent `parameters`."""
    task = {"resourceType": resource_type, "resource": resource}
    return [
        {"id": 5, "type": "TaskSubmitted", "timestamp": scheduled, "taskSubmittedEventDetails": task},
        {"id": 4, "type": "TaskStarted", "timestamp": scheduled, "taskStartedEventDetails": task},
        {
            "id": 3,
            "type": "TaskScheduled",
            "timestamp": scheduled,
            "taskScheduledEventDetails": {**task, "region": "us-east-1", "parameters": json.dumps(parameters)},
        },
        {"id": 2, "type": "TaskStateEntered", "timestamp": scheduled, "stateEnteredEventDetails": {"name": state}},
    ]


def running_execution(arn: str, machine: str, name: str, started: datetime) -> dict[str, Any]:
    """An execution as ListExecutions lists a running one."""
    return {"executionArn": arn, "stateMachineArn": machine, "name": name, "status": "RUNNING", "startDate": started}


def queue_paused(aws, name: str, state: str) -> None:
    aws("stepfunctions").add_response(
        "get_execution_history",
        {"events": waiting_at(state)},
        {
            "executionArn": execution_arn(name),
            "reverseOrder": True,
            "includeExecutionData": True,
            "maxResults": 8,
        },
    )


def queue_definition(aws) -> None:
    """DescribeStateMachine's answer, once."""
    aws("stepfunctions").add_response(
        "describe_state_machine",
        {
            "stateMachineArn": ORDERS,
            "name": "Orders",
            "status": "ACTIVE",
            "definition": DEFINITION,
            "roleArn": "arn:aws:iam::123456789012:role/orders",
            "type": "STANDARD",
            "creationDate": NOW,
        },
        {"stateMachineArn": ORDERS},
    )


def queue_definition_for(aws, name: str) -> None:
    aws("stepfunctions").add_response(
        "describe_state_machine_for_execution",
        {
            "stateMachineArn": ORDERS,
            "name": "Orders",
            "definition": DEFINITION,
            "roleArn": "arn:aws:iam::123456789012:role/orders",
            "updateDate": NOW,
        },
        {"executionArn": execution_arn(name)},
    )


@pytest.fixture
def one_at_a_time(monkeypatch) -> None:
    """The histories read one after the other, in order: a Stubber answers its queue in order."""

    class InOrder:
        def __init__(self, max_workers: int) -> None:
            pass

        def __enter__(self) -> "InOrder":
            return self

        def __exit__(self, *exc_info: object) -> None:
            pass

        def map(self, function, items):
            return [function(item) for item in items]

        def submit(self, function, *args):
            future = Future()
            future.set_result(function(*args))
            return future

    monkeypatch.setattr("pausable_sfn.ops.operations.ThreadPoolExecutor", InOrder)


def no_cloudformation_call(aws) -> bool:
    return "cloudformation" not in aws.stubbers


@pytest.mark.parametrize(
    ("command", "call", "arguments"),
    [
        (("resume", "--output", '{"ok": true}'), "send_task_success", {"output": '{"ok": true}'}),
        (("fail", "--error", "Rejected", "--cause", "no"), "send_task_failure", {"error": "Rejected", "cause": "no"}),
        (("heartbeat",), "send_task_heartbeat", {}),
    ],
    ids=lambda value: value[0] if isinstance(value, tuple) else None,
)
def test_a_command_on_an_execution_name_sends_the_token_of_the_task_that_waits_under_the_authors_key(
    aws, cli, command, call, arguments
):
    queue_paused(aws, "order-7", "Ask the warehouse")
    queue_definition_for(aws, "order-7")
    aws("stepfunctions").add_response(call, {}, {"taskToken": TOKEN, **arguments})

    code, out, err = cli(command[0], "order-7", *command[1:], "--state-machine", ORDERS)

    assert (code, err) == (EXIT_OK, "")
    assert "order-7" in out
    aws("stepfunctions").assert_no_pending_responses()
    assert no_cloudformation_call(aws)


def test_the_token_is_that_of_whichever_state_waits_now(aws, cli):
    queue_paused(aws, "order-8", "Ask the manager")
    queue_definition_for(aws, "order-8")
    aws("stepfunctions").add_response(
        "send_task_success", {}, {"taskToken": OTHER_TOKEN, "output": '{"resumed": true}'}
    )

    code, _, err = cli("resume", "order-8", "--state-machine", ORDERS)

    assert (code, err) == (EXIT_OK, "")
    aws("stepfunctions").assert_no_pending_responses()


def test_paused_lists_executions_at_any_waiting_state_and_reads_the_definition_once(aws, cli, one_at_a_time):
    executions = [
        running_execution(execution_arn(name), ORDERS, name, NOW - timedelta(minutes=5))
        for name in ("order-1", "order-2")
    ]
    aws("stepfunctions").add_response(
        "list_executions",
        {"executions": executions},
        {"stateMachineArn": ORDERS, "statusFilter": "RUNNING", "maxResults": 1000},
    )
    queue_paused(aws, "order-1", "Ask the warehouse")
    queue_definition(aws)  # once: the second execution is read with the same definition
    queue_paused(aws, "order-2", "Ask the manager")

    code, out, err = cli("paused", "--state-machine", ORDERS, "--json")

    assert (code, err) == (EXIT_OK, ""), err
    rows = {row["name"]: row for row in json.loads(out)}
    assert {name: (row["state"], row["mode"], row["taskToken"]) for name, row in rows.items()} == {
        "order-1": ("Ask the warehouse", None, fingerprint(TOKEN)),
        "order-2": ("Ask the manager", None, fingerprint(OTHER_TOKEN)),
    }
    assert TOKEN not in out
    aws("stepfunctions").assert_no_pending_responses()
    assert no_cloudformation_call(aws)


def test_paused_shows_the_state_column_and_no_mode_where_the_payload_has_no_manual_flag(aws, cli, one_at_a_time):
    execution = {
        "executionArn": execution_arn("order-3"),
        "stateMachineArn": ORDERS,
        "name": "order-3",
        "status": "RUNNING",
        "startDate": NOW,
    }
    aws("stepfunctions").add_response("list_executions", {"executions": [execution]})
    queue_paused(aws, "order-3", "Ask the manager")
    queue_definition(aws)

    code, out, _ = cli("paused", "--state-machine", ORDERS)

    assert code == EXIT_OK
    header, row = out.splitlines()[1:]
    assert header.split() == ["NAME", "STATE", "STARTED", "AT", "PAUSED", "FOR", "MODE", "KEY", "TASK", "TOKEN"]
    assert row.startswith("order-3  Ask the manager  ")
    assert row.split()[-3:] == ["-", "-", fingerprint(OTHER_TOKEN)]  # no mode, no key


def test_a_state_whose_definition_puts_the_token_inside_a_string_is_named_and_nothing_is_sent(aws, cli):
    queue_paused(aws, "order-9", "Tell the customer")
    queue_definition_for(aws, "order-9")

    code, out, err = cli("resume", "order-9", "--state-machine", ORDERS)

    assert (code, out) == (EXIT_FAILED, "")
    [line] = err.splitlines()
    assert line.startswith("pausable-sfn: cannot find the task token of state 'Tell the customer': ")
    assert line.endswith("; pass it with --token")
    assert TOKEN not in err
    aws("stepfunctions").assert_no_pending_responses()  # and no SendTaskSuccess: none was queued


def test_an_execution_that_waits_at_no_task_token_is_not_paused(aws, cli):
    entered = {"id": 2, "type": "WaitStateEntered", "timestamp": NOW, "stateEnteredEventDetails": {"name": "Wait"}}
    aws("stepfunctions").add_response("get_execution_history", {"events": [entered]})
    aws("stepfunctions").add_response(
        "describe_execution",
        {"executionArn": execution_arn("order-4"), "stateMachineArn": ORDERS, "status": "RUNNING", "startDate": NOW},
    )

    code, _, err = cli("heartbeat", "order-4", "--state-machine", ORDERS)

    assert code == EXIT_FAILED
    assert err == "pausable-sfn: execution order-4 is not paused: no .waitForTaskToken task waits in it now\n"


def test_a_state_machine_that_does_not_exist_is_named_in_one_line(aws, cli):
    aws.refuse("stepfunctions", "list_executions", "StateMachineDoesNotExist", "State Machine Does Not Exist: 'x'")

    code, out, err = cli("paused", "--state-machine", ORDERS)

    assert (code, out) == (EXIT_FAILED, "")
    assert err == f"pausable-sfn: state machine {ORDERS} not found in us-east-1\n"
    assert no_cloudformation_call(aws)


@pytest.mark.parametrize(
    "arn",
    [
        "Orders",
        "arn:aws:states:us-east-1:123456789012:execution:Orders:order-7",
        "arn:aws:states:us-east-1:1234:stateMachine:Orders",
        "arn:aws:lambda:us-east-1:123456789012:function:Orders",
    ],
)
@pytest.mark.parametrize("command", [("paused",), ("resume", "order-7"), ("history", "order-7")], ids=" ".join)
def test_a_malformed_state_machine_arn_is_a_usage_error_in_one_line(aws, cli, command, arn):
    code, out, err = cli(*command, "--state-machine", arn)

    assert (code, out) == (EXIT_USAGE, "")
    assert err == (
        "pausable-sfn: --state-machine takes a state machine ARN "
        f"(arn:aws:states:REGION:ACCOUNT:stateMachine:NAME), not {arn!r}\n"
    )
    assert aws.stubbers == {}  # nothing was asked of AWS


def test_a_task_token_pasted_as_the_state_machine_is_not_echoed(aws, cli):
    code, _, err = cli("paused", "--state-machine", TOKEN)

    assert code == EXIT_USAGE
    assert TOKEN not in err
    assert err.endswith(f"not a value of {len(TOKEN)} characters\n")


@pytest.mark.parametrize("command", ["resume", "fail", "heartbeat", "history"])
def test_a_task_token_pasted_as_the_execution_is_refused_without_being_echoed(aws, cli, command):
    extra = ("--error", "E", "--cause", "C") if command == "fail" else ()

    code, _, err = cli(command, TOKEN, "--state-machine", ORDERS, *extra)

    assert code == EXIT_USAGE
    assert TOKEN not in err
    # (A call to AWS would have met a stub with no answer queued: an error of another kind.)
    assert err.endswith(f"not {len(TOKEN)} characters (a task token? pass it with --token)\n")


@pytest.mark.parametrize(("error", "cause"), [("E" * 257, "why"), ("Rejected", "c" * 32769)])
def test_an_error_or_cause_longer_than_step_functions_takes_is_refused_before_any_call(aws, cli, error, cause):
    code, _, err = cli("fail", "--token", "a-token", "--error", error, "--cause", cause)

    assert code == EXIT_USAGE
    assert "an error of at most 256 characters and a cause of at most 32768" in err
    assert aws.stubbers == {}


def test_stack_and_state_machine_together_are_a_usage_error(aws, cli):
    code, _, err = cli("paused", "--stack", "PausableStepFunctionStack", "--state-machine", ORDERS)

    assert code == EXIT_USAGE
    assert "--state-machine: not allowed with argument --stack" in err


def test_a_region_other_than_the_state_machines_is_a_usage_error(aws, cli):
    code, _, err = cli("paused", "--state-machine", ORDERS.replace("us-east-1", "eu-west-1"), "--region", "us-east-1")

    assert code == EXIT_USAGE
    assert err == "pausable-sfn: the state machine is in eu-west-1, not in --region us-east-1\n"


def test_via_lambda_needs_the_stack_and_says_so_before_any_call(aws, cli):
    code, _, err = cli("resume", "order-7", "--via-lambda", "--state-machine", ORDERS)

    assert code == EXIT_USAGE
    assert "--via-lambda invokes the stack's ResumeStepFunctionLambda: pass --stack, not --state-machine" in err
    assert aws.stubbers == {}


def test_an_execution_of_a_version_resolves_against_the_state_machine_itself(aws, cli):
    queue_paused(aws, "order-5", "Ask the warehouse")
    queue_definition_for(aws, "order-5")
    aws("stepfunctions").add_response("send_task_heartbeat", {}, {"taskToken": TOKEN})

    code, _, err = cli("heartbeat", "order-5", "--state-machine", f"{ORDERS}:3")

    assert (code, err) == (EXIT_OK, "")
    aws("stepfunctions").assert_no_pending_responses()


# A stack that is not there is told by the error code, not by the words of the message.


def test_a_stack_that_does_not_exist_is_told_by_the_code_cloudformation_gives(aws, cli):
    aws.refuse("cloudformation", "describe_stacks", "ValidationError", "any words at all")

    code, _, err = cli("paused", "--stack", "NoSuchStack")

    assert code == EXIT_FAILED
    assert err.startswith("pausable-sfn: stack NoSuchStack not found in us-east-1: ")


def test_another_error_that_says_does_not_exist_is_not_taken_for_a_missing_stack(aws, cli):
    aws.refuse("cloudformation", "describe_stacks", "AccessDenied", "the role does not exist")

    code, _, err = cli("paused")

    assert code == EXIT_FAILED
    assert err == "pausable-sfn: DescribeStacks failed: AccessDenied: the role does not exist\n"


def test_an_execution_started_before_an_update_is_read_with_the_definition_it_runs(aws, cli, one_at_a_time):
    execution = {
        "executionArn": execution_arn("order-6"),
        "stateMachineArn": ORDERS,
        "name": "order-6",
        "status": "RUNNING",
        "startDate": NOW,
    }
    updated = json.loads(DEFINITION)
    updated["States"]["Ask the warehouse"]["Parameters"]["MessageBody"] = {"token.$": "$$.Task.Token"}
    aws("stepfunctions").add_response("list_executions", {"executions": [execution]})
    queue_paused(aws, "order-6", "Ask the warehouse")
    aws("stepfunctions").add_response(
        "describe_state_machine",
        {
            "stateMachineArn": ORDERS,
            "name": "Orders",
            "definition": json.dumps(updated),  # now the token would be at MessageBody.token
            "roleArn": "arn:aws:iam::123456789012:role/orders",
            "type": "STANDARD",
            "creationDate": NOW,
        },
    )
    queue_definition_for(aws, "order-6")  # what it runs: MessageBody.resumeWith

    code, out, err = cli("paused", "--state-machine", ORDERS, "--json")

    assert (code, err) == (EXIT_OK, ""), err
    [row] = json.loads(out)
    assert (row["state"], row["taskToken"]) == ("Ask the warehouse", fingerprint(TOKEN))
