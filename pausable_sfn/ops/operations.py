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
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

from ..contracts import (
    LONG_JOB_STATE,
    MAX_CONCURRENCY,
    MAX_OUTPUT_BYTES,
    MAX_TASK_TOKEN_LENGTH,
    STACK_NAME,
    TASK_CLOSED,
    TASK_CLOSED_CODES,
    fingerprint,
)
from .history import TERMINAL, TimelineEntry, WaitingTask, read_history, recent_events, timeline, waiting_task

# Adaptive retries: backoff on throttling plus a client-side rate limiter, so a batch resume
# slows to what the SendTask* token bucket allows instead of failing.
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 10})
# Every call the CLI makes is answered within a second or two (a synchronous invoke of the resume
# function, whose timeout is 10 s, in the worst case): an endpoint slower than this is down.
# A batch (resume --all-paused) finds and resumes side by side, MAX_CONCURRENCY threads each:
# enough pooled connections for both.
TIMEOUTS = Config(connect_timeout=3, read_timeout=20, max_pool_connections=2 * MAX_CONCURRENCY)
# Retrying throttling helps; retrying an endpoint that does not answer only keeps a person waiting
# in silence (botocore would try a refused connection 10 times, for half a minute). A connection
# failure gets one more attempt, for a blip; a read timeout none, as its call may have been done.
CONNECTION_ATTEMPTS = 2
# Refused, timed out, closed, a TLS or proxy failure: not what a retry a second later mends.
_CONNECTION_FAILURES = (BotocoreConnectionError, HTTPClientError)
_NOT_FOUND = {"ExecutionDoesNotExist", "InvalidArn"}
_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "Throttling"}


class OperationError(Exception):
    """The operation could not be done; the message says why, for the person who asked."""


class UsageError(OperationError):
    """What was asked is malformed (bad JSON, an output too large): nothing was sent."""


class ExecutionNotFoundError(OperationError):
    """No execution has that name or ARN (or the ARN is not an execution's)."""

    def __init__(self, execution: str) -> None:
        super().__init__(f"execution {execution} not found")


class TaskClosedError(OperationError):
    """The task no longer waits for a callback: resumed, failed or timed out already."""

    def __init__(self) -> None:
        super().__init__(TASK_CLOSED)


def describe_client_error(error: ClientError) -> str:
    """The last resort for an AWS error nobody classified: what AWS said, on one line."""
    details = error.response.get("Error", {})
    message = " ".join(str(details.get("Message", "")).split())
    return f"{error.operation_name} failed: {details.get('Code', 'unknown error')}: {message}"


def _give_up_when_unreachable(attempts: int, caught_exception: Exception | None = None, **_: Any) -> None:
    """A `needs-retry` handler that runs before botocore's own: re-raising ends the retries."""
    if not isinstance(caught_exception, _CONNECTION_FAILURES):
        return
    if isinstance(caught_exception, ReadTimeoutError) or attempts >= CONNECTION_ATTEMPTS:
        raise caught_exception


