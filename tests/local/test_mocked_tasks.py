"""Step Functions Local's mocked service integrations on the embedded AWS: a mock configuration file
("Using mocked service integrations for testing in Step Functions Local", AWS Step Functions
developer guide: sfn-local-test-sm-exec.html and sfn-local-mock-cfg-file.html) works unchanged, and
an execution started on `<arn>#<test case>` runs its mocked tasks as Step Functions Local does.

Every case fails on plain moto, which takes the `#` for part of the state machine's ARN."""

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.local.stepfunctions.mocking import MockConfig, MockConfigError, Return, Throw
from pausable_sfn.testing.waiting import wait_until

from .asset_code import python_function

ROLE = "arn:aws:iam::123456789012:role/mocked"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue"
HELLO = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}

# The mock configuration file of sfn-local-mock-cfg-file.html and sfn-local-test-sm-exec.html, as printed.
AWS_MOCK_CONFIG = """{
  "StateMachines":{
    "LambdaSQSIntegration":{
      "TestCases":{
        "HappyPath":{
          "LambdaState":"MockedLambdaSuccess",
          "SQSState":"MockedSQSSuccess"
        },
        "RetryPath":{
          "LambdaState":"MockedLambdaRetry",
          "SQSState":"MockedSQSSuccess"
        },
        "HybridPath":{
          "LambdaState":"MockedLambdaSuccess"
        }
      }
    }
  },
  "MockedResponses":{
    "MockedLambdaSuccess":{
      "0":{
        "Return":{
          "StatusCode":200,
          "Payload":{
            "StatusCode":200,
            "body":"Hello from Lambda!"
          }
        }
      }
    },
    "LambdaMockedResourceNotReady":{
      "0":{
        "Throw":{
          "Error":"Lambda.ResourceNotReadyException",
          "Cause":"Lambda resource is not ready."
        }
      }
    },
    "MockedSQSSuccess":{
      "0":{
        "Return":{
          "MD5OfMessageBody":"3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
          "MessageId":"3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"
        }
      }
    },
    "MockedLambdaRetry":{
      "0":{
        "Throw":{
          "Error":"Lambda.ResourceNotReadyException",
          "Cause":"Lambda resource is not ready."
        }
      },
      "1-2":{
        "Throw":{
          "Error":"Lambda.TimeoutException",
          "Cause":"Lambda timed out."
        }
      },
      "3":{
        "Return":{
          "StatusCode":200,
          "Payload":{
            "StatusCode":200,
            "body":"Hello from Lambda!"
          }
        }
      }
    }
  }
}"""
# Its state machine (sfn-local-test-sm-exec.html), as printed.
AWS_DEFINITION = {
    "Comment": "This state machine is called: LambdaSQSIntegration",
    "StartAt": "LambdaState",
    "States": {
        "LambdaState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"Payload.$": "$", "FunctionName": "HelloWorldFunction"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 3, "BackoffRate": 2}],
            "Next": "SQSState",
        },
        "SQSState": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": QUEUE_URL, "MessageBody.$": "$"},
            "End": True,
        },
    },
}


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as embedded:
        yield embedded


def create(aws: EmbeddedAws, definition: dict[str, Any], name: str | None = None) -> tuple[str, str]:
    """A state machine's name and ARN."""
    name = name or f"mocked-{uuid.uuid4().hex[:12]}"
    arn = aws.client("stepfunctions").create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return name, arn


def run(aws: EmbeddedAws, arn: str, execution_input: Any = None, *, on_the_clock: bool = False) -> dict[str, Any]:
    """Runs an execution to its end: its description, with its history's events under "events"."""
    sfn = aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input or {}))["executionArn"]
    ended = wait_until(
        lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
        what="the execution's end",
        clock=aws.clock if on_the_clock else None,
    )
    return {**ended, "events": sfn.get_execution_history(executionArn=execution)["events"]}


def types(ended: dict[str, Any]) -> list[str]:
    return [event["type"] for event in ended["events"]]


