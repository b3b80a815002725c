"""ResumeStepFunctionLambda: resumes a paused execution from a callback.

Invoked by CallbackToUnpauseSfnTopic (every record of the SNS event is handled), by the channel's
EventBridge rule (the event's detail is the callback), or by hand with a callback object:
{"taskToken": "...", "status"?: "SUCCEED" | "FAILED", "output"?: ..., "error"?: "...",
"cause"?: "..."}. SUCCEED sends SendTaskSuccess with the output; FAILED sends SendTaskFailure
with the error and cause; HEARTBEAT sends SendTaskHeartbeat (the task goes on waiting).

A callback may name its task by `correlationKey` instead of `taskToken` (with `stateMachine` and
`state` when the key alone is ambiguous): the channel's correlation registry knows the token of
the task that waits on the key. One that comes through the topic or EventBridge before its task
waits is held for the channel's early-callback window (correlation_registry.py); one given by
hand is answered at once: NoTaskWaitsOnKey.
"""

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import ValidationError
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from . import clients
from .contracts import (
    AMBIGUOUS_KEY,
    DEFAULT_FAILURE_CAUSE,
    DEFAULT_FAILURE_ERROR,
    NO_TASK_WAITS_ON_KEY,
    TASK_CLOSED,
    TASK_CLOSED_CODES,
    fingerprint,
)
from .correlation_registry import Delivery, Registry, WaitingTask, ask_the_line_to_move
from .messages import Callback
from .validation import InvalidEventError, describe, parse

logger = Logger()

# What Step Functions' answers mean for the person or service that sent the callback.
REFUSALS = {
    "InvalidToken": "Step Functions does not recognise this task token: it is malformed, cut "
    "short, or belongs to another account or region",
    "InvalidOutput": "Step Functions refused the output as invalid",
    NO_TASK_WAITS_ON_KEY: "no task waits on this correlation key",
    AMBIGUOUS_KEY: "more than one task waits on this correlation key: name the stateMachine (and state)",
    "NoCorrelationRegistry": "this channel resumes by task token only: no PausableTask of it has a correlation_key",
}


# The longest a Lambda function runs; a delivery's lease when the time left is not known.
MAX_HANDLING = timedelta(minutes=15)
LEASE_MARGIN = timedelta(seconds=5)


class DeliveryInFlightError(Exception):
    """Another invocation handles this delivery now: Lambda's retry finds out how it ended."""


