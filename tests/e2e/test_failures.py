"""What goes wrong, and what the user sees: bad input, timeouts, bad or repeated callbacks."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from .conftest import assert_fired_after, event_types, first, take_messages


@pytest.mark.parametrize(
    ("execution_input", "cause"),
    [
        ({"IsManualCallback": "maybe"}, 'IsManualCallback must be "True", "False", "true", "false", true or false.'),
        ({"IsManualCallback": 1}, 'IsManualCallback must be "True", "False", "true", "false", true or false.'),
        ({"JobDurationSeconds": 901}, "JobDurationSeconds must be a number from 0 to 900."),
        ({"JobDurationSeconds": -1}, "JobDurationSeconds must be a number from 0 to 900."),
        ({"JobDurationSeconds": "10"}, "JobDurationSeconds must be a number from 0 to 900."),
        (5, "The execution input must be a JSON object."),
        ("True", "The execution input must be a JSON object."),
        ([], "The execution input must be a JSON object."),
        ([1], "The execution input must be a JSON object."),
        ([{"IsManualCallback": "True"}], "The execution input must be a JSON object."),
        (None, "The execution input must be a JSON object."),
    ],
)
def test_invalid_input_fails_at_once_with_a_named_error_before_any_lambda_runs(app, execution_input, cause):
    arn = app.start(execution_input)

    result = app.wait_end(arn)

    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "InvalidInput", cause)
    events = event_types(app.history(arn))
    assert "FailStateEntered" in events
    assert "TaskScheduled" not in events


def at(events: list[dict], event_type: str) -> datetime:
    return first(events, event_type)["timestamp"]


def beat_until_closed(stack, token: str, heartbeat_seconds: int) -> None:
    """Heartbeats, a fifth of the heartbeat timeout apart, until Step Functions answers that the
    task has closed: they keep the heartbeat timeout away, never the task's own."""
    while True:
        try:
            stack.sfn.send_task_heartbeat(taskToken=token)
        except stack.sfn.exceptions.TaskTimedOut:
            return
        stack.let_time_pass(heartbeat_seconds / 5)


def test_a_task_that_is_never_resumed_times_out_after_seven_days(timeouts):
    settings = timeouts.settings  # on AWS, the short copy's: 12 s, with a heartbeat timeout of 5 s
    arn = timeouts.start({"IsManualCallback": "True"})
    token = timeouts.wait_paused(arn).task_token
    if settings.long_job_heartbeat_seconds:
        beat_until_closed(timeouts, token, settings.long_job_heartbeat_seconds)

    result = timeouts.wait_end(arn)

    allowed = settings.manual_resume_timeout_seconds
    assert (result["status"], result["error"]) == ("FAILED", "LongJobTimedOut")
    assert result["cause"] == f"No callback arrived in time (States.Timeout; the task allows {allowed} seconds)."
    events = timeouts.history(arn)
    started = (at(events, "TaskStateEntered"), at(events, "TaskScheduled"))
    assert_fired_after(timeouts, allowed, started=started, at=at(events, "TaskTimedOut"))


def test_a_task_without_heartbeats_times_out_at_the_heartbeat_timeout(heartbeats):
    arn = heartbeats.start({"IsManualCallback": "True"})
    heartbeats.wait_paused(arn)

    result = heartbeats.wait_end(arn)

    heartbeat = heartbeats.settings.long_job_heartbeat_seconds
    assert (result["status"], result["error"]) == ("FAILED", "LongJobTimedOut")
    assert result["cause"] == (
        "No callback arrived in time "
        f"(States.HeartbeatTimeout; the task allows {heartbeat} seconds between heartbeats)."
    )
    events = heartbeats.history(arn)
    # From the task's start on AWS, from its hand-off (the Lambda's answer) on the embedded AWS.
    started = (at(events, "TaskScheduled"), at(events, "TaskSubmitted"))
    assert_fired_after(heartbeats, heartbeat, started=started, at=at(events, "TaskTimedOut"))


def test_a_resume_after_the_timeout_is_reported_as_expired_without_an_error(timeouts):
    arn = timeouts.start({"IsManualCallback": "True"})
    token = timeouts.wait_paused(arn).task_token
    timeouts.wait_end(arn)

    response = timeouts.resume({"taskToken": token})

    assert response["FunctionError"] is None
    [closed] = response["Payload"]["alreadyClosed"]
    assert closed["alreadyClosed"].startswith("TaskTimedOut: already resumed or expired")
    assert timeouts.sfn.describe_execution(executionArn=arn)["error"] == "LongJobTimedOut"


