"""The messages exchanged with the external service and with Step Functions.

- JobRequest: the payload that the `Long job execution` state sends to CallAsyncServiceLambda.
- JobRequestMessage: what CallAsyncServiceLambda sends to the external service (queue message).
- Callback: what the external service (or a person) sends to resume the execution.
- ApprovalRequest: what a task that waits for a person sends RequestApprovalLambda.
- LinkRequest: what an operator sends RequestApprovalLambda for a fresh approval link.
"""

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .contracts import (
    ISSUE_LINK_ACTION,
    MAX_CAUSE_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_JOB_DURATION_SECONDS,
    MAX_OUTPUT_BYTES,
    MAX_STATE_NAME_LENGTH,
    MAX_TASK_TOKEN_LENGTH,
    MAX_TASK_WAIT_SECONDS,
)

TaskToken = Field(min_length=1, max_length=MAX_TASK_TOKEN_LENGTH)


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    taskToken: str = TaskToken
    isManualCallback: bool
    # The state machine admits any number in range; the queue delay rounds it up to whole seconds.
    jobDurationSeconds: float = Field(ge=0, le=MAX_JOB_DURATION_SECONDS)
    executionId: str = Field(min_length=1)
    # What a manual execution's approval request shows: the execution's input, the state, since
    # when it waits (Step Functions' ISO 8601 text) and for how long.
    request: dict[str, Any]
    stateName: str = Field(min_length=1, max_length=MAX_STATE_NAME_LENGTH)
    pausedAt: datetime = Field(strict=False)
    timeoutSeconds: int = Field(ge=1, le=MAX_TASK_WAIT_SECONDS)
    heartbeatSeconds: int | None = Field(default=None, ge=1, le=MAX_TASK_WAIT_SECONDS)


class JobRequestMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    taskToken: str = TaskToken
    executionId: str = Field(min_length=1)
    jobDurationSeconds: int = Field(ge=0, le=MAX_JOB_DURATION_SECONDS)


class Callback(BaseModel):
    """A resume request. `output` is any JSON value; a string is read as a JSON document."""

    model_config = ConfigDict(extra="forbid")

    taskToken: str = TaskToken
    status: Literal["SUCCEED", "FAILED"] = "SUCCEED"
    output: Any = None
    error: str | None = Field(default=None, min_length=1, max_length=MAX_ERROR_LENGTH)
    cause: str | None = Field(default=None, max_length=MAX_CAUSE_LENGTH)
    executionId: str | None = None

    @model_validator(mode="after")
    def _fields_match_status(self) -> "Callback":
        if self.status == "SUCCEED" and (self.error is not None or self.cause is not None):
            raise ValueError('error and cause go with status "FAILED"')
        if self.status == "FAILED" and self.output is not None:
            raise ValueError('output goes with status "SUCCEED"')
        if self.output is not None:
            self.output_document()  # fail now, not at SendTaskSuccess
        return self

    def output_document(self) -> str:
        """The JSON text sent as the task's output: the given output, or {"resumed": true}."""
        if self.output is None:
            return json.dumps({"resumed": True})
        if isinstance(self.output, str):
            try:
                json.loads(self.output)
            except json.JSONDecodeError as error:
                raise ValueError(f"output is a string but not a JSON document ({error.msg})") from None
            document = self.output
        else:
            document = json.dumps(self.output)
        size = len(document.encode("utf-8"))
        if size > MAX_OUTPUT_BYTES:
            raise ValueError(f"output is {size} bytes; Step Functions accepts at most {MAX_OUTPUT_BYTES}")
        return document


class ApprovalRequest(BaseModel):
    """A task asks a person: `summary` is what the approval page shows of the request (it must not
    hold the token); `pausedAt` and `timeoutSeconds` say since when and until when it waits."""

    model_config = ConfigDict(extra="forbid")

    taskToken: str = TaskToken
    executionId: str = Field(pattern=r"^arn:[^:]+:states:[^:]+:[^:]+:execution:[^:]+:[^:]+$")
    stateName: str = Field(min_length=1, max_length=MAX_STATE_NAME_LENGTH)
    pausedAt: datetime
    # None: the task waits as long as its execution may run (a year).
    timeoutSeconds: int | None = Field(default=None, ge=1, le=MAX_TASK_WAIT_SECONDS)
    # A heartbeat timeout ends the wait sooner, as nobody sends heartbeats for a person.
    heartbeatSeconds: int | None = Field(default=None, ge=1, le=MAX_TASK_WAIT_SECONDS)
    summary: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _summary_holds_no_token(self) -> "ApprovalRequest":
        if self.taskToken in json.dumps(self.summary):
            raise ValueError("summary holds the task token, which the approval page must never show")
        return self


class LinkRequest(BaseModel):
    """An operator asks for a fresh link to the approval page of the task that `taskToken` names,
    valid for `expiresInSeconds` at most (never beyond the task's own timeout)."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(default=ISSUE_LINK_ACTION, pattern=f"^{ISSUE_LINK_ACTION}$")
    taskToken: str = TaskToken
    expiresInSeconds: int | None = Field(default=None, ge=1, le=MAX_TASK_WAIT_SECONDS)
