"""RegisterCorrelationKeyLambda: the hand-off of a PausableTask that waits on a correlation key.

The task invokes it (lambda:invoke.waitForTaskToken) with a Registration. It registers the
task's token under the key, scoped to the state machine and the state, then:
- a callback that came for the key before the task waited (held by the channel) is applied at
  once, and the receiver is not asked: the task no longer waits;
- when another execution's task waits on the key, the task fails with its `<prefix>KeyInUse`
  error, whose cause names the key and that execution; or, if its PausableTask queues
  (`onKeyInUse` "queue"), it joins the key's line and waits there, first come first served. A
  holder whose task has closed meanwhile (it timed out, or was resumed by its token) is told
  apart by a heartbeat sent with its token, which Step Functions refuses for a closed task, and
  its entry is taken over (by the head of the line, when there is one);
- otherwise the payload goes to the receiver (a function, invoked and waited for as Step
  Functions would; a queue; a topic), with the key and without the token: who holds the key
  resumes the task through the channel, never with the token.
When a task lets its key go, the next in the line gets it: the registrar is asked (a promotion,
from the resume function or the janitor; or it goes on itself, when the task it registered let
the key go at once) to move the head of the line to the task entry and hand its payload on.
What it answers is the task's TaskSubmitted output: a receiver function's own answer, as if the
task had invoked it, or else what became of the registration.
A task whose key is null this time waits by its token: the receiver gets the token, as a task
without a key hands it.
"""

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from . import clients
from .contracts import ON_KEY_IN_USE_QUEUE, REGISTRY_UNAVAILABLE, TASK_CLOSED_CODES, fingerprint
from .correlation_registry import Registry, WaitingTask, task_entry
from .messages import Promotion, Receiver, Registration
from .resume_step_function import apply_callback
from .validation import parse

logger = Logger()
# A key that changes hands this often while one task registers is contended beyond reason.
MAX_TAKE_OVERS = 3


class KeyContendedError(Exception):
    """The key's entry changed hands again and again while the task tried to take it over."""


class RegistryUnavailable(Exception):  # noqa: N818 (its name is the error that the task retries)
    """An AWS call of the registration kept failing for a while (a timeout, throttling, a 5xx
    answer, after the SDK's own retries): the task's retry registers again."""


assert RegistryUnavailable.__name__ == REGISTRY_UNAVAILABLE
# What botocore says of a call whose answer never came, or that AWS could not serve for now.
TRANSIENT_ERRORS = (HTTPClientError, BotoConnectionError)
TRANSIENT_CODES = frozenset({"ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"})


def _transient(error: Exception) -> bool:
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.response["Error"]["Code"] in TRANSIENT_CODES or status >= 500
    return False


class ReceiverFailedError(Exception):
    """The receiver could not be given the payload; the task's registration was withdrawn."""


def register(registration: Registration, *, registry: Registry, aws: Any) -> dict[str, Any]:
    key = registration.key
    if key is None:
        answer = _forward(registration.receiver, {**registration.payload, **_ids(registration, token=True)}, aws)
        return answer if answer is not None else {"registered": False}
    if registration.onKeyInUse == ON_KEY_IN_USE_QUEUE:
        return _register_or_wait_in_line(registration, registry=registry, aws=aws)
    for _ in range(MAX_TAKE_OVERS):
        holder = registry.register(registration)
        if holder is None:
            break
        if _still_waits(holder, registry=registry, sfn=aws("stepfunctions")):
            cause = (
                f"The correlation key '{key}' is in use: execution {holder.execution_arn} waits on it at the "
                f"state '{holder.state}' since {holder.registered_at}."
            )
            aws("stepfunctions").send_task_failure(
                taskToken=registration.taskToken, error=registration.keyInUseError, cause=cause
            )
            held_by = {"correlation_key": key, "held_by": holder.execution_arn}
            logger.warning("Key in use: the task failed", extra=held_by)
            return {"correlationKey": key, "registered": False, "keyInUse": holder.execution_arn}
        if registry.take_over(registration, holder):
            logger.info("Key taken over from a task that no longer waits", extra={"correlation_key": key})
            break
    else:
        raise KeyContendedError(f"the entry of correlation key '{key}' changed hands {MAX_TAKE_OVERS} times")
    return _hand_off(registration, registry=registry, aws=aws)


