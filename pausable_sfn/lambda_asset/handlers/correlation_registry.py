"""The correlation registry: which task waits on which business key, and the callbacks that came
before their task.

One DynamoDB table (CORRELATION_TABLE), one partition per key (attribute `correlationKey`), and
in it, by `entry`:
- "task#<state machine ARN>#<state>": the task of that state that waits on the key. Its token is
  encrypted with the channel's KMS key (CORRELATION_KMS_KEY) under an encryption context that
  names the key and the entry, so a ciphertext copied into another item does not decrypt. The
  index ByExecution finds an execution's entries when it ends. The entry goes when a callback
  closes the task.
- "early#<received at>#<delivery id>": a callback that came while no task waited on the key,
  and which state machine and state it names, if any. The registrar of the next task to wait
  claims it; the janitor dead-letters it when its window ends unclaimed.
- "delivery#<delivery id>": an SNS message or EventBridge event received for the key, kept for a
  window: both deliver at least once, and a second delivery must be neither applied to the next
  task that waits on the key nor held a second time. While it is handled it carries a lease
  (`leaseUntil`): an invocation stopped at its timeout leaves it to Lambda's retry.
- "queued#<state machine ARN>#<state>#<registered at>#<id>": a task that waits in line for the
  key (its PausableTask queues on a key in use): its registration, its token encrypted as a
  task's. When the task ahead lets the key go, the registrar moves the oldest one to the task
  entry and hands its payload on.
- "closed#<state machine ARN>#<state>": when the task of that state stopped waiting on the key
  (its callback applied, found closed, its execution ended), kept for a window: a callback that
  comes after its task closed is late, not early, and is reported instead of being held for the
  key's next task.
Every item has `deleteAfter`, the table's TTL: nothing stays once no task can need it.

Claims are conditional deletes, and both sides write before they read (a task registers, then
looks for early callbacks; a callback is held, then looks for a task again), with strongly
consistent reads: whichever comes second sees the other, and exactly one of them applies it.
"""

import enum
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from . import clients
from .contracts import MAX_TASK_WAIT_SECONDS, ON_KEY_IN_USE_QUEUE, fingerprint
from .messages import Callback, Registration

logger = Logger(child=True)
TASK = "task#"
EARLY = "early#"
DELIVERY = "delivery#"
# Leftovers are dropped this long after the last moment a task or a window could need them.
CLOSED = "closed#"
QUEUED = "queued#"
# Leftovers go this long after a task's timeout or a window (DynamoDB's TTL deletes within days).
TTL_MARGIN = timedelta(hours=1)
_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


def task_entry(state_machine: str, state: str) -> str:
    return f"{TASK}{state_machine}#{state}"


def line_prefix(state_machine: str, state: str) -> str:
    return f"{QUEUED}{state_machine}#{state}#"


@dataclass(frozen=True)
class WaitingTask:
    """A task's entry: the task waits on the key (or did, until its execution ended or it timed out)."""

    key: str
    entry: str
    state_machine: str
    state: str
    execution_arn: str
    registered_at: str
    token_fingerprint: str | None
    ciphertext: bytes | None
    queues: bool = False  # its PausableTask queues on a key in use: there may be a line behind it

    @property
    def waits(self) -> bool:
        return self.ciphertext is not None


class Delivery(enum.Enum):
    NEW = "new"
    SEEN = "seen"
    IN_FLIGHT = "in flight"


@dataclass(frozen=True)
class EarlyCallback:
    key: str
    entry: str
    callback: Callback
    delivery_id: str
    received_at: str

    def is_for(self, state_machine: str, state: str) -> bool:
        return self.callback.stateMachine in (None, state_machine) and self.callback.state in (None, state)


