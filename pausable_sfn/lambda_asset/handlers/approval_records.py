"""The approval records, in one DynamoDB table: one per task that asks a person, one per link to it.

- The request record holds the task token (the page needs it to decide) under a key made from the
  token's hash, the request's details, its status and, once decided, the decision: who, what,
  when, from which address.
- A link record holds no secret: its key is the hash of the link's secret, so the table holds no
  link (it does hold the tokens of the tasks that still wait: a token is removed when its request
  is decided). It names its request, when it expires, and the anti-forgery value that the page's
  form must send back.
- A decision is an UpdateItem on the condition that the request still waits: of two decisions
  at once, DynamoDB lets exactly one through.

Every record is deleted by DynamoDB's TTL (`deleteAfter`) a while after its task can no longer
wait; the decision stays in the execution's history.
"""

import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from .contracts import LINK_SECRET_BYTES, MAX_TASK_WAIT_SECONDS
from .messages import ApprovalRequest

WAITING, APPROVED, REJECTED, CLOSED = "waiting", "approved", "rejected", "closed"
# How long a record outlives the moment its task stops waiting (for whoever asks who decided).
RETENTION = timedelta(days=90)
FORM_KEY_BYTES = 16

_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _key(record_id: str) -> dict[str, Any]:
    return {"id": {"S": record_id}}


def _request_id(task_token: str) -> str:
    return f"request#{_hash(task_token)}"