def _register_or_wait_in_line(registration: Registration, *, registry: Registry, aws: Any) -> dict[str, Any]:
    """A task that queues on a key in use: it waits on the key at once if nobody waits on it and
    nobody is in line; otherwise it joins the line, and the line moves on if the key is free."""
    key = registration.key
    assert key is not None
    scope = (key, registration.stateMachine, registration.state)
    if not registry.has_line(*scope) and registry.register(registration) is None:
        return _hand_off(registration, registry=registry, aws=aws)
    registry.join_line(registration)
    logger.info("Key in use: the task waits in line", extra={"correlation_key": key})
    promoted = promote_next(*scope, registry=registry, aws=aws)
    if promoted is not None and promoted.token_fingerprint == fingerprint(registration.taskToken):
        return promoted.answer  # the key was free, and it was first in line: it waits on it now
    holder = registry.holder(*scope)
    return {
        "correlationKey": key,
        "registered": False,
        "inLine": True,
        "behind": None if holder is None else holder.execution_arn,
    }


@dataclass(frozen=True)
class Promoted:
    execution_arn: str
    token_fingerprint: str
    answer: dict[str, Any]  # what its hand-off answered


def promote_next(key: str, state_machine: str, state: str, *, registry: Registry, aws: Any) -> Promoted | None:
    """Once no task waits on the key, lets the head of its line wait on it and hands its payload
    on; None when the key is taken or nobody is in line."""
    sfn = aws("stepfunctions")
    while True:
        holder = registry.holder(key, state_machine, state)
        if holder is not None:
            if _still_waits(holder, registry=registry, sfn=sfn) or not registry.release(holder):
                return None  # the key is taken: the line waits for the next promotion
            continue
        head = registry.line_head(key, state_machine, state)
        if head is None:
            return None
        registration = registry.leave_line(head)
        if registration is None:
            continue  # it went meanwhile: its execution ended, or another registrar took it
        if registry.register(registration) is not None:
            registry.rejoin_line(head)  # another task got the key first: back to its place
            return None
        if not _waits(registration.taskToken, sfn):
            # Its task closed while in line (a timeout that the workflow caught): next, please.
            registry.release(_entry_of(registration, key))
            continue
        logger.info("Task in line now waits on its key", extra={"correlation_key": key})
        try:
            answer = _hand_off(registration, registry=registry, aws=aws)
        except Exception:
            registry.rejoin_line(head)  # first in line again, for the retry of this promotion
            raise
        return Promoted(registration.executionId, fingerprint(registration.taskToken), answer)


def _hand_off(registration: Registration, *, registry: Registry, aws: Any) -> dict[str, Any]:
    """The task waits on its key: a callback held for it is applied, or its payload handed on."""
    key = registration.key
    assert key is not None
    mine = _entry_of(registration, key)
    logger.info("Task registered under its key", extra={"correlation_key": key})

    for early in registry.early_callbacks(key):
        # One whose window has ended is the janitor's (DynamoDB's TTL deletes nothing on time).
        if not registry.within_window(early) or not early.is_for(registration.stateMachine, registration.state):
            continue
        if registry.claim(early):
            try:
                apply_callback(early.callback, token=registration.taskToken, sfn=aws("stepfunctions"))
            except BaseException:
                registry.hold(early)  # claimed, not applied: kept for the retry of this registration
                raise
            registry.close(mine)
            registry.mark_closed(key, registration.stateMachine, registration.state)
            logger.info("Early callback applied", extra={"correlation_key": key, "delivery_id": early.delivery_id})
            _let_the_line_move(registration, registry=registry, aws=aws)
            return {"correlationKey": key, "registered": True, "appliedEarlyCallback": early.delivery_id}

    try:
        answer = _forward(registration.receiver, {**registration.payload, **_ids(registration, token=False)}, aws)
    except ReceiverFailedError as error:
        registry.release(mine)
        aws("stepfunctions").send_task_failure(
            taskToken=registration.taskToken, error=error.args[0], cause=error.args[1]
        )
        _let_the_line_move(registration, registry=registry, aws=aws)
        return {"correlationKey": key, "registered": False, "receiverFailed": error.args[0]}
    except Exception:
        registry.release(mine)  # nothing was handed on: the key must not stay taken
        raise
    return answer if answer is not None else {"correlationKey": key, "registered": True}


