"""CallAsyncServiceLambda: hands the task token to the external service and returns at once."""

import io
import json

import boto3
import pytest
from handlers import clients
from handlers.call_async_service import ApprovalRequestFailedError, handler
from handlers.contracts import fingerprint
from handlers.validation import InvalidEventError
from moto import mock_aws

from .conftest import TOKEN

EXECUTION_ID = "arn:aws:states:us-east-1:123456789012:execution:PausableStepFunction:run-1"


class FakeLambda:
    """The approval function as CallAsyncServiceLambda calls it: the requests it got, and its answer."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.error: dict | None = None

    def invoke(self, FunctionName: str, Payload: bytes) -> dict:  # noqa: N803 (boto3's names)
        self.requests.append({"function": FunctionName, **json.loads(Payload)})
        answer = self.error or {"approvalRequested": True}
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}
        if self.error:
            response["FunctionError"] = "Unhandled"
        return response


@pytest.fixture
def approval_function(monkeypatch) -> FakeLambda:
    fake = FakeLambda()
    real = clients.client
    monkeypatch.setattr(clients, "client", lambda service: fake if service == "lambda" else real(service))
    monkeypatch.setenv("APPROVAL_FUNCTION", "RequestApprovalLambda")
    return fake


@pytest.fixture
def queue_url(monkeypatch, approval_function):
    with mock_aws():
        url = boto3.client("sqs").create_queue(QueueName="LongJobRequestQueue")["QueueUrl"]
        monkeypatch.setenv("LONG_JOB_QUEUE_URL", url)
        yield url


def received(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    return sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])


def job_request(**changes) -> dict:
    return {
        "taskToken": TOKEN,
        "isManualCallback": False,
        "jobDurationSeconds": 0,
        "executionId": EXECUTION_ID,
        "request": {"IsManualCallback": "True"},
        "stateName": "Long job execution",
        "pausedAt": "2026-11-26T08:00:00.123Z",
        "timeoutSeconds": 604800,
    } | changes


def test_automatic_mode_sends_a_job_request_carrying_the_token(queue_url, lambda_context):
    result = handler(job_request(), lambda_context)

    [message] = received(queue_url)
    assert json.loads(message["Body"]) == {"taskToken": TOKEN, "executionId": EXECUTION_ID, "jobDurationSeconds": 0}
    assert result == {"mode": "automatic", "jobRequestId": message["MessageId"]}


def test_the_job_request_is_delayed_by_the_job_duration_rounded_up(queue_url, lambda_context):
    handler(job_request(jobDurationSeconds=2.5), lambda_context)

    assert received(queue_url) == []  # not visible before its delay has passed
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"


def test_manual_mode_asks_a_person_through_the_approval_function_and_sends_no_job(
    queue_url, lambda_context, approval_function
):
    result = handler(job_request(isManualCallback=True), lambda_context)

    assert result == {"mode": "manual", "approvalRequested": True}
    assert received(queue_url) == []
    assert approval_function.requests == [
        {
            "function": "RequestApprovalLambda",
            "taskToken": TOKEN,
            "executionId": EXECUTION_ID,
            "stateName": "Long job execution",
            "pausedAt": "2026-11-26T08:00:00.123000+00:00",
            "timeoutSeconds": 604800,
            "heartbeatSeconds": None,
            "summary": {"input": {"IsManualCallback": "True"}},
        }
    ]


def test_a_failed_approval_request_fails_the_task_rather_than_wait_for_nobody(
    queue_url, lambda_context, approval_function
):
    approval_function.error = {"errorType": "InvalidEventError", "errorMessage": "invalid approval request: ..."}

    with pytest.raises(ApprovalRequestFailedError, match="InvalidEventError: invalid approval request"):
        handler(job_request(isManualCallback=True), lambda_context)


def test_automatic_mode_asks_no_person(queue_url, lambda_context, approval_function):
    handler(job_request(), lambda_context)

    assert approval_function.requests == []


def test_logs_carry_the_execution_id_and_a_token_fingerprint_only(queue_url, lambda_context, log_lines):
    handler(job_request(isManualCallback=True), lambda_context)

    [line] = [line for line in log_lines() if line["message"].startswith("Execution paused until a person")]
    assert line["correlation_id"] == EXECUTION_ID
    assert line["task_token"] == fingerprint(TOKEN)
    assert TOKEN not in log_lines.text()


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (job_request(taskToken=""), "taskToken: String should have at least 1 character"),
        (job_request(taskToken="t" * 2049), "taskToken: String should have at most 2048 characters"),
        (job_request(isManualCallback="True"), "isManualCallback: Input should be a valid boolean"),
        (job_request(jobDurationSeconds=901), "jobDurationSeconds: Input should be less than or equal to 900"),
        (job_request(jobDurationSeconds=-1), "jobDurationSeconds: Input should be greater than or equal to 0"),
        ({k: v for k, v in job_request().items() if k != "executionId"}, "executionId: Field required"),
        (job_request(pausedAt="soon"), "pausedAt: Input should be a valid datetime"),
        ("a string", "must be a JSON object, got str"),
    ],
)
def test_a_bad_event_is_refused_before_anything_is_sent(queue_url, lambda_context, event, message):
    with pytest.raises(InvalidEventError) as raised:
        handler(event, lambda_context)

    assert message in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert received(queue_url) == []