def test_a_bogus_token_is_refused_and_nothing_else_is_touched(app):
    paused = app.start({"IsManualCallback": "True"})
    app.wait_paused(paused)

    response = app.resume({"taskToken": "not-a-token-step-functions-issued"})

    assert response["FunctionError"] == "Unhandled"
    assert response["Payload"]["errorType"] == "CallbackRefusedError"
    assert "InvalidToken: Step Functions does not recognise this task token" in response["Payload"]["errorMessage"]
    assert app.sfn.describe_execution(executionArn=paused)["status"] == "RUNNING"


def test_a_second_resume_of_the_same_token_says_it_was_already_resumed_and_changes_nothing(app):
    arn = app.start({"IsManualCallback": "True"})
    token = app.wait_paused(arn).task_token
    app.resume({"taskToken": token})
    app.wait_end(arn)

    second = app.resume({"taskToken": token, "output": {"again": True}})

    assert second["FunctionError"] is None
    assert second["Payload"]["resumed"] == []
    assert "already resumed or expired" in second["Payload"]["alreadyClosed"][0]["alreadyClosed"]
    assert json.loads(app.sfn.describe_execution(executionArn=arn)["output"])["CallAsyncServiceStep"] == {
        "resumed": True
    }


def test_a_bad_event_sent_by_hand_is_refused_with_its_reason(app):
    response = app.resume({"taskToken": "", "status": "DONE"})

    assert response["FunctionError"] == "Unhandled"
    assert response["Payload"]["errorType"] == "InvalidEventError"
    assert "taskToken: String should have at least 1 character" in response["Payload"]["errorMessage"]
    assert "status: Input should be 'SUCCEED', 'FAILED' or 'HEARTBEAT'" in response["Payload"]["errorMessage"]


@pytest.mark.emulator_only(reason="counts the resume function's attempts in the embedded runtime")
def test_a_malformed_callback_message_is_retried_then_dropped_and_harms_nothing(app, embedded):
    paused = app.start({"IsManualCallback": "True"})
    app.wait_paused(paused)
    resume_function = app.output("ResumeStepFunctionFunctionName")

    sent = app.aws.client("sns").publish(TopicArn=app.output("CallbackTopicArn"), Message="job done!")
    # Its attempts name its SNS message; the dead letter comes once the retries are over.
    message_id = sent["MessageId"]
    dead_letters = app.output("CallbackDeadLetterQueueUrl")
    app.wait_until(lambda: take_messages(app.aws, dead_letters, message_id), what="the dead letter")

    attempts = [
        i for i in embedded.runtime.invocations if i.function == resume_function and message_id.encode() in i.payload
    ]
    assert [attempt.error_type for attempt in attempts] == ["InvalidEventError"] * 3  # the first try and two retries
    # Lambda's retries come a minute, then two, after the attempt before (the clock skipped them).
    ends = [attempt.started_at + attempt.duration_ms / 1000 for attempt in attempts]
    assert [round(later.started_at - end) for end, later in zip(ends, attempts[1:], strict=False)] == [60, 120]
    assert "is not JSON" in json.loads(attempts[0].payload)["errorMessage"]
    assert app.sfn.describe_execution(executionArn=paused)["status"] == "RUNNING"


def send_success_at_once(stack, token: str, barrier: threading.Barrier, sender: int) -> str:
    """SendTaskSuccess once both senders of `token` are ready: "accepted", or the error code."""
    barrier.wait(timeout=30)
    try:
        stack.sfn.send_task_success(taskToken=token, output=json.dumps({"sender": sender}))
    except stack.sfn.exceptions.TaskTimedOut:
        return "TaskTimedOut"
    return "accepted"


def test_two_callbacks_racing_on_one_token_exactly_one_is_accepted(app):
    arns = [app.start({"IsManualCallback": "True"}) for _ in range(40)]
    tokens = [app.wait_paused(arn, timeout=60).task_token for arn in arns]
    barriers = [threading.Barrier(2) for _ in tokens]

    with ThreadPoolExecutor(max_workers=2 * len(tokens)) as pool:
        answers = [
            [pool.submit(send_success_at_once, app, token, barrier, sender) for sender in (0, 1)]
            for token, barrier in zip(tokens, barriers, strict=True)
        ]
    answers = [[future.result() for future in pair] for pair in answers]

    assert all(sorted(pair) == ["TaskTimedOut", "accepted"] for pair in answers), answers
    for arn, pair in zip(arns, answers, strict=True):
        result = app.wait_end(arn, timeout=60)
        assert result["status"] == "SUCCEEDED"
        # The accepted callback's output, never the refused one's.
        assert json.loads(result["output"])["CallAsyncServiceStep"] == {"sender": pair.index("accepted")}
