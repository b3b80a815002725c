"""Where a waiting task's token is: read exactly where its state machine's definition puts it, for any
integration and any field name; never guessed. Definitions and events as Step Functions writes them;
no AWS, no emulator."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from pausable_sfn.contracts import fingerprint
from pausable_sfn.ops.errors import TokenNotFoundError
from pausable_sfn.ops.history import scheduled_task
from pausable_sfn.ops.tokens import FoundToken, TokenLocator, show, token_paths

from .conftest import TOKEN

AT = datetime(2026, 11, 26, tzinfo=UTC)
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
TOPIC = "arn:aws:sns:us-east-1:123456789012:approvals"


def definition(*states: tuple[str, dict[str, Any]]) -> str:
    """A state machine that runs `states` one after the other."""
    names = [name for name, _ in states]
    body = {}
    for index, (name, state) in enumerate(states):
        follows = {"Next": names[index + 1]} if index + 1 < len(names) else {"End": True}
        body[name] = {**state, **follows}
    return json.dumps({"StartAt": names[0], "States": body})


def task(resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Task", "Resource": f"arn:aws:states:::{resource}.waitForTaskToken", "Parameters": parameters}


LAMBDA = task(
    "lambda:invoke",
    {"FunctionName": "CallAsyncService", "Payload": {"taskToken.$": "$$.Task.Token", "isManualCallback.$": "$.manual"}},
)
SQS = task("sqs:sendMessage", {"QueueUrl": QUEUE, "MessageBody": {"taskToken.$": "$$.Task.Token", "job.$": "$.job"}})
SNS = task("sns:publish", {"TopicArn": TOPIC, "Message": {"taskToken.$": "$$.Task.Token"}})


def locate(
    state_definition: dict[str, Any], parameters: Any, state: str = "Wait", manual_flag: str | None = "isManualCallback"
) -> tuple[str, bool | None]:
    """The token found, and the manual flag beside it."""
    found = find(state_definition, parameters, state=state, manual_flag=manual_flag)
    return found.token, found.manual


def find(
    state_definition: dict[str, Any], parameters: Any, state: str = "Wait", manual_flag: str | None = "isManualCallback"
) -> FoundToken:
    resolved = parameters if isinstance(parameters, str) else json.dumps(parameters)
    return TokenLocator(definition((state, state_definition)), manual_flag=manual_flag).locate(state, resolved)


def test_a_lambda_task_has_its_token_in_the_payload_with_the_manual_flag_beside_it():
    parameters = {"FunctionName": "CallAsyncService", "Payload": {"taskToken": TOKEN, "isManualCallback": True}}

    assert locate(LAMBDA, parameters) == (TOKEN, True)


def test_the_manual_flag_is_read_only_when_the_caller_names_one():
    parameters = {"FunctionName": "CallAsyncService", "Payload": {"taskToken": TOKEN, "isManualCallback": True}}

    assert locate(LAMBDA, parameters, manual_flag=None) == (TOKEN, None)


def test_an_sqs_task_has_its_token_in_the_message_body():
    parameters = {"QueueUrl": QUEUE, "MessageBody": {"taskToken": TOKEN, "job": "j-1"}}

    assert locate(SQS, parameters) == (TOKEN, None)


def test_an_sqs_message_body_recorded_as_a_json_string_is_read_too():
    parameters = {"QueueUrl": QUEUE, "MessageBody": json.dumps({"taskToken": TOKEN, "job": "j-1"})}

    assert locate(SQS, parameters) == (TOKEN, None)


@pytest.mark.parametrize("as_text", [False, True], ids=["object", "json-string"])
def test_an_sns_task_has_its_token_in_the_message_as_an_object_or_a_string(as_text):
    message = {"taskToken": TOKEN, "isManualCallback": False}
    parameters = {"TopicArn": TOPIC, "Message": json.dumps(message) if as_text else message}

    assert locate(SNS, parameters) == (TOKEN, False)


def test_a_field_of_any_name_the_author_chose_is_where_the_token_is():
    state = task("sqs:sendMessage", {"QueueUrl": QUEUE, "MessageBody": {"resumeWith.$": "$$.Task.Token", "id": 7}})
    # A decoy: a field named like the usual one, which the definition does not fill with the token.
    parameters = {"QueueUrl": QUEUE, "MessageBody": {"resumeWith": TOKEN, "taskToken": "not-the-token", "id": 7}}

    assert locate(state, parameters) == (TOKEN, None)


def test_a_token_nested_deep_in_objects_and_arrays_is_found_at_its_path():
    state = task(
        "events:putEvents",
        {"Entries": [{"Source": "orders", "Detail": {"callback": {"token.$": "$$.Task.Token"}}}]},
    )
    parameters = {"Entries": [{"Source": "orders", "Detail": {"callback": {"token": TOKEN}}}]}

    assert token_paths(json.loads(definition(("Wait", state)))["States"]["Wait"]) == [
        ("Entries", 0, "Detail", "callback", "token")
    ]
    assert show(("Entries", 0, "Detail", "callback", "token")) == "Entries[0].Detail.callback.token"
    assert locate(state, parameters) == (TOKEN, None)


def test_a_jsonata_task_has_its_token_where_its_arguments_put_the_context_token():
    state = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Arguments": {"QueueUrl": QUEUE, "MessageBody": {"token": "{% $states.context.Task.Token %}"}},
    }

    assert locate(state, {"QueueUrl": QUEUE, "MessageBody": {"token": TOKEN}}) == (TOKEN, None)


def test_a_token_inside_a_string_is_not_guessed_at_and_the_error_names_the_state():
    state = task(
        "sns:publish",
        {"TopicArn": TOPIC, "Message.$": "States.Format('Approve with {}', $$.Task.Token)"},
    )
    parameters = {"TopicArn": TOPIC, "Message": f"Approve with {TOKEN}"}

    with pytest.raises(TokenNotFoundError) as raised:
        locate(state, parameters, state="Ask the manager")

    message = str(raised.value)
    assert message.startswith("cannot find the task token of state 'Ask the manager': ")
    assert "States.Format" in message
    assert TOKEN not in message


def test_parameters_without_the_token_where_the_definition_puts_it_are_an_error_naming_the_path():
    with pytest.raises(TokenNotFoundError) as raised:
        locate(SQS, {"QueueUrl": QUEUE, "MessageBody": {"job": "j-1"}, "elsewhere": TOKEN})

    assert "state 'Wait'" in str(raised.value)
    assert "no token at MessageBody.taskToken" in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_a_state_the_definition_does_not_have_is_an_error_naming_it():
    locator = TokenLocator(definition(("Wait", SQS)))

    with pytest.raises(TokenNotFoundError, match="state 'Gone'"):
        locator.locate("Gone", json.dumps({"MessageBody": {"taskToken": TOKEN}}))


@pytest.mark.parametrize(
    "container",
    [
        lambda state: {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Other", "States": {"Other": {"Type": "Succeed"}}},
                {"StartAt": "Wait", "States": {"Wait": state}},
            ],
        },
        lambda state: {"Type": "Map", "ItemProcessor": {"StartAt": "Wait", "States": {"Wait": state}}},
        lambda state: {"Type": "Map", "Iterator": {"StartAt": "Wait", "States": {"Wait": state}}},
    ],
    ids=["parallel-branch", "map-item-processor", "map-iterator"],
)
def test_a_task_inside_a_parallel_branch_or_a_map_iteration_is_found(container):
    waiting = {**SNS, "End": True}
    locator = TokenLocator(
        json.dumps({"StartAt": "Fan out", "States": {"Fan out": {**container(waiting), "End": True}}})
    )

    assert locator.locate("Wait", json.dumps({"TopicArn": TOPIC, "Message": {"taskToken": TOKEN}})).token == TOKEN


# A task that waits on a correlation key invokes its channel's registrar: the key beside the token,
# the task's own fields (the manual flag among them) one level down, in "payload".

REGISTRAR = "arn:aws:lambda:us-east-1:123456789012:function:RegisterCorrelationKey"
KEYED_JSONPATH = task(
    "lambda:invoke",
    {
        "FunctionName": REGISTRAR,
        "Payload": {
            "taskToken.$": "$$.Task.Token",
            "executionId.$": "$$.Execution.Id",
            "correlationKey.$": "$.jobId",
            "payload": {"isManualCallback.$": "$.isManualCallback", "jobDurationSeconds.$": "$.duration"},
        },
    },
)
KEYED_JSONATA = {
    "Type": "Task",
    "QueryLanguage": "JSONata",
    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Arguments": {
        "FunctionName": REGISTRAR,
        "Payload": {
            "taskToken": "{% $states.context.Task.Token %}",
            "correlationKey": "{% $states.input.jobId %}",
            "payload": {"isManualCallback": "{% $states.input.isManualCallback %}"},
        },
    },
}


def registrar_parameters(key: Any, *, manual: bool = False, **beside: Any) -> dict[str, Any]:
    """A keyed task's parameters as its TaskScheduled event records them."""
    return {
        "FunctionName": REGISTRAR,
        "Payload": {
            "taskToken": TOKEN,
            "executionId": "arn:aws:states:us-east-1:123456789012:execution:Jobs:job-1",
            "correlationKey": key,
            "stateMachine": "arn:aws:states:us-east-1:123456789012:stateMachine:Jobs",
            "state": "Wait",
            "pausedAt": "2026-11-26T08:00:00.000Z",
            "timeoutSeconds": 3600,
            "keyInUseError": "LongJobKeyInUse",
            "receiver": {"function": "arn:aws:lambda:us-east-1:123456789012:function:CallAsyncService"},
            "payload": {"isManualCallback": manual, "jobDurationSeconds": 10},
            **beside,
        },
    }


