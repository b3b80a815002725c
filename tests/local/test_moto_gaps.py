"""Each test shows, on plain moto, a gap that the embedded AWS works around (pausable_sfn/local/gaps.py
lists them, each in its service's home).

A failing test here is good news: moto has closed that gap, and its workaround can go.
"""

import base64
import io
import json
import re
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from pausable_sfn.testing.waiting import wait_until

from .execution_end import described_while_ending
from .test_dynamodb import race_conditional_updates
from .test_step_functions_conformance import DOWNGRADE

ROLE = "arn:aws:iam::123456789012:role/any"
EXECUTING = {"stepfunctions": {"execute_state_machine": True}}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config=EXECUTING):
        boto3.client("iam").create_role(RoleName="any", AssumeRolePolicyDocument="{}")
        yield


@pytest.fixture(autouse=True)
def shared_scopes() -> Iterator[None]:
    """moto's preprocessor keeps its scopes in a class attribute (gap 21): a refused definition's
    leftovers are cleared after each test, so that no test here sees another's."""
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    yield
    Preprocessor._query_language_per_scope.clear()


@pytest.fixture
def recorded_invocations() -> Iterator[list[dict[str, Any]]]:
    """Plain moto would run Lambda code in Docker; record what it would run instead."""
    calls: list[dict[str, Any]] = []

    def invoke(function: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        calls.append({"event": json.loads(body), "thread": threading.current_thread().name})
        return b"{}"

    with mock.patch.object(LambdaFunction, "invoke", invoke):
        yield calls


def code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def create_function(**extra: Any) -> str:
    return boto3.client("lambda").create_function(
        FunctionName="f", Runtime="python3.13", Role=ROLE, Handler="handler.handler", Code={"ZipFile": code()}, **extra
    )["FunctionArn"]


def create_state_machine(definition: dict[str, Any]) -> str:
    return boto3.client("stepfunctions").create_state_machine(
        name=f"sm-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]


def run_to_end(arn: str, execution_input: str = "{}") -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=arn, name=f"e-{time.monotonic_ns()}", input=execution_input)
    return wait_end(execution["executionArn"])


def test_gap_1_cloudformation_creates_no_sns_subscription(aws):
    template = {
        "Resources": {
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Subscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": {"Ref": "Topic"},
                    "Protocol": "sqs",
                    "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                },
            },
        }
    }
    with pytest.warns(UserWarning, match="AWS::SNS::Subscription"):
        boto3.client("cloudformation").create_stack(StackName="s", TemplateBody=json.dumps(template))

    assert boto3.client("sns").list_subscriptions()["Subscriptions"] == []


def test_gap_1_cloudformation_puts_a_state_machine_where_it_does_not_execute(aws):
    template = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": ROLE,
                    "DefinitionString": json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
                },
            }
        }
    }
    boto3.client("cloudformation").create_stack(StackName="s", TemplateBody=json.dumps(template))

    assert boto3.client("stepfunctions").list_state_machines()["stateMachines"] == []


def test_gap_3_sns_delivers_to_lambda_synchronously_inside_publish(aws, recorded_invocations):
    arn = create_function()
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)

    sns.publish(TopicArn=topic, Message="hello")

    [call] = recorded_invocations  # delivered before Publish returned, on the caller's thread
    assert call["thread"] == threading.current_thread().name
    assert call["event"]["Records"][0]["Sns"]["TopicArn"] == "arn:aws:sns:EXAMPLE"  # and not the topic's ARN


def test_gap_4_sqs_event_source_never_delivers_a_delayed_message(aws, recorded_invocations):
    create_function()
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("lambda").create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="f")

    sqs.send_message(QueueUrl=url, MessageBody="job", DelaySeconds=1)
    received = wait_until(lambda: sqs.receive_message(QueueUrl=url).get("Messages"), what="the delayed message")

    assert len(received) == 1
    assert recorded_invocations == []  # visible now, and never handed to the function


def test_gap_5_executions_started_without_a_name_share_the_arn_none(aws):
    arn = create_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

    execution = boto3.client("stepfunctions").start_execution(stateMachineArn=arn)

    assert execution["executionArn"].endswith(":None")


