"""Operations on deployed pausable workflows: start, find paused executions, resume them.

Any state machine whose steps pause at `.waitForTaskToken` tasks can be operated: name it by its
ARN (`state_machine=`), or by a stack whose CloudFormation outputs name it (`stack=`, with the
AppConventions that say which output does, and which stack is meant by default). Works against AWS
and against the embedded AWS (`local serve`, or in process): boto3 takes AWS_PROFILE, AWS_REGION and
AWS_ENDPOINT_URL from the environment as usual. A waiting task is read from the execution's history,
newest event first, so one short history page per execution is enough; where its token is, the state
machine's definition says (tokens.py), read once per state machine.
"""

import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

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
    APPROVAL_ALREADY_DECIDED,
    APPROVAL_NOT_REQUESTED,
    APPROVAL_TASK_EXPIRED,
    ISSUE_LINK_ACTION,
    MAX_CAUSE_LENGTH,
    MAX_CONCURRENCY,
    MAX_CORRELATION_KEY_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_EXECUTION_NAME_LENGTH,
    MAX_OUTPUT_BYTES,
    MAX_TASK_TOKEN_LENGTH,
    NO_TASK_WAITS_ON_KEY,
    TASK_CLOSED_CODES,
    fingerprint,
)
from .conventions import NO_APP, AppConventions
from .errors import ExecutionNotFoundError, OperationError, TaskClosedError, TokenNotFoundError, UsageError
from .history import (
    TERMINAL,
    ScheduledTask,
    TimelineEntry,
    WaitingTask,
    read_history,
    recent_events,
    scheduled_task,
    timeline,
)
from .tokens import FoundToken, TokenLocator

if TYPE_CHECKING:  # the type stubs are needed by mypy only
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_stepfunctions import SFNClient
    from mypy_boto3_stepfunctions.type_defs import DescribeExecutionOutputTypeDef, StartExecutionOutputTypeDef

__all__ = [
    "LINE_PLACES",
    "ApprovalLink",
    "BatchReport",
    "ExecutionNotFoundError",
    "OperationError",
    "Operations",
    "PausedExecution",
    "StateMachineArn",
    "TaskClosedError",
    "TokenNotFoundError",
    "UsageError",
    "check_correlation_key",
    "describe_client_error",
    "in_line",
    "parse_output",
    "place_in_line",
]

# Adaptive retries: backoff on throttling plus a client-side rate limiter, so a batch resume
# slows to what the SendTask* token bucket allows instead of failing.
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": 10})
# Every call the CLI makes is answered within a second or two (a synchronous invoke of the resume
# function, whose timeout is 10 s, in the worst case): an endpoint slower than this is down.
# A batch (resume --all-paused) finds and resumes side by side, MAX_CONCURRENCY threads each:
# enough pooled connections for both.
READ_TIMEOUT = 20
TIMEOUTS = Config(connect_timeout=3, read_timeout=READ_TIMEOUT, max_pool_connections=2 * MAX_CONCURRENCY)
# Retrying throttling helps; retrying an endpoint that does not answer only keeps a person waiting
# in silence (botocore would try a refused connection 10 times, for half a minute). A connection
# failure gets one more attempt, for a blip; a read timeout none, as its call may have been done.
CONNECTION_ATTEMPTS = 2
# Refused, timed out, closed, a TLS or proxy failure: not what a retry a second later mends.
_CONNECTION_FAILURES = (BotocoreConnectionError, HTTPClientError)
_NOT_FOUND = {"ExecutionDoesNotExist", "InvalidArn"}
# A state machine that is not there: ResourceNotFound is what ListExecutions says of an alias.
_NO_STATE_MACHINE = {"StateMachineDoesNotExist", "ResourceNotFound", "StateMachineDeleting"}
_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "Throttling"}
# Neither a state machine nor a stack, and no app's conventions to name a stack by default.
UNNAMED = "name the state machine: pass --state-machine ARN, or --stack with the stack whose outputs name it"


