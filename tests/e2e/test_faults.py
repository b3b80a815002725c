"""Faults the embedded AWS provokes on purpose (emulator only: the real cloud cannot be told to
throttle or to crash a handler). A callback is never lost: it resumes, or it is kept."""

import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from unittest import mock

import pytest
from moto.core.exceptions import JsonRESTError
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from pausable_sfn.contracts import fingerprint
from pausable_sfn.testing.waiting import wait_until

from .conftest import Stack, assert_fired_after, first, take_messages

pytestmark = pytest.mark.emulator_only(reason="faults are injected into the embedded AWS; AWS cannot be told to")


@contextmanager
def send_task_success_failing(token: str, times: int, code: str) -> Iterator[list[str]]:
    """SendTaskSuccess for `token` answers `code` `times` times (every time with times < 0), then
    works; for any other token (another test's late callback) it works as usual."""
    calls: list[str] = []
    original = StepFunctionsParserBackend.send_task_success

    def failing(backend: StepFunctionsParserBackend, task_token: str, outcome: str) -> Any:
        if task_token == token:
            calls.append(task_token)
            if times < 0 or len(calls) <= times:
                raise JsonRESTError(code, f"injected {code}")
        return original(backend, task_token, outcome)

    with mock.patch.object(StepFunctionsParserBackend, "send_task_success", failing):
        yield calls


@contextmanager
def lambda_task_raising(marker: str, error: Exception) -> Iterator[None]:
    """The Lambda task whose payload carries `marker` raises `error` in the interpreter: a failure
    the task cannot name (Step Functions calls it States.Runtime). Other tasks run as usual."""
    original = lambda_eval_utils.execute_lambda_function_integration

    def failing(**arguments: Any) -> None:
        if marker.encode() in arguments["parameters"].get("Payload", b""):
            raise error
        original(**arguments)

    with mock.patch.object(lambda_eval_utils, "execute_lambda_function_integration", failing):
        yield


def publish(stack: Stack, message: Any) -> None:
    text = message if isinstance(message, str) else json.dumps(message)
    stack.aws.client("sns").publish(TopicArn=stack.output("CallbackTopicArn"), Message=text)


def dead_letters(stack: Stack, *markers: str) -> list[dict[str, Any]]:
    """The dead letters that carry one of `markers` (a task token, a marker the test sent)."""
    queue = stack.output("CallbackDeadLetterQueueUrl")
    return [json.loads(m["Body"]) for m in take_messages(stack.aws, queue, *markers)]


def wait_for_dead_letters(stack: Stack, count: int, *markers: str) -> list[dict[str, Any]]:
    """Waits until `count` dead letters carrying `markers` have arrived (the clock skipping Lambda's
    retry intervals); returns them."""
    kept: list[dict[str, Any]] = []

    def arrived() -> bool:
        kept.extend(dead_letters(stack, *markers))
        return len(kept) >= count

    stack.wait_until(arrived, what=f"{count} dead letter(s)")
    return kept


def test_a_callback_throttled_twice_still_resumes_its_execution(app):
    arn = app.start({"IsManualCallback": "True"})
    token = app.wait_paused(arn).task_token

    with send_task_success_failing(token, 2, "ThrottlingException") as calls:
        publish(app, {"taskToken": token, "output": {"after": "throttling"}})
        result = app.wait_end(arn)  # once it has succeeded, no attempt is left to fail

    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"])["CallAsyncServiceStep"] == {"after": "throttling"}
    assert calls.count(token) == 3
    assert dead_letters(app, token) == []


def test_a_callback_that_is_not_json_or_has_no_token_is_kept_and_the_execution_times_out(app):
    waiting = app.start({"IsManualCallback": "True"})
    bystander = app.start({"IsManualCallback": "True"})
    app.wait_paused(waiting)
    app.wait_paused(bystander)
    marker = uuid.uuid4().hex

    publish(app, f"done {marker}")
    publish(app, {"status": "SUCCEED", "output": {"marker": marker}})
    kept = wait_for_dead_letters(app, 2, marker)

    assert sorted(record["responsePayload"]["errorType"] for record in kept) == ["InvalidEventError"] * 2
    assert {record["requestContext"]["approximateInvokeCount"] for record in kept} == {3}
    assert all(marker in record["requestPayload"]["Records"][0]["Sns"]["Message"] for record in kept)
    assert [app.sfn.describe_execution(executionArn=arn)["status"] for arn in (waiting, bystander)] == ["RUNNING"] * 2
    app.sfn.stop_execution(executionArn=bystander)
    # Nothing resumes the waiting one: its task times out, 7 days on.
    assert app.wait_end(waiting)["error"] == "LongJobTimedOut"


def test_a_resume_that_crashes_on_every_attempt_is_kept_after_the_retries(app):
    arn = app.start({"IsManualCallback": "True"})
    token = app.wait_paused(arn).task_token

    with send_task_success_failing(token, -1, "AccessDeniedException") as calls:
        publish(app, {"taskToken": token, "executionId": arn})
        # Lambda retries a minute, then two, after the attempt before. The clock is moved by exactly
        # that (each advance counts from the moment the attempt under way has ended and set its
        # retry), not skipped from timer to timer: nothing else is due in between, the task's own
        # 7-day timeout least of all, which a skip once reached in a whole-suite run.
        app.let_time_pass(60)
        app.let_time_pass(120)
        [kept] = wait_for_dead_letters(app, 1, token)

    assert calls.count(token) == 3  # the first attempt and Lambda's two retries
    assert kept["requestContext"]["condition"] == "RetriesExhausted"
    assert "AccessDeniedException" in kept["responsePayload"]["errorMessage"]
    described = app.sfn.describe_execution(executionArn=arn)
    assert described["status"] == "RUNNING", (described.get("error"), described.get("cause"))  # resumable by hand
    app.sfn.stop_execution(executionArn=arn)


