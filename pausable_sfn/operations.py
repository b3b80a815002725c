"""Operations on a deployed PausableStepFunctionStack: start, find paused executions, resume them.

Works against AWS and against the embedded AWS (`local serve`, or in process): boto3 takes
AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL from the environment as usual. The stack's
resources are found from its CloudFormation outputs. A task token is read from the execution's
history, newest event first, so one short history page per execution is enough.
"""

import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from . import LONG_JOB_STATE, STACK_NAME
from .history import TERMINAL, TimelineEntry, WaitingTask, read_history, recent_events, timeline, waiting_task
from .tokens import MAX_TASK_TOKEN_LENGTH

MAX_OUTPUT_BYTES = 256 * 1024
# Adaptive retries: backoff on throttling plus a client-side rate limiter, so a batch resume
# slows to what the SendTask* token bucket allows instead of failing.
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 10})
_CLOSED = {"TaskTimedOut", "TaskDoesNotExist"}


class OperationError(Exception):
    """The operation could not be done; the message says why, for the person who asked."""


class UsageError(OperationError):
    """What was asked is malformed (bad JSON, an output too large): nothing was sent."""


@dataclass(frozen=True)
class PausedExecution:
    arn: str
    name: str
    started_at: datetime
    task: WaitingTask


@dataclass
class BatchReport:
    resumed: int = 0
    already_done: int = 0
    failed: list[str] = field(default_factory=list)


def parse_output(text: str | None) -> str | None:
    """The --output option: a JSON document of at most 256 KiB, or UsageError."""
    if text is None:
        return None
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--output is not valid JSON: {error.msg} at character {error.pos}") from None
    size = len(text.encode("utf-8"))
    if size > MAX_OUTPUT_BYTES:
        raise UsageError(f"--output is {size} bytes; Step Functions accepts at most {MAX_OUTPUT_BYTES}")
    return text


