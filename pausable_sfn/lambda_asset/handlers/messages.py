"""The messages exchanged with the external service and with Step Functions.

- JobRequest: the payload that the `Long job execution` state sends to CallAsyncServiceLambda.
- JobRequestMessage: what CallAsyncServiceLambda sends to the external service (queue message).
- Callback: what the external service (or a person) sends to resume the execution: with the
  task token, or with the task's correlation key instead.
- Registration: what a task with a correlation key sends the channel's registrar.
- ApprovalRequest: what a task that waits for a person sends RequestApprovalLambda.
- LinkRequest: what an operator sends RequestApprovalLambda for a fresh approval link.
"""

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, model_validator

from .contracts import (
    ISSUE_LINK_ACTION,
    MAX_CAUSE_LENGTH,
    MAX_CORRELATION_KEY_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_JOB_DURATION_SECONDS,
    MAX_OUTPUT_BYTES,
    MAX_STATE_NAME_LENGTH,
    MAX_TASK_TOKEN_LENGTH,
    MAX_TASK_WAIT_SECONDS,
    ON_KEY_IN_USE_FAIL,
    ON_KEY_IN_USE_QUEUE,
)

TaskToken = Field(min_length=1, max_length=MAX_TASK_TOKEN_LENGTH)
# A Distributed Map's child workflows name their state machine "<name>/<Map label>"; "#" never
# appears (the registry's entries are joined with it).
STATE_MACHINE_ARN = r"^arn:[^:]+:states:[^:]+:[0-9]{12}:stateMachine:[A-Za-z0-9_-]+(/[^#\s]+)?$"
EXECUTION_ARN = r"^arn:[^:]+:states:[^:]+:[^:]+:execution:[^:]+:[^:]+$"


def key_text(value: str | int | float | None) -> str | None:
    """A correlation key as the registry keeps it: a string as it is, a number as its JSON text
    (42 and "42" name the same key; 42.0 is "42.0")."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


# Strict: a boolean is no key, and a number stays a number until key_text writes it.
KeyValue = StrictStr | StrictInt | StrictFloat | None


class JobRequest(BaseModel):
    """What CallAsyncServiceLambda is given: by the task itself (with the token), or by the
    channel's registrar for a task that waits on its job's id (with that key, not the token)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    taskToken: str | None = Field(default=None, min_length=1, max_length=MAX_TASK_TOKEN_LENGTH)
    correlationKey: str | None = Field(default=None, min_length=1, max_length=MAX_CORRELATION_KEY_LENGTH)
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

    @model_validator(mode="after")
    def _token_or_key(self) -> "JobRequest":
        if (self.taskToken is None) == (self.correlationKey is None):
            raise ValueError("give taskToken or correlationKey (exactly one): how the job calls back")
        if self.isManualCallback and self.taskToken is None:
            raise ValueError("a manual execution needs taskToken: the approval page resumes it with the token")
        return self


class JobRequestMessage(BaseModel):
    """The job request the external service reads: it calls back with `jobId` (the task's
    correlation key) or, for a task that waits by token, with `taskToken`."""

    model_config = ConfigDict(extra="forbid")

    taskToken: str | None = Field(default=None, min_length=1, max_length=MAX_TASK_TOKEN_LENGTH)
    jobId: str | None = Field(default=None, min_length=1, max_length=MAX_CORRELATION_KEY_LENGTH)
    executionId: str = Field(min_length=1)
    jobDurationSeconds: int = Field(ge=0, le=MAX_JOB_DURATION_SECONDS)

    @model_validator(mode="after")
    def _token_or_job_id(self) -> "JobRequestMessage":
        if (self.taskToken is None) == (self.jobId is None):
            raise ValueError("give taskToken or jobId (exactly one): what the callback names")
        return self