def test_gap_6_the_interpreter_calls_lambda_at_moto_port_whatever_the_server_uses(monkeypatch):
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

    monkeypatch.delenv("MOTO_PORT", raising=False)

    assert boto_client_for("us-east-1", "lambda").meta.endpoint_url == "http://localhost:5000"


def test_gap_7_a_function_with_a_layer_moto_does_not_hold_is_refused(aws):
    public_layer = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:20"

    with pytest.raises(
        boto3.client("lambda").exceptions.ResourceNotFoundException, match="LayerVersion does not exist"
    ):
        create_function(Layers=[public_layer])


def test_gap_8_jsonata_is_not_evaluated(aws):
    arn = create_state_machine(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Output": "{% 1 + 1 %}", "End": True}},
        }
    )

    result = run_to_end(arn)

    assert (result["status"], result["error"]) == ("FAILED", "States.Runtime")


def test_gap_8_a_variable_fails_even_in_a_jsonpath_state_machine(aws):
    arn = create_state_machine(
        {
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"n": 1}, "Next": "Read"},
                "Read": {"Type": "Pass", "Parameters": {"n.$": "$n"}, "End": True},
            },
        }
    )

    result = run_to_end(arn)

    assert (result["status"], result["error"]) == ("FAILED", "States.Runtime")


def test_gap_22_the_context_objects_start_time_breaks_describe_execution(aws):
    read_start = {"Type": "Pass", "Parameters": {"t.$": "$$.Execution.StartTime"}, "End": True}
    arn = create_state_machine({"StartAt": "P", "States": {"P": read_start}})

    with pytest.raises(TypeError, match="datetime is not JSON serializable"):
        run_to_end(arn)


def callback_state_machine(then: dict[str, Any] | None = None, **task: Any) -> str:
    """A state machine whose task "Wait" hands its token to a function and waits for the callback."""
    follow: dict[str, Any] = {"Next": "Then"} if then else {"End": True}
    return create_state_machine(
        {
            "StartAt": "Wait",
            "States": {
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": create_function(), "Payload": {"token.$": "$$.Task.Token"}},
                    **follow,
                    **task,
                },
                **({"Then": then} if then else {}),
            },
        }
    )


def start_paused(
    recorded_invocations: list[dict[str, Any]], then: dict[str, Any] | None = None, **task: Any
) -> tuple[str, str]:
    """An execution paused on a waitForTaskToken task (followed by the state `then`, if given);
    its ARN and the task's token."""
    arn = callback_state_machine(then, **task)
    execution = boto3.client("stepfunctions").start_execution(stateMachineArn=arn, name="e")["executionArn"]
    wait_until(lambda: recorded_invocations, what="the task's invocation", interval=0.02)
    return execution, recorded_invocations[0]["event"]["token"]


