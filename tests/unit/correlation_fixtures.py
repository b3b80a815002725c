"""A callback channel with a correlation registry, for tests of callbacks by business key.

DynamoDB, KMS, SQS and SNS are moto's (`mock_aws()`); Step Functions and Lambda are the small fakes
below, because moto runs no state machine here: FakeStepFunctions records every SendTask* call and
answers as Step Functions would (a task closed by a callback answers TaskTimedOut afterwards), and
FakeLambda answers a receiver function's invocation with what the test told it to.
"""

import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import time_machine
from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError
from botocore.response import StreamingBody
from handlers import clients, correlation_janitor, register_correlation_key, resume_step_function
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from .test_emulated_long_job import sqs_event
from .test_resume_step_function import sns_event

ACCOUNT = "123456789012"
ORDERS = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Orders"
REFUNDS = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:Refunds"
STATE = "Wait for payment"
KEY_IN_USE_ERROR = "OrdersKeyInUse"
WINDOW_SECONDS = 60
RECEIVER_FUNCTION = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:PaymentService"
REGISTRAR_FUNCTION = "RegisterCorrelationKeyLambda"
_deserialize = TypeDeserializer().deserialize


def task_token(name: str) -> str:
    """A token of our own for the task `name`: long and opaque, and unlike every other task's."""
    return f"AQCEAAAAKgAAAAMAAAAAAAAAA-{name}-" + "q" * 600


@dataclass(frozen=True)
class Task:
    """A task of an execution that waits at `state` of `state_machine`, with its own token."""

    name: str
    state_machine: str = ORDERS
    state: str = STATE

    @property
    def token(self) -> str:
        return task_token(self.name)

    @property
    def execution(self) -> str:
        machine = self.state_machine.rsplit(":", 1)[1]
        return f"arn:aws:states:us-east-1:{ACCOUNT}:execution:{machine}:{self.name}"

    def registration(self, key: Any, **changes: Any) -> dict[str, Any]:
        """The Registration this task sends the registrar (no receiver: it only waits)."""
        return {
            "taskToken": self.token,
            "correlationKey": key,
            "stateMachine": self.state_machine,
            "state": self.state,
            "executionId": self.execution,
            "pausedAt": datetime.now(UTC).isoformat(),
            "timeoutSeconds": 3600,
            "keyInUseError": KEY_IN_USE_ERROR,
        } | changes


@dataclass(frozen=True)
class SfnCall:
    operation: str  # SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat
    token: str
    fields: dict[str, Any]
    refused: str | None  # the error code it was answered with, None when accepted


class FakeStepFunctions:
    """Records SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat; `refuse(token, code)` makes
    every call with that token raise a ClientError with `code`."""

    def __init__(self) -> None:
        self.calls: list[SfnCall] = []
        self._refusals: dict[str, str] = {}
        self._lock = threading.Lock()

    def refuse(self, token: str, code: str) -> None:
        self._refusals[token] = code

    def accept(self, token: str) -> None:
        """Calls with `token` are answered again (a throttling is over)."""
        self._refusals.pop(token, None)

    def send_task_success(self, *, taskToken: str, output: str) -> dict:  # noqa: N803 (boto3 names)
        return self._answer("SendTaskSuccess", taskToken, output=output)

    def send_task_failure(self, *, taskToken: str, error: str | None = None, cause: str | None = None) -> dict:  # noqa: N803 (boto3 names)
        return self._answer("SendTaskFailure", taskToken, error=error, cause=cause)

    def send_task_heartbeat(self, *, taskToken: str) -> dict:  # noqa: N803 (boto3 names)
        return self._answer("SendTaskHeartbeat", taskToken)

    def _answer(self, operation: str, token: str, **fields: Any) -> dict:
        with self._lock:
            refused = self._refusals.get(token)
            self.calls.append(SfnCall(operation, token, fields, refused))
            if refused is None and operation != "SendTaskHeartbeat":
                self._refusals[token] = "TaskTimedOut"  # what Step Functions answers a closed task
        if refused is not None:
            raise ClientError({"Error": {"Code": refused, "Message": f"refused: {refused}"}}, operation)
        return {}

    def sent(self, operation: str, token: str | None = None) -> list[SfnCall]:
        """The calls of `operation` (with `token`, when given) that Step Functions accepted."""
        return [
            call
            for call in self.calls
            if call.operation == operation and call.refused is None and token in (None, call.token)
        ]

    def successes(self) -> dict[str, Any]:
        """Accepted SendTaskSuccess outputs, by token."""
        return {call.token: json.loads(call.fields["output"]) for call in self.sent("SendTaskSuccess")}