@dataclass(frozen=True)
class ApprovalLink:
    """A link to an approval page: a credential for one decision, to be sent to one person."""

    url: str
    expires_at: str  # ISO 8601, UTC


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


def _unreachable(error: BotoCoreError) -> OperationError:
    # botocore's message names the endpoint: 'Could not connect to the endpoint URL: "http://..."'.
    if isinstance(error, ReadTimeoutError):
        unknown = f"no answer within {READ_TIMEOUT} s ({error}): whether it was done is unknown"
        return OperationError(
            f"{unknown}; look with `pausable-sfn history` before trying again",
            reason=f"{unknown}; look at the execution's history before trying again",
        )
    unreachable = f"cannot reach AWS: {error}"
    return OperationError(f"{unreachable}; check AWS_ENDPOINT_URL, --region and the network", reason=unreachable)


@dataclass(frozen=True)
class StateMachineArn:
    """A state machine's ARN, checked for its form (not for its existence) without a call to AWS."""

    arn: str
    region: str
    name: str

    # arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME, with :VERSION or :ALIAS for a version or an alias.
    PATTERN = re.compile(
        r"arn:(?P<partition>aws[a-z-]*):states:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12})"
        r":stateMachine:(?P<name>[^:\s]{1,80})(?::[^:\s]+)?"
    )

    @classmethod
    def parse(cls, text: str) -> "StateMachineArn":
        match = cls.PATTERN.fullmatch(text)
        if match is None:
            # Never echo a long value: it may be a task token pasted in the wrong place.
            given = repr(text) if len(text) <= 256 else f"a value of {len(text)} characters"
            form = "a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)"
            raise UsageError(f"--state-machine takes {form}, not {given}", reason=f"{given} is not {form}")
        return cls(text, match["region"], match["name"])

    def execution_arn(self, name: str) -> str:
        """The ARN of this state machine's execution `name` (those of a version or an alias too)."""
        prefix = self.arn.split(":stateMachine:", 1)[0]
        return f"{prefix}:execution:{self.name}:{name}"


@dataclass(frozen=True)
class PausedExecution:
    arn: str
    name: str
    started_at: datetime
    state: str  # the state whose task waits
    scheduled_at: datetime
    token: str | None = field(repr=False)  # None where the definition does not say where it is
    manual: bool | None  # the payload's manual flag (AppConventions.manual_flag), where it has one
    token_problem: str | None = None  # why the token could not be found
    key: str | None = None  # the correlation key the task waits on, if any
    # At its hand-off, a keyed task took its key (True) or waited in the key's line (False); None
    # for any other task. A task put in line may hold the key since: a promotion writes no event.
    registered: bool | None = None
    behind: str | None = None  # for a task put in line: the execution that held the key then


@dataclass
class BatchReport:
    resumed: int = 0
    already_done: int = 0
    failed: list[str] = field(default_factory=list)


# How `paused` and its errors show a task's place in its key's line (see in_line).
LINE_PLACES: dict[bool | None, str] = {False: "", True: " (in line)", None: " (was in line: may hold the key now)"}


def in_line(paused: Sequence[PausedExecution]) -> dict[str, bool | None]:
    """Each paused execution's place in its key's line (see place_in_line), by ARN, read among
    `paused` alone."""
    waits_at = {execution.arn: execution.state for execution in paused}
    return {
        execution.arn: place_in_line(execution.state, execution.registered, execution.behind, waits_at.get)
        for execution in paused
    }


def place_in_line(
    state: str, registered: bool | None, behind: str | None, holder_waits_at: Callable[[str], str | None]
) -> bool | None:
    """Where a task waiting at `state` stands in its key's line, from its hand-off (`registered`,
    `behind`) and where the execution it was put behind waits now (`holder_waits_at`, None if its
    task waits no more): True if that task still waits at the same state (it holds the key);
    None if it was put in line and that task waits no more (the line has moved on since: it may
    hold the key now); False if it took the key, or its step has no line."""
    if registered is not False:
        return False
    if behind is not None and holder_waits_at(behind) == state:
        return True
    return None  # a turn writes no history event: only the registry knows who holds the key now


