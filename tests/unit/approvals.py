"""What the approval handlers' tests share: a DynamoDB table in moto, requests, and function URL events."""

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from handlers.approval_records import ApprovalRecords
from handlers.messages import ApprovalRequest
from moto import mock_aws

from .conftest import TOKEN

TABLE = "ApprovalRecords"
PAGE_URL = "https://abc.lambda-url.us-east-1.on.aws/"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:PausableStepFunction:order-42"
PAUSED_AT = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def create_table() -> ApprovalRecords:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return ApprovalRecords(dynamodb, TABLE)


@contextmanager
def approvals_in_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ApprovalRecords, Callable[[], list[dict]]]]:
    """The records table and the approval requests topic in moto, the environment HumanApproval
    gives a function that asks people, and what an inbox subscribed to the topic received (the
    SNS envelopes: Subject, Message, ...)."""
    with mock_aws():
        records = create_table()
        sns = boto3.client("sns", region_name="us-east-1")
        topic = sns.create_topic(Name="ApprovalRequests")["TopicArn"]
        sqs = boto3.client("sqs", region_name="us-east-1")
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
        for name, value in {
            "APPROVAL_TABLE": TABLE,
            "APPROVAL_TOPIC_ARN": topic,
            "APPROVAL_PAGE_URL": PAGE_URL,
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("LINK_LIFETIME_SECONDS", raising=False)

        def published() -> list[dict]:
            messages = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
            return [json.loads(message["Body"]) for message in messages]

        yield records, published


def approval_request(**overrides: Any) -> ApprovalRequest:
    fields = {
        "taskToken": TOKEN,
        "executionId": EXECUTION,
        "stateName": "Long job execution",
        "pausedAt": PAUSED_AT.isoformat(),
        "timeoutSeconds": 3600,
        "summary": {"order": "42", "amount": 120.5},
    }
    return ApprovalRequest.model_validate({**fields, **overrides})


def at(minutes: float) -> datetime:
    return PAUSED_AT + timedelta(minutes=minutes)


def url_event(
    method: str,
    path: str,
    *,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A function URL request as Lambda hands it to the function (payload format 2.0)."""
    text = urlencode(form) if form is not None else body
    all_headers = {"host": "abc.lambda-url.us-east-1.on.aws", "user-agent": "pytest", **(headers or {})}
    if form is not None:
        all_headers.setdefault("content-type", "application/x-www-form-urlencoded")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc",
            "domainName": all_headers["host"],
            "domainPrefix": "abc",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": all_headers["user-agent"],
            },
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "26/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795680000000,
        },
        "isBase64Encoded": base64_body,
    }
    if text is not None:
        event["body"] = base64.b64encode(text.encode()).decode() if base64_body else text
    return event