def wait_end(execution: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")

    def ended() -> dict[str, Any] | None:
        description = sfn.describe_execution(executionArn=execution)
        return description if description["status"] != "RUNNING" else None

    return wait_until(ended, what="the execution's end", interval=0.02)


def test_gap_9_send_task_failure_drops_the_cause(aws, recorded_invocations):
    execution, token = start_paused(recorded_invocations)

    boto3.client("stepfunctions").send_task_failure(taskToken=token, error="Rejected", cause="why")

    description = wait_end(execution)
    assert (description["error"], description.get("cause")) == ("Rejected", None)


def test_gap_11_a_token_of_a_closed_task_is_called_invalid(aws, recorded_invocations):
    execution, token = start_paused(recorded_invocations)
    sfn = boto3.client("stepfunctions")
    sfn.send_task_success(taskToken=token, output="{}")
    wait_end(execution)

    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_success(taskToken=token, output="{}")


def test_gap_11_moto_raises_task_timed_out_without_its_error_code():
    from moto.stepfunctions.parser.api import TaskTimedOut

    assert TaskTimedOut("timed out").error_type is None


def test_gap_12_a_catch_naming_states_heartbeat_timeout_misses_a_heartbeat_timeout(aws, recorded_invocations):
    caught = {"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Then"}
    execution, _ = start_paused(
        recorded_invocations, {"Type": "Succeed"}, HeartbeatSeconds=1, TimeoutSeconds=30, Catch=[caught]
    )

    description = wait_end(execution)

    assert (description["status"], description["error"]) == ("FAILED", "States.Timeout")


def test_gap_10_the_interpreter_logs_each_handled_failure_as_an_error(aws, caplog):
    arn = create_state_machine({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E", "Cause": "c"}}})

    run_to_end(arn)

    assert any(
        record.name.startswith("moto.stepfunctions.parser") and record.levelname == "ERROR" for record in caplog.records
    )


def test_gap_13_every_execution_parses_the_definition_again(aws):
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    arn = create_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    original = AmazonStateLanguageParser.parse
    with mock.patch.object(AmazonStateLanguageParser, "parse", side_effect=original) as parse:
        run_to_end(arn)
        run_to_end(arn)

    assert parse.call_count == 2


def test_gap_14_execution_history_ignores_reverse_order_and_page_size(aws):
    arn = create_state_machine(
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": True}}}
    )
    execution = run_to_end(arn)["executionArn"]

    sfn = boto3.client("stepfunctions")
    history = sfn.get_execution_history(executionArn=execution, reverseOrder=True, maxResults=2)

    assert history["events"][0]["type"] == "ExecutionStarted"
    assert len(history["events"]) > 2
    assert "nextToken" not in history


def test_gap_15_a_heartbeat_for_a_task_without_heartbeat_timeout_is_refused(aws, recorded_invocations):
    _, token = start_paused(recorded_invocations)
    sfn = boto3.client("stepfunctions")

    with pytest.raises(sfn.exceptions.InvalidToken):
        sfn.send_task_heartbeat(taskToken=token)


def test_gap_16_a_task_token_takes_a_second_outcome(aws, recorded_invocations):
    # The Wait keeps the execution running after the task, as Post processing does in the app.
    execution, token = start_paused(recorded_invocations, then={"Type": "Wait", "Seconds": 600, "End": True})
    sfn = boto3.client("stepfunctions")

    sfn.send_task_success(taskToken=token, output='{"first": true}')
    # Accepted again and again (Step Functions answers TaskTimedOut): no error is raised here.
    sfn.send_task_success(taskToken=token, output='{"second": true}')
    sfn.send_task_success(taskToken=token, output='{"third": true}')

    sfn.stop_execution(executionArn=execution)


def test_gap_16_a_callback_endpoint_keeps_the_last_of_two_outcomes():
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeSuccess, CallbackPoolManager

    pool = CallbackPoolManager(activity_store={})
    endpoint = pool.generate()

    first = pool.notify(endpoint.callback_id, CallbackOutcomeSuccess(endpoint.callback_id, '"first"'))
    second = pool.notify(endpoint.callback_id, CallbackOutcomeSuccess(endpoint.callback_id, '"second"'))

    assert (first, second) == (True, True)
    assert endpoint.get_outcome().output == '"second"'


def test_gap_17_conditional_updates_racing_on_one_item_can_all_succeed(aws):
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="approvals",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    successes = race_conditional_updates(dynamodb, "approvals", 20)

    assert successes > 1  # on DynamoDB exactly one


def test_gap_18_a_function_url_is_an_on_aws_address_that_nothing_serves(aws):
    create_function()

    url = boto3.client("lambda").create_function_url_config(FunctionName="f", AuthType="NONE")["FunctionUrl"]

    assert re.fullmatch(r"https://[0-9a-f]{32}\.lambda-url\.us-east-1\.on\.aws", url)


# The workaround of gap 13 itself: a cached program is shared by concurrent executions.


@pytest.fixture
def failing_invocations() -> Iterator[list[dict[str, Any]]]:
    """Every Lambda invocation fails as a handler that raised; each is recorded."""
    calls: list[dict[str, Any]] = []

    def invoke(function: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        calls.append(json.loads(body))
        response_headers["x-amz-function-error"] = "Unhandled"
        return b'{"errorType": "Boom", "errorMessage": "always"}'

    with mock.patch.object(LambdaFunction, "invoke", invoke):
        yield calls


def test_concurrent_executions_of_a_cached_program_keep_their_own_retry_counts(aws, failing_invocations):
    from moto.stepfunctions.parser.asl.component import eval_component

    from pausable_sfn.local.stepfunctions import gaps

    arn = create_state_machine(
        {
            "StartAt": "Call",
            "States": {
                "Call": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": create_function(), "Payload": {"n.$": "$.n"}},
                    "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 1}],
                    "End": True,
                }
            },
        }
    )
    original_uid = eval_component.long_uid

    def slow_uid() -> str:
        time.sleep(0.05)  # widens the window in which a lazily set attribute of a shared component races
        return original_uid()

    sfn = boto3.client("stepfunctions")
    with ExitStack() as patches:
        gaps.reuse_parsed_definitions(patches)
        patches.enter_context(mock.patch.object(eval_component, "long_uid", slow_uid))
        executions = [
            sfn.start_execution(stateMachineArn=arn, name=f"e{n}", input=json.dumps({"n": n}))["executionArn"]
            for n in range(8)
        ]
        results = [wait_end(execution) for execution in executions]

    assert {result["error"] for result in results} == {"Boom"}
    attempts = Counter(call["n"] for call in failing_invocations)
    assert attempts == {n: 3 for n in range(8)}  # the first attempt and two retries, each


def test_gap_19_a_page_token_that_is_json_but_not_an_object_crashes_the_paginator(aws):
    arn = create_state_machine({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})

    with pytest.raises(AttributeError):
        boto3.client("stepfunctions").list_executions(stateMachineArn=arn, nextToken=base64.b64encode(b'"x"').decode())


def test_gap_20_an_execution_name_step_functions_refuses_is_taken(aws):
    arn = create_state_machine({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})

    started = boto3.client("stepfunctions").start_execution(stateMachineArn=arn, name="order 42/b")

    assert started["executionArn"].endswith(":order 42/b")


def test_gap_21_a_refused_jsonata_definition_leaves_its_scope_to_the_next_parse(aws):
    refused = {"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {}}}}
    valid = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"x.$": "$.y"}, "End": True}}}
    with pytest.raises(Exception, match="Unsupported declaration"):
        create_state_machine(refused)

    with pytest.raises(Exception, match="Unsupported declaration"):
        create_state_machine(valid)


