"""EmulatedLongJobLambda: the stand-in external service reports each finished job on the topic."""

import json

import boto3
import pytest
from handlers.emulated_long_job import handler
from moto import mock_aws

from .conftest import TOKEN

EXECUTION_ID = "arn:aws:states:us-east-1:123456789012:execution:PausableStepFunction:run-1"


@pytest.fixture
def topic(monkeypatch):
    """The callback topic, with a queue subscribed to it so that the test can read what was published."""
    with mock_aws():
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic_arn = sns.create_topic(Name="CallbackToUnpauseSfnTopic")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="published")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        monkeypatch.setenv("CALLBACK_TOPIC_ARN", topic_arn)
        yield queue_url


def published(queue_url: str) -> list[dict]:
    messages = boto3.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def sqs_event(*bodies: str) -> dict:
    return {
        "Records": [
            {
                "messageId": f"m-{number}",
                "receiptHandle": "handle",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:LongJobRequestQueue",
                "awsRegion": "us-east-1",
            }
            for number, body in enumerate(bodies, start=1)
        ]
    }


def job(**changes) -> str:
    return json.dumps({"taskToken": TOKEN, "executionId": EXECUTION_ID, "jobDurationSeconds": 3} | changes)


def test_a_finished_job_publishes_a_success_callback_with_the_token(topic, lambda_context):
    result = handler(sqs_event(job()), lambda_context)

    [callback] = published(topic)
    assert callback["taskToken"] == TOKEN
    assert callback["status"] == "SUCCEED"
    assert callback["executionId"] == EXECUTION_ID
    assert callback["output"]["jobDurationSeconds"] == 3
    assert result == {"batchItemFailures": []}


def test_a_job_requested_by_its_id_calls_back_by_that_id_without_a_token(topic, lambda_context):
    request = json.loads(job(jobId="job-7"))
    del request["taskToken"]

    handler(sqs_event(json.dumps(request)), lambda_context)

    [callback] = published(topic)
    assert callback["correlationKey"] == "job-7"
    assert "taskToken" not in callback
    assert callback["output"]["message"] == "Long job finished"


def test_a_bad_message_fails_alone_and_the_rest_of_the_batch_is_processed(topic, lambda_context):
    result = handler(sqs_event("not json", job(), job(jobDurationSeconds="soon")), lambda_context)

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]}
    assert len(published(topic)) == 1


def test_a_bad_message_is_logged_with_its_reason_but_without_the_token(topic, lambda_context, log_lines):
    handler(sqs_event(job(taskToken=TOKEN, jobDurationSeconds=-5)), lambda_context)

    assert "jobDurationSeconds: Input should be greater than or equal to 0" in log_lines.text()
    assert TOKEN not in log_lines.text()
