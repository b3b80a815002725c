"""The embedded AWS runs state machines as Step Functions does: JSONata, its functions, variables
and the query-language rules, case by case, with the inputs and results the AWS Step Functions
documentation gives (each case names its page) or that an execution on AWS recorded.

Every case fails on plain moto, which evaluates no JSONata and no variable (gap 8).
"""

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError, ProgramTimedOut

from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.local.stepfunctions.gaps import MAX_WAIT_SECONDS
from pausable_sfn.testing.waiting import wait_until

from .asset_code import python_function
from .execution_end import described_while_ending

ROLE = "arn:aws:iam::123456789012:role/conformance"
DOCS = "https://docs.aws.amazon.com/step-functions/latest/dg/"
JSONATA_PAGE = DOCS + "transforming-data.html"
VARIABLES_PAGE = DOCS + "workflow-variables.html"
CONTEXT_PAGE = DOCS + "input-output-contextobject.html"
ERRORS_PAGE = DOCS + "concepts-error-handling.html"
# Executions recorded on AWS, where the documentation shows no result.
RECORDED = "recorded on AWS"


@dataclass(frozen=True)
class Case:
    source: str
    definition: dict[str, Any]
    input: Any = field(default_factory=dict)
    output: Any = None
    error: str | None = None
    cause: str | None = None


