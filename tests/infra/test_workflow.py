"""The state machine definition, read as ASL: every state, the task, the validation branch."""

import pytest
from aws_cdk.assertions import Match

from pausable_sfn.app.workflow import DEFAULT_JOB_DURATION_SECONDS, MAX_JOB_DURATION_SECONDS

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
        "Parameters": {
            "request.$": "$",
            "inputIsEmptyArray.$": "States.ArrayContains(States.Array($), States.StringToJson('[]'))",
        },
        "Next": "Check input is an object",
    }
    assert states["Long job execution"]["Next"] == "Post processing"
    assert states["Post processing"]["Type"] == "Pass"
    assert states["Post processing"]["End"] is True


def test_long_job_execution_waits_on_its_job_id_and_the_registrar_hands_the_job_to_the_call_function(
    synthesized, states, call_function_id
):
    task = states["Long job execution"]
    registrar = synthesized.logical_id("AWS::Lambda::Function", "RegisterCorrelationKeyLambda")

    assert task["Type"] == "Task"
    assert task["Resource"] == "arn:<AWS::Partition>:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"] == {
        "FunctionName": f"<{registrar}.Arn>",
        "Payload": {
            "taskToken.$": "$$.Task.Token",
            "executionId.$": "$$.Execution.Id",
            # The job's id: what the external service calls back with instead of the token.
            "correlationKey.$": "$.jobId",
            "stateMachine.$": "$$.StateMachine.Id",
            "state.$": "$$.State.Name",
            "pausedAt.$": "$$.State.EnteredTime",
            "timeoutSeconds.$": "$.taskTimeoutSeconds",
            "keyInUseError": "LongJobKeyInUse",
            "receiver": {"function": f"<{call_function_id}.Arn>"},
            # What CallAsyncServiceLambda gets besides the key (or, for a manual execution, the token).
            "payload": {
                "isManualCallback.$": "$.isManualCallback",
                "jobDurationSeconds.$": "$.jobDurationSeconds",
                # What a manual execution's approval request says: the input, where, since when, how long.
                "request.$": "$.request",
                "stateName.$": "$$.State.Name",
                "pausedAt.$": "$$.State.EnteredTime",
                "timeoutSeconds.$": "$.taskTimeoutSeconds",
            },
        },
    }
    assert task["ResultPath"] == "$.CallAsyncServiceStep"


def test_an_automatic_job_gets_a_fresh_id_and_a_manual_one_none_so_a_person_gets_the_token(states):
    assert states["Automatic callback"]["Parameters"]["jobId.$"] == "States.UUID()"
    assert states["Manual callback"]["Parameters"]["jobId.$"] == "States.StringToJson('null')"


def test_each_mode_sets_its_own_task_timeout_an_hour_automatic_a_week_manual(states):
    task = states["Long job execution"]

    assert task["TimeoutSecondsPath"] == "$.taskTimeoutSeconds"
    assert "HeartbeatSeconds" not in task
    assert states["Automatic callback"]["Parameters"]["taskTimeoutSeconds"] == 3600
    assert states["Manual callback"]["Parameters"]["taskTimeoutSeconds"] == 7 * 24 * 3600


def test_timeouts_heartbeat_and_retention_come_from_cdk_context():
    custom = synthesize(
        {
            "longJobTimeoutSeconds": "120",
            "manualResumeTimeoutSeconds": 600,
            "longJobHeartbeatSeconds": 30,
            "logRetentionDays": 7,
        }
    )
    states = custom.definition()["States"]

    assert states["Long job execution"]["HeartbeatSeconds"] == 30
    assert states["Automatic callback"]["Parameters"]["taskTimeoutSeconds"] == 120
    assert states["Manual callback"]["Parameters"]["taskTimeoutSeconds"] == 600
    custom.template.resource_properties_count_is("AWS::Logs::LogGroup", {"RetentionInDays": 7}, 8)


def test_a_timeout_ends_in_long_job_timed_out_with_a_cause_that_says_what_ran_out(states):
    [timeouts, _] = states["Long job execution"]["Catch"]

    assert timeouts["ErrorEquals"] == ["States.Timeout"]
    assert timeouts["ResultPath"] == "$.failure"
    assert states[timeouts["Next"]] == {
        "Type": "Fail",
        "Error": "LongJobTimedOut",
        "CausePath": "States.Format('No callback arrived in time (States.Timeout; the task allows {} seconds).', "
        "$.taskTimeoutSeconds)",
    }
    assert timeouts["Next"] == "LongJobTimedOut"


def test_a_failed_job_ends_with_the_callbacks_error_and_cause(states):
    [_, failures] = states["Long job execution"]["Catch"]

    assert failures["ErrorEquals"] == ["States.ALL"]
    assert failures["ResultPath"] == "$.failure"
    read = states[failures["Next"]]
    assert read["Type"] == "Choice"
    assert states[read["Default"]] == {"Type": "Fail", "ErrorPath": "$.failure.Error", "CausePath": "$.failure.Cause"}
    assert read["Default"] == "LongJobFailed"


def test_a_states_error_ends_in_long_job_failed_with_a_cause_naming_it(states):
    # A Fail state may not raise an error named States.*: Step Functions reserves the prefix.
    [_, failures] = states["Long job execution"]["Catch"]
    [rule] = states[failures["Next"]]["Choices"]

    assert {key: rule[key] for key in ("Variable", "StringMatches")} == {
        "Variable": "$.failure.Error",
        "StringMatches": "States.*",
    }
    assert states[rule["Next"]] == {
        "Type": "Fail",
        "Error": "LongJobFailed",
        "CausePath": "States.Format('{}: {}', $.failure.Error, $.failure.Cause)",
    }


def test_the_state_machine_logs_every_event_without_execution_data_and_is_traced(template, synthesized):
    group = synthesized.logical_id("AWS::Logs::LogGroup", "WorkflowPausableStepFunctionExecutionLogs")

    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "LoggingConfiguration": {
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [group, "Arn"]}}}],
                "IncludeExecutionData": False,
                "Level": "ALL",
            },
            "TracingConfiguration": {"Enabled": True},
        },
    )


def test_input_that_is_not_an_object_is_rejected_first_arrays_included(states):
    check = states["Check input is an object"]
    [rule] = check["Choices"]

    # Strings, numbers, booleans, null, arrays with items and the empty array are refused.
    assert rule["Or"] == [
        {"Variable": "$.request", "IsString": True},
        {"Variable": "$.request", "IsNumeric": True},
        {"Variable": "$.request", "IsBoolean": True},
        {"Variable": "$.request", "IsNull": True},
        {"Variable": "$.request[0]", "IsPresent": True},
        {"Variable": "$.inputIsEmptyArray", "BooleanEquals": True},
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
        parameters = states[f"{target} callback"]["Parameters"]
        assert parameters["request.$"] == "$.request"
        assert "inputIsEmptyArray" not in str(parameters)  # the flag of the object check goes no further
        assert parameters["isManualCallback"] is boolean
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
        pending += [choice["Next"] for choice in state.get("Choices", []) + state.get("Catch", [])]

    assert reachable == set(states)
    assert "QueryLanguage" not in asl
    assert not [name for name, state in states.items() if "QueryLanguage" in state]
