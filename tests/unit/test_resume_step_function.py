"""ResumeStepFunctionLambda: turns callbacks into SendTaskSuccess / SendTaskFailure."""

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from handlers import clients, resume_step_function
from handlers.contracts import MAX_OUTPUT_BYTES, fingerprint
from handlers.resume_step_function import CallbackRefusedError, CallbacksFailedError, handler
from handlers.validation import InvalidEventError

from .conftest import TOKEN


@pytest.fixture
def sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("stepfunctions")
    monkeypatch.setattr(clients, "client", lambda service: client)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def sns_event(*messages: str) -> dict:
    records = [
        {
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:topic:sub",
            "Sns": {
                "Type": "Notification",
                "MessageId": f"msg-{number}",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:topic",
                "Subject": None,
                "Message": message,
                "Timestamp": "2026-11-25T12:00:00.000Z",
                "SignatureVersion": "1",
                "Signature": "c2ln",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": {},
            },
        }
        for number, message in enumerate(messages, start=1)
    ]
    return {"Records": records}


def expect_success(stubber: Stubber, output: str, token: str = TOKEN) -> None:
    stubber.add_response("send_task_success", {}, {"taskToken": token, "output": output})


class TestDirectInvocation:
    def test_resumes_with_a_default_output_and_reports_only_a_fingerprint(self, sfn, lambda_context):
        expect_success(sfn, '{"resumed": true}')

        result = handler({"taskToken": TOKEN}, lambda_context)

        assert result == {
            "resumed": [{"taskToken": fingerprint(TOKEN), "status": "SUCCEED", "executionId": None}],
            "alreadyClosed": [],
        }
        assert TOKEN not in json.dumps(result)

    def test_sends_the_given_output_object(self, sfn, lambda_context):
        expect_success(sfn, '{"approvedBy": "ana", "score": 7}')

        handler({"taskToken": TOKEN, "output": {"approvedBy": "ana", "score": 7}}, lambda_context)

    def test_sends_an_output_string_as_the_json_document_it_holds(self, sfn, lambda_context):
        expect_success(sfn, '["a", 1]')

        handler({"taskToken": TOKEN, "status": "SUCCEED", "output": '["a", 1]'}, lambda_context)

    def test_failed_status_sends_task_failure_with_a_named_error(self, sfn, lambda_context):
        sfn.add_response(
            "send_task_failure",
            {},
            {
                "taskToken": TOKEN,
                "error": "ExternalJobFailed",
                "cause": "The external service reported that the job failed.",
            },
        )

        handler({"taskToken": TOKEN, "status": "FAILED"}, lambda_context)

    def test_failed_status_passes_error_and_cause_through(self, sfn, lambda_context):
        sfn.add_response("send_task_failure", {}, {"taskToken": TOKEN, "error": "Rejected", "cause": "budget exceeded"})

        handler(
            {"taskToken": TOKEN, "status": "FAILED", "error": "Rejected", "cause": "budget exceeded"}, lambda_context
        )