def test_gap_24_a_refused_definition_is_an_error_without_a_code(aws):
    with pytest.raises(ClientError) as refused:
        create_state_machine(DOWNGRADE)

    assert refused.value.response["Error"]["Code"] == ""


def test_gap_27_describe_execution_gives_a_string_output_as_a_bare_string(aws):
    arn = create_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "abc", "End": True}}})

    assert run_to_end(arn)["output"] == "abc"


def test_gap_26_an_output_path_reads_the_value_its_own_state_just_assigned(aws):
    # Variables need gap 8's evaluator to be read at all: it is plugged in, and nothing else.
    from pausable_sfn.local.stepfunctions import jsonata

    arn = create_state_machine(
        {
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"answer": 42}, "Next": "Reassign"},
                "Reassign": {"Type": "Pass", "Assign": {"answer": "new"}, "OutputPath": "$answer", "End": True},
            },
        }
    )
    with ExitStack() as patches:
        jsonata.plug_in(patches)
        result = run_to_end(arn)

    assert result["output"] == "new"  # Step Functions outputs 42, the value on entry


def test_gap_23_a_function_created_through_the_api_runs_only_in_docker(aws, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # no Docker, whatever this machine has
    create_function()

    answer = boto3.client("lambda").invoke(FunctionName="f", Payload=b"{}")

    assert answer["FunctionError"] == "Handled"
    assert answer["Payload"].read().decode().startswith("error running docker")


def test_gap_23_code_lambda_refuses_is_taken(aws):
    lambda_client = boto3.client("lambda")
    boto3.client("s3").create_bucket(Bucket="code-bucket")
    common = {"Runtime": "python3.13", "Role": ROLE}

    not_a_zip = lambda_client.create_function(
        FunctionName="f", Handler="handler.handler", Code={"ZipFile": b"not a zip"}, **common
    )
    missing_object = lambda_client.create_function(
        FunctionName="g", Handler="handler.handler", Code={"S3Bucket": "code-bucket", "S3Key": "missing.zip"}, **common
    )
    without_handler = lambda_client.create_function(FunctionName="h", Code={"ZipFile": code()}, **common)

    # Lambda refuses all three (InvalidParameterValueException): the bytes cannot be unzipped, the
    # object does not exist (NoSuchKey), a zip function needs a handler.
    assert not_a_zip["CodeSize"] == len(b"not a zip")
    assert missing_object["CodeSize"] == 0
    assert "Handler" not in without_handler


def test_gap_28_the_sqs_integration_returns_no_sdk_metadata(aws):
    queue = boto3.client("sqs").create_queue(QueueName="sent")["QueueUrl"]
    send = {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}
    arn = create_state_machine(
        {"StartAt": "S", "States": {"S": {**send, "Parameters": {"QueueUrl": queue, "MessageBody": "hi"}}}}
    )

    assert set(json.loads(run_to_end(arn)["output"])) == {"MD5OfMessageBody", "MessageId"}


def test_gap_29_a_wait_of_2_to_the_31_seconds_is_taken(aws):
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    waits: list[int] = []
    arn = create_state_machine(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.at", "End": True}}}
    )
    # A day over 2^31 seconds: moto compares with local time, whatever the machine's offset from UTC.
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2**31 + 86400))

    with mock.patch.object(WaitFunction, "_wait_interval", lambda _, env, wait_seconds: waits.append(wait_seconds)):
        run_to_end(arn, json.dumps({"at": at}))

    [wait] = waits
    assert wait >= 2**31


