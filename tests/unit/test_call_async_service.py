"""CallAsyncServiceLambda: hands the task token to the external service and returns at once."""

import json

import boto3
import pytest
from handlers.call_async_service import handler
from handlers.contracts import fingerprint
from handlers.validation import InvalidEventError

from .approvals import PAGE_URL, approvals_in_moto
from .conftest import TOKEN

EXECUTION_ID = "arn:aws:states:us-east-1:123456789012:execution:PausableStepFunction:run-1"


@pytest.fixture
def approvals(monkeypatch):
    """The approval records and requests topic in moto; what was published, as the mail's text."""
    with approvals_in_moto(monkeypatch) as (records, envelopes):
        yield records, lambda: [envelope["Message"] for envelope in envelopes()]


@pytest.fixture
def queue_url(monkeypatch, approvals):
    url = boto3.client("sqs").create_queue(QueueName="LongJobRequestQueue")["QueueUrl"]
    monkeypatch.setenv("LONG_JOB_QUEUE_URL", url)
    return url


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


def test_a_job_waited_on_by_its_id_is_requested_with_the_id_and_never_a_token(queue_url, lambda_context):
    request = job_request(correlationKey="job-7")
    del request["taskToken"]  # the registrar hands the key instead

    handler(request, lambda_context)

    [message] = received(queue_url)
    assert json.loads(message["Body"]) == {"jobId": "job-7", "executionId": EXECUTION_ID, "jobDurationSeconds": 0}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"correlationKey": "job-7"}, r"give taskToken or correlationKey \(exactly one\)"),
        (
            {"taskToken": None, "correlationKey": "job-7", "isManualCallback": True},
            "a manual execution needs taskToken",
        ),
    ],
)
def test_a_request_naming_its_task_both_ways_or_a_manual_one_without_a_token_is_refused(
    queue_url, lambda_context, changes, message
):
    request = {key: value for key, value in (job_request() | changes).items() if value is not None}

    with pytest.raises(InvalidEventError, match=message):
        handler(request, lambda_context)
    assert received(queue_url) == []


def test_the_job_request_is_delayed_by_the_job_duration_rounded_up(queue_url, lambda_context):
    handler(job_request(jobDurationSeconds=2.5), lambda_context)

    assert received(queue_url) == []  # not visible before its delay has passed
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "1"


def test_manual_mode_asks_a_person_with_a_link_and_sends_no_job(queue_url, lambda_context, approvals):
    records, published = approvals

    result = handler(job_request(isManualCallback=True), lambda_context)

    assert result == {"mode": "manual", "approvalRequested": True}
    assert received(queue_url) == []
    [message] = published()
    assert f"{PAGE_URL}approval/" in message
    assert TOKEN not in message
    record = records.request_for_token(TOKEN)
    assert (record.state_name, record.summary) == ("Long job execution", {"input": {"IsManualCallback": "True"}})
    assert record.timeout_at.isoformat() == "2026-12-03T08:00:00+00:00"


def test_automatic_mode_asks_no_person(queue_url, lambda_context, approvals):
    _, published = approvals

    handler(job_request(), lambda_context)

    assert published() == []


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