@pytest.mark.parametrize("state", [KEYED_JSONPATH, KEYED_JSONATA], ids=["jsonpath", "jsonata"])
def test_a_keyed_task_has_its_key_beside_the_token_and_its_manual_flag_in_its_own_fields(state):
    # GIVEN a task that waits on a job's id, as the registrar is invoked with it
    parameters = registrar_parameters("order-42", manual=False)

    # WHEN its token is located
    found = find(state, parameters)

    # THEN the key and the flag come with it
    assert (found.token, found.manual, found.key) == (TOKEN, False, "order-42")


@pytest.mark.parametrize(("key", "text"), [(42, "42"), (4.5, "4.5"), ("42", "42")])
def test_a_key_that_is_a_number_is_its_json_text_as_the_registry_compares_it(key, text):
    assert find(KEYED_JSONPATH, registrar_parameters(key)).key == text


@pytest.mark.parametrize("key", [None, True, "", {"id": 1}], ids=["null", "boolean", "empty", "object"])
def test_a_null_or_a_value_no_registry_takes_is_no_key(key):
    # GIVEN a manual execution's task: it waits by token only (correlationKey null)
    found = find(KEYED_JSONPATH, registrar_parameters(key, manual=True))

    assert (found.token, found.manual, found.key) == (TOKEN, True, None)