class Operations:
    def __init__(self, *, stack: str = STACK_NAME, region: str | None = None, profile: str | None = None) -> None:
        self.stack = stack
        try:
            # AWS_REGION too: the AWS CLI and the SDKs read it, boto3 only AWS_DEFAULT_REGION.
            self._session = boto3.Session(profile_name=profile, region_name=region or os.environ.get("AWS_REGION"))
        except ProfileNotFound as error:
            raise OperationError(f"no AWS profile named {error.kwargs['profile']!r}") from None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.calls = 0  # AWS API calls made, for the batch report and the benchmark
        self._calls_lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                try:
                    client = self._session.client(service, config=RETRIES)
                except NoRegionError:
                    raise OperationError("no AWS region: set AWS_REGION or pass --region") from None
                client.meta.events.register("before-call", self._count_call)
                self._clients[service] = client
            return self._clients[service]

    def _count_call(self, **_: Any) -> None:
        with self._calls_lock:
            self.calls += 1

    # The stack

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            [stack] = self._call("cloudformation", "describe_stacks", StackName=self.stack)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                region = self.client("cloudformation").meta.region_name
                raise OperationError(
                    f"stack {self.stack} not found in {region}: deploy it (make deploy), or pass --stack / --region"
                ) from None
            raise
        return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}

    @property
    def state_machine_arn(self) -> str:
        return self.outputs["StateMachineArn"]

    # Executions

    def execution_arn(self, execution: str) -> str:
        """An execution ARN, or a name of an execution of this stack's state machine."""
        if execution.startswith("arn:"):
            return execution
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{execution}"

    def describe(self, execution: str) -> dict[str, Any]:
        arn = self.execution_arn(execution)
        try:
            return self._call("stepfunctions", "describe_execution", executionArn=arn)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("ExecutionDoesNotExist", "InvalidArn"):
                raise OperationError(f"execution {execution} not found") from None
            raise

    def start(self, execution_input: Any, name: str | None = None) -> dict[str, Any]:
        options = {"name": name} if name else {}
        try:
            return self._call(
                "stepfunctions",
                "start_execution",
                stateMachineArn=self.state_machine_arn,
                input=json.dumps(execution_input),
                **options,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
                raise OperationError(f"an execution named {name} exists already") from None
            raise

    def waiting_task(self, execution_arn: str) -> WaitingTask | None:
        """The task that waits for a callback now, read from the newest events, or None."""
        return waiting_task(recent_events(self.client("stepfunctions"), execution_arn))

    def paused(self, *, manual_only: bool = False) -> Iterator[PausedExecution]:
        """Running executions whose Long job execution waits for its callback."""
        pages = self.client("stepfunctions").get_paginator("list_executions")
        for page in pages.paginate(
            stateMachineArn=self.state_machine_arn, statusFilter="RUNNING", PaginationConfig={"PageSize": 1000}
        ):
            for execution in page["executions"]:
                task = self.waiting_task(execution["executionArn"])
                if task is None or task.state != LONG_JOB_STATE or (manual_only and not task.manual):
                    continue
                yield PausedExecution(execution["executionArn"], execution["name"], execution["startDate"], task)

    def token_of(self, execution: str) -> str:
        arn = self.execution_arn(execution)
        task = self.waiting_task(arn)
        if task is None:
            status = self.describe(execution)["status"]
            if status in TERMINAL:
                raise OperationError(f"execution {execution} is not paused: it has ended ({status})")
            raise OperationError(f"execution {execution} is not paused at {LONG_JOB_STATE}")
        return task.token

    # Callbacks

    def resume(self, token: str, output: str | None = None) -> None:
        self._send("send_task_success", token, output=output or json.dumps({"resumed": True}))

    def fail(self, token: str, error: str, cause: str) -> None:
        self._send("send_task_failure", token, error=error, cause=cause)

    def heartbeat(self, token: str) -> None:
        self._send("send_task_heartbeat", token)

    def resume_via_lambda(self, token: str, output: str | None = None) -> None:
        """Resumes as a person would: by invoking ResumeStepFunctionLambda with the token."""
        callback: dict[str, Any] = {"taskToken": token}
        if output is not None:
            callback["output"] = output
        response = self._call(
            "lambda",
            "invoke",
            FunctionName=self.outputs["ResumeStepFunctionFunctionName"],
            Payload=json.dumps(callback).encode(),
        )
        result = json.loads(response["Payload"].read() or b"null")
        if "FunctionError" in response:
            raise OperationError(f"ResumeStepFunctionLambda failed: {result.get('errorMessage', result)}")
        if result and result.get("alreadyClosed"):
            raise OperationError("already resumed or expired: the task no longer waits for a callback")

    def resume_all(
        self,
        *,
        manual_only: bool = False,
        concurrency: int = 8,
        output: str | None = None,
        on_found: Callable[[int], None] | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> BatchReport:
        report = BatchReport()
        lock = threading.Lock()

        def resume_one(execution: PausedExecution) -> None:
            try:
                self.resume(execution.task.token, output)
                outcome = "resumed"
            except OperationError as error:
                outcome = "already" if str(error).startswith("already resumed") else f"{execution.name}: {error}"
            except ClientError as error:
                outcome = f"{execution.name}: {error}"
            with lock:
                if outcome == "resumed":
                    report.resumed += 1
                elif outcome == "already":
                    report.already_done += 1
                else:
                    report.failed.append(outcome)
            if on_done is not None:
                on_done()

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for found, execution in enumerate(self.paused(manual_only=manual_only), start=1):
                if on_found is not None:
                    on_found(found)
                pool.submit(resume_one, execution)
        return report

    def history(self, execution: str) -> tuple[dict[str, Any], list[TimelineEntry]]:
        description = self.describe(execution)
        return description, timeline(read_history(self.client("stepfunctions"), description["executionArn"]))

    # Plumbing

    def _send(self, operation: str, token: str, **arguments: Any) -> None:
        if not token or len(token) > MAX_TASK_TOKEN_LENGTH:
            raise UsageError(f"a task token has 1 to {MAX_TASK_TOKEN_LENGTH} characters")
        try:
            self._call("stepfunctions", operation, taskToken=token, **arguments)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in _CLOSED:
                raise OperationError("already resumed or expired: the task no longer waits for a callback") from None
            if code == "InvalidToken":
                raise OperationError(
                    "the task token is not valid (malformed, cut short, or of another region)"
                ) from None
            if code == "InvalidOutput":
                raise UsageError(
                    f"Step Functions refused the output: {error.response['Error'].get('Message')}"
                ) from None
            raise

    def _call(self, service: str, operation: str, **arguments: Any) -> Any:
        try:
            return getattr(self.client(service), operation)(**arguments)
        except NoCredentialsError:
            raise OperationError(
                "no AWS credentials: set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY; for the embedded AWS, see `make serve`"
            ) from None
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in ("ThrottlingException", "TooManyRequestsException", "Throttling"):
                raise OperationError(
                    f"throttled by AWS on {operation} even after retries: try again, or with a lower --concurrency"
                ) from None
            raise
        except BotoCoreError as error:
            raise OperationError(f"{operation} failed: {error}") from None