def test_gap_30_a_map_whose_input_is_not_an_array_names_its_python_type(aws):
    each = {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}
    arn = create_state_machine({"StartAt": "Each", "States": {"Each": {**each, "End": True}}})

    assert run_to_end(arn, "true")["cause"].endswith("Map state input must be an array but was: <class 'bool'>")


def test_gap_31_the_dynamodb_integration_returns_no_sdk_metadata(aws):
    boto3.client("dynamodb").create_table(
        TableName="kept",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    put = {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True}
    parameters = {"TableName": "kept", "Item": {"k": {"S": "1"}}}
    arn = create_state_machine({"StartAt": "P", "States": {"P": {**put, "Parameters": parameters}}})

    assert json.loads(run_to_end(arn)["output"]) == {}


def test_gap_32_a_second_state_machine_of_one_name_is_taken_whatever_its_definition(aws):
    sfn = boto3.client("stepfunctions")
    first = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    other = {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}

    arns = {
        sfn.create_state_machine(name="one", definition=json.dumps(d), roleArn=ROLE)["stateMachineArn"]
        for d in (first, other)
    }

    assert len(arns) == 1


def test_gap_34_a_timed_out_execution_has_no_stop_date(aws):
    # Plain moto has no clock to advance: an execution timeout of one real second.
    arn = create_state_machine(
        {"StartAt": "W", "TimeoutSeconds": 1, "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )

    described = run_to_end(arn)

    assert described["status"] == "TIMED_OUT"
    assert "stopDate" not in described


def test_gap_35_a_stopped_execution_whose_task_waits_for_its_callback_stays_running(aws, recorded_invocations):
    execution, _ = start_paused(recorded_invocations)
    sfn = boto3.client("stepfunctions")

    sfn.stop_execution(executionArn=execution)

    # Nothing ends the task's wait: the execution can only end by the task's own timer.
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert "ExecutionAborted" not in [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]]


def test_gap_36_a_retried_callback_task_keeps_the_token_of_its_first_attempt(aws, recorded_invocations):
    # Plain moto has no clock to advance: a task timeout and a retry interval of one real second.
    retry = [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}]
    _, first_token = start_paused(recorded_invocations, TimeoutSeconds=1, Retry=retry)

    wait_until(lambda: len(recorded_invocations) == 2, what="the retry's invocation", interval=0.05)

    assert recorded_invocations[1]["event"]["token"] == first_token


def test_gap_37_a_task_with_a_heartbeat_and_no_timeout_times_out_after_60_seconds():
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody": "m"},
                "HeartbeatSeconds": 600,
                "End": True,
            }
        },
    }

    program, _ = AmazonStateLanguageParser.parse(json.dumps(definition))

    assert program.states.states["Work"].timeout.timeout_seconds == 60