class CallbackRefusedError(Exception):
    """Step Functions refused the callback; retrying the same callback cannot succeed."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {REFUSALS[code]} ({detail})")
        self.code = code


class CallbacksFailedError(Exception):
    """More than one callback of an SNS event failed; the message lists each."""


@dataclass(frozen=True)
class Resumed:
    token: str | None  # fingerprint, never the token; None for a callback by key
    status: str
    execution_id: str | None
    already_closed: str | None = None  # why it was not applied, when the task had closed
    key: str | None = None
    held: bool = False  # by key, before its task waits: held for the early-callback window

    def as_dict(self) -> dict[str, Any]:
        named = {"taskToken": self.token} if self.key is None else {"correlationKey": self.key}
        result: dict[str, Any] = {**named, "status": self.status, "executionId": self.execution_id}
        if self.already_closed:
            result["alreadyClosed"] = self.already_closed
        return result


@dataclass(frozen=True)
class Delivered:
    """A callback and the id of its delivery (SNS message, EventBridge event): a callback by key
    delivered twice is applied once. None for a callback given by hand."""

    callback: Callback
    delivery_id: str | None


def read_callbacks(event: Any) -> list[Delivered | InvalidEventError]:
    """The callbacks an event carries; a malformed SNS record becomes its own error."""
    if isinstance(event, dict) and "Records" in event:
        try:
            sns_event = SnsModel.model_validate(event)
        except ValidationError as error:
            raise InvalidEventError(f"invalid SNS event: {describe(error)}") from None
        return [_read_sns_message(record.Sns.MessageId, str(record.Sns.Message)) for record in sns_event.Records]
    if isinstance(event, dict) and "detail-type" in event and "detail" in event:
        what = f"callback in EventBridge event {event.get('id')}"
        event_id = event.get("id")  # EventBridge gives every event one; a hand-made event may have none
        delivery = str(event_id) if event_id else None
        return [Delivered(parse(Callback, event["detail"], what=what), delivery_id=delivery)]
    return [Delivered(parse(Callback, event, what="callback"), delivery_id=None)]


def _read_sns_message(message_id: str, message: str) -> Delivered | InvalidEventError:
    what = f"callback in SNS message {message_id}"
    try:
        return Delivered(parse(Callback, json.loads(message), what=what), delivery_id=message_id)
    except json.JSONDecodeError as error:
        return InvalidEventError(f"{what} is not JSON ({error.msg})")
    except InvalidEventError as error:
        return error


def apply_callback(callback: Callback, *, token: str, sfn: Any) -> None:
    """SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat, as the callback says, with `token`."""
    if callback.status == "HEARTBEAT":
        sfn.send_task_heartbeat(taskToken=token)
    elif callback.status == "SUCCEED":
        sfn.send_task_success(taskToken=token, output=callback.output_document())
    else:
        sfn.send_task_failure(
            taskToken=token,
            error=callback.error or DEFAULT_FAILURE_ERROR,
            cause=callback.cause if callback.cause is not None else DEFAULT_FAILURE_CAUSE,
        )


def resume(callback: Callback, *, sfn: Any) -> Resumed:
    assert callback.taskToken is not None
    token_fingerprint = fingerprint(callback.taskToken)
    try:
        apply_callback(callback, token=callback.taskToken, sfn=sfn)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        # The callback came twice (SNS delivers at least once) or too late: reported, not raised, so
        # nothing is retried or dead-lettered for it.
        if code in TASK_CLOSED_CODES:
            reason = f"{code}: {TASK_CLOSED}"
            logger.warning(
                "Callback not applied: already resumed or expired",
                extra={"task_token": token_fingerprint, "reason": reason},
            )
            return Resumed(
                token=token_fingerprint,
                status=callback.status,
                execution_id=callback.executionId,
                already_closed=reason,
            )
        if code in REFUSALS:
            raise CallbackRefusedError(code, f"task token {token_fingerprint}") from None
        raise  # throttling and service errors are transient: let Lambda retry
    logger.info("Execution resumed", extra={"task_token": token_fingerprint, "status": callback.status})
    return Resumed(token=token_fingerprint, status=callback.status, execution_id=callback.executionId)


class ByKey:
    """Callbacks by correlation key: the registry, and where held callbacks go when their window ends."""

    def __init__(
        self,
        registry: Registry,
        *,
        sfn: Any,
        sqs: Any,
        expiry_queue_url: str,
        dead_letter_queue_url: str,
        lease: timedelta = MAX_HANDLING,
    ):
        self.registry = registry
        self.lease = lease  # how long a delivery it takes is its own: the time its function has left
        self.sfn = sfn
        self.sqs = sqs
        self.expiry_queue_url = expiry_queue_url
        self.dead_letter_queue_url = dead_letter_queue_url

    @classmethod
    def from_environment(cls, sfn: Any, *, lease: timedelta = MAX_HANDLING) -> "ByKey | None":
        if "CORRELATION_TABLE" not in os.environ:
            return None
        return cls(
            Registry.from_environment(),
            sfn=sfn,
            sqs=clients.client("sqs"),
            expiry_queue_url=os.environ["EARLY_CALLBACK_QUEUE_URL"],
            dead_letter_queue_url=os.environ["CALLBACK_DEAD_LETTER_QUEUE_URL"],
            lease=lease,
        )

    def resume(self, callback: Callback, *, delivery_id: str | None) -> Resumed:
        key = callback.key
        assert key is not None
        # A heartbeat twice is harmless, and the next task on the key never gets it (it is not held).
        recorded = delivery_id is not None and callback.status != "HEARTBEAT"
        if recorded:
            delivery = self.registry.receive(key, str(delivery_id), lease=self.lease)
            if delivery is Delivery.SEEN:
                logger.warning("Callback by key delivered again: handled once", extra={"correlation_key": key})
                reason = "this delivery was received already"
                return Resumed(None, callback.status, None, already_closed=reason, key=key)
            if delivery is Delivery.IN_FLIGHT:
                # Lambda retries it: by then it has been handled (SEEN), or its handler stopped (taken over).
                raise DeliveryInFlightError(f"delivery {delivery_id} of correlation key '{key}' is being handled")
        try:
            resumed = self._resume(callback, key, delivery_id=delivery_id)
        except BaseException:
            if recorded:  # nothing was applied or held: its retry must be handled anew
                self.registry.forget(key, str(delivery_id))
            raise
        if recorded:
            self.registry.handled(key, str(delivery_id))
        return resumed

    def _resume(self, callback: Callback, key: str, *, delivery_id: str | None) -> Resumed:
        tasks = self.registry.tasks(key, state_machine=callback.stateMachine, state=callback.state)
        waiting = [task for task in tasks if task.waits]
        if len(waiting) > 1:
            executions = ", ".join(f"{task.execution_arn} at '{task.state}'" for task in waiting)
            raise CallbackRefusedError(AMBIGUOUS_KEY, f"correlation key '{key}': {executions}")
        if waiting:
            return self._apply(callback, waiting[0])
        closed = self.registry.recently_closed(key, state_machine=callback.stateMachine, state=callback.state)
        if closed:
            # Late, not early: its task stopped waiting (resumed, timed out, ended) within a window. Held,
            # it would resume the key's next task with another task's result.
            logger.warning("Callback by key for a task that has closed", extra={"correlation_key": key})
            return Resumed(None, callback.status, None, already_closed=f"its task closed at {max(closed)}", key=key)
        if callback.status == "HEARTBEAT" and delivery_id is not None:
            # Nothing to hold: a heartbeat only matters to a task that waits now.
            logger.warning("Heartbeat by key for no waiting task", extra={"correlation_key": key})
            return Resumed(None, callback.status, None, already_closed="no task waits on this key", key=key)
        if delivery_id is None:
            scope = f" of {callback.stateMachine}" if callback.stateMachine else ""
            raise CallbackRefusedError(NO_TASK_WAITS_ON_KEY, f"correlation key '{key}'{scope}")
        return self._hold(callback, delivery_id=delivery_id)

    def _apply(self, callback: Callback, task: WaitingTask) -> Resumed:
        """Applies the callback to the waiting task. One that turned out closed (timed out, or
        resumed by its token) is reported as such, and its entry let go: the callback came late."""
        try:
            apply_callback(callback, token=self.registry.token_of(task), sfn=self.sfn)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in TASK_CLOSED_CODES:
                self.registry.release(task)
                self.registry.mark_closed(task.key, task.state_machine, task.state)
                ask_the_line_to_move(self.registry, task)
                logger.warning("Callback by key not applied: its task had closed", extra={"correlation_key": task.key})
                reason = f"{code}: {TASK_CLOSED}"
                return Resumed(None, callback.status, task.execution_arn, already_closed=reason, key=task.key)
            if code in REFUSALS:
                raise CallbackRefusedError(code, f"correlation key '{task.key}'") from None
            raise
        if callback.status != "HEARTBEAT":
            self.registry.close(task)
            self.registry.mark_closed(task.key, task.state_machine, task.state)
            ask_the_line_to_move(self.registry, task)
        logger.info(
            "Execution resumed by key",
            extra={"correlation_key": task.key, "status": callback.status, "execution_id": task.execution_arn},
        )
        return Resumed(None, callback.status, task.execution_arn, key=task.key)

    def _hold(self, callback: Callback, *, delivery_id: str) -> Resumed:
        key = callback.key
        assert key is not None
        window = int(self.registry.window.total_seconds())
        if window == 0:
            self.dead_letter(callback, delivery_id=delivery_id, received_at=_now(), reason="no task waits on it")
            return Resumed(None, callback.status, None, already_closed="no task waits on this key", key=key)
        early = self.registry.early(callback, delivery_id=delivery_id)
        # Its end is scheduled before it is held: a held callback always has a janitor coming.
        self.sqs.send_message(
            QueueUrl=self.expiry_queue_url,
            MessageBody=json.dumps({"correlationKey": key, "entry": early.entry}),
            DelaySeconds=window,
        )
        self.registry.hold(early)
        # Held, then looked for again: a task that registered meanwhile may have missed it.
        waiting = [
            task
            for task in self.registry.tasks(key, state_machine=callback.stateMachine, state=callback.state)
            if task.waits
        ]
        if len(waiting) == 1 and self.registry.claim(early):
            # Claimed: applied now, or, if that fails, by Lambda's retry of this delivery (which
            # resume() lets be handled anew); never held again besides.
            return self._apply(callback, waiting[0])
        logger.info("Callback held until a task waits on its key", extra={"correlation_key": key, "window": window})
        return Resumed(None, callback.status, None, key=key, held=True)

    def dead_letter(self, callback: Callback, *, delivery_id: str, received_at: str, reason: str) -> None:
        key = callback.key
        letter = {
            "reason": f"Callback by correlation key '{key}' not applied: {reason}.",
            "correlationKey": key,
            "deliveryId": delivery_id,
            "receivedAt": received_at,
            "callback": json.loads(callback.model_dump_json(exclude_none=True)),
        }
        self.sqs.send_message(QueueUrl=self.dead_letter_queue_url, MessageBody=json.dumps(letter))
        logger.error("Callback by key dead-lettered", extra={"correlation_key": key, "reason": reason})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def resume_all(event: Any, *, sfn: Any, lease: timedelta = MAX_HANDLING) -> dict[str, Any]:
    resumed: list[Resumed] = []
    failures: list[Exception] = []
    by_key: ByKey | None = None
    for item in read_callbacks(event):
        if isinstance(item, InvalidEventError):
            failures.append(item)
            continue
        callback = item.callback
        if callback.executionId:
            logger.set_correlation_id(callback.executionId)
        try:
            if callback.taskToken is not None:
                resumed.append(resume(callback, sfn=sfn))
                continue
            by_key = by_key or ByKey.from_environment(sfn, lease=lease)
            if by_key is None:
                raise CallbackRefusedError("NoCorrelationRegistry", f"correlation key '{callback.key}'")
            resumed.append(by_key.resume(callback, delivery_id=item.delivery_id))
        except CallbackRefusedError as error:
            failures.append(error)
    for failure in failures:
        logger.error("Callback not applied", extra={"reason": str(failure)})
    if len(failures) == 1:
        raise failures[0]
    if failures:
        summary = "; ".join(str(failure) for failure in failures)
        raise CallbacksFailedError(f"{len(failures)} of {len(failures) + len(resumed)} callbacks failed: {summary}")
    result = {
        "resumed": [item.as_dict() for item in resumed if not item.already_closed and not item.held],
        "alreadyClosed": [item.as_dict() for item in resumed if item.already_closed],
    }
    held = [{"correlationKey": item.key, "status": item.status} for item in resumed if item.held]
    if held:
        result["held"] = held
    return result


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A delivery it takes stays its own for as long as it may run, and a little more (clock skew).
    lease = timedelta(milliseconds=context.get_remaining_time_in_millis()) + LEASE_MARGIN
    return resume_all(event, sfn=clients.client("stepfunctions"), lease=lease)
