"""ResumeStepFunctionLambda: resumes a paused execution from a callback.

Invoked by CallbackToUnpauseSfnTopic (every record of the SNS event is handled), or by hand
with a callback object: {"taskToken": "...", "status"?: "SUCCEED" | "FAILED", "output"?: ...,
"error"?: "...", "cause"?: "..."}. SUCCEED sends SendTaskSuccess with the output; FAILED sends
SendTaskFailure with the error and cause.
"""

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parser import ValidationError
from aws_lambda_powertools.utilities.parser.models import SnsModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import ClientError

from . import clients
from .contracts import DEFAULT_FAILURE_CAUSE, DEFAULT_FAILURE_ERROR, TASK_CLOSED, TASK_CLOSED_CODES, fingerprint
from .messages import Callback
from .validation import InvalidEventError, describe, parse

logger = Logger()

# What Step Functions' answers mean for the person or service that sent the callback.
REFUSALS = {
    "InvalidToken": "Step Functions does not recognise this task token: it is malformed, cut "
    "short, or belongs to another account or region",
    "InvalidOutput": "Step Functions refused the output as invalid",
}


class CallbackRefusedError(Exception):
    """Step Functions refused the callback; retrying the same callback cannot succeed."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {REFUSALS[code]} ({detail})")
        self.code = code


class CallbacksFailedError(Exception):
    """More than one callback of an SNS event failed; the message lists each."""


@dataclass(frozen=True)
class Resumed:
    token: str  # fingerprint, never the token
    status: str
    execution_id: str | None
    already_closed: str | None = None  # why it was not applied, when the task had closed

    def as_dict(self) -> dict[str, Any]:
        result = {"taskToken": self.token, "status": self.status, "executionId": self.execution_id}
        if self.already_closed:
            result["alreadyClosed"] = self.already_closed
        return result


def read_callbacks(event: Any) -> list[Callback | InvalidEventError]:
    """The callbacks an event carries; a malformed SNS record becomes its own error."""
    if isinstance(event, dict) and "Records" in event:
        try:
            sns_event = SnsModel.model_validate(event)
        except ValidationError as error:
            raise InvalidEventError(f"invalid SNS event: {describe(error)}") from None
        return [_read_sns_message(record.Sns.MessageId, str(record.Sns.Message)) for record in sns_event.Records]
    return [parse(Callback, event, what="callback")]


def _read_sns_message(message_id: str, message: str) -> Callback | InvalidEventError:
    what = f"callback in SNS message {message_id}"
    try:
        return parse(Callback, json.loads(message), what=what)
    except json.JSONDecodeError as error:
        return InvalidEventError(f"{what} is not JSON ({error.msg})")
    except InvalidEventError as error:
        return error


def resume(callback: Callback, *, sfn: Any) -> Resumed:
    token_fingerprint = fingerprint(callback.taskToken)
    try:
        if callback.status == "SUCCEED":
            sfn.send_task_success(taskToken=callback.taskToken, output=callback.output_document())
        else:
            sfn.send_task_failure(
                taskToken=callback.taskToken,
                error=callback.error or DEFAULT_FAILURE_ERROR,
                cause=callback.cause if callback.cause is not None else DEFAULT_FAILURE_CAUSE,
            )
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


def resume_all(event: Any, *, sfn: Any) -> dict[str, Any]:
    resumed: list[Resumed] = []
    failures: list[Exception] = []
    for item in read_callbacks(event):
        if isinstance(item, InvalidEventError):
            failures.append(item)
            continue
        if item.executionId:
            logger.set_correlation_id(item.executionId)
        try:
            resumed.append(resume(item, sfn=sfn))
        except CallbackRefusedError as error:
            failures.append(error)
    for failure in failures:
        logger.error("Callback not applied", extra={"reason": str(failure)})
    if len(failures) == 1:
        raise failures[0]
    if failures:
        summary = "; ".join(str(failure) for failure in failures)
        raise CallbacksFailedError(f"{len(failures)} of {len(failures) + len(resumed)} callbacks failed: {summary}")
    return {
        "resumed": [item.as_dict() for item in resumed if not item.already_closed],
        "alreadyClosed": [item.as_dict() for item in resumed if item.already_closed],
    }


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resume_all(event, sfn=clients.client("stepfunctions"))