def _if_condition_holds(write: Callable[[], object]) -> bool:
    """Runs a conditional write: False when DynamoDB found its condition false (nothing written)."""
    try:
        write()
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _values(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def iso(moment: datetime) -> str:
    """A moment as the records, the messages and the page write it: UTC, to the second, with a Z."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Decision:
    outcome: str  # APPROVED or REJECTED
    decided_by: str
    comment: str
    decided_at: datetime
    source_ip: str
    user_agent: str
    # Set when Step Functions no longer had the task: the decision was recorded, never applied.
    not_applied: str | None = None

    def as_item(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "decidedBy": self.decided_by,
            "comment": self.comment,
            "decidedAt": iso(self.decided_at),
            "sourceIp": self.source_ip,
            "userAgent": self.user_agent,
            "notApplied": self.not_applied,
        }

    @classmethod
    def from_item(cls, values: dict[str, Any]) -> "Decision":
        return cls(
            outcome=values["outcome"],
            decided_by=values["decidedBy"],
            comment=values.get("comment", ""),
            decided_at=parse_time(values["decidedAt"]),
            source_ip=values.get("sourceIp", ""),
            user_agent=values.get("userAgent", ""),
            not_applied=values.get("notApplied"),
        )


@dataclass(frozen=True)
class RequestRecord:
    request_id: str
    task_token: str
    execution_id: str
    state_name: str
    paused_at: datetime
    timeout_at: datetime
    summary: dict[str, Any]
    status: str = WAITING
    decision: Decision | None = None
    # Whether the approval request went out: a hand-off retried after a failed publish publishes it.
    published: bool = False

    @property
    def execution_name(self) -> str:
        return self.execution_id.split(":")[7] if self.execution_id.count(":") >= 7 else self.execution_id


@dataclass(frozen=True)
class LinkRecord:
    request_id: str
    expires_at: datetime
    form_key: str
    issued_at: datetime
    issued_to: str

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class Link:
    """A link as issued: `secret` is shown once, to whoever asked, and never stored."""

    secret: str
    record: LinkRecord


class ApprovalRecords:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    # Requests

    def open_request(self, request: ApprovalRequest) -> tuple[RequestRecord, bool]:
        """The request record of the task, created now (True) or found, when the task's hand-off was
        retried (False): a retry must not ask the person twice. The task stops waiting at its
        timeout, or at its heartbeat timeout, which comes first for a person (who sends none)."""
        timeout = min(
            request.timeoutSeconds or MAX_TASK_WAIT_SECONDS, request.heartbeatSeconds or MAX_TASK_WAIT_SECONDS
        )
        record = RequestRecord(
            request_id=_request_id(request.taskToken),
            task_token=request.taskToken,
            execution_id=request.executionId,
            state_name=request.stateName,
            paused_at=request.pausedAt.astimezone(UTC),
            timeout_at=request.pausedAt.astimezone(UTC) + timedelta(seconds=timeout),
            summary=request.summary,
        )
        created = _if_condition_holds(
            lambda: self._dynamodb.put_item(
                TableName=self._table,
                Item=_item(
                    {
                        "id": record.request_id,
                        "taskToken": record.task_token,
                        "executionId": record.execution_id,
                        "stateName": record.state_name,
                        "pausedAt": iso(record.paused_at),
                        "timeoutAt": iso(record.timeout_at),
                        # As JSON text: DynamoDB takes no floats, and the summary is shown, never queried.
                        "summary": json.dumps(record.summary),
                        "status": WAITING,
                        "deleteAfter": _epoch(record.timeout_at + RETENTION),
                    }
                ),
                ConditionExpression="attribute_not_exists(id)",
            )
        )
        if created:
            return record, True
        existing = self.request(record.request_id)
        assert existing is not None  # it made the condition fail
        return existing, False

    def mark_published(self, request_id: str) -> None:
        self._dynamodb.update_item(
            TableName=self._table,
            Key=_key(request_id),
            UpdateExpression="SET published = :yes",
            ExpressionAttributeValues=_item({":yes": True}),
        )

    def request_for_token(self, task_token: str) -> RequestRecord | None:
        return self.request(_request_id(task_token))

    def _read(self, record_id: str) -> dict[str, Any] | None:
        item = self._dynamodb.get_item(TableName=self._table, Key=_key(record_id), ConsistentRead=True).get("Item")
        return _values(item) if item is not None else None

    def request(self, request_id: str) -> RequestRecord | None:
        values = self._read(request_id)
        if values is None:
            return None
        return RequestRecord(
            request_id=request_id,
            task_token=values.get("taskToken", ""),  # removed once decided
            execution_id=values["executionId"],
            state_name=values["stateName"],
            paused_at=parse_time(values["pausedAt"]),
            timeout_at=parse_time(values["timeoutAt"]),
            summary=json.loads(values.get("summary", "{}")),
            status=values["status"],
            decision=Decision.from_item(values["decision"]) if "decision" in values else None,
            published=bool(values.get("published", False)),
        )

    def decide(self, request_id: str, decision: Decision) -> bool:
        """Records `decision` if the request still waits; False if another decision came first. The
        token leaves the record: the caller sends the decision with the token it read."""
        return _if_condition_holds(
            lambda: self._dynamodb.update_item(
                TableName=self._table,
                Key=_key(request_id),
                UpdateExpression="SET #status = :outcome, decision = :decision REMOVE taskToken",
                ConditionExpression="#status = :waiting",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_item(
                    {":outcome": decision.outcome, ":decision": decision.as_item(), ":waiting": WAITING}
                ),
            )
        )

    def close(self, request_id: str, reason: str) -> None:
        """The decision was recorded, but Step Functions no longer had the task: it stays on record,
        marked as never applied, and the request is closed."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key=_key(request_id),
            UpdateExpression="SET #status = :closed, decision.notApplied = :reason",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_item({":closed": CLOSED, ":reason": reason}),
        )

    def withdraw(self, request_id: str, decision: Decision, *, task_token: str) -> None:
        """Takes back a decision that Step Functions did not take, so that it can be made again: only
        this very decision, not one made since; the token goes back into the record."""
        self._dynamodb.update_item(
            TableName=self._table,
            Key=_key(request_id),
            UpdateExpression="SET #status = :waiting, taskToken = :token REMOVE decision",
            ConditionExpression="decision.decidedAt = :at AND decision.decidedBy = :by",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=_item(
                {":waiting": WAITING, ":token": task_token, ":at": iso(decision.decided_at), ":by": decision.decided_by}
            ),
        )

    # Links

    def issue_link(self, request: RequestRecord, *, now: datetime, lifetime: timedelta | None, issued_to: str) -> Link:
        """A new link to the request's page, expiring after `lifetime` or when the task stops
        waiting, whichever comes first."""
        expires_at = request.timeout_at if lifetime is None else min(request.timeout_at, now + lifetime)
        secret = secrets.token_urlsafe(LINK_SECRET_BYTES)
        record = LinkRecord(
            request_id=request.request_id,
            expires_at=expires_at,
            form_key=secrets.token_urlsafe(FORM_KEY_BYTES),
            issued_at=now,
            issued_to=issued_to,
        )
        self._dynamodb.put_item(
            TableName=self._table,
            Item=_item(
                {
                    "id": f"link#{_hash(secret)}",
                    "requestId": record.request_id,
                    "expiresAt": iso(record.expires_at),
                    "formKey": record.form_key,
                    "issuedAt": iso(record.issued_at),
                    "issuedTo": record.issued_to,
                    "deleteAfter": _epoch(request.timeout_at + RETENTION),
                }
            ),
            ConditionExpression="attribute_not_exists(id)",
        )
        return Link(secret=secret, record=record)

    def link(self, secret: str) -> LinkRecord | None:
        values = self._read(f"link#{_hash(secret)}")
        if values is None:
            return None
        return LinkRecord(
            request_id=values["requestId"],
            expires_at=parse_time(values["expiresAt"]),
            form_key=values["formKey"],
            issued_at=parse_time(values["issuedAt"]),
            issued_to=values.get("issuedTo", ""),
        )
