"""CorrelationJanitorLambda: keeps the correlation registry to what tasks still need.

- From the channel's early-callback queue, when a held callback's window ends: if no task claimed
  it, it goes to the channel's dead-letter queue with its reason (never dropped silently).
- From EventBridge's "Step Functions Execution Status Change" events of an execution that has
  ended (SUCCEEDED, FAILED, TIMED_OUT, ABORTED): that execution's entries go, with any token
  still in them (a task that timed out, or whose execution was stopped, never had a callback),
  and the task next in line for a key it held is let wait on it (the registrar is asked to).
"""

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from . import clients
from .correlation_registry import EARLY, Registry, ask_the_line_to_move
from .messages import EXECUTION_ARN
from .resume_step_function import ByKey
from .validation import InvalidEventError, parse

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
ENDED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
STATUS_CHANGE = "Step Functions Execution Status Change"


class WindowEnded(BaseModel):
    """The message that the resume function scheduled, delayed by the window, for a held callback."""

    model_config = ConfigDict(extra="forbid")

    correlationKey: str = Field(min_length=1)
    entry: str = Field(pattern=f"^{EARLY}")


class ExecutionEnded(BaseModel):
    model_config = ConfigDict(extra="ignore")

    executionArn: str = Field(pattern=EXECUTION_ARN)
    status: str


def dead_letter_if_unclaimed(ended: WindowEnded, *, by_key: ByKey) -> bool:
    early = by_key.registry.expire(ended.correlationKey, ended.entry)
    if early is None:
        return False  # a task claimed it
    window = int(by_key.registry.window.total_seconds())
    try:
        by_key.dead_letter(
            early.callback,
            delivery_id=early.delivery_id,
            received_at=early.received_at,
            reason=f"no task waited on it within the early-callback window of {window} s",
        )
    except BaseException:
        by_key.registry.hold(early)  # taken, not dead-lettered: there again for this message's retry
        raise
    return True


def release_execution(ended: ExecutionEnded, *, registry: Registry) -> int:
    if ended.status not in ENDED:
        return 0
    released = registry.release_execution(ended.executionArn)
    for task in released:  # a callback for them from now on is late, not early
        registry.mark_closed(task.key, task.state_machine, task.state)
        ask_the_line_to_move(registry, task)
    if released:
        logger.info(
            "Entries of an ended execution released",
            extra={"execution_id": ended.executionArn, "keys": [task.key for task in released]},
        )
    return len(released)


def _window_ended(record: SQSRecord) -> WindowEnded:
    try:
        body = json.loads(record.body)
    except json.JSONDecodeError as error:
        raise InvalidEventError(f"message {record.message_id} is not JSON ({error.msg})") from None
    return parse(WindowEnded, body, what=f"early-callback window message {record.message_id}")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("detail-type") == STATUS_CHANGE:
        ended = parse(ExecutionEnded, event.get("detail"), what="execution status change")
        return {"released": release_execution(ended, registry=Registry.from_environment())}
    if not (isinstance(event, dict) and isinstance(event.get("Records"), list)):
        raise InvalidEventError(
            "the janitor takes an SQS event of its early-callback queue or an execution status change event"
        )
    by_key = ByKey.from_environment(clients.client("stepfunctions"))
    assert by_key is not None  # the construct gives the janitor the registry's environment

    def record_handler(record: SQSRecord) -> None:
        dead_letter_if_unclaimed(_window_ended(record), by_key=by_key)

    # A bad message fails alone (ReportBatchItemFailures): the queue's own redrive sets it aside.
    answer = process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
    return dict(answer)
