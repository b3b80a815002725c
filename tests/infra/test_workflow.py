"""The state machine definition, read as ASL: every state, the task, the validation branch."""

import pytest
from aws_cdk.assertions import Match

from pausable_sfn.workflow import DEFAULT_JOB_DURATION_SECONDS, MAX_JOB_DURATION_SECONDS

from .conftest import synthesize


@pytest.fixture(scope="module")
def asl(synthesized):
    return synthesized.definition()


@pytest.fixture(scope="module")
def states(asl):
    return asl["States"]


@pytest.fixture(scope="module")
def call_function_id(synthesized):
    return synthesized.logical_id("AWS::Lambda::Function", "CallAsyncServiceLambda")


def test_is_a_standard_state_machine_named_after_the_original(template):
    template.has_resource_properties("AWS::StepFunctions::StateMachine", {"StateMachineType": "STANDARD"})
    template.has_output("StateMachineArn", {"Value": {"Ref": Match.string_like_regexp("PausableStepFunction")}})


def test_the_main_path_is_preprocessing_then_long_job_then_post_processing(asl, states):
    assert asl["StartAt"] == "Preprocessing"
    assert states["Preprocessing"] == {
        "Type": "Pass",
        "Comment": "Keeps the execution input under $.request",
        "Parameters": {"request.$": "$"},
        "Next": "Check input is an object",
    }
    assert states["Long job execution"]["Next"] == "Post processing"
    assert states["Post processing"]["Type"] == "Pass"
    assert states["Post processing"]["End"] is True


def test_long_job_execution_invokes_the_call_function_and_waits_for_the_token(states, call_function_id):
    task = states["Long job execution"]

    assert task["Type"] == "Task"
    assert task["Resource"] == "arn:<AWS::Partition>:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"] == {
        "FunctionName": f"<{call_function_id}.Arn>",
        "Payload": {
            "taskToken.$": "$$.Task.Token",
            "isManualCallback.$": "$.isManualCallback",
            "jobDurationSeconds.$": "$.jobDurationSeconds",
            "executionId.$": "$$.Execution.Id",
        },
    }
    assert task["ResultPath"] == "$.CallAsyncServiceStep"


def test_long_job_execution_times_out_after_an_hour_without_heartbeat_by_default(states):
    task = states["Long job execution"]

    assert task["TimeoutSeconds"] == 3600
    assert "HeartbeatSeconds" not in task


def test_timeout_and_heartbeat_come_from_cdk_context():
    custom = synthesize({"longJobTimeoutSeconds": "120", "longJobHeartbeatSeconds": 30, "logRetentionDays": 7})
    task = custom.definition()["States"]["Long job execution"]

    assert (task["TimeoutSeconds"], task["HeartbeatSeconds"]) == (120, 30)
    custom.template.resource_properties_count_is("AWS::Logs::LogGroup", {"RetentionInDays": 7}, 3)


def test_input_that_is_not_an_object_is_rejected_first(states):
    check = states["Check input is an object"]
    [rule] = check["Choices"]

    assert sorted(next(iter(k for k in cond if k != "Variable")) for cond in rule["Or"]) == [
        "IsBoolean",
        "IsNull",
        "IsNumeric",
        "IsString",
    ]
    assert states[rule["Next"]] == {
        "Type": "Fail",
        "Error": "InvalidInput",
        "Cause": "The execution input must be a JSON object.",
    }
    assert check["Default"] == "Read IsManualCallback"


def test_is_manual_callback_defaults_to_automatic_and_accepts_words_and_booleans(states):
    choices = states["Read IsManualCallback"]["Choices"]
    flag = "$.request.IsManualCallback"

    assert choices[0] == {"Variable": flag, "IsPresent": False, "Next": "Automatic callback"}
    for rule, word, boolean, target in (
        (choices[1], "False", False, "Automatic"),
        (choices[2], "True", True, "Manual"),
    ):
        assert rule["Or"] == [
            {"Variable": flag, "StringEquals": word},
            {"Variable": flag, "StringEquals": word.lower()},
            {"Variable": flag, "BooleanEquals": boolean},
        ]
        assert rule["Next"] == f"{target} callback"
        assert states[f"{target} callback"]["Result"] is boolean
        assert states[f"{target} callback"]["ResultPath"] == "$.isManualCallback"
    assert states[states["Read IsManualCallback"]["Default"]]["Error"] == "InvalidInput"
    assert "IsManualCallback must be" in states[states["Read IsManualCallback"]["Default"]]["Cause"]


def test_job_duration_defaults_to_ten_seconds_and_must_be_in_range(states):
    read = states["Read JobDurationSeconds"]
    duration = "$.request.JobDurationSeconds"

    assert read["Choices"][0]["Next"] == "Default job duration"
    assert states["Default job duration"]["Result"] == DEFAULT_JOB_DURATION_SECONDS == 10
    assert read["Choices"][1]["And"] == [
        {"Variable": duration, "IsNumeric": True},
        {"Variable": duration, "NumericGreaterThanEquals": 0},
        {"Variable": duration, "NumericLessThanEquals": MAX_JOB_DURATION_SECONDS},
    ]
    assert states["Requested job duration"]["InputPath"] == duration
    assert states[read["Default"]] == {
        "Type": "Fail",
        "Error": "InvalidInput",
        "Cause": "JobDurationSeconds must be a number from 0 to 900.",
    }


def test_every_state_is_reachable_and_uses_jsonpath_only(asl, states):
    reachable, pending = set(), [asl["StartAt"]]
    while pending:
        name = pending.pop()
        if name in reachable:
            continue
        reachable.add(name)
        state = states[name]
        pending += [state[key] for key in ("Next", "Default") if key in state]
        pending += [choice["Next"] for choice in state.get("Choices", [])]

    assert reachable == set(states)
    assert "QueryLanguage" not in asl
    assert not [name for name, state in states.items() if "QueryLanguage" in state]