class FakeLambda:
    """A receiver function: records each invocation and answers what `answer` set (JSON null by default)."""

    def __init__(self) -> None:
        self.invocations: list[dict[str, Any]] = []
        self._answer: tuple[str, str | None] = ("null", None)

    def answer(self, document: Any, *, function_error: str | None = None) -> None:
        self._answer = (json.dumps(document), function_error)

    def invoke(self, *, FunctionName: str, InvocationType: str, Payload: str) -> dict[str, Any]:  # noqa: N803 (boto3 names)
        self.invocations.append(
            {"FunctionName": FunctionName, "InvocationType": InvocationType, "Payload": json.loads(Payload)}
        )
        document, function_error = self._answer
        body = document.encode("utf-8")
        answer: dict[str, Any] = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}
        if function_error is not None:
            answer["FunctionError"] = function_error
        return answer


@dataclass
class Channel:
    """The channel's registry, queues and receivers (inside mock_aws), and its three functions."""

    context: Any
    table: str
    kms_key: str
    expiry_queue: str
    dead_letter_queue: str
    receiver_queue: str
    receiver_topic: str
    topic_queue: str
    sfn: FakeStepFunctions = field(default_factory=FakeStepFunctions)
    receiver: FakeLambda = field(default_factory=FakeLambda)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """What handlers.clients.client answers in these tests (only the services the channel uses)."""
        if service == "stepfunctions":
            return self.sfn
        if service == "lambda":
            return self.receiver
        return self._clients[service]

    # --- the three functions -------------------------------------------------------------------

    def register(self, registration: dict[str, Any]) -> Any:
        return register_correlation_key.handler(registration, self.context)

    def callback_by_sns(self, callback: dict[str, Any], *, message_id: str = "msg-1") -> dict[str, Any]:
        event = sns_event(json.dumps(callback))
        event["Records"][0]["Sns"]["MessageId"] = message_id
        return resume_step_function.handler(event, self.context)

    def callback_by_event(self, callback: dict[str, Any], *, event_id: str) -> dict[str, Any]:
        event = {
            "version": "0",
            "id": event_id,
            "detail-type": "Task Callback",
            "source": "pausable-sfn.callbacks",
            "account": ACCOUNT,
            "time": "2026-11-25T12:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": callback,
        }
        return resume_step_function.handler(event, self.context)

    def callback_direct(self, callback: dict[str, Any]) -> dict[str, Any]:
        return resume_step_function.handler(callback, self.context)

    def deliver_promotions(self) -> list[Any]:
        """Runs the registrar on each promotion asked of it since the last call (Lambda's
        asynchronous invokes, delivered now), and returns what it answered."""
        asked = [
            invocation
            for invocation in self.receiver.invocations
            if invocation["FunctionName"] == REGISTRAR_FUNCTION and not invocation.get("delivered")
        ]
        answers = []
        for invocation in asked:
            invocation["delivered"] = True
            assert invocation["InvocationType"] == "Event"
            answers.append(register_correlation_key.handler(invocation["Payload"], self.context))
        return answers

    def receiver_payloads(self) -> list[dict[str, Any]]:
        """What the receiver function was given, in order (the registrar's promotions left out)."""
        return [
            invocation["Payload"]
            for invocation in self.receiver.invocations
            if invocation["FunctionName"] != REGISTRAR_FUNCTION
        ]

    def janitor_on_messages(self, *bodies: str) -> dict[str, Any]:
        return correlation_janitor.handler(sqs_event(*bodies), self.context)

    def janitor_on_execution_end(self, execution: str, status: str) -> dict[str, Any]:
        event = {
            "version": "0",
            "id": f"status-{status}",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": ACCOUNT,
            "time": "2026-11-25T12:00:00Z",
            "region": "us-east-1",
            "resources": [execution],
            "detail": {"executionArn": execution, "stateMachineArn": ORDERS, "status": status},
        }
        return correlation_janitor.handler(event, self.context)

    # --- what a test observes --------------------------------------------------------------------

    def items(self) -> list[dict[str, Any]]:
        """Every item of the registry table, as DynamoDB holds it (deserialized)."""
        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.table, ConsistentRead=True)
        return [{name: _deserialize(value) for name, value in item.items()} for page in pages for item in page["Items"]]

    def raw_item(self, key: str, entry: str) -> dict[str, Any] | None:
        answer = self.client("dynamodb").get_item(
            TableName=self.table, Key={"correlationKey": {"S": key}, "entry": {"S": entry}}, ConsistentRead=True
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def entries(self, key: str, prefix: str) -> list[dict[str, Any]]:
        return [item for item in self.items() if item["correlationKey"] == key and item["entry"].startswith(prefix)]

    def waiting_on(self, key: str) -> list[str]:
        """The executions whose entry on `key` still holds a token."""
        return [item["executionArn"] for item in self.entries(key, "task#") if "ciphertext" in item]

    def delayed_expiry_messages(self) -> int:
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.expiry_queue, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesDelayed"])

    def expiry_messages_after(self, seconds: float) -> list[str]:
        """The bodies of the early-callback queue's messages that SQS delivers once `seconds` have passed."""
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=seconds), tick=False):
            return self.receive_all(self.expiry_queue)

    def dead_letters(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self.receive_all(self.dead_letter_queue)]

    def receive_all(self, queue_url: str) -> list[str]:
        bodies: list[str] = []
        while True:
            messages = self.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
            if not messages.get("Messages"):
                return bodies
            bodies.extend(message["Body"] for message in messages["Messages"])