def _let_the_line_move(registration: Registration, *, registry: Registry, aws: Any) -> None:
    """The task let its key go as soon as it got it: the next in line gets it now."""
    if registration.onKeyInUse == ON_KEY_IN_USE_QUEUE and registration.key is not None:
        promote_next(registration.key, registration.stateMachine, registration.state, registry=registry, aws=aws)


def _ids(registration: Registration, *, token: bool) -> dict[str, Any]:
    ids: dict[str, Any] = {"executionId": registration.executionId}
    if token:
        ids["taskToken"] = registration.taskToken
    else:
        ids["correlationKey"] = registration.correlationKey
    return ids


def _entry_of(registration: Registration, key: str) -> WaitingTask:
    return WaitingTask(
        key=key,
        entry=task_entry(registration.stateMachine, registration.state),
        state_machine=registration.stateMachine,
        state=registration.state,
        execution_arn=registration.executionId,
        registered_at="",
        token_fingerprint=fingerprint(registration.taskToken),
        ciphertext=b"",
    )


def _still_waits(holder: WaitingTask, *, registry: Registry, sfn: Any) -> bool:
    return holder.waits and _waits(registry.token_of(holder), sfn)


def _waits(token: str, sfn: Any) -> bool:
    """Whether the task of `token` still waits: Step Functions has no other way to tell than a
    heartbeat, which it refuses for a closed task."""
    try:
        sfn.send_task_heartbeat(taskToken=token)
    except ClientError as error:
        if error.response["Error"]["Code"] in TASK_CLOSED_CODES:
            return False
        raise
    return True


def _forward(receiver: Receiver | None, message: dict[str, Any], aws: Any) -> Any:
    """Hands `message` to the receiver; a function's answer is returned (None for the others)."""
    if receiver is None:  # the task only waits, for a callback by key
        return None
    body = json.dumps(message)
    if receiver.function is not None:
        answer = aws("lambda").invoke(FunctionName=receiver.function, InvocationType="RequestResponse", Payload=body)
        if "FunctionError" in answer:
            # As Step Functions reports a failed Lambda task: the error type, and the error document.
            document = answer["Payload"].read().decode("utf-8", errors="replace")
            try:
                error_type = str(json.loads(document).get("errorType") or "Lambda.Unknown")
            except (json.JSONDecodeError, AttributeError):
                error_type = "Lambda.Unknown"
            raise ReceiverFailedError(error_type[:256], document[:32768])
        document = answer["Payload"].read().decode("utf-8")
        return json.loads(document) if document else None
    if receiver.queue is not None:
        aws("sqs").send_message(QueueUrl=receiver.queue, MessageBody=body)
    else:
        aws("sns").publish(TopicArn=receiver.topic, Message=body)
    return None


@logger.inject_lambda_context(correlation_id_path="executionId", clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and "promote" in event:
        promotion = parse(Promotion, event["promote"], what="promotion")
        scope = (promotion.correlationKey, promotion.stateMachine, promotion.state)
        promoted = promote_next(*scope, registry=Registry.from_environment(), aws=clients.client)
        return {"correlationKey": promotion.correlationKey, "promoted": promoted and promoted.execution_arn}
    registration = parse(Registration, event, what="registration")
    logger.append_keys(task_token=fingerprint(registration.taskToken))
    try:
        return register(registration, registry=Registry.from_environment(), aws=clients.client)
    except Exception as error:
        if not _transient(error):
            raise
        logger.warning("Registration failed for now: the task tries again", extra={"reason": str(error)})
        raise RegistryUnavailable(f"the registration could not reach AWS for now: {error}") from None
