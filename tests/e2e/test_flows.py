"""The flows a user runs: automatic, manual, rejected; each asserted on status, output and history."""

import json

from pausable_sfn.testing.polling import waiting_task_token

from .conftest import event_types, first, seconds_between


def test_automatic_execution_pauses_until_the_emulated_job_calls_back(app):
    arn = app.start({"IsManualCallback": "False", "JobDurationSeconds": 5})

    app.wait_paused(arn)
    result = app.wait_end(arn)

    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["isManualCallback"] is False
    assert output["jobDurationSeconds"] == 5
    assert output["CallAsyncServiceStep"]["message"] == "Long job finished"
    events = app.history(arn)
    assert event_types(events)[-4:] == ["TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
    # The job request waited out its delay in the queue: the callback came after the job's duration
    # (on the embedded AWS, in milliseconds of wall time: the clock skipped the delay).
    assert seconds_between(first(events, "TaskScheduled"), first(events, "TaskSucceeded")) >= 5


def test_an_empty_input_runs_automatically_with_the_default_duration(app):
    arn = app.start({})

    snapshot = app.wait_paused(arn)

    registration = json.loads(first(snapshot.events, "TaskScheduled")["taskScheduledEventDetails"]["parameters"])
    payload = registration["Payload"]["payload"]  # what the registrar hands CallAsyncServiceLambda
    assert (payload["isManualCallback"], payload["jobDurationSeconds"]) == (False, 10)
    assert registration["Payload"]["executionId"] == arn
    app.resume({"taskToken": snapshot.task_token})  # no need to wait the ten seconds
    assert app.wait_end(arn)["status"] == "SUCCEEDED"


def test_manual_execution_stays_paused_until_a_person_resumes_it(app):
    arn = app.start({"IsManualCallback": "True"})
    snapshot = app.wait_paused(arn)
    # No job was requested from the external service: a person was asked instead.
    submitted = json.loads(first(snapshot.events, "TaskSubmitted")["taskSubmittedEventDetails"]["output"])
    assert submitted["Payload"] == {"mode": "manual", "approvalRequested": True}
    assert app.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"

    response = app.resume({"taskToken": waiting_task_token(snapshot.events)})
    result = app.wait_end(arn)

    assert response["FunctionError"] is None
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["CallAsyncServiceStep"] == {"resumed": True}


def test_a_person_can_resume_with_an_output_of_their_own(app):
    arn = app.start({"IsManualCallback": True, "ticket": "OPS-7"})
    token = app.wait_paused(arn).task_token

    app.resume({"taskToken": token, "output": {"approvedBy": "ana"}})
    output = json.loads(app.wait_end(arn)["output"])

    assert output["CallAsyncServiceStep"] == {"approvedBy": "ana"}
    assert output["request"] == {"IsManualCallback": True, "ticket": "OPS-7"}


def test_a_rejection_fails_the_execution_with_its_error_and_cause(app):
    arn = app.start({"IsManualCallback": "true"})
    token = app.wait_paused(arn).task_token

    app.resume({"taskToken": token, "status": "FAILED", "error": "JobRejected", "cause": "Budget exceeded."})
    result = app.wait_end(arn)

    assert (result["status"], result["error"], result["cause"]) == ("FAILED", "JobRejected", "Budget exceeded.")
    assert "TaskFailed" in event_types(app.history(arn))


def test_the_execution_output_never_carries_the_task_token(app):
    arn = app.start({"IsManualCallback": "True"})
    token = app.wait_paused(arn).task_token

    app.resume({"taskToken": token})
    result = app.wait_end(arn)

    assert token not in result["output"]
