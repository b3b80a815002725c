"""The messages exchanged with the external service and with Step Functions.

- JobRequest: the payload that the `Long job execution` state sends to CallAsyncServiceLambda.
- JobRequestMessage: what CallAsyncServiceLambda sends to the external service (queue message).
- Callback: what the external service (or a person) sends to resume the execution.
"""

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .contracts import (
    MAX_CAUSE_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_JOB_DURATION_SECONDS,
    MAX_OUTPUT_BYTES,
    MAX_TASK_TOKEN_LENGTH,
)

TaskToken = Field(min_length=1, max_length=MAX_TASK_TOKEN_LENGTH)


class JobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    taskToken: str = TaskToken
    isManualCallback: bool
    # The state machine admits any number in range; the queue delay rounds it up to whole seconds.
    jobDurationSeconds: float = Field(ge=0, le=MAX_JOB_DURATION_SECONDS)
    executionId: str = Field(min_length=1)


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