def jsonata(*states: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A JSONata state machine of these states, each going to the next, the last ending."""
    names = [name for name, _ in states]
    chained = {
        name: {**state, **({"Next": names[n + 1]} if n + 1 < len(names) else {"End": True})}
        for n, (name, state) in enumerate(states)
        if state["Type"] not in ("Fail", "Succeed", "Choice")
    } | {name: state for name, state in states if state["Type"] in ("Fail", "Succeed", "Choice")}
    return {"QueryLanguage": "JSONata", "StartAt": names[0], "States": chained}


def output(expression: str) -> dict[str, Any]:
    return jsonata(("Compute", {"Type": "Pass", "Output": expression}))


def output_of(template: Any) -> dict[str, Any]:
    return jsonata(("Compute", {"Type": "Pass", "Output": template}))


CASES: dict[str, Case] = {
    # Transforming data with JSONata: the conversion of a JSONPath state to JSONata, with the
    # page's input and variable, and the result it shows.
    "a JSONata state's Arguments, templated": Case(
        JSONATA_PAGE,
        jsonata(
            ("Set", {"Type": "Pass", "Assign": {"customerName": "María"}}),
            (
                "Task",
                {
                    "Type": "Pass",
                    "Output": {
                        "static": "Hello",
                        "title": "{% $states.input.title %}",
                        "name": "{% $customerName %}",
                        "not-evaluated": "$customerName",
                    },
                },
            ),
        ),
        input={"title": "Doctor"},
        output={"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"},
    ),
    "$partition splits an array into chunks, the last one shorter": Case(
        JSONATA_PAGE,
        output("{% $partition([1,2,3,4,5,6,7,8,9,10], 3) %}"),
        output=[[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]],
    ),
    "$range counts from the start to the end, inclusive, by the step": Case(
        JSONATA_PAGE, output("{% $range(0, 10, 2) %}"), output=[0, 2, 4, 6, 8, 10]
    ),
    "$range of one item is that item (a JSONata sequence of one)": Case(
        RECORDED, output("{% $range(1, 9, 9) %}"), output=1
    ),
    "$hash gives the hexadecimal digest": Case(
        JSONATA_PAGE,
        output("{% $hash('abc', 'SHA-256') %}"),
        output=hashlib.sha256(b"abc").hexdigest(),
    ),
    "$hash takes MD5, SHA-1, SHA-384 and SHA-512 too": Case(
        JSONATA_PAGE,
        output("{% [$hash('a', 'MD5'), $hash('a', 'SHA-1'), $hash('a', 'SHA-384'), $hash('a', 'SHA-512')] %}"),
        output=[hashlib.new(name, b"a").hexdigest() for name in ("md5", "sha1", "sha384", "sha512")],
    ),
    "$random with a seed gives the same number every time": Case(
        JSONATA_PAGE, output("{% $random(42) = $random(42) and $random(42) >= 0 and $random(42) < 1 %}"), output=True
    ),
    "$random without a seed gives a number from 0 to 1": Case(
        JSONATA_PAGE, output("{% $random() >= 0 and $random() < 1 and $random() != $random() %}"), output=True
    ),
    "$uuid gives a version 4 UUID": Case(
        JSONATA_PAGE,
        output("{% $contains($uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/) %}"),
        output=True,
    ),
    "$parse reads JSON from a string": Case(
        JSONATA_PAGE,
        output("{% $parse($states.input.json) %}"),
        input={"json": '{"a": [1, "two"]}'},
        output={"a": [1, "two"]},
    ),
    "JSONata's own functions work": Case(
        JSONATA_PAGE,
        output("{% $sum($states.input.items.price) & ' ' & $uppercase('ok') %}"),
        input={"items": [{"price": 2}, {"price": 3}]},
        output="5 OK",
    ),
    "$states.context.Execution holds RedriveCount, 0 for an execution not redriven": Case(
        RECORDED, output("{% $states.context.Execution.RedriveCount %}"), output=0
    ),
    "$states.context holds the execution's data": Case(
        CONTEXT_PAGE,
        output("{% [$states.context.State.Name, $states.context.Execution.Input.n] %}"),
        input={"n": 7},
        output=["Compute", 7],
    ),
    "a Choice rule's Condition is a JSONata expression": Case(
        JSONATA_PAGE,
        jsonata(
            (
                "Check",
                {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "Big", "Output": "big"}],
                    "Default": "Small",
                },
            ),
            ("Big", {"Type": "Succeed"}),
            ("Small", {"Type": "Fail", "Error": "Small"}),
        ),
        input={"n": 2},
        output="big",
    ),
    "a Wait's Seconds is an expression": Case(
        JSONATA_PAGE,
        jsonata(("Pause", {"Type": "Wait", "Seconds": "{% $states.input.s %}", "Output": "{% 'waited' %}"})),
        input={"s": 0},
        output="waited",
    ),
    "a Map's Items is an expression and each iteration's Output is collected": Case(
        JSONATA_PAGE,
        jsonata(
            (
                "Each",
                {
                    "Type": "Map",
                    "Items": "{% $states.input.numbers %}",
                    "ItemProcessor": {
                        "StartAt": "Double",
                        "States": {"Double": {"Type": "Pass", "Output": "{% $states.input * 2 %}", "End": True}},
                    },
                },
            )
        ),
        input={"numbers": [1, 2, 3]},
        output=[2, 4, 6],
    ),
    "a Fail state's Error and Cause are expressions": Case(
        JSONATA_PAGE,
        jsonata(("Stop", {"Type": "Fail", "Error": "{% 'Order' & $states.input.id %}", "Cause": "{% 'no stock' %}"})),
        input={"id": 42},
        error="Order42",
        cause="no stock",
    ),
    "an expression that gives nothing fails the state, naming the field": Case(
        RECORDED,
        jsonata(("State0", {"Type": "Pass", "Output": {"result": "{% $doesNotExist %}"}})),
        error="States.QueryEvaluationError",
        cause="An error occurred while executing the state 'State0' (entered at the event id #2). The JSONata "
        "expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined).",
    ),
    "an expression that throws fails the state with JSONata's error": Case(
        RECORDED,
        jsonata(("State_0", {"Type": "Pass", "Output": {"FunctionResult": "{% $randomSeeded(1) %}"}})),
        error="States.QueryEvaluationError",
        cause="An error occurred while executing the state 'State_0' (entered at the event id #2). The JSONata "
        "expression '$randomSeeded(1)' specified for the field 'Output/FunctionResult' threw an error during "
        "evaluation. T1006: Attempted to invoke a non-function",
    ),
    "a string holding quotes and backslashes stays as written": Case(
        JSONATA_PAGE,
        output("{% $states.input.text & '!' %}"),
        input={"text": 'say "hi" \\ now'},
        output='say "hi" \\ now!',
    ),
    # Passing data between states with variables.
    "a variable assigned in one state is read in a later one (JSONata)": Case(
        VARIABLES_PAGE,
        jsonata(
            ("Set", {"Type": "Pass", "Assign": {"total": "{% $states.input.a + $states.input.b %}"}}),
            ("Other", {"Type": "Pass", "Output": {}}),
            ("Read", {"Type": "Pass", "Output": "{% $total %}"}),
        ),
        input={"a": 2, "b": 3},
        output=5,
    ),
    "a variable assigned and read with JSONPath": Case(
        VARIABLES_PAGE,
        {
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"order.$": "$.order", "constant": 1}, "Next": "Read"},
                "Read": {"Type": "Pass", "Parameters": {"id.$": "$order.id", "c.$": "$constant"}, "End": True},
            },
        },
        input={"order": {"id": "o-1"}},
        output={"id": "o-1", "c": 1},
    ),
    "a variable read with a JSONPath in a JSONPath state: brackets, wildcards, filters, slices": Case(
        VARIABLES_PAGE,
        {
            "StartAt": "Set",
            "States": {
                "Set": {
                    "Type": "Pass",
                    "Assign": {"v": {"b c": 1, "items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}], "a": [1, 2, 3]}},
                    "Next": "Read",
                },
                "Read": {
                    "Type": "Pass",
                    "Parameters": {
                        "spaced.$": "$v['b c']",
                        "ids.$": "$v.items[*].id",
                        "big.$": "$v.items[?(@.n > 1)].id",
                        "last.$": "$v.a[-1:]",
                    },
                    "End": True,
                },
            },
        },
        output={"spaced": 1, "ids": ["a", "b"], "big": ["b"], "last": [3]},
    ),
    "Assign sees the state's result, and Output the variables as they were on entry": Case(
        VARIABLES_PAGE,
        jsonata(
            ("Init", {"Type": "Pass", "Assign": {"x": 1, "y": 2}}),
            ("Swap", {"Type": "Pass", "Assign": {"x": "{% $y %}", "y": "{% $x %}"}, "Output": {"x": "{% $x %}"}}),
            ("Read", {"Type": "Pass", "Output": {"before": "{% $states.input.x %}", "x": "{% $x %}", "y": "{% $y %}"}}),
        ),
        output={"before": 1, "x": 2, "y": 1},
    ),
    "a Map iteration reads the outer variables": Case(
        VARIABLES_PAGE,
        jsonata(
            ("Set", {"Type": "Pass", "Assign": {"offset": 10}}),
            (
                "Each",
                {
                    "Type": "Map",
                    "Items": "{% [1, 2] %}",
                    "ItemProcessor": {
                        "StartAt": "Add",
                        "States": {"Add": {"Type": "Pass", "Output": "{% $offset + $states.input %}", "End": True}},
                    },
                },
            ),
        ),
        output=[11, 12],
    ),
    "what a Parallel branch assigns stays inside it": Case(
        VARIABLES_PAGE,
        jsonata(
            ("Set", {"Type": "Pass", "Assign": {"outer": 5}}),
            (
                "Both",
                {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Inner",
                            "States": {
                                "Inner": {"Type": "Pass", "Assign": {"inner": 1}, "Output": "{% $outer %}", "End": True}
                            },
                        }
                    ],
                },
            ),
            (
                "After",
                {
                    "Type": "Pass",
                    "Output": {"branches": "{% $states.input %}", "inner": "{% $inner ? 'seen' : 'gone' %}"},
                },
            ),
        ),
        output={"branches": [5], "inner": "gone"},
    ),
    "a JSONPath state machine may hold a JSONata state": Case(
        JSONATA_PAGE,
        {
            "StartAt": "Path",
            "States": {
                "Path": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Ata"},
                "Ata": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.n + 1 %}", "End": True},
            },
        },
        input={"n": 1},
        output=2,
    ),
    # The context object's times, written as the page's example writes them.
    "the context object's times are ISO 8601 with milliseconds, in UTC": Case(
        CONTEXT_PAGE,
        {
            "StartAt": "Read",
            "States": {
                "Read": {
                    "Type": "Pass",
                    "Parameters": {"start.$": "$$.Execution.StartTime", "entered.$": "$$.State.EnteredTime"},
                    "End": True,
                }
            },
        },
        output=re.compile(r'\{"start":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","entered":"[^"]+\.\d{3}Z"\}'),
    ),
}


@pytest.fixture(scope="module")
def aws() -> EmbeddedAws:
    with EmbeddedAws() as embedded:
        yield embedded


def run(aws: EmbeddedAws, definition: dict[str, Any], execution_input: Any) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"conformance-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))["executionArn"]
    return wait_until(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        what="the execution's end",
        timeout=30,
    )


def refusal(aws: EmbeddedAws, definition: Any, name: str = "refused") -> dict[str, str]:
    with pytest.raises(ClientError) as refused:
        aws.client("stepfunctions").create_state_machine(
            name=f"{name}-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
        )
    return refused.value.response["Error"]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_state_machine_ends_as_on_aws(aws, case):
    ended = run(aws, case.definition, case.input)

    if case.error is None:
        assert ended["status"] == "SUCCEEDED", (ended.get("error"), ended.get("cause"))
        if isinstance(case.output, re.Pattern):
            assert case.output.fullmatch(ended["output"])
        else:
            assert json.loads(ended["output"]) == case.output
    else:
        assert (ended["status"], ended.get("error")) == ("FAILED", case.error)
        assert ended.get("cause") == case.cause


def test_a_failed_expression_is_recorded_as_an_evaluation_failed_event_at_its_field(aws):
    case = CASES["an expression that gives nothing fails the state, naming the field"]
    ended = run(aws, case.definition, case.input)

    events = aws.client("stepfunctions").get_execution_history(executionArn=ended["executionArn"])["events"]

    [failed] = [event for event in events if event["type"] == "EvaluationFailed"]
    assert failed["evaluationFailedEventDetails"] == {
        "error": "States.QueryEvaluationError",
        "cause": case.cause,
        "location": "Output/result",
        "state": "State0",
    }


def test_assigned_variables_are_written_in_the_state_exited_event_as_json(aws):
    definition = jsonata(("Set", {"Type": "Pass", "Assign": {"quote": 'say "hi"', "n": 1, "list": [1, {"a": None}]}}))
    ended = run(aws, definition, {})

    events = aws.client("stepfunctions").get_execution_history(executionArn=ended["executionArn"])["events"]

    [exited] = [event for event in events if event["type"] == "PassStateExited"]
    assert exited["stateExitedEventDetails"]["assignedVariables"] == {
        "quote": '"say \\"hi\\""',
        "n": "1",
        "list": '[1,{"a":null}]',
    }
    assert exited["stateExitedEventDetails"]["assignedVariablesDetails"] == {"truncated": False}


# A JSONPath state in a JSONata state machine, which Step Functions refuses.
DOWNGRADE = {
    "QueryLanguage": "JSONata",
    "StartAt": "Pass",
    "States": {"Pass": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
}


def test_a_jsonpath_state_in_a_jsonata_state_machine_is_refused_as_aws_refuses_it(aws):
    # Recorded on AWS (ValidateStateMachineDefinition's diagnostic, at /States/Pass).
    assert refusal(aws, DOWNGRADE) == {
        "Code": "InvalidDefinition",
        "Message": "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: 'QueryLanguage' can not be "
        "'JSONPath' if set to 'JSONata' for whole state machine at /States/Pass'",
    }


def test_a_refused_definition_leaves_no_query_language_behind_for_the_next(aws):
    # Gap 21: moto's parser shared its scopes between parses.
    refused = {"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {}}}}
    sfn = aws.client("stepfunctions")
    with pytest.raises(ClientError):
        sfn.create_state_machine(name="refused", definition=json.dumps(refused), roleArn=ROLE)

    ended = run(
        aws, {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "$.y"}, "End": True}}}, {"y": 1}
    )

    assert json.loads(ended["output"]) == {"x": 1}


def test_a_catch_naming_the_heartbeat_timeout_takes_it_while_the_history_says_states_timeout(aws):
    # "States.HeartbeatTimeout ... only available inside the Catch and Retry fields" (error
    # names, ERRORS_PAGE); AWS records the timeout itself as States.Timeout.
    queue = aws.client("sqs").create_queue(QueueName=f"hb-{time.monotonic_ns()}")["QueueUrl"]
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                "HeartbeatSeconds": 1,
                "TimeoutSeconds": 60,
                "Catch": [
                    {"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.caught", "Next": "Heartbeat"},
                    {"ErrorEquals": ["States.Timeout"], "Next": "Timeout"},
                ],
                "End": True,
            },
            "Heartbeat": {"Type": "Pass", "OutputPath": "$.caught.Error", "End": True},
            "Timeout": {"Type": "Fail", "Error": "WrongCatch"},
        },
    }

    ended = run(aws, definition, {})

    assert (ended["status"], json.loads(ended["output"])) == ("SUCCEEDED", "States.Timeout")
    events = aws.client("stepfunctions").get_execution_history(executionArn=ended["executionArn"])["events"]
    [timed_out] = [event for event in events if event["type"] == "TaskTimedOut"]
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.Timeout"


ANSWERS_AT_ONCE = """
import json, boto3

def handle(event, context):
    boto3.client("stepfunctions").send_task_success(taskToken=event["token"], output=json.dumps({"packed": True}))
    return {}
"""


def test_a_callback_that_comes_before_the_task_is_submitted_ends_a_task_with_a_heartbeat(aws):
    # The receiver answers while it is still being invoked: the callback comes between TaskScheduled
    # and TaskSubmitted, before the heartbeat wait begins; the token is open, so it ends the task
    # ("Wait for a Callback with Task Token", Step Functions developer guide). Gap 38.
    function = python_function(aws, f"answers-at-once-{time.monotonic_ns()}", ANSWERS_AT_ONCE)
    definition = task(
        "arn:aws:states:::lambda:invoke.waitForTaskToken",
        {"FunctionName": function, "Payload": {"token.$": "$$.Task.Token"}},
    )
    definition["States"]["Call"].update(HeartbeatSeconds=600, TimeoutSeconds=3600)

    ended = run(aws, definition, {})

    assert (ended["status"], json.loads(ended["output"])) == ("SUCCEEDED", {"packed": True})


def task(resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}},
    }


def test_optimized_integrations_return_the_sdks_metadata_beside_the_services_answer(aws):
    # Recorded on AWS for sqs:sendMessage, sns:publish, dynamodb:putItem: the answer, SdkHttpMetadata
    # (each header also as a list) and SdkResponseMetadata; an aws-sdk integration returns the answer alone.
    queue = aws.client("sqs").create_queue(QueueName=f"sent-{time.monotonic_ns()}")["QueueUrl"]
    topic = aws.client("sns").create_topic(Name=f"told-{time.monotonic_ns()}")["TopicArn"]
    table = f"kept-{time.monotonic_ns()}"
    aws.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    item = {"TableName": table, "Item": {"k": {"S": "1"}}}
    calls = {
        "sqs": task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": queue, "MessageBody": "hello"}),
        "sns": task("arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": "hello"}),
        "dynamodb": task("arn:aws:states:::dynamodb:putItem", item),
        "aws-sdk": task("arn:aws:states:::aws-sdk:dynamodb:putItem", item),
    }

    results = {name: json.loads(run(aws, definition, {})["output"]) for name, definition in calls.items()}

    assert set(results["sqs"]) == {"MD5OfMessageBody", "MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert results["sqs"]["MD5OfMessageBody"] == hashlib.md5(b"hello").hexdigest()
    assert set(results["sns"]) == {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
    assert set(results["dynamodb"]) == {"SdkHttpMetadata", "SdkResponseMetadata"}
    assert results["aws-sdk"] == {}
    for name in ("sqs", "sns", "dynamodb"):
        http = results[name]["SdkHttpMetadata"]
        assert http["HttpStatusCode"] == 200
        assert http["AllHttpHeaders"] == {header: [value] for header, value in http["HttpHeaders"].items()}
        assert http["HttpHeaders"]["x-amzn-RequestId"] == results[name]["SdkResponseMetadata"]["RequestId"]


def test_an_sqs_message_without_a_body_fails_with_the_sqs_exception_as_aws_words_it(aws):
    # Recorded on AWS: SQS.AmazonSQSException, the Java SDK's cause.
    queue = aws.client("sqs").create_queue(QueueName=f"unsent-{time.monotonic_ns()}")["QueueUrl"]

    ended = run(
        aws, task("arn:aws:states:::sqs:sendMessage", {"QueueUrl": queue, "MessageBody.$": "$.body"}), {"body": None}
    )

    assert (ended["status"], ended["error"]) == ("FAILED", "SQS.AmazonSQSException")
    assert re.fullmatch(
        r"The request must contain the parameter MessageBody\. \(Service: AmazonSQS; Status Code: 400; "
        r"Error Code: MissingParameter; Request ID: [^;]+; Proxy: null\)",
        ended["cause"],
    )


def test_a_wait_of_2_to_the_31_seconds_or_more_fails_at_once(aws):
    # Recorded on AWS: a Timestamp 24,856 days ahead fails with States.Runtime at once.
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "Until", "States": {"Until": {"Type": "Wait", "TimestampPath": "$.at", "End": True}}}
    at = aws.clock.now() + timedelta(days=24856)

    ended = run(aws, definition, {"at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")})

    assert (ended["status"], ended["error"]) == ("FAILED", "States.Runtime")
    assert ended["cause"] == (
        "An error occurred while executing the state 'Until' (entered at the event id #2). "
        "Wait state delay is too long."
    )
    events = sfn.get_execution_history(executionArn=ended["executionArn"])["events"]
    assert [event["type"] for event in events] == ["ExecutionStarted", "WaitStateEntered", "ExecutionFailed"]


@pytest.mark.parametrize(
    ("end", "described"),
    [
        (ProgramEnded(), {"status": "SUCCEEDED", "output": '{"done":true}'}),
        (
            ProgramError({"error": "Oops", "cause": "it broke"}),
            {"status": "FAILED", "error": "Oops", "cause": "it broke"},
        ),
        (ProgramTimedOut(), {"status": "TIMED_OUT"}),
    ],
)
def test_an_execution_is_described_running_or_ended_whole_never_half_ended(aws, end, described):
    # DescribeExecution, Step Functions API reference: an ended execution has its stopDate, and
    # its output or error and cause. A describe that comes while the end is written sees either.
    seen = described_while_ending(end)

    ended = seen[-1]
    assert ended == {**described, "stopDate": ended["stopDate"]}
    assert [answer for answer in seen if answer not in ({"status": "RUNNING"}, ended)] == []


def test_the_longest_wait_taken_is_24855_days_as_recorded_on_aws():
    assert timedelta(days=24855).total_seconds() <= MAX_WAIT_SECONDS < timedelta(days=24856).total_seconds()


@pytest.mark.parametrize(
    ("items", "shown"), [(True, "true"), (None, "null"), (1, "1"), ({"foo": "bar"}, '{"foo":"bar"}'), ("s", '"s"')]
)
def test_a_map_whose_input_is_not_an_array_fails_naming_the_value(aws, items, shown):
    # Recorded on AWS, for each kind of value.
    each = {
        "Type": "Map",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "End": True,
    }
    definition = {
        "StartAt": "Start",
        "States": {"Start": {"Type": "Pass", "InputPath": "$.items", "Next": "Each"}, "Each": each},
    }

    ended = run(aws, definition, {"items": items})

    assert (ended["status"], ended["error"]) == ("FAILED", "States.QueryEvaluationError")
    assert ended["cause"].endswith(f"Map state input must be an array but was: {shown}")


def test_a_jsonata_wait_timestamp_that_is_not_iso_8601_fails_the_state_as_aws_records_it(aws):
    definition = jsonata(("Until", {"Type": "Wait", "Timestamp": "{% $states.input.at %}"}))

    ended = run(aws, definition, {"at": "2016-12-05T21:29:29"})

    assert (ended["status"], ended["error"]) == ("FAILED", "States.QueryEvaluationError")
    assert ended["cause"] == (
        "An error occurred while executing the state 'Until' (entered at the event id #2). The Timestamp field "
        "cannot be parsed as an ISO-8601 extended offset date-time format string: 2016-12-05T21:29:29"
    )
    events = aws.client("stepfunctions").get_execution_history(executionArn=ended["executionArn"])["events"]
    [failed] = [event for event in events if event["type"] == "EvaluationFailed"]
    assert failed["evaluationFailedEventDetails"]["location"] == "Timestamp"


@pytest.mark.parametrize("timestamp", ["2016-13-05T21:29:29Z", "05-12-2016T21:29:29Z", "2016-12-05 21:29:29Z"])
def test_a_wait_timestamp_that_is_not_rfc_3339_is_refused_with_its_location(aws, timestamp):
    # Recorded on AWS.
    until = {"Type": "Wait", "Timestamp": timestamp, "End": True}

    error = refusal(aws, {"StartAt": "WaitUntil", "States": {"WaitUntil": until}})

    assert error == {
        "Code": "InvalidDefinition",
        "Message": "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: String does not match RFC3339 "
        "timestamp at /States/WaitUntil/Timestamp'",
    }


def test_a_definition_without_states_is_refused_naming_the_field(aws):
    # Recorded on AWS.
    error = refusal(aws, {"StartAt": "A"})

    assert (
        error["Message"]
        == "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [States] at /'"
    )


def test_a_second_state_machine_of_one_name_is_refused_unless_it_is_the_same(aws):
    # CreateStateMachine is idempotent for the same definition and role; anything else, even the
    # same definition written with other spacing, is StateMachineAlreadyExists (recorded on AWS).
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    name = f"once-{time.monotonic_ns()}"
    first = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]

    again = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    with pytest.raises(ClientError) as respaced:
        sfn.create_state_machine(name=name, definition=json.dumps(definition, indent=4), roleArn=ROLE)

    assert again == first
    assert respaced.value.response["Error"] == {
        "Code": "StateMachineAlreadyExists",
        "Message": f"State Machine Already Exists: '{first}'",
    }


@pytest.mark.parametrize("offset", ["Z", "+01:00", "-05:30"])
def test_a_wait_timestamp_with_any_rfc_3339_offset_is_taken_and_waited_for_in_utc(aws, offset):
    # "Timestamps must conform to the RFC3339 profile of ISO 8601" (Wait state, Step Functions
    # developer guide): Z or a numeric offset. A moment a second past is waited for no longer.
    hours, minutes = (0, 0) if offset == "Z" else (int(offset[1:3]), int(offset[4:]))
    shift = timedelta(hours=hours, minutes=minutes) * (-1 if offset.startswith("-") else 1)
    past = (datetime.now(UTC) - timedelta(seconds=1) + shift).strftime("%Y-%m-%dT%H:%M:%S") + offset
    definition = {"StartAt": "Until", "States": {"Until": {"Type": "Wait", "Timestamp": past, "End": True}}}

    ended = run(aws, definition, {})

    assert ended["status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("state", "field", "expected", "shown"),
    [
        (
            {"Type": "Choice", "Choices": [{"Condition": "{% 'yes' %}", "Next": "Done"}], "Default": "Done"},
            "Choices/Condition",
            "boolean",
            "'string' for value: \"yes\"",
        ),
        ({"Type": "Wait", "Seconds": "{% 1.5 %}", "Next": "Done"}, "Seconds", "integer", "'number' for value: 1.5"),
        ({"Type": "Wait", "Seconds": "{% 'x' %}", "Next": "Done"}, "Seconds", "integer", "'string' for value: \"x\""),
        ({"Type": "Fail", "Error": "{% 5 %}"}, "Error", "string", "'number' for value: 5"),
    ],
    ids=["a Condition that is not a boolean", "Seconds not whole", "Seconds not a number", "an Error not a string"],
)
def test_an_expression_whose_result_its_field_cannot_take_fails_the_state(aws, state, field, expected, shown):
    # In the words Step Functions records for a Map's Items of the wrong type (RECORDED).
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "Check",
        "States": {"Check": state, "Done": {"Type": "Succeed"}},
    }

    ended = run(aws, definition, {})

    assert (ended["status"], ended["error"]) == ("FAILED", "States.QueryEvaluationError")
    assert ended["cause"].endswith(
        f"specified for the field '{field}' returned an unexpected result type. Expected '{expected}', but was {shown}"
    )


def test_a_value_in_a_template_may_be_of_any_type_whatever_its_key(aws):
    ended = run(aws, output_of({"Error": "{% 5 %}", "Condition": "{% 'yes' %}"}), {})

    assert json.loads(ended["output"]) == {"Error": 5, "Condition": "yes"}