@contextmanager
def opened_channel(monkeypatch: Any, context: Any) -> Iterator[Channel]:
    """A fresh channel in moto, its environment set and handlers.clients answering with it."""
    with mock_aws():
        created = create_channel(context)
        for name, value in environment(created).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(clients, "client", created.client)
        yield created


def create_channel(context: Any) -> Channel:
    """The registry table (key, index, TTL), the KMS key and the queues and topic, in moto; call
    inside mock_aws()."""
    # Created once, as a Lambda environment does: creating clients in racing threads is slow and unsafe.
    made = {name: boto3.client(name) for name in ("dynamodb", "kms", "sqs", "sns")}
    dynamodb, kms, sqs, sns = made.values()
    table = "CorrelationRegistry"
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("correlationKey", "entry", "executionArn")
        ],
        KeySchema=[
            {"AttributeName": "correlationKey", "KeyType": "HASH"},
            {"AttributeName": "entry", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByExecution",
                "KeySchema": [{"AttributeName": "executionArn", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "deleteAfter"}
    )
    queues = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("expiry", "dead", "receiver", "topic")}
    topic = sns.create_topic(Name="PaymentRequests")["TopicArn"]
    topic_queue_arn = sqs.get_queue_attributes(QueueUrl=queues["topic"], AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=topic_queue_arn, Attributes={"RawMessageDelivery": "true"})
    return Channel(
        context=context,
        table=table,
        kms_key=kms.create_key(Description="correlation registry")["KeyMetadata"]["Arn"],
        expiry_queue=queues["expiry"],
        dead_letter_queue=queues["dead"],
        receiver_queue=queues["receiver"],
        receiver_topic=topic,
        topic_queue=queues["topic"],
        _clients=made,
    )


def environment(channel: Channel) -> dict[str, str]:
    return {
        "CORRELATION_TABLE": channel.table,
        "CORRELATION_KMS_KEY": channel.kms_key,
        "EARLY_CALLBACK_WINDOW_SECONDS": str(WINDOW_SECONDS),
        "EARLY_CALLBACK_QUEUE_URL": channel.expiry_queue,
        "CALLBACK_DEAD_LETTER_QUEUE_URL": channel.dead_letter_queue,
        "CORRELATION_REGISTRAR": REGISTRAR_FUNCTION,
    }


def make_moto_requests_atomic(monkeypatch: Any) -> None:
    """moto answers one request at a time, as AWS answers each atomically.

    moto's backends are not thread-safe: a DynamoDB query iterates the table's items while another
    thread's put adds one (RuntimeError: dictionary changed size during iteration), and two
    conditional deletes of one item can both pass their condition (the second then answers no
    Attributes). Neither can happen in AWS. The handlers' calls still interleave at random."""
    lock = threading.RLock()
    process = BotocoreStubber.process_request

    def atomic(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return process(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", atomic)