def details(ended: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [event[key] for event in ended["events"] for key in event if key == kind]


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, **fields}


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A state machine of these states, each going to the next unless it says where it goes."""
    names = [name for name, _ in states]
    chained = {}
    for n, (name, state) in enumerate(states):
        ends = state["Type"] in ("Choice", "Succeed", "Fail") or "Next" in state or "End" in state
        chained[name] = (
            state if ends else {**state, **({"Next": names[n + 1]} if n + 1 < len(names) else {"End": True})}
        )
    return {"StartAt": names[0], "States": chained, **top}


INVOKE = "arn:aws:states:::lambda:invoke"


def test_the_aws_documentation_mock_file_runs_unchanged(aws, tmp_path):
    config = tmp_path / "MockConfigFile.json"
    config.write_text(AWS_MOCK_CONFIG)
    aws.mocks.load(config)
    _, arn = create(aws, AWS_DEFINITION, name="LambdaSQSIntegration")
    queue = aws.client("sqs").create_queue(QueueName="myQueue")["QueueUrl"]

    happy = run(aws, f"{arn}#HappyPath")
    retried = run(aws, f"{arn}#RetryPath", on_the_clock=True)  # retries after 2, 4 and 8 s
    hybrid = run(aws, f"{arn}#HybridPath")

    sqs_mock = {
        "MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51",
        "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51",
    }
    assert (happy["status"], json.loads(happy["output"])) == ("SUCCEEDED", sqs_mock)
    assert happy["stateMachineArn"] == arn  # the execution is the state machine's, without the suffix
    [sqs_state] = [e for e in details(happy, "stateEnteredEventDetails") if e["name"] == "SQSState"]
    assert json.loads(sqs_state["input"]) == HELLO  # LambdaState's mocked result, passed on
    # RetryPath: the first attempt and two retries fail as mocked ("0", "1-2"), the third retry succeeds ("3").
    assert (retried["status"], json.loads(retried["output"])) == ("SUCCEEDED", sqs_mock)
    assert [(e["error"], e["cause"]) for e in details(retried, "taskFailedEventDetails")] == [
        ("Lambda.ResourceNotReadyException", "Lambda resource is not ready."),
        ("Lambda.TimeoutException", "Lambda timed out."),
        ("Lambda.TimeoutException", "Lambda timed out."),
    ]
    assert types(retried).count("TaskScheduled") == 5  # four of LambdaState, one of SQSState
    # HybridPath: SQSState is not mocked and sends the message for real.
    assert hybrid["status"] == "SUCCEEDED"
    output = json.loads(hybrid["output"])
    assert output["MessageId"] != sqs_mock["MessageId"]
    [message] = aws.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(message["Body"]) == HELLO


def test_a_mocked_task_records_the_events_of_the_real_one_and_calls_nothing(aws):
    name, arn = create(aws, machine(("Call", task(INVOKE, Parameters={"FunctionName": "nowhere", "Payload.$": "$"}))))
    aws.mocks.add_test_case(name, "Mocked", {"Call": Return(HELLO)})

    mocked = run(aws, f"{arn}#Mocked", {"k": 1})
    real = run(aws, arn, {"k": 1})  # without "#": the function does not exist

    assert types(mocked) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    [scheduled] = details(mocked, "taskScheduledEventDetails")
    assert (scheduled["resourceType"], scheduled["resource"]) == ("lambda", "invoke")
    assert json.loads(scheduled["parameters"]) == {"FunctionName": "nowhere", "Payload": {"k": 1}}
    [succeeded] = details(mocked, "taskSucceededEventDetails")
    assert json.loads(succeeded["output"]) == HELLO  # the mock as it is: no SdkHttpMetadata added
    assert json.loads(mocked["output"]) == HELLO
    assert real["status"] == "FAILED"


def test_return_is_the_raw_result_that_result_selector_result_path_and_output_path_read(aws):
    call = task(
        INVOKE,
        Parameters={"FunctionName": "f"},
        ResultSelector={"body.$": "$.Payload.body"},
        ResultPath="$.result",
        OutputPath="$.result.body",
    )
    name, arn = create(aws, machine(("Call", call)))
    aws.mocks.add_test_case(name, "Selected", {"Call": Return(HELLO)})

    ended = run(aws, f"{arn}#Selected", {"kept": True})

    assert json.loads(ended["output"]) == "Hello from Lambda!"


def test_a_throw_is_a_task_failure_that_retry_and_catch_see_by_its_error(aws):
    call = task(
        "arn:aws:states:::sqs:sendMessage",
        Parameters={"QueueUrl": QUEUE_URL, "MessageBody": "x"},
        Retry=[{"ErrorEquals": ["Custom.Busy"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        Catch=[
            {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failed", "Next": "TaskFailed"},
            {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timedOut", "Next": "TimedOut"},
        ],
        End=True,
    )
    definition = machine(("Call", call), ("TaskFailed", {"Type": "Pass", "End": True}))
    definition["States"]["TimedOut"] = {"Type": "Pass", "End": True}
    name, arn = create(aws, definition)
    aws.mocks.add_test_case(name, "Busy", {"Call": [Throw("Custom.Busy", "try later"), Throw("Custom.Down", "gone")]})
    aws.mocks.add_test_case(name, "TimedOut", {"Call": Throw("States.Timeout")})

    busy = run(aws, f"{arn}#Busy", on_the_clock=True)
    timed_out = run(aws, f"{arn}#TimedOut")

    assert details(busy, "taskFailedEventDetails") == [
        {"error": "Custom.Busy", "cause": "try later", "resource": "sendMessage", "resourceType": "sqs"},
        {"error": "Custom.Down", "cause": "gone", "resource": "sendMessage", "resourceType": "sqs"},
    ]
    assert json.loads(busy["output"]) == {"failed": {"Error": "Custom.Down", "Cause": "gone"}}
    # States.TaskFailed matches any task failure but States.Timeout, as on Step Functions.
    assert json.loads(timed_out["output"]) == {"timedOut": {"Error": "States.Timeout", "Cause": ""}}


def loop(task_state: dict[str, Any]) -> dict[str, Any]:
    """Polls until its task's Payload says done, and catches every error after the loop."""
    return machine(
        ("Poll", {**task_state, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}),
        (
            "Done?",
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.Payload.done", "BooleanEquals": True, "Next": "Done"}],
                "Default": "Poll",
            },
        ),
        ("Done", {"Type": "Succeed"}),
        ("Caught", {"Type": "Pass", "End": True}),
    )