def test_the_manual_flag_beside_the_token_is_read_before_the_one_in_the_task_s_own_fields():
    found = find(KEYED_JSONPATH, registrar_parameters("job-1", manual=False, isManualCallback=True))

    assert found.manual is True


def test_a_task_without_a_key_has_none_and_a_key_elsewhere_is_not_its_key():
    # GIVEN a task that hands its token out, with a correlationKey away from the token
    parameters = {"FunctionName": "CallAsyncService", "Payload": {"taskToken": TOKEN, "isManualCallback": True}}
    parameters["correlationKey"] = "not-beside-the-token"

    assert find(LAMBDA, parameters).key is None


def test_a_found_token_s_repr_shows_its_fingerprint_never_the_token():
    found = find(KEYED_JSONPATH, registrar_parameters("order-42"))

    assert TOKEN not in repr(found)
    assert fingerprint(TOKEN) in repr(found)


# The waiting task in a history: the live attempt of a .waitForTaskToken task.


def event(number: int, kind: str, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": number, "type": kind, "timestamp": AT}
    if kind == "TaskStateEntered":
        body["stateEnteredEventDetails"] = {"name": details["name"]}
    if kind == "TaskScheduled":
        body["taskScheduledEventDetails"] = {
            "resourceType": details.get("resource_type", "sqs"),
            "resource": details.get("resource", "sendMessage.waitForTaskToken"),
            "region": "us-east-1",
            "parameters": json.dumps({"QueueUrl": QUEUE, "MessageBody": {"taskToken": details["token"]}}),
        }
    return body


def test_a_retried_task_gives_the_token_of_its_live_attempt_only():
    events = [
        event(1, "ExecutionStarted"),
        event(2, "TaskStateEntered", name="Wait"),
        event(3, "TaskScheduled", token="first-attempt"),
        event(4, "TaskStarted"),
        event(5, "TaskSubmitted"),
        event(6, "TaskTimedOut"),  # retried: a new attempt, a new token
        event(7, "TaskScheduled", token=TOKEN),
        event(8, "TaskStarted"),
        event(9, "TaskSubmitted"),
    ]

    task = scheduled_task(events)

    assert task is not None
    assert (task.state, task.resource, task.scheduled_at) == ("Wait", "sqs:sendMessage.waitForTaskToken", AT)
    assert TokenLocator(definition(("Wait", SQS))).locate(task.state, task.parameters).token == TOKEN
    assert scheduled_task(events[:6]) is None  # between the attempts, nothing waits
    assert task.submitted
    scheduled_only = scheduled_task(events[:8])  # the live attempt, not yet handed off
    assert scheduled_only is not None
    assert not scheduled_only.submitted


def test_a_task_that_does_not_wait_for_a_token_is_not_a_waiting_task():
    events = [
        event(1, "ExecutionStarted"),
        event(2, "TaskStateEntered", name="Send"),
        event(3, "TaskScheduled", token="none", resource="sendMessage"),
        event(4, "TaskStarted"),
    ]

    assert scheduled_task(events) is None


def test_the_parameters_that_carry_a_token_are_never_in_a_repr():
    task = scheduled_task([event(1, "TaskStateEntered", name="Wait"), event(2, "TaskScheduled", token=TOKEN)])

    assert TOKEN not in repr(task)