def _unreachable(error: BotoCoreError) -> str:
    # botocore's message names the endpoint: 'Could not connect to the endpoint URL: "http://..."'.
    if isinstance(error, ReadTimeoutError):
        return (
            f"no answer within {TIMEOUTS.read_timeout} s ({error}): whether it was done is unknown; "
            "look with `pausable-sfn history` before trying again"
        )
    return f"cannot reach AWS: {error}; check AWS_ENDPOINT_URL, --region and the network"


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
        except BotoCoreError as error:  # a malformed config file, say
            raise OperationError(f"the AWS configuration: {error}") from None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.calls = 0  # AWS API calls made, for the batch report and the benchmark
        self._calls_lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                try:
                    client = self._session.client(service, config=TIMEOUTS.merge(RETRIES))
                except NoRegionError:
                    raise OperationError("no AWS region: set AWS_REGION or pass --region") from None
                except InvalidRegionError as error:
                    raise OperationError(
                        f"{error.kwargs['region_name']!r} is not an AWS region name: pass --region like us-east-1"
                    ) from None
                client.meta.events.register("before-call", self._count_call)
                client.meta.events.register_first("needs-retry", _give_up_when_unreachable)
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

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise OperationError(f"stack {self.stack} has no output {key}: is it a pausable-sfn stack?") from None

    @property
    def state_machine_arn(self) -> str:
        return self.output("StateMachineArn")

    # Executions

    def execution_arn(self, execution: str) -> str:
        """An execution ARN, or a name of an execution of this stack's state machine."""
        if execution.startswith("arn:"):
            return execution
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{execution}"

    def describe(self, execution: str) -> dict[str, Any]:
        with self._about(execution):
            return self._call("stepfunctions", "describe_execution", executionArn=self.execution_arn(execution))

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
            code = error.response["Error"]["Code"]
            if code == "ExecutionAlreadyExists":
                raise OperationError(f"an execution named {name} exists already") from None
            if code == "InvalidName":
                raise UsageError(
                    f"Step Functions refused the name {name!r}: {error.response['Error']['Message']}"
                ) from None
            raise

    def waiting_task(self, execution: str) -> WaitingTask | None:
        """The task that waits for a callback now, read from the newest events, or None."""
        with self._about(execution), self._aws("get_execution_history"):
            return waiting_task(recent_events(self.client("stepfunctions"), self.execution_arn(execution)))

    def paused(self, *, manual_only: bool = False, concurrency: int = 8) -> Iterator[PausedExecution]:
        """Running executions whose Long job execution waits for its callback, in the order
        ListExecutions gives them; their histories are read `concurrency` at a time (each read is
        a round trip to AWS: one after another, a thousand take a minute)."""

        def paused_one(execution: dict[str, Any]) -> PausedExecution | None:
            task = self.waiting_task(execution["executionArn"])
            if task is None or task.state != LONG_JOB_STATE or (manual_only and not task.manual):
                return None
            return PausedExecution(execution["executionArn"], execution["name"], execution["startDate"], task)

        with self._aws("list_executions"), ThreadPoolExecutor(max_workers=concurrency) as pool:
            pages = (
                self.client("stepfunctions")
                .get_paginator("list_executions")
                .paginate(
                    stateMachineArn=self.state_machine_arn, statusFilter="RUNNING", PaginationConfig={"PageSize": 1000}
                )
            )
            for page in pages:
                yield from filter(None, pool.map(paused_one, page["executions"]))

    def token_of(self, execution: str) -> str:
        task = self.waiting_task(execution)
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
        _check_length(token)
        callback: dict[str, Any] = {"taskToken": token}
        if output is not None:
            callback["output"] = output
        response = self._call(
            "lambda",
            "invoke",
            FunctionName=self.output("ResumeStepFunctionFunctionName"),
            Payload=json.dumps(callback).encode(),
        )
        result = json.loads(response["Payload"].read() or b"null")
        if "FunctionError" in response:
            reason = str(result.get("errorMessage", result) if isinstance(result, dict) else result)
            raise OperationError(f"ResumeStepFunctionLambda failed: {_without(token, reason)}")
        if result and result.get("alreadyClosed"):
            raise TaskClosedError()

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
            except TaskClosedError:
                outcome = "already"
            except OperationError as error:
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
            resuming = []
            paused = self.paused(manual_only=manual_only, concurrency=concurrency)
            for found, execution in enumerate(paused, start=1):
                if on_found is not None:
                    on_found(found)
                resuming.append(pool.submit(resume_one, execution))
        for future in resuming:
            future.result()  # an error none of the outcomes expects is raised, not lost with its thread
        return report

    def history(self, execution: str) -> tuple[dict[str, Any], list[TimelineEntry]]:
        description = self.describe(execution)
        with self._about(execution), self._aws("get_execution_history"):
            events = read_history(self.client("stepfunctions"), description["executionArn"])
        return description, timeline(events)

    # Plumbing

    def _send(self, operation: str, token: str, **arguments: Any) -> None:
        _check_length(token)
        try:
            self._call("stepfunctions", operation, taskToken=token, **arguments)
        except ClientError as error:
            raise _refusal(error, token) from None

    def _call(self, service: str, operation: str, **arguments: Any) -> Any:
        with self._aws(operation):
            return getattr(self.client(service), operation)(**arguments)

    @contextmanager
    def _aws(self, operation: str) -> Iterator[None]:
        """What botocore raises for any call, as an OperationError a person can act on. A ClientError
        that is not throttling goes on: the caller knows what it means for that call."""
        try:
            yield
        except NoCredentialsError:
            raise OperationError(
                "no AWS credentials: set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY; for the embedded AWS, see `make serve`"
            ) from None
        except _CONNECTION_FAILURES as error:
            raise OperationError(_unreachable(error)) from None
        except ClientError as error:
            if error.response["Error"]["Code"] in _THROTTLED:
                raise OperationError(
                    f"throttled by AWS on {operation} even after retries: try again, or with a lower --concurrency"
                ) from None
            raise
        except BotoCoreError as error:
            raise OperationError(f"{operation} failed: {' '.join(str(error).split())}") from None

    @contextmanager
    def _about(self, execution: str) -> Iterator[None]:
        """Calls about one execution: that it does not exist is said with the name the person gave."""
        try:
            yield
        except ClientError as error:
            if error.response["Error"]["Code"] in _NOT_FOUND:
                raise ExecutionNotFoundError(execution) from None
            raise


def _refusal(error: ClientError, token: str) -> OperationError:
    """Why Step Functions refused a SendTask* call."""
    code = error.response["Error"]["Code"]
    if code in TASK_CLOSED_CODES:
        return TaskClosedError()
    if code == "InvalidToken":
        return OperationError("the task token is not valid (malformed, cut short, or of another region)")
    if code == "InvalidOutput":
        return UsageError(f"Step Functions refused the output: {error.response['Error'].get('Message')}")
    return OperationError(_without(token, describe_client_error(error)))


def _check_length(token: str) -> None:
    if not token or len(token) > MAX_TASK_TOKEN_LENGTH:
        raise UsageError(f"a task token has 1 to {MAX_TASK_TOKEN_LENGTH} characters, not {len(token)}")


def _without(token: str, message: str) -> str:
    """The token is a credential: where a message quotes it back, only its fingerprint is passed on."""
    return message.replace(token, fingerprint(token))
