"""RequestApprovalLambda: asks a person once per task, by a link that never holds the token."""

import json
import re

import pytest
from handlers import approval_requests, request_approval
from handlers.contracts import (
    APPROVAL_ALREADY_DECIDED,
    APPROVAL_NOT_REQUESTED,
    APPROVAL_PATH,
    APPROVAL_TASK_EXPIRED,
    LINK_SECRET_BYTES,
)
from handlers.request_approval import handler
from handlers.validation import InvalidEventError

from .approvals import EXECUTION, PAGE_URL, TABLE, approval_request, approvals_in_moto
from .conftest import TOKEN


@pytest.fixture
def aws(monkeypatch):
    with approvals_in_moto(monkeypatch) as moto:
        yield moto


def task_event(**overrides) -> dict:
    return json.loads(approval_request(**overrides).model_dump_json())


def test_a_task_asking_a_person_publishes_a_request_with_a_link_and_no_token(aws, lambda_context):
    records, published = aws

    result = handler(task_event(), lambda_context)

    [message] = published()
    assert message["Subject"] == "Approval needed: order-42 waits at Long job execution"
    text = message["Message"]
    assert TOKEN not in text
    assert TOKEN[:40] not in text
    for shown in ("order-42", "2026-11-26T08:00:00Z", "2026-11-26T09:00:00Z", "decides nothing"):
        assert shown in text
    [url] = re.findall(r"https://\S+", text)
    assert url.startswith(f"{PAGE_URL}{APPROVAL_PATH}")
    secret = url.removeprefix(f"{PAGE_URL}{APPROVAL_PATH}")
    assert len(secret) >= LINK_SECRET_BYTES * 4 // 3  # 256 random bits, base64url
    assert records.link(secret) is not None
    # A task's invocation result is written into the execution's history: it holds no link.
    assert "url" not in json.dumps(result)
    assert secret not in json.dumps(result)


def test_a_retried_hand_off_asks_only_once(aws, lambda_context):
    _, published = aws

    handler(task_event(), lambda_context)
    again = handler(task_event(), lambda_context)

    assert again["published"] is False
    assert len(published()) == 1


def test_each_request_gets_its_own_unguessable_link(aws, lambda_context):
    _, published = aws

    handler(task_event(), lambda_context)
    handler(task_event(taskToken=TOKEN + "2"), lambda_context)

    urls = {re.search(r"https://\S+", message["Message"]).group() for message in published()}
    assert len(urls) == 2


def test_the_link_lifetime_setting_shortens_the_link(aws, lambda_context, monkeypatch):
    _records, _published = aws
    monkeypatch.setenv("LINK_LIFETIME_SECONDS", "600")

    result = handler(task_event(pausedAt="2030-01-01T00:00:00Z"), lambda_context)

    assert result["linkExpiresAt"] < "2030-01-01T01:00:00Z"  # sooner than the task's timeout


def test_an_operator_gets_a_fresh_link_that_expires_no_later_than_the_task(aws, lambda_context):
    handler(task_event(pausedAt="2030-01-01T00:00:00Z"), lambda_context)

    link = handler({"action": "issueLink", "taskToken": TOKEN}, lambda_context)
    short = handler({"action": "issueLink", "taskToken": TOKEN, "expiresInSeconds": 60}, lambda_context)

    assert link["url"].startswith(f"{PAGE_URL}{APPROVAL_PATH}")
    assert link["url"] != short["url"]
    assert link["expiresAt"] == "2030-01-01T01:00:00Z"
    assert short["expiresAt"] < link["expiresAt"]
    assert link["executionId"] == EXECUTION


def test_an_operator_link_for_a_task_that_asked_no_person_is_refused_by_name(aws, lambda_context):
    with pytest.raises(request_approval.ApprovalNotRequested, match="waits for a service"):
        handler({"action": "issueLink", "taskToken": TOKEN}, lambda_context)


def test_an_operator_link_for_a_decided_request_is_refused(aws, lambda_context):
    records, _ = aws
    handler(task_event(pausedAt="2030-01-01T00:00:00Z"), lambda_context)
    record = records.request_for_token(TOKEN)
    records._dynamodb.update_item(
        TableName=TABLE,
        Key={"id": {"S": record.request_id}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "rejected"}},
    )

    with pytest.raises(request_approval.ApprovalAlreadyDecided, match="rejected"):
        handler({"action": "issueLink", "taskToken": TOKEN}, lambda_context)


def test_an_operator_link_for_a_timed_out_task_is_refused(aws, lambda_context):
    handler(task_event(pausedAt="2020-01-01T00:00:00Z"), lambda_context)

    with pytest.raises(request_approval.ApprovalTaskExpired, match="2020-01-01T01:00:00Z"):
        handler({"action": "issueLink", "taskToken": TOKEN}, lambda_context)


def test_the_errors_are_named_as_the_contracts_say_for_the_cli_to_read():
    assert request_approval.ApprovalNotRequested.__name__ == APPROVAL_NOT_REQUESTED
    assert request_approval.ApprovalAlreadyDecided.__name__ == APPROVAL_ALREADY_DECIDED
    assert request_approval.ApprovalTaskExpired.__name__ == APPROVAL_TASK_EXPIRED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"executionId": "order-42"}, "executionId"),
        ({"timeoutSeconds": 0}, "timeoutSeconds"),
        ({"summary": {"token": TOKEN}}, "summary holds the task token"),
        ({"pausedAt": "yesterday"}, "pausedAt"),
    ],
)
def test_a_malformed_request_is_refused_naming_the_field_and_never_echoing_the_token(
    aws, lambda_context, change, message
):
    event = task_event() | change

    with pytest.raises(InvalidEventError, match=message) as refused:
        handler(event, lambda_context)
    assert TOKEN[:40] not in str(refused.value)


def test_an_operator_request_with_unknown_fields_is_refused(aws, lambda_context):
    with pytest.raises(InvalidEventError, match="issueLink request"):
        handler({"action": "issueLink", "taskToken": TOKEN, "expires": "1h"}, lambda_context)


def test_a_hand_off_retried_after_a_failed_publish_publishes_it(aws, lambda_context, monkeypatch):
    _, published = aws
    real = approval_requests.clients.client

    class Unreachable:
        def publish(self, **_):
            raise ConnectionError("SNS did not answer")

    monkeypatch.setattr(
        approval_requests.clients, "client", lambda service: Unreachable() if service == "sns" else real(service)
    )
    with pytest.raises(ConnectionError):
        handler(task_event(), lambda_context)
    monkeypatch.setattr(approval_requests.clients, "client", real)

    assert handler(task_event(), lambda_context)["published"] is True
    assert len(published()) == 1


def test_a_heartbeat_timeout_is_when_a_person_must_have_decided(aws, lambda_context):
    records, published = aws

    handler(task_event(heartbeatSeconds=600), lambda_context)

    assert "Waits until:     2026-11-26T08:10:00Z" in published()[0]["Message"]
    assert records.request_for_token(TOKEN).timeout_at.isoformat() == "2026-11-26T08:10:00+00:00"