def test_a_job_whose_callback_cannot_get_through_times_out_after_an_hour_and_the_callback_is_kept(app):
    arn = app.start({"JobDurationSeconds": 900})
    snapshot = app.wait_paused(arn)
    token = snapshot.task_token
    # The job calls back by its id (the task's correlation key): that is what its dead letter holds.
    job_id = json.loads(first(snapshot.events, "TaskScheduled")["taskScheduledEventDetails"]["parameters"])["Payload"][
        "correlationKey"
    ]

    with send_task_success_failing(token, -1, "AccessDeniedException") as calls:
        result = app.wait_end(arn)  # the job's 15 minutes, Lambda's retries, then the job timeout
        [kept] = wait_for_dead_letters(app, 1, job_id)

    assert (result["status"], result["error"]) == ("FAILED", "LongJobTimedOut")
    assert result["cause"] == "No callback arrived in time (States.Timeout; the task allows 3600 seconds)."
    assert calls.count(token) == 3
    events = app.history(arn)
    entered, scheduled, timed_out = (
        first(events, kind)["timestamp"] for kind in ("TaskStateEntered", "TaskScheduled", "TaskTimedOut")
    )
    assert_fired_after(app, 3600, started=(entered, scheduled), at=timed_out)
    # The job called back after its 15 minutes; the callback's three attempts, a minute then two
    # apart, had ended in the dead-letter queue long before the timeout. (The job's delay starts
    # as CallAsyncServiceLambda sends its request: after TaskScheduled, before TaskSubmitted.)
    kept_at = datetime.fromisoformat(kept["timestamp"])
    assert 900 + 60 + 120 <= (kept_at - scheduled).total_seconds() < 3600


def test_the_same_callback_delivered_twice_resumes_once_without_error(app, embedded):
    arn = app.start({"IsManualCallback": "True"})
    token = app.wait_paused(arn).task_token
    resume_function = app.output("ResumeStepFunctionFunctionName")

    def runs() -> list[Any]:
        # Only this token's deliveries: the result names the token by its fingerprint.
        return [
            i
            for i in embedded.runtime.invocations
            if i.function == resume_function and fingerprint(token).encode() in i.payload
        ]

    for delivery in (1, 2):
        publish(app, {"taskToken": token, "output": {"delivery": "first"}})
        wait_until(lambda n=delivery: len(runs()) >= n, what=f"delivery {delivery} handled")

    results = [json.loads(run.payload) for run in runs()]
    assert [run.error_type for run in runs()] == [None, None]
    assert [len(result["resumed"]) for result in results] == [1, 0]
    assert [len(result["alreadyClosed"]) for result in results] == [0, 1]
    assert json.loads(app.wait_end(arn)["output"])["CallAsyncServiceStep"] == {"delivery": "first"}
    assert dead_letters(app, token) == []


@pytest.mark.first  # among the longest: started early, not left to end the run alone
def test_two_hundred_executions_resumed_in_random_order_with_duplicates_all_end_right(app):
    arns = [
        app.start({"IsManualCallback": "True", "n": n}, name=f"crowd-{n}-{uuid.uuid4().hex[:6]}") for n in range(200)
    ]
    tokens = [app.wait_paused(arn, timeout=60).task_token for arn in arns]
    callbacks = []
    for n, token in enumerate(tokens):
        if n % 5 == 0:
            callback = {"taskToken": token, "status": "FAILED", "error": "Rejected", "cause": f"number {n}"}
        else:
            callback = {"taskToken": token, "output": {"n": n}}
        callbacks += [callback] * (2 if n % 7 == 0 else 1)
    random.Random(7).shuffle(callbacks)

    for callback in callbacks:
        publish(app, callback)
    results = [app.wait_end(arn, timeout=60) for arn in arns]
    app.settle()

    for n, result in enumerate(results):
        if n % 5 == 0:
            assert (result["status"], result["error"], result["cause"]) == ("FAILED", "Rejected", f"number {n}")
        else:
            assert result["status"] == "SUCCEEDED"
            assert json.loads(result["output"])["CallAsyncServiceStep"] == {"n": n}
    assert dead_letters(app, *tokens) == []


def test_a_task_failing_with_a_states_error_fails_the_execution_as_long_job_failed_naming_it(app):
    name = f"states-error-{uuid.uuid4().hex}"

    with lambda_task_raising(name, RuntimeError("injected: the invocation broke")):
        arn = app.start({"IsManualCallback": "True"}, name=name)
        result = app.wait_end(arn)

    assert (result["status"], result["error"]) == ("FAILED", "LongJobFailed")
    assert result["cause"] == "States.Runtime: injected: the invocation broke"
    task_failed = [event for event in app.history(arn) if event["type"] == "TaskFailed"]
    assert [event["taskFailedEventDetails"]["error"] for event in task_failed] == ["States.Runtime"]