def test_gap_38_a_callback_before_the_heartbeat_wait_begins_is_not_seen(aws):
    # A receiver that answers at once: the callback comes while the task is still handing out its
    # token, before it waits for heartbeats. Plain moto has no clock: a heartbeat of one real second.
    def answer_at_once(function: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        token = json.loads(body)["token"]
        boto3.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps({"done": True}))
        return b"{}"

    with mock.patch.object(LambdaFunction, "invoke", answer_at_once):
        arn = callback_state_machine(HeartbeatSeconds=1, TimeoutSeconds=30)
        described = run_to_end(arn)

    # The callback was taken (no error answered it), yet the task timed out waiting for a heartbeat.
    assert described["status"] == "FAILED"
    assert described["error"] == "States.Timeout"


def test_gap_39_a_lambda_target_of_an_eventbridge_rule_is_not_invoked(aws):
    events = boto3.client("events")
    events.put_rule(Name="payments", EventPattern=json.dumps({"source": ["shop.payments"]}))
    events.put_targets(Rule="payments", Targets=[{"Id": "f", "Arn": create_function()}])
    entry = {"Source": "shop.payments", "DetailType": "PaymentSettled", "Detail": "{}"}

    with pytest.raises(NotImplementedError):  # raised inside PutEvents: nothing is delivered
        events.put_events(Entries=[entry])


def test_gap_39_a_disabled_rule_still_delivers_its_events(aws):
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="settled")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(Name="off", EventPattern=json.dumps({"source": ["shop.payments"]}), State="DISABLED")
    events.put_targets(Rule="off", Targets=[{"Id": "q", "Arn": queue_arn}])

    events.put_events(Entries=[{"Source": "shop.payments", "DetailType": "PaymentSettled", "Detail": "{}"}])

    assert sqs.receive_message(QueueUrl=queue).get("Messages")


def test_gap_40_an_execution_sends_no_status_change_to_eventbridge(aws):
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="status-changes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(Name="executions", EventPattern=json.dumps({"source": ["aws.states"]}))
    events.put_targets(Rule="executions", Targets=[{"Id": "q", "Arn": queue_arn}])
    arn = create_state_machine({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})

    assert run_to_end(arn)["status"] == "SUCCEEDED"

    assert not sqs.receive_message(QueueUrl=queue).get("Messages")


def test_gap_41_a_message_past_its_retention_hides_every_message_behind_it(aws):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="kept", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    sqs.send_message(QueueUrl=url, MessageBody="new")
    from moto.sqs.models import sqs_backends

    old, _new = sqs_backends["123456789012"]["us-east-1"].queues["kept"]._messages
    old.sent_timestamp -= 61_000  # sent 61 s ago: past the queue's 60 s

    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []) == []
    # The expired message was still counted, and the receive hid it instead of deleting it.
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (counts["ApproximateNumberOfMessages"], counts["ApproximateNumberOfMessagesNotVisible"]) == ("1", "1")


def test_gap_42_a_describe_during_an_execution_s_end_sees_it_half_ended(aws):
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramError

    seen = described_while_ending(ProgramError({"error": "Oops", "cause": "it broke"}))

    assert {"status": "FAILED", "stopDate": seen[-1]["stopDate"]} in seen  # failed, with no error yet
    assert {"status": "RUNNING", "stopDate": seen[-1]["stopDate"]} in seen  # running, stopped already