def test_a_state_entered_again_takes_the_next_attempt_and_past_the_last_the_execution_fails(aws):
    name, arn = create(aws, loop(task(INVOKE, Parameters={"FunctionName": "f"})))
    running, done = Return({"Payload": {"done": False}}), Return({"Payload": {"done": True}})
    aws.mocks.add_test_case(name, "ThirdTime", {"Poll": [running, running, done]})
    aws.mocks.add_test_case(name, "NeverDone", {"Poll": [running]})

    third_time = run(aws, f"{arn}#ThirdTime")
    never_done = run(aws, f"{arn}#NeverDone")

    assert third_time["status"] == "SUCCEEDED"
    assert [json.loads(e["output"]) for e in details(third_time, "taskSucceededEventDetails")] == [
        {"Payload": {"done": False}},
        {"Payload": {"done": False}},
        {"Payload": {"done": True}},
    ]
    # Step Functions Local: without a response for an attempt, the execution fails; no Catch takes it.
    assert (never_done["status"], never_done["error"]) == ("FAILED", "States.Runtime")
    assert never_done["cause"].endswith(
        f"No mocked response for attempt 1 of state 'Poll': test case 'NeverDone' of state machine '{name}' "
        "gives 1 (attempts 0 to 0)"
    )
    assert "PassStateEntered" not in types(never_done)