class Registry:
    def __init__(self, *, table: str, kms_key: str, window_seconds: int, dynamodb: Any, kms: Any) -> None:
        self.table = table
        self.kms_key = kms_key
        self.window = timedelta(seconds=window_seconds)
        self._dynamodb = dynamodb
        self._kms = kms

    @classmethod
    def from_environment(cls) -> "Registry":
        return cls(
            table=os.environ["CORRELATION_TABLE"],
            kms_key=os.environ["CORRELATION_KMS_KEY"],
            window_seconds=int(os.environ["EARLY_CALLBACK_WINDOW_SECONDS"]),
            dynamodb=clients.client("dynamodb"),
            kms=clients.client("kms"),
        )

    # --- tasks -------------------------------------------------------------------------------

    def register(self, registration: Registration) -> WaitingTask | None:
        """Registers the task under its key, unless another task holds the key (that task is
        returned, whether it still waits or not: the caller decides). Another task may be of the
        same execution: an earlier attempt of this task, or another iteration of a Map."""
        key = registration.key
        assert key is not None
        entry = task_entry(registration.stateMachine, registration.state)
        item = self._task_item(registration, key, entry)
        stored = self._put(item, condition="attribute_not_exists(#entry)", values={}, own="tokenFingerprint")
        if stored is None:
            return None
        if not stored:  # it closed and went in between: try once more
            return self.register(registration)
        return self._task(stored)

    def take_over(self, registration: Registration, holder: WaitingTask) -> bool:
        """Registers the task in place of `holder`, which no longer waits; False if the entry
        changed meanwhile (another task took it first)."""
        key = registration.key
        assert key is not None
        item = self._task_item(registration, key, holder.entry)
        condition, values = (
            "registeredAt = :then AND executionArn = :holder",
            {
                ":then": holder.registered_at,
                ":holder": holder.execution_arn,
            },
        )
        return self._put(item, condition=condition, values=values, own="tokenFingerprint") is None

    def tasks(self, key: str, *, state_machine: str | None = None, state: str | None = None) -> list[WaitingTask]:
        """The entries of tasks on `key` (waiting or closed by a callback), of the state machine
        and state when named."""
        prefix = TASK if state_machine is None else f"{TASK}{state_machine}#"
        if state_machine is not None and state is not None:
            prefix = task_entry(state_machine, state)
        found = [self._task(item) for item in self._query(key, prefix)]
        return [task for task in found if state is None or task.state == state]

    def token_of(self, task: WaitingTask) -> str:
        assert task.ciphertext is not None
        answer = self._kms.decrypt(
            CiphertextBlob=task.ciphertext, KeyId=self.kms_key, EncryptionContext=_context(task.key, task.entry)
        )
        token: str = answer["Plaintext"].decode("utf-8")
        return token

    def close(self, task: WaitingTask) -> None:
        """The task's callback was applied: its entry goes (unless another task's replaced it).
        Said, not raised, when it fails: the callback is applied, and the janitor drops the entry
        when the execution ends."""
        try:
            self.release(task)
        except ClientError as error:
            logger.error("Entry of a closed task left for the janitor", extra={"reason": str(error)})

    def mark_closed(self, key: str, state_machine: str, state: str) -> None:
        """Remembers for a window that the task of this state no longer waits on `key`."""
        entry = f"{CLOSED}{state_machine}#{state}"
        item = {
            "correlationKey": key,
            "entry": entry,
            "stateMachine": state_machine,
            "state": state,
            "closedAt": _now().isoformat(timespec="microseconds"),
            "deleteAfter": self._epoch(self.window + TTL_MARGIN),
        }
        self._dynamodb.put_item(TableName=self.table, Item={name: _serialize(value) for name, value in item.items()})

    def recently_closed(self, key: str, *, state_machine: str | None, state: str | None) -> list[str]:
        """When tasks on `key` (of the state machine and state, if named) stopped waiting, within a window."""
        found = []
        for item in self._query(key, CLOSED):
            data = {name: _deserialize(value) for name, value in item.items()}
            if state_machine not in (None, data["stateMachine"]) or state not in (None, data["state"]):
                continue
            if _now() - datetime.fromisoformat(data["closedAt"]) <= self.window:
                found.append(str(data["closedAt"]))
        return found

    def release(self, task: WaitingTask) -> bool:
        """Removes the entry of a task that no longer waits (it was registered by the very token
        it had then); False if the entry is another task's by now."""
        try:
            self._dynamodb.delete_item(
                TableName=self.table,
                Key=_item_key(task.key, task.entry),
                ConditionExpression="tokenFingerprint = :fingerprint",
                ExpressionAttributeValues=_values({":fingerprint": task.token_fingerprint}),
            )
            return True
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise

    def release_execution(self, execution_arn: str) -> list[WaitingTask]:
        """Removes the entries of an execution that has ended; returns those whose task still waited."""
        released: list[WaitingTask] = []
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            IndexName="ByExecution",
            KeyConditionExpression="executionArn = :execution",
            ExpressionAttributeValues=_values({":execution": execution_arn}),
        )
        for page in pages:
            for item in page["Items"]:
                key, entry = _deserialize(item["correlationKey"]), _deserialize(item["entry"])
                try:
                    old = self._dynamodb.delete_item(
                        TableName=self.table,
                        Key=_item_key(key, entry),
                        ConditionExpression="executionArn = :execution",
                        ExpressionAttributeValues=_values({":execution": execution_arn}),
                        ReturnValues="ALL_OLD",
                    )
                except ClientError as error:
                    if _condition_failed(error):  # the key went to another execution's task meanwhile
                        continue
                    raise
                task = self._task(old["Attributes"])
                if task.waits and entry.startswith(TASK):  # one in line never held the key
                    released.append(task)
        return released

    def holder(self, key: str, state_machine: str, state: str) -> WaitingTask | None:
        return self._get(key, task_entry(state_machine, state))

    # --- the line of tasks that wait for a key in use ---------------------------------------------

    def join_line(self, registration: Registration) -> str:
        """Puts the task at the end of its key's line; returns its entry."""
        key = registration.key
        assert key is not None
        moment = _now().isoformat(timespec="microseconds")
        entry = f"{line_prefix(registration.stateMachine, registration.state)}{moment}#{uuid.uuid4().hex}"
        item = self._task_item(registration, key, entry)
        item["registration"] = registration.model_dump_json(exclude={"taskToken"})
        self._put(item, condition="attribute_not_exists(#entry)", values={}, own="tokenFingerprint")
        return entry

    def has_line(self, key: str, state_machine: str, state: str) -> bool:
        return self.line_head(key, state_machine, state) is not None

    def line_head(self, key: str, state_machine: str, state: str) -> dict[str, Any] | None:
        """The oldest item of the line, as stored (to be taken with leave_line, or put back)."""
        answer = self._dynamodb.query(
            TableName=self.table,
            ConsistentRead=True,
            KeyConditionExpression="correlationKey = :key AND begins_with(#entry, :prefix)",
            ExpressionAttributeNames={"#entry": "entry"},
            ExpressionAttributeValues=_values({":key": key, ":prefix": line_prefix(state_machine, state)}),
            Limit=1,
        )
        head: list[dict[str, Any]] = answer["Items"]
        return head[0] if head else None

    def leave_line(self, item: dict[str, Any]) -> Registration | None:
        """Takes the task off the line: its registration, token included; None if it had gone
        (its execution ended, or another registrar took it first)."""
        key, entry = _deserialize(item["correlationKey"]), _deserialize(item["entry"])
        taken = self._take(key, entry)
        if taken is None:
            return None
        token = self.token_of(self._task(taken))
        return Registration.model_validate({**json.loads(_deserialize(taken["registration"])), "taskToken": token})

    def rejoin_line(self, item: dict[str, Any]) -> None:
        """Puts a task taken off the line back where it was (another task got the key first)."""
        self._dynamodb.put_item(TableName=self.table, Item=item)

    # --- deliveries and early callbacks ----------------------------------------------------------

    def receive(self, key: str, delivery_id: str, *, lease: timedelta) -> Delivery:
        """Records a delivery of a callback for `key`, leased to this handler for `lease` (the time
        its function has left): NEW, or taken over from a handler whose lease ran out (stopped at
        its function's timeout, it never said how it ended); SEEN when it was handled before (a
        redelivery by SNS or EventBridge), whatever became of it then; IN_FLIGHT while another
        handler holds it."""
        now = _now()
        item = self._delivery_item(key, delivery_id)
        item.update(leaseUntil=(now + lease).isoformat(timespec="microseconds"), leaseHolder=uuid.uuid4().hex)
        condition = "attribute_not_exists(#entry) OR leaseUntil < :now"
        values = {":now": now.isoformat(timespec="microseconds")}
        stored = self._put(item, condition=condition, values=values, own="leaseHolder")
        if stored is None:
            return Delivery.NEW
        return Delivery.IN_FLIGHT if "leaseUntil" in stored else Delivery.SEEN

    def handled(self, key: str, delivery_id: str) -> None:
        """The delivery's lease ends: it was handled, and a redelivery is a duplicate from now on.
        Said, not raised, when it fails: the callback is handled, and a redelivery after the
        lease would find its task closed."""
        item = self._delivery_item(key, delivery_id)
        try:
            self._dynamodb.put_item(
                TableName=self.table, Item={name: _serialize(value) for name, value in item.items()}
            )
        except ClientError as error:
            logger.error("Delivery record left leased", extra={"reason": str(error)})

    def _delivery_item(self, key: str, delivery_id: str) -> dict[str, Any]:
        return {
            "correlationKey": key,
            "entry": f"{DELIVERY}{delivery_id}",
            "deleteAfter": self._epoch(self.window + TTL_MARGIN),
        }

    def forget(self, key: str, delivery_id: str) -> None:
        """Forgets a delivery whose handling failed, so that its retry is handled anew."""
        self._dynamodb.delete_item(TableName=self.table, Key=_item_key(key, f"{DELIVERY}{delivery_id}"))

    def early(self, callback: Callback, *, delivery_id: str) -> EarlyCallback:
        """The entry a callback that came before its task would be held as (not written yet)."""
        key = callback.key
        assert key is not None
        received_at = _now().isoformat(timespec="microseconds")
        return EarlyCallback(
            key=key,
            entry=f"{EARLY}{received_at}#{delivery_id}",
            callback=callback,
            delivery_id=delivery_id,
            received_at=received_at,
        )

    def hold(self, early: EarlyCallback) -> None:
        item = {
            "correlationKey": early.key,
            "entry": early.entry,
            "callback": early.callback.model_dump_json(exclude_none=True),
            "deliveryId": early.delivery_id,
            "receivedAt": early.received_at,
            "deleteAfter": self._epoch(self.window + TTL_MARGIN),
        }
        if self._put(item, condition="attribute_not_exists(#entry)", values={}, own="deliveryId") is not None:
            raise RuntimeError(f"another callback is held as {early.entry} already")

    def early_callbacks(self, key: str) -> list[EarlyCallback]:
        """The callbacks held for `key`, oldest first."""
        return [self._early(item) for item in self._query(key, EARLY)]

    def within_window(self, early: EarlyCallback) -> bool:
        return _now() - datetime.fromisoformat(early.received_at) <= self.window

    def claim(self, early: EarlyCallback) -> bool:
        """Takes an early callback for one task: True for exactly one of those that try."""
        return self._take(early.key, early.entry) is not None

    def expire(self, key: str, entry: str) -> EarlyCallback | None:
        """Takes a held callback whose window has ended; None when a task claimed it first."""
        item = self._take(key, entry)
        return None if item is None else self._early(item)

    # --- DynamoDB and KMS ------------------------------------------------------------------------

    def _task_item(self, registration: Registration, key: str, entry: str) -> dict[str, Any]:
        ciphertext = self._kms.encrypt(
            KeyId=self.kms_key,
            Plaintext=registration.taskToken.encode("utf-8"),
            EncryptionContext=_context(key, entry),
        )["CiphertextBlob"]
        waits = registration.timeoutSeconds or MAX_TASK_WAIT_SECONDS
        until = registration.pausedAt + timedelta(seconds=waits) + TTL_MARGIN
        return {
            "correlationKey": key,
            "entry": entry,
            "stateMachine": registration.stateMachine,
            "state": registration.state,
            "executionArn": registration.executionId,
            "registeredAt": _now().isoformat(timespec="microseconds"),
            "ciphertext": ciphertext,
            "tokenFingerprint": fingerprint(registration.taskToken),
            "onKeyInUse": registration.onKeyInUse,
            "deleteAfter": int(until.timestamp()),
        }

    def _task(self, item: dict[str, Any]) -> WaitingTask:
        data = {name: _deserialize(value) for name, value in item.items()}
        ciphertext = data.get("ciphertext")
        return WaitingTask(
            key=data["correlationKey"],
            entry=data["entry"],
            state_machine=data["stateMachine"],
            state=data["state"],
            execution_arn=data["executionArn"],
            registered_at=data["registeredAt"],
            token_fingerprint=data.get("tokenFingerprint"),
            ciphertext=None if ciphertext is None else bytes(ciphertext),
            queues=data.get("onKeyInUse") == ON_KEY_IN_USE_QUEUE,
        )

    def _early(self, item: dict[str, Any]) -> EarlyCallback:
        data = {name: _deserialize(value) for name, value in item.items()}
        return EarlyCallback(
            key=data["correlationKey"],
            entry=data["entry"],
            callback=Callback.model_validate(json.loads(data["callback"])),
            delivery_id=data["deliveryId"],
            received_at=data["receivedAt"],
        )

    def _get(self, key: str, entry: str) -> WaitingTask | None:
        item = self._dynamodb.get_item(TableName=self.table, Key=_item_key(key, entry), ConsistentRead=True).get("Item")
        return None if item is None else self._task(item)

    def _put(self, item: dict[str, Any], *, condition: str, values: dict[str, Any], own: str) -> dict[str, Any] | None:
        """Writes `item` if `condition` holds: None once written; else the item stored in its place,
        as DynamoDB holds it ({} if it went meanwhile). An item whose `own` attribute is this
        one's is this very write: the SDK sent it again after a timeout, and the first had landed."""
        # DynamoDB refuses names and values that the expression does not use.
        options: dict[str, Any] = {"ExpressionAttributeValues": _values(values)} if values else {}
        if "#entry" in condition:
            options["ExpressionAttributeNames"] = {"#entry": "entry"}
        try:
            self._dynamodb.put_item(
                TableName=self.table,
                Item={name: _serialize(value) for name, value in item.items()},
                ConditionExpression=condition,
                **options,
            )
            return None
        except ClientError as error:
            if not _condition_failed(error):
                raise
        key = _item_key(item["correlationKey"], item["entry"])
        stored: dict[str, Any] = self._dynamodb.get_item(TableName=self.table, Key=key, ConsistentRead=True).get(
            "Item", {}
        )
        return None if own in stored and _deserialize(stored[own]) == item[own] else stored

    def _query(self, key: str, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            ConsistentRead=True,
            KeyConditionExpression="correlationKey = :key AND begins_with(#entry, :prefix)",
            ExpressionAttributeNames={"#entry": "entry"},
            ExpressionAttributeValues=_values({":key": key, ":prefix": prefix}),
        )
        for page in pages:
            yield from page["Items"]

    def _take(self, key: str, entry: str) -> dict[str, Any] | None:
        try:
            old = self._dynamodb.delete_item(
                TableName=self.table,
                Key=_item_key(key, entry),
                ConditionExpression="attribute_exists(#entry)",
                ExpressionAttributeNames={"#entry": "entry"},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if _condition_failed(error):
                return None
            raise
        item: dict[str, Any] = old["Attributes"]
        return item

    def _epoch(self, after: timedelta) -> int:
        return int((_now() + after).timestamp())


def ask_the_line_to_move(registry: Registry, task: WaitingTask) -> None:
    """The task no longer waits on its key. If tasks wait in line behind it, the registrar is
    asked (an asynchronous invoke: Lambda retries it) to let the next one wait on the key: the
    resume function and the janitor, which let keys go, cannot hand a payload on."""
    if not (task.queues and registry.has_line(task.key, task.state_machine, task.state)):
        return
    promotion = {"promote": {"correlationKey": task.key, "stateMachine": task.state_machine, "state": task.state}}
    clients.client("lambda").invoke(
        FunctionName=os.environ["CORRELATION_REGISTRAR"], InvocationType="Event", Payload=json.dumps(promotion)
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _context(key: str, entry: str) -> dict[str, str]:
    return {"correlationKey": key, "entry": entry}


def _item_key(key: str, entry: str) -> dict[str, Any]:
    return {"correlationKey": {"S": key}, "entry": {"S": entry}}


def _values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serialize(value) for name, value in values.items()}


def _condition_failed(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")