def check_correlation_key(key: str) -> None:
    """A correlation key as a registry takes it, or UsageError (said before any call)."""
    if not key or len(key) > MAX_CORRELATION_KEY_LENGTH:
        # Its length, not the key: what is pasted here by mistake may be a task token.
        raise UsageError(
            f"a correlation key has 1 to {MAX_CORRELATION_KEY_LENGTH} characters, not {len(key)}",
        )


def parse_output(text: str | None, *, what: str = "--output") -> str | None:
    """The --output option (or `what` else asks for an output): a JSON document of at most
    256 KiB, or UsageError."""
    if text is None:
        return None
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"{what} is not valid JSON: {error.msg} at character {error.pos}") from None
    size = len(text.encode("utf-8"))
    if size > MAX_OUTPUT_BYTES:
        raise UsageError(f"{what} is {size} bytes; Step Functions accepts at most {MAX_OUTPUT_BYTES}")
    return text


class Operations:
    """The operations on one state machine: given by its ARN (`state_machine`), or by the stack whose
    output names it (`stack`, the conventions' stack when neither is given; which output, the
    conventions say)."""

    def __init__(
        self,
        *,
        stack: str | None = None,
        state_machine: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        clients: Callable[[str], Any] | None = None,
        conventions: AppConventions = NO_APP,
    ) -> None:
        """`clients`: a factory of ready AWS clients to use instead of this session's (the console
        passes the embedded AWS's). `conventions`: what the app says of itself (its default stack,
        its outputs, its manual flag); without them, a stack's outputs are not read."""
        self._given_clients = clients
        self._conventions = conventions
        if stack is not None and state_machine is not None:
            raise UsageError("--stack and --state-machine name the state machine two ways: pass one of them")
        self.stack = stack or conventions.stack
        self._state_machine = StateMachineArn.parse(state_machine) if state_machine is not None else None
        if self._state_machine is not None:
            # The ARN says where the state machine is; a --region that says otherwise is a mistake.
            if region is not None and region != self._state_machine.region:
                raise UsageError(f"the state machine is in {self._state_machine.region}, not in --region {region}")
            region = self._state_machine.region
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
        # Token locators by definition text (most state machines have one), and the definition of
        # the state machine as it is now, read once for a batch.
        self._locators: dict[str, TokenLocator] = {}
        self._current_definition: str | None = None
        self._definitions_lock = threading.Lock()

    @property
    def conventions(self) -> AppConventions:
        return self._conventions

    def client(self, service: str) -> Any:
        if self._given_clients is not None:
            return self._given_clients(service)
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

    @property
    def sfn(self) -> "SFNClient":
        return cast("SFNClient", self.client("stepfunctions"))

    @property
    def cloudformation(self) -> "CloudFormationClient":
        return cast("CloudFormationClient", self.client("cloudformation"))

    @property
    def lambda_(self) -> "LambdaClient":
        return cast("LambdaClient", self.client("lambda"))

    def _count_call(self, **_: Any) -> None:
        with self._calls_lock:
            self.calls += 1

    # The stack

    @cached_property
    def outputs(self) -> dict[str, str]:
        if self._state_machine is not None:
            raise UsageError(
                "this needs the stack's outputs: pass --stack, not --state-machine",
                reason="this needs the outputs of a stack, and the state machine was named by its ARN",
            )
        if self.stack is None:
            raise UsageError(UNNAMED)
        try:
            with self._aws("describe_stacks"):
                [stack] = self.cloudformation.describe_stacks(StackName=self.stack)["Stacks"]
        except ClientError as error:
            # DescribeStacks has no error of its own for a stack that does not exist: CloudFormation
            # answers with the generic code ValidationError ("Stack with id X does not exist"). The
            # only other ValidationError it gives a lone StackName is for a name no stack can have:
            # either way there is no such stack. The code says it; its message is not parsed.
            if error.response["Error"]["Code"] == "ValidationError":
                region = self.cloudformation.meta.region_name
                raise OperationError(
                    f"stack {self.stack} not found in {region}: deploy it (make deploy), or pass --stack / --region, "
                    "or --state-machine ARN"
                ) from None
            raise
        return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise OperationError(f"stack {self.stack} has no output {key}: is it a pausable-sfn stack?") from None

    def _named_output(self, what: str, key: str | None) -> str:
        """The value of the stack's output that the conventions say holds `what`."""
        if self.stack is None:
            raise UsageError(UNNAMED)
        if key is None:
            raise UsageError(f"which output of stack {self.stack} names {what} is not known: no app's conventions say")
        return self.output(key)

    @property
    def state_machine_arn(self) -> str:
        if self._state_machine is not None:
            return self._state_machine.arn
        outputs = self._conventions.outputs
        return self._named_output("the state machine", outputs.state_machine_arn if outputs else None)

    # Executions

    def execution_arn(self, execution: str) -> str:
        """An execution ARN, or a name of an execution of this state machine."""
        if execution.startswith("arn:"):
            return execution
        if len(execution) > MAX_EXECUTION_NAME_LENGTH:
            # Not echoed: what is pasted here by mistake is most often a task token, a credential.
            raise UsageError(
                f"EXECUTION is an execution ARN or a name of at most {MAX_EXECUTION_NAME_LENGTH} characters, "
                f"not {len(execution)} characters (a task token? pass it with --token)"
            )
        if self._state_machine is not None:
            return self._state_machine.execution_arn(execution)
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{execution}"

    def describe(self, execution: str) -> "DescribeExecutionOutputTypeDef":
        with self._about(execution), self._aws("describe_execution"):
            return self.sfn.describe_execution(executionArn=self.execution_arn(execution))

    def start(self, execution_input: Any, name: str | None = None) -> "StartExecutionOutputTypeDef":
        options = {"name": name} if name else {}
        try:
            arn = self.state_machine_arn
            with self._about_state_machine(arn), self._aws("start_execution"):
                return self.sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input), **options)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code == "ExecutionAlreadyExists":
                raise OperationError(f"an execution named {name} exists already") from None
            if code == "InvalidName":
                raise UsageError(
                    f"Step Functions refused the name {name!r}: {error.response['Error']['Message']}"
                ) from None
            raise

    def scheduled_task(self, execution: str) -> ScheduledTask | None:
        """The `.waitForTaskToken` task that waits for a callback now, read from the newest events, or None."""
        with self._about(execution), self._aws("get_execution_history"):
            return scheduled_task(recent_events(self.sfn, self.execution_arn(execution)))

    def waiting_task(self, execution: str) -> WaitingTask | None:
        """The task that waits now, with its token (TokenNotFoundError if the definition does not say
        where it is), or None. The definition is the one this execution runs."""
        task = self.scheduled_task(execution)
        if task is None:
            return None
        found = self._locator(self._definition_of(execution)).locate(task.state, task.parameters)
        return WaitingTask(task.state, found.token, found.manual, task.scheduled_at, found.key)

    def located(self, execution: str, task: ScheduledTask) -> FoundToken:
        """The token (with the manual flag and the key beside it) of a task that waits in `execution`,
        read with the state machine's definition as it is now (read once), or else with the one the
        execution runs (it started before an update); TokenNotFoundError if neither says where."""
        try:
            return self._locator(self._definition_now()).locate(task.state, task.parameters)
        except TokenNotFoundError:
            return self._locator(self._definition_of(execution)).locate(task.state, task.parameters)

    def paused(self, *, manual_only: bool = False, concurrency: int = 8) -> Iterator[PausedExecution]:
        """Running executions whose task waits for its callback, at any `.waitForTaskToken` state, in
        the order ListExecutions gives them; their histories are read `concurrency` at a time (each
        read is a round trip to AWS: one after another, a thousand take a minute). The state
        machine's definition is read once; an execution it does not explain (one started before an
        update) is looked up with the definition it runs."""

        def paused_one(execution: Any) -> PausedExecution | None:
            arn = execution["executionArn"]
            task = self.scheduled_task(arn)
            if task is None:
                return None
            found: FoundToken | None = None
            problem: str | None = None
            try:
                found = self.located(arn, task)
            except TokenNotFoundError as error:
                problem = str(error)
            except ExecutionNotFoundError:
                return None  # gone since it was listed
            manual = found.manual if found else None
            if manual_only and manual is not True:
                return None
            return PausedExecution(
                arn,
                execution["name"],
                execution["startDate"],
                task.state,
                task.scheduled_at,
                found.token if found else None,
                manual,
                problem,
                found.key if found else None,
                task.registered,
                task.behind,
            )

        arn = self.state_machine_arn
        with (
            self._about_state_machine(arn),
            self._aws("list_executions"),
            ThreadPoolExecutor(max_workers=concurrency) as pool,
        ):
            pages = self.sfn.get_paginator("list_executions").paginate(
                stateMachineArn=arn, statusFilter="RUNNING", PaginationConfig={"PageSize": 1000}
            )
            for page in pages:
                yield from filter(None, pool.map(paused_one, page["executions"]))

    def paused_on_key(self, key: str) -> PausedExecution:
        """The paused execution whose task waits on the correlation key `key`, read as `paused` reads
        them; OperationError if none does, or if tasks of several states (or executions) do."""
        check_correlation_key(key)
        waiting = [execution for execution in self.paused() if execution.key == key]
        if not waiting:
            raise OperationError(self._no_task_waits_on(key))
        if len(waiting) == 1:
            return waiting[0]
        several_states = len({execution.state for execution in waiting}) > 1
        holding = [execution for execution in waiting if execution.registered is True]
        if not several_states and len(holding) == 1:
            return holding[0]  # the others wait in the key's line behind it
        places = in_line(waiting)
        tasks = ", ".join(
            f"{execution.name} at '{execution.state}'{LINE_PLACES[places[execution.arn]]}" for execution in waiting
        )
        advice = (
            "name the execution instead"
            if several_states
            else "which of them holds the key now only the channel's registry knows: send the callback by key "
            "through the channel (its topic, EventBridge, or resume --key --via-lambda with --stack), "
            "or name the execution"
        )
        raise OperationError(
            f"{len(waiting)} paused tasks of {self.state_machine_arn} wait on key '{key}': {tasks}; {advice}"
        )

    def _no_task_waits_on(self, key: str) -> str:
        return f"no paused task of {self.state_machine_arn} waits on key '{key}'"

    def token_of(self, execution: str) -> str:
        """The live token of the task that waits now in `execution`, in whichever state."""
        task = self.waiting_task(execution)
        if task is None:
            status = self.describe(execution)["status"]
            if status in TERMINAL:
                raise OperationError(f"execution {execution} is not paused: it has ended ({status})")
            raise OperationError(f"execution {execution} is not paused: no .waitForTaskToken task waits in it now")
        return task.token

    # The definition, whence the token's place

    def _definition_of(self, execution: str) -> str:
        """The definition the execution runs (the one it started with, whatever updates came since)."""
        with self._about(execution), self._aws("describe_state_machine_for_execution"):
            return self.sfn.describe_state_machine_for_execution(executionArn=self.execution_arn(execution))[
                "definition"
            ]

    def _definition_now(self) -> str:
        """The state machine's definition as it is now, read once (under a lock: a batch asks from many threads)."""
        with self._definitions_lock:
            if self._current_definition is None:
                arn = self.state_machine_arn
                with self._about_state_machine(arn), self._aws("describe_state_machine"):
                    self._current_definition = self.sfn.describe_state_machine(stateMachineArn=arn)["definition"]
            return self._current_definition

    def _locator(self, definition: str) -> TokenLocator:
        with self._definitions_lock:
            if definition not in self._locators:
                self._locators[definition] = TokenLocator(definition, manual_flag=self._conventions.manual_flag)
            return self._locators[definition]

    # Callbacks

    def resume(self, token: str, output: str | None = None) -> None:
        self._send("send_task_success", token, output=output or json.dumps({"resumed": True}))

    def fail(self, token: str, error: str, cause: str) -> None:
        if len(error) > MAX_ERROR_LENGTH or len(cause) > MAX_CAUSE_LENGTH:
            raise UsageError(
                f"Step Functions takes an error of at most {MAX_ERROR_LENGTH} characters and a cause of at most "
                f"{MAX_CAUSE_LENGTH}, not {len(error)} and {len(cause)}"
            )
        self._send("send_task_failure", token, error=error, cause=cause)

    def heartbeat(self, token: str) -> None:
        self._send("send_task_heartbeat", token)

    def resume_via_lambda(self, token: str, output: str | None = None) -> None:
        """Resumes as a person would: by invoking the stack's ResumeStepFunctionLambda with the token."""
        _check_length(token)
        result, failure = self._invoke_resume_function({"taskToken": token}, output)
        if failure is not None:
            reason = str(failure.get("errorMessage", failure))
            raise OperationError(f"ResumeStepFunctionLambda failed: {_without(token, reason)}")
        if isinstance(result, dict) and result.get("alreadyClosed"):
            raise TaskClosedError()

    def resume_key_via_lambda(self, key: str, output: str | None = None) -> str | None:
        """Resumes the task of this state machine that waits on the correlation key `key` by invoking
        the stack's ResumeStepFunctionLambda with the key: no token is read, the channel's registry
        knows it. The ARN of the execution resumed, as the function names it."""
        check_correlation_key(key)
        callback = {"correlationKey": key, "stateMachine": self.state_machine_arn}
        result, failure = self._invoke_resume_function(callback, output)
        if failure is not None:
            reason = str(failure.get("errorMessage", failure))
            # The function raises CallbackRefusedError, whose message starts with the refusal's code.
            if NO_TASK_WAITS_ON_KEY in (failure.get("errorType"), reason.split(":", 1)[0]):
                raise OperationError(self._no_task_waits_on(key))
            raise OperationError(f"ResumeStepFunctionLambda failed: {reason}")
        resumed = result.get("resumed") if isinstance(result, dict) else None
        first = resumed[0] if isinstance(resumed, list) and resumed and isinstance(resumed[0], dict) else {}
        execution = first.get("executionId")
        return execution if isinstance(execution, str) else None

    def _invoke_resume_function(
        self, callback: dict[str, Any], output: str | None
    ) -> tuple[Any, dict[str, Any] | None]:
        """Invokes the stack's ResumeStepFunctionLambda with `callback` (and `output`), as `_invoke` does."""
        if self._state_machine is not None:
            raise UsageError(
                "--via-lambda invokes the stack's ResumeStepFunctionLambda: pass --stack, not --state-machine"
            )
        if output is not None:
            callback = {**callback, "output": output}
        outputs = self._conventions.outputs
        function = self._named_output("the resume function", outputs.resume_function if outputs else None)
        return self._invoke(function, callback)

    def approval_link(
        self, token: str, *, function: str | None = None, expires_in: int | None = None
    ) -> "ApprovalLink":
        """A fresh link to the approval page of the task that `token` names, from the approval function
        (`function`, or the stack's output that the conventions name), expiring after `expires_in` seconds
        or when the task times out, whichever comes first. The token goes to that function only."""
        _check_length(token)
        if function is None:
            if self._state_machine is not None:
                raise UsageError(
                    "with --state-machine, name the approval function (HumanApproval's request_function) "
                    "with --approval-function",
                    reason="which function issues approval links for this state machine is not known",
                )
            outputs = self._conventions.outputs
            function = self._named_output("the approval function", outputs.approval_function if outputs else None)
        request: dict[str, Any] = {"action": ISSUE_LINK_ACTION, "taskToken": token}
        if expires_in is not None:
            request["expiresInSeconds"] = expires_in
        try:
            result, failure = self._invoke(function, request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ResourceNotFoundException":
                raise OperationError(f"approval function {function} not found") from None
            raise
        if failure is not None:
            reason = _without(token, str(failure.get("errorMessage", failure)))
            kind = failure.get("errorType")
            if kind == APPROVAL_TASK_EXPIRED:
                raise TaskClosedError()
            if kind in (APPROVAL_NOT_REQUESTED, APPROVAL_ALREADY_DECIDED):
                raise OperationError(f"no approval link: {reason}")
            raise OperationError(f"the approval function failed: {reason}")
        if not (isinstance(result, dict) and isinstance(result.get("url"), str) and "expiresAt" in result):
            raise OperationError(
                f"{function} did not answer as an approval function (HumanApproval's request_function)"
            )
        return ApprovalLink(url=result["url"], expires_at=str(result["expiresAt"]))

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
                if execution.token is None:
                    raise OperationError(execution.token_problem or "no task token")
                self.resume(execution.token, output)
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

    def history(self, execution: str) -> tuple["DescribeExecutionOutputTypeDef", list[TimelineEntry]]:
        description = self.describe(execution)
        with self._about(execution), self._aws("get_execution_history"):
            events = read_history(self.sfn, description["executionArn"])
        return description, timeline(events)

    def graph(self, execution: str, *, svg_only: bool = False) -> str:
        """The execution drawn on its state machine's graph: an HTML page (or the SVG alone) that
        opens offline. The definition is the one the execution runs."""
        from . import graph as graphs  # only this command draws: the others need not import graphviz

        description = self.describe(execution)
        definition = json.loads(self._definition_of(description["executionArn"]))
        with self._about(execution), self._aws("get_execution_history"):
            events = read_history(self.sfn, description["executionArn"])
        path = graphs.ExecutionPath.from_history(events, definition)
        now = datetime.now(UTC)
        try:
            if svg_only:
                return graphs.render_svg(definition, path, now=now)
            return graphs.render_html(definition, path, now=now, execution=dict(description))
        except graphs.GraphvizMissingError as error:
            raise OperationError(str(error)) from None

    # Plumbing

    def _invoke(self, function: str, event: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        """Invokes `function` and waits for it: its result, or Lambda's error object when it failed
        ({"errorType", "errorMessage"}; a result that is no object becomes its errorMessage)."""
        with self._aws("invoke"):
            response = self.lambda_.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        result = json.loads(response["Payload"].read() or b"null")
        if "FunctionError" in response:
            return None, result if isinstance(result, dict) else {"errorMessage": str(result)}
        return result, None

    def _send(self, operation: str, token: str, **arguments: Any) -> None:
        _check_length(token)
        try:
            with self._aws(operation):
                getattr(self.sfn, operation)(taskToken=token, **arguments)
        except ClientError as error:
            raise _refusal(error, token) from None

    @contextmanager
    def _aws(self, operation: str) -> Iterator[None]:
        """What botocore raises for any call, as an OperationError a person can act on. A ClientError
        that is not throttling goes on: the caller knows what it means for that call."""
        try:
            yield
        except NoCredentialsError:
            raise OperationError(
                "no AWS credentials: set AWS_PROFILE (or pass --profile), or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY; for the embedded AWS, see `make serve`",
                reason="no AWS credentials",
            ) from None
        except _CONNECTION_FAILURES as error:
            raise _unreachable(error) from None
        except ClientError as error:
            if error.response["Error"]["Code"] in _THROTTLED:
                throttled = f"throttled by AWS on {operation} even after retries: try again"
                raise OperationError(f"{throttled}, or with a lower --concurrency", reason=throttled) from None
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

    @contextmanager
    def _about_state_machine(self, arn: str) -> Iterator[None]:
        """Calls about the state machine itself: that it is not there is said with its ARN."""
        try:
            yield
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in _NO_STATE_MACHINE:
                region = self.sfn.meta.region_name
                raise OperationError(f"state machine {arn} not found in {region}") from None
            if code == "InvalidArn":
                raise UsageError(f"Step Functions says {arn} is not a state machine ARN") from None
            if code == "StateMachineTypeNotSupported":
                raise OperationError(
                    f"state machine {arn} is an Express workflow: its executions cannot be listed "
                    "(nor can it wait for a task token)"
                ) from None
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