def test_a_mocked_wait_for_task_token_task_gets_a_token_and_ends_at_once_with_the_mock(aws):
    callback = task(
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        Parameters={"QueueUrl": QUEUE_URL, "MessageBody": {"token.$": "$$.Task.Token"}},
        HeartbeatSeconds=600,
        Catch=[{"ErrorEquals": ["Job.Failed"], "ResultPath": "$.failed", "Next": "Failed"}],
        End=True,
    )
    name, arn = create(aws, machine(("Wait for the job", callback), ("Failed", {"Type": "Pass", "End": True})))
    aws.mocks.add_test_case(name, "Resumed", {"Wait for the job": Return({"approved": True})})
    aws.mocks.add_test_case(name, "Refused", {"Wait for the job": Throw("Job.Failed", "refused")})

    resumed = run(aws, f"{arn}#Resumed")  # no callback is sent, and the clock is not moved
    refused = run(aws, f"{arn}#Refused")

    assert types(resumed)[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    [scheduled] = details(resumed, "taskScheduledEventDetails")
    token = json.loads(scheduled["parameters"])["MessageBody"]["token"]
    assert isinstance(token, str)
    assert len(token) > 20  # generated, as Step Functions Local does
    assert json.loads(resumed["output"]) == {"approved": True}
    assert types(refused)[2:5] == ["TaskScheduled", "TaskStarted", "TaskFailed"]
    assert json.loads(refused["output"]) == {"failed": {"Error": "Job.Failed", "Cause": "refused"}}


def test_states_in_map_iterations_and_parallel_branches_share_the_executions_count(aws):
    inner = task(INVOKE, Parameters={"FunctionName": "f", "Payload.$": "$"}, OutputPath="$.Payload", End=True)
    each = {
        "Type": "Map",
        "ItemsPath": "$.list",
        "MaxConcurrency": 1,  # the order AWS's page asks for, to make the attempts predictable
        "ItemProcessor": {"StartAt": "Item", "States": {"Item": inner}},
        "ResultPath": "$.items",
    }
    both = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "Left", "States": {"Left": inner}},
            {"StartAt": "Right", "States": {"Right": inner}},
        ],
        "ResultPath": "$.branches",
    }
    name, arn = create(aws, machine(("Each", each), ("Both", both)))
    aws.mocks.add_test_case(
        name,
        "Counted",
        {
            "Item": [Return({"Payload": n}) for n in ("first", "second", "third")],
            "Left": Return({"Payload": "left"}),
            "Right": Return({"Payload": "right"}),
        },
    )

    ended = run(aws, f"{arn}#Counted", {"list": [1, 2, 3]})

    output = json.loads(ended["output"])
    assert output["branches"] == ["left", "right"]
    assert output["items"] == ["first", "second", "third"]


def test_a_jsonata_state_machine_reads_the_mock_as_its_states_result(aws):
    call = task(
        INVOKE,
        Arguments={"FunctionName": "f", "Payload": "{% $states.input %}"},
        Assign={"greeting": "{% $states.result.Payload.body %}"},
        Output="{% {'said': $states.result.Payload.body, 'status': $states.result.StatusCode} %}",
    )
    name, arn = create(
        aws, machine(("Call", call), ("Echo", {"Type": "Pass", "Output": "{% $greeting %}"}), QueryLanguage="JSONata")
    )
    aws.mocks.add_test_case(name, "Said", {"Call": Return(HELLO)})

    ended = run(aws, f"{arn}#Said")

    assert json.loads(ended["output"]) == "Hello from Lambda!"
    [exited] = [e for e in details(ended, "stateExitedEventDetails") if e["name"] == "Call"]
    assert json.loads(exited["output"]) == {"said": "Hello from Lambda!", "status": 200}