class TestSnsInvocation:
    def test_resumes_every_record_not_just_the_first(self, sfn, lambda_context):
        other = TOKEN + "2"
        expect_success(sfn, '{"resumed": true}')
        expect_success(sfn, '{"done": 1}', token=other)

        result = handler(
            sns_event(
                json.dumps({"taskToken": TOKEN, "executionId": "exec-1"}),
                json.dumps({"taskToken": other, "output": {"done": 1}}),
            ),
            lambda_context,
        )

        assert [item["taskToken"] for item in result["resumed"]] == [fingerprint(TOKEN), fingerprint(other)]
        assert result["resumed"][0]["executionId"] == "exec-1"

    def test_a_malformed_message_fails_alone_after_the_others_are_resumed(self, sfn, lambda_context):
        expect_success(sfn, '{"resumed": true}')

        with pytest.raises(InvalidEventError, match="callback in SNS message msg-1 is not JSON"):
            handler(sns_event("not json", json.dumps({"taskToken": TOKEN})), lambda_context)

    def test_several_failures_are_reported_together(self, sfn, lambda_context):
        with pytest.raises(
            CallbacksFailedError,
            match=r"2 of 2 callbacks failed: .*msg-1 is not JSON.*msg-2: .*give taskToken or correlationKey",
        ):
            handler(sns_event("{", json.dumps({"status": "SUCCEED"})), lambda_context)

    def test_an_event_that_is_not_sns_shaped_is_refused(self, sfn, lambda_context):
        with pytest.raises(InvalidEventError, match=r"invalid SNS event: .*Records\.0\.Sns: Field required"):
            handler({"Records": [{"EventSource": "aws:sns"}]}, lambda_context)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "give taskToken or correlationKey (exactly one): which task the callback is for"),
        ({"taskToken": ""}, "taskToken: String should have at least 1 character"),
        ({"taskToken": "t" * 2049}, "taskToken: String should have at most 2048 characters"),
        ({"taskToken": TOKEN, "status": "DONE"}, "status: Input should be 'SUCCEED', 'FAILED' or 'HEARTBEAT'"),
        ({"taskToken": TOKEN, "output": "{not json"}, "output is a string but not a JSON document"),
        ({"taskToken": TOKEN, "output": {"blob": "x" * MAX_OUTPUT_BYTES}}, "Step Functions accepts at most 262144"),
        ({"taskToken": TOKEN, "error": "Oops"}, 'error and cause go with status "FAILED"'),
        ({"taskToken": TOKEN, "status": "FAILED", "output": {}}, 'output goes with status "SUCCEED"'),
        (
            {"taskToken": TOKEN, "status": "FAILED", "error": "e" * 257},
            "error: String should have at most 256 characters",
        ),
        ({"taskToken": TOKEN, "tasktoken": TOKEN}, "tasktoken: Extra inputs are not permitted"),
        (["not", "an", "object"], "callback must be a JSON object, got list"),
    ],
)
def test_a_bad_callback_is_refused_with_a_message_naming_the_problem(sfn, lambda_context, event, message):
    with pytest.raises(InvalidEventError) as raised:
        handler(event, lambda_context)

    assert message in str(raised.value)
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        ("InvalidToken", "does not recognise this task token"),
        ("InvalidOutput", "refused the output"),
    ],
)
def test_a_refusal_by_step_functions_is_explained(sfn, lambda_context, code, meaning):
    sfn.add_client_error("send_task_success", service_error_code=code, service_message="...")

    with pytest.raises(CallbackRefusedError) as raised:
        handler({"taskToken": TOKEN}, lambda_context)

    assert raised.value.code == code
    assert meaning in str(raised.value)
    assert fingerprint(TOKEN) in str(raised.value)
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist"])
def test_a_callback_for_a_closed_task_is_reported_as_already_resumed_or_expired_not_raised(
    sfn, lambda_context, log_lines, code
):
    sfn.add_client_error("send_task_success", service_error_code=code)

    result = handler(sns_event(json.dumps({"taskToken": TOKEN})), lambda_context)

    assert result["resumed"] == []
    [closed] = result["alreadyClosed"]
    assert closed["taskToken"] == fingerprint(TOKEN)
    assert closed["alreadyClosed"].startswith(f"{code}: already resumed or expired")
    [warning] = [line for line in log_lines() if line["level"] == "WARNING"]
    assert warning["message"] == "Callback not applied: already resumed or expired"
    assert TOKEN not in log_lines.text()


def test_throttling_is_raised_as_is_so_that_lambda_retries(sfn, lambda_context):
    sfn.add_client_error("send_task_success", service_error_code="ThrottlingException", http_status_code=400)

    with pytest.raises(ClientError, match="ThrottlingException"):
        handler({"taskToken": TOKEN}, lambda_context)


def test_logs_name_the_token_by_fingerprint_only(sfn, lambda_context, log_lines):
    expect_success(sfn, '{"resumed": true}')
    sfn.add_client_error("send_task_success", service_error_code="InvalidToken")

    handler(sns_event(json.dumps({"taskToken": TOKEN, "executionId": "arn:exec"})), lambda_context)
    with pytest.raises(CallbackRefusedError):
        handler({"taskToken": TOKEN}, lambda_context)

    lines = log_lines()
    resumed = next(line for line in lines if line["message"] == "Execution resumed")
    assert resumed["task_token"] == fingerprint(TOKEN)
    assert resumed["correlation_id"] == "arn:exec"
    assert any(line["level"] == "ERROR" and "InvalidToken" in line["reason"] for line in lines)
    assert TOKEN not in log_lines.text()


def test_the_default_client_is_created_once(monkeypatch):
    made = []
    monkeypatch.setattr(boto3, "client", lambda service, config: made.append(service) or object())

    assert clients.client("stepfunctions") is clients.client("stepfunctions")
    assert made == ["stepfunctions"]
    assert resume_step_function.clients is clients