class Callback(BaseModel):
    """A resume request. `output` is any JSON value; a string is read as a JSON document.

    It names its task by `taskToken`, or by `correlationKey`: the key the task registered with the
    channel. With a key, `stateMachine` (an ARN) and `state` narrow it down to one task when tasks
    of several state machines, or several states, wait on the same key."""

    model_config = ConfigDict(extra="forbid")

    taskToken: str | None = Field(default=None, min_length=1, max_length=MAX_TASK_TOKEN_LENGTH)
    correlationKey: KeyValue = None
    stateMachine: str | None = Field(default=None, pattern=STATE_MACHINE_ARN)
    state: str | None = Field(default=None, min_length=1, max_length=MAX_STATE_NAME_LENGTH)
    # HEARTBEAT: the task is still being worked on (SendTaskHeartbeat); the task keeps waiting.
    status: Literal["SUCCEED", "FAILED", "HEARTBEAT"] = "SUCCEED"
    output: Any = None
    error: str | None = Field(default=None, min_length=1, max_length=MAX_ERROR_LENGTH)
    cause: str | None = Field(default=None, max_length=MAX_CAUSE_LENGTH)
    executionId: str | None = None

    @model_validator(mode="after")
    def _fields_match_status(self) -> "Callback":
        if (self.taskToken is None) == (self.correlationKey is None):
            raise ValueError("give taskToken or correlationKey (exactly one): which task the callback is for")
        if self.taskToken is not None and (self.stateMachine is not None or self.state is not None):
            raise ValueError("stateMachine and state go with correlationKey: a task token names its task itself")
        key = self.key
        if key is not None and not 1 <= len(key) <= MAX_CORRELATION_KEY_LENGTH:
            raise ValueError(f"correlationKey must have 1 to {MAX_CORRELATION_KEY_LENGTH} characters")
        if self.status == "SUCCEED" and (self.error is not None or self.cause is not None):
            raise ValueError('error and cause go with status "FAILED"')
        if self.status != "SUCCEED" and self.output is not None:
            raise ValueError('output goes with status "SUCCEED"')
        if self.status == "HEARTBEAT" and (self.error is not None or self.cause is not None):
            raise ValueError('error and cause go with status "FAILED"')
        if self.output is not None:
            self.output_document()  # fail now, not at SendTaskSuccess
        return self

    @property
    def key(self) -> str | None:
        return key_text(self.correlationKey)

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


class Receiver(BaseModel):
    """Where a task with a correlation key hands its payload: exactly one of these."""

    model_config = ConfigDict(extra="forbid")

    function: str | None = Field(default=None, pattern=r"^arn:[^:]+:lambda:[^:]+:[0-9]{12}:function:[^:]+$")
    queue: str | None = Field(default=None, pattern=r"^https://\S+$")
    topic: str | None = Field(default=None, pattern=r"^arn:[^:]+:sns:[^:]+:[0-9]{12}:[^:]+$")

    @model_validator(mode="after")
    def _one_receiver(self) -> "Receiver":
        if sum(value is not None for value in (self.function, self.queue, self.topic)) != 1:
            raise ValueError("give exactly one of function, queue or topic")
        return self


class Registration(BaseModel):
    """What a PausableTask with a correlation key sends the channel's registrar: its token and the
    key it waits on (null: it waits by token alone this time), the task it is (state machine,
    state, execution), how long it may wait, the error it fails with when the key is taken, and
    the payload for its receiver (None: the task only waits, for a callback by key)."""

    model_config = ConfigDict(extra="forbid")

    taskToken: str = TaskToken
    correlationKey: KeyValue = None
    stateMachine: str = Field(pattern=STATE_MACHINE_ARN)
    state: str = Field(min_length=1, max_length=MAX_STATE_NAME_LENGTH)
    executionId: str = Field(pattern=EXECUTION_ARN)
    pausedAt: datetime
    # None: the task waits as long as its execution may run (a year).
    timeoutSeconds: int | None = Field(default=None, ge=1, le=MAX_TASK_WAIT_SECONDS)
    keyInUseError: str = Field(min_length=1, max_length=MAX_ERROR_LENGTH)
    onKeyInUse: str = Field(default=ON_KEY_IN_USE_FAIL, pattern=f"^({ON_KEY_IN_USE_FAIL}|{ON_KEY_IN_USE_QUEUE})$")
    receiver: Receiver | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _key_is_text(self) -> "Registration":
        key = self.key
        if key is not None and not 1 <= len(key) <= MAX_CORRELATION_KEY_LENGTH:
            raise ValueError(f"correlationKey must have 1 to {MAX_CORRELATION_KEY_LENGTH} characters")
        return self

    @property
    def key(self) -> str | None:
        return key_text(self.correlationKey)


class Promotion(BaseModel):
    """What the resume function and the janitor send the registrar (an asynchronous invoke) when
    the task that waited on a key of a state has let it go: the next task in that key's line,
    if any, is to wait on it now."""

    model_config = ConfigDict(extra="forbid")

    correlationKey: str = Field(min_length=1, max_length=MAX_CORRELATION_KEY_LENGTH)
    stateMachine: str = Field(pattern=STATE_MACHINE_ARN)
    state: str = Field(min_length=1, max_length=MAX_STATE_NAME_LENGTH)