def test_a_lambda_function_arn_resource_returns_the_mocks_payload_with_lambdas_events(aws):
    function = "arn:aws:lambda:us-east-1:123456789012:function:nowhere"
    name, arn = create(
        aws,
        machine(
            ("Call", task(function, Catch=[{"ErrorEquals": ["Oops"], "Next": "Caught"}], End=True)),
            ("Caught", {"Type": "Pass", "End": True}),
        ),
    )
    aws.mocks.add_test_case(name, "Answered", {"Call": Return(HELLO)})
    aws.mocks.add_test_case(name, "Raised", {"Call": Throw("Oops", "it broke")})

    answered = run(aws, f"{arn}#Answered")
    raised = run(aws, f"{arn}#Raised")

    assert json.loads(answered["output"]) == HELLO["Payload"]
    assert types(answered)[2:5] == ["LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded"]
    assert details(raised, "lambdaFunctionFailedEventDetails") == [{"error": "Oops", "cause": "it broke"}]
    assert raised["status"] == "SUCCEEDED"


HANDLER = "def handle(event, context):\n    return {'real': event}\n"


def test_a_state_the_test_case_does_not_mock_runs_the_real_lambda_code(aws):
    function = python_function(aws, f"real-{uuid.uuid4().hex[:8]}", HANDLER)
    mocked = task(INVOKE, Parameters={"FunctionName": function, "Payload": {}}, OutputPath="$.Payload")
    real = task(INVOKE, Parameters={"FunctionName": function, "Payload.$": "$"}, OutputPath="$.Payload")
    name, arn = create(aws, machine(("Mocked", mocked), ("Real", real)))
    aws.mocks.add_test_case(name, "Half", {"Mocked": Return({"Payload": {"mocked": True}})})

    ended = run(aws, f"{arn}#Half")

    assert json.loads(ended["output"]) == {"real": {"mocked": True}}


def test_concurrent_executions_of_one_test_case_count_their_attempts_apart(aws):
    name, arn = create(aws, machine(("Call", task(INVOKE, Parameters={"FunctionName": "f"}))))
    aws.mocks.add_test_case(name, "Once", {"Call": Return({"only": "once"})})
    ended: list[dict[str, Any]] = []

    def one() -> None:
        ended.append(run(aws, f"{arn}#Once"))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [e["status"] for e in ended] == ["SUCCEEDED"] * 6


def refused_start(aws: EmbeddedAws, arn: str) -> dict[str, str]:
    with pytest.raises(ClientError) as refused:
        aws.client("stepfunctions").start_execution(stateMachineArn=arn)
    return refused.value.response["Error"]


def test_a_test_case_it_cannot_run_is_refused_at_start_execution_naming_it(aws):
    definition = machine(
        ("Call", task(INVOKE, Parameters={"FunctionName": "f"})), ("Then", {"Type": "Pass", "End": True})
    )
    name, arn = create(aws, definition)
    untested, untested_arn = create(aws, definition)
    aws.mocks.add_test_case(name, "Good", {"Call": Return(1)})
    aws.mocks.add_test_case(name, "Stray", {"Nowhere": Return(1)})
    aws.mocks.add_test_case(name, "Passing", {"Then": Return(1)})

    assert refused_start(aws, f"{arn}#Missing") == {
        "Code": "ValidationException",
        "Message": f"Test case 'Missing' is not one of state machine '{name}' in the mock configuration "
        "(its test cases: Good, Passing, Stray)",
    }
    assert refused_start(aws, f"{untested_arn}#Good")["Message"] == (
        f"State machine '{untested}' has no test cases in the mock configuration"
    )
    assert refused_start(aws, f"{arn}#Stray")["Message"] == (
        f"Test case 'Stray' of state machine '{name}' mocks 'Nowhere', which is not a state of its definition"
    )
    assert refused_start(aws, f"{arn}#Passing")["Message"] == (
        f"Test case 'Passing' of state machine '{name}' mocks 'Then', a Pass state: only Task states can be mocked"
    )
    assert aws.client("stepfunctions").list_executions(stateMachineArn=arn)["executions"] == []


BROKEN: dict[str, tuple[Any, str]] = {
    "an attempt key that is not a number or a range": (
        {"StateMachines": {}, "MockedResponses": {"MockedLambdaRetry": {"0": {"Return": 1}, "1-x": {"Return": 2}}}},
        'MockedResponses.MockedLambdaRetry: "1-x" is not an attempt number or a range like "1-2"',
    ),
    "a range that runs backwards": (
        {"StateMachines": {}, "MockedResponses": {"R": {"2-1": {"Return": 1}}}},
        'MockedResponses.R: "2-1" is not an attempt number or a range like "1-2"',
    ),
    "a gap between attempts": (
        {"StateMachines": {}, "MockedResponses": {"R": {"0-1": {"Return": 1}, "3": {"Return": 2}}}},
        "MockedResponses.R: attempt 2 has no response (the attempts must run from 0 without a gap)",
    ),
    "attempts given twice": (
        {"StateMachines": {}, "MockedResponses": {"R": {"0-1": {"Return": 1}, "1": {"Return": 2}}}},
        'MockedResponses.R: attempt 1 is given twice ("0-1" and "1")',
    ),
    "a response with both Return and Throw": (
        {"StateMachines": {}, "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "E", "Cause": "C"}}}}},
        'MockedResponses.R."0": must hold exactly one of Return and Throw, not Return, Throw',
    ),
    "a Throw without its Cause": (
        {"StateMachines": {}, "MockedResponses": {"R": {"0": {"Throw": {"Error": "E"}}}}},
        'MockedResponses.R."0".Throw.Cause: must be a string',
    ),
    "a test case naming a mocked response that does not exist": (
        {"StateMachines": {"M": {"TestCases": {"Happy": {"S": "Nope"}}}}, "MockedResponses": {}},
        'StateMachines.M.TestCases.Happy.S: "Nope" is not a mocked response of MockedResponses',
    ),
    "a state machine without TestCases": (
        {"StateMachines": {"M": {"Cases": {}}}, "MockedResponses": {}},
        "StateMachines.M: must hold TestCases alone, not Cases",
    ),
    "a field a mock configuration does not have": (
        {"StateMachines": {}, "MockedResponse": {}},
        "MockedResponse: is not a field of a mock configuration (StateMachines, MockedResponses)",
    ),
    "no StateMachines": (
        {"MockedResponses": {}},
        "StateMachines: is missing (a mock configuration has StateMachines, MockedResponses)",
    ),
}


@pytest.mark.parametrize(("config", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_a_mock_configuration_that_cannot_be_used_is_refused_saying_where(config, message):
    with pytest.raises(MockConfigError) as refused:
        MockConfig.from_dict(config)

    assert str(refused.value) == message


def test_a_file_that_is_not_json_is_refused_naming_it(tmp_path):
    broken = tmp_path / "MockConfigFile.json"
    broken.write_text('{"StateMachines": ')

    with pytest.raises(MockConfigError, match=f"^{broken}: is not JSON"):
        MockConfig.from_file(broken)


def test_a_test_case_given_from_python_must_hold_returns_and_throws(aws):
    with pytest.raises(MockConfigError) as refused:
        aws.mocks.add_test_case("M", "Case", {"S": [Return(1), {"Return": 2}]})

    assert str(refused.value) == "M#Case.S: must be a Return or a Throw, or a non-empty sequence of them"


def test_sfn_mock_config_names_the_file_as_for_step_functions_local(tmp_path, monkeypatch):
    config = tmp_path / "EnvSpecifiedMockConfig.json"
    config.write_text(AWS_MOCK_CONFIG)
    monkeypatch.setenv("SFN_MOCK_CONFIG", str(config))

    embedded = EmbeddedAws()  # not entered: the file is read as it is built

    assert embedded.mocks.test_case("LambdaSQSIntegration", "RetryPath")["LambdaState"][3] == Return(HELLO)
    config.write_text("{}")
    with pytest.raises(MockConfigError, match="StateMachines: is missing"):
        EmbeddedAws()
