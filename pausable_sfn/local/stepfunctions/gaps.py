"""What the embedded AWS does to moto's Step Functions (its state machine interpreter, the
`stepfunctions.parser` package). The numbers are those of the one list in ../gaps.py.

5. StartExecution without a name gives every such execution the ARN "...:None":
   `name_unnamed_executions` gives them a UUID, as Step Functions does.
6. In server mode the state machine interpreter calls Lambda at localhost:$MOTO_PORT (default
   5000) whatever port the server really listens on: `point_interpreter_at` sets MOTO_PORT.
8. moto's JSONata evaluator is unplugged (getmoto/moto #10105): every `{% %}` expression, and
   every variable reference, even in a JSONPath state machine, ends in States.Runtime
   ("'NoneType' object is not callable"). `jsonata.plug_in` evaluates them with jsonatapy, with
   `$states`, the variables and Step Functions' own functions (functions.py) as bindings, and
   fails a state as Step Functions does (States.QueryEvaluationError, an EvaluationFailed event
   whose location is the field's path); the `assignedVariables` of a state's exit event are
   written as JSON (moto does not escape a string's quotes).
9. SendTaskFailure drops the `cause`: `keep_task_failure_cause` passes it on.
10. The state machine interpreter logs each failure it handles (an InvalidInput, a rejected
    task) as an error with its whole parse tree: `quiet_interpreter` keeps that off stderr, and
    out of a test's report (pytest captures loggers that do not propagate too), since the
    history records each failure.
11. A callback for a task that has closed (resumed, timed out) whose execution has ended is
    refused as InvalidToken; Step Functions answers TaskTimedOut ("Provided task does not exist
    anymore"): `report_closed_tasks` does so for tokens the interpreter issued. moto's own
    TaskTimedOut also reaches the client without its error code; gap 24 gives it back.
12. A heartbeat timeout is recorded as States.Timeout (TaskTimedOut, ExecutionFailed), as Step
    Functions records it, but a Catch or Retry naming States.HeartbeatTimeout never matches it;
    on Step Functions it does ("States.HeartbeatTimeout ... only available inside the Catch and
    Retry fields", Error names in the Step Functions developer guide), and States.Timeout matches
    it too: `match_heartbeat_timeouts` gives the failure an error name that matches either,
    while the history keeps States.Timeout.
13. Slow where it need not be: every execution parses its definition again with a pure-Python
    ANTLR parser (~50 ms of CPU, holding the GIL), every JSONPath is compiled again at every
    evaluation (jsonpath_ng builds a parser each time), and every Lambda task makes a new boto3
    client. `reuse_parsed_definitions` parses each definition once, compiles each JSONPath once
    (compiled expressions are not changed by `find`), and keeps one Lambda client per region.
    Concurrent executions share the parsed program, so it must keep no execution's state. Audit
    (moto 5.2.5, every class under parser/asl/component, assignments to `self` outside
    `__init__`): the parse-time `from_state_props` of CommonStateField, StatePass, StateChoice,
    StateFail, StateTask, ExecutionState, StateMap, StateParallel, StateSucceed, StateWait;
    per-evaluation objects that eval creates and drops (JobPool, IterationWorker, BranchWorker,
    BranchWorkerPool, MapRunRecord and its pool, Counter); retry state, which MaxAttemptsDecl and
    BackoffRateDecl keep in the execution's `env.heap`; Result, which pushes its shared value,
    and ResultPath, which deep-copies it before it enters the state. One write remains:
    EvalComponent.heap_key is set lazily on first use, and two executions reaching a Retry at
    once each set one, so that one of them counted its attempts under a replaced key and retried
    once more than MaxAttempts. The cache sets every heap key while it holds the new program.
14. GetExecutionHistory ignores `reverseOrder`, `maxResults` and `nextToken`: the whole history,
    oldest first, in one page. `page_execution_history` pages it as Step Functions does.
15. SendTaskHeartbeat for a waiting task that has no HeartbeatSeconds is refused; Step Functions
    accepts it (and ignores it): `accept_heartbeats_without_timeout`.
16. A task token does not close atomically: a callback endpoint takes every outcome it is sent,
    so two SendTaskSuccess racing on one token are both accepted (and the later one's output
    wins), and a callback that arrives after a timeout, while the execution moves on, is
    accepted too. On Step Functions exactly one is accepted and the others get TaskTimedOut:
    `close_tokens_atomically` lets the first outcome (or the end of the wait) close the endpoint
    under a lock, and answers TaskTimedOut to any later success, failure or heartbeat. Left open:
    moto times the state apart from the callback wait, which starts only once the invocation
    has returned; between the state's timeout and the end of that wait a callback is still
    accepted (and discarded). The README lists it among the known differences.
20. StartExecution takes any name once state machines execute (the interpreter's backend skips
    the check moto's other backend makes): spaces, "/", 81 characters and more. Step Functions
    refuses them (InvalidName; ValidationException over 80 characters), and an app tried here
    would start failing on AWS: `validate_execution_names` makes moto's own check.
21. Valid definitions are refused at random: the ASL preprocessor keeps its query-language
    scopes in a class attribute (`Preprocessor._query_language_per_scope`), shared by every
    parse, so concurrent CreateStateMachine calls or executions, and a parse that raised before
    it closed its scope, leave one definition's JSONata scope in another's ("Unsupported
    declaration in QueryLanguage=JSONPath block", or a JSONPath state machine read as JSONata):
    `parse_with_scopes_of_its_own` gives each parse its own list.
22. The context object's times are not Step Functions': `$$.Execution.StartTime` is a Python
    datetime, which breaks every JSON field that holds it (a JSONata expression reading
    `$states.context` fails with States.Runtime, and DescribeExecution answers 500 when an
    execution's output holds the context object), and `$$.State.EnteredTime` is written
    `2026-01-02T03:04:05.678901+00:00`. Step Functions writes both `2026-01-02T03:04:05.678Z`
    (the context object's example in "Accessing execution data from the Context object", Step
    Functions developer guide). And `$$.Execution` lacks `RedriveCount` (0 until an execution
    is redriven, recorded on AWS): `write_context_times_as_step_functions_does` writes both.
24. The interpreter's errors reach the client without their error code (InvalidDefinition,
    TaskDoesNotExist, ...: `An error occurred ()`), and a definition it refuses is described
    in moto's words (`Error=ValueError Args=[...] in definition '...'`). Step Functions answers
    InvalidDefinition with "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: <what>
    at <where>'", e.g. "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole
    state machine at /States/Pass" (recorded on AWS): `answer_with_error_codes` gives every
    such error its code, and `describe_refused_definitions` says what is refused, and where
    when it can tell: also, in AWS's recorded words, a definition without StartAt or States
    ("These fields are required: [States] at /") and a Wait Timestamp that is not RFC 3339
    ("String does not match RFC3339 timestamp at /States/Until/Timestamp").
25. String literals of a definition are read with Python's rules, not JSON's: a literal an
    Assign holds, a Comment or a name goes through with its escapes as written (`María`, sent
    as `Mar\u00eda` by any JSON writer, is assigned as the eight characters `Mar\u00eda`), and
    elsewhere `\\/` keeps its backslash. `read_string_literals_as_json` decodes them as JSON.
26. A state's Assign takes effect before the state's output is made: OutputPath (and a JSONata
    Output) read the values just assigned. On Step Functions they read the values the state was
    entered with, and the assignments take effect as the state exits (recorded on AWS: a state
    assigning `answer` with `OutputPath: "$answer"` outputs the previous value):
    `assign_as_the_state_exits` keeps what Assign evaluated until the state's exit event, and
    drops it if the state fails (a Catch's own Assign then applies instead).
27. DescribeExecution writes an output that is a JSON string as the bare string (`abc` for the
    output `"abc"`), which is not JSON, and any other output with spaces after its separators,
    unlike the execution's own history. Step Functions answers the output as the JSON text the
    history holds: `describe_outputs_as_json`.
28. The SQS integration crashes on a null MessageBody, and names each error SQS answers
    SQS.SdkClientException with SQS's bare message; Step Functions names them
    SQS.AmazonSQSException with the Java SDK's cause (recorded on AWS):
    `sqs_integration.run_as_step_functions_does`.
29. A Wait whose delay is 2^31 seconds or more (a Timestamp 24,856 days ahead) waits; Step
    Functions fails the execution at once with States.Runtime, "Wait state delay is too long."
    (recorded on AWS, where 24,855 days are still taken): `refuse_waits_too_long`.
30. A Map whose input is not an array fails with the cause "Map state input must be an array
    but was: <class 'bool'>"; Step Functions writes the value as JSON ("... but was: true",
    recorded on AWS): `name_map_inputs_by_their_value`. A JSONata Wait's Timestamp that is not
    an ISO-8601 time fails with States.Runtime; Step Functions fails it with
    States.QueryEvaluationError, "The Timestamp field cannot be parsed as an ISO-8601 extended
    offset date-time format string: <value>", and an EvaluationFailed event at `Timestamp`
    (recorded on AWS): `read_wait_timestamps_as_rfc_3339`.
31. The optimized integrations (lambda:invoke, sqs, sns, dynamodb) return the service's answer
    without the Java SDK's `SdkHttpMetadata` and `SdkResponseMetadata`, which Step Functions
    returns beside it (recorded on AWS): `sdk_metadata.add_sdk_metadata`.
32. CreateStateMachine with the name of an existing state machine returns that one, whatever its
    definition and role; Step Functions does so only when both are the same, and answers
    StateMachineAlreadyExists ("State Machine Already Exists: '<arn>'", recorded on AWS)
    otherwise, even for the same definition written with other spacing:
    `refuse_a_second_state_machine_of_one_name`.
33. A Wait's Timestamp must end in Z: an RFC 3339 time with an offset (2026-01-02T03:04:05+01:00),
    which Step Functions takes ("Timestamps must conform to the RFC3339 profile of ISO 8601",
    Wait state, Step Functions developer guide), is refused; and a Timestamp is compared with
    the machine's local time, so off by the machine's offset from UTC:
    `read_wait_timestamps_as_rfc_3339` reads either form and waits until that moment in UTC.
34. DescribeExecution gives no stopDate for an execution that TIMED_OUT (it does for the other
    ended statuses); Step Functions gives the date every ended execution stopped
    ("DescribeExecution", Step Functions API reference): `date_timed_out_executions`.
35. StopExecution, or the execution's own TimeoutSeconds, leaves a task that waits for its callback
    waiting: a stopped execution stays RUNNING until the task's timer fires (by default after
    99,999,999 s), and a timed-out one later writes TaskTimedOut and ExecutionFailed after its
    ExecutionTimedOut (or instead of it: the late failure also turns the program's state to an
    error). On Step Functions the execution ends there, ABORTED or TIMED_OUT, and its history
    ends with that event ("StopExecution", Step Functions API reference):
    `end_waiting_tasks_with_their_execution` ends the waits at once, keeps the execution's end
    as it was, and writes nothing more in its history but that end.
36. A waitForTaskToken task that is retried keeps its first attempt's token, which closed when
    that attempt failed or timed out (gap 16, as a timed-out token does on Step Functions): the
    retry can never be resumed, every callback is refused with TaskTimedOut. Each attempt is a
    task of its own, scheduled anew with its parameters (a TaskScheduled event each), and gets a
    token of its own: `give_each_retry_its_own_token` (not checked against a recording: none
    of a retried callback task was at hand).
37. A task with HeartbeatSeconds and no TimeoutSeconds gets a timeout of 60 seconds; on Step
    Functions TimeoutSeconds defaults to 99999999 whether or not the task has a heartbeat ("Task
    workflow state", Step Functions developer guide; AWS's own SQS callback example has that
    shape): `time_out_heartbeat_tasks_by_default_only`.
38. A callback that comes before a task with HeartbeatSeconds starts waiting for heartbeats (a
    receiver that answers at once, between TaskScheduled and TaskSubmitted) is kept but not seen:
    the task waits for a heartbeat that never comes and fails with a heartbeat timeout, although
    its token was resumed. On Step Functions the callback ends the task whenever it comes while
    the token is open ("Wait for a Callback with Task Token", Step Functions developer guide):
    `see_callbacks_that_come_before_the_heartbeat_wait`.
40. A Standard execution sends no "Step Functions Execution Status Change" event to EventBridge
    when it starts or ends, as Step Functions does (status_events.py has the details):
    `status_events.emit_execution_status_changes`.
42. An execution's end is written one field at a time, its status before its output, error and
    cause (and its stopDate before its status): a DescribeExecution or ListExecutions that comes
    in between sees a SUCCEEDED execution without output, a FAILED one without error or cause, or
    a RUNNING one with a stopDate. Step Functions describes an execution running, or ended with
    its stopDate and its output (set "only if the execution succeeds") or its error and cause
    (DescribeExecution, Step Functions API reference). Found when a test read the error of a
    FAILED execution before it was written: `end_executions_whole` writes the status last, and
    a RUNNING execution is described without the stopDate, error and cause of an end that is
    still being written.
"""

import datetime
import functools
import json
import logging
import math
import os
import re
import threading
import types
import uuid
import weakref
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, suppress
from typing import Any
from unittest import mock

from moto.core.exceptions import AWSError
from moto.core.exceptions import InvalidToken as InvalidPageToken
from moto.core.responses import ActionResult, EmptyResult
from moto.stepfunctions.parser import api as parser_api
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    HistoryEventType,
    InvalidDefinition,
    InvalidToken,
    StateMachineAlreadyExists,
    TaskTimedOut,
)
from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
from moto.stepfunctions.parser.asl.antlt4utils import antlr4utils
from moto.stepfunctions.parser.asl.antlt4utils.antlr4utils import is_terminal
from moto.stepfunctions.parser.asl.component.common.assign.assign_decl import AssignDecl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent, FailureEventException
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.retry.retry_outcome import RetryOutcome
from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata
from moto.stepfunctions.parser.asl.component.common.timeouts.heartbeat import Heartbeat
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import Timeout, TimeoutSeconds
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state import state as state_module
from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map as state_map_module
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackEndpoint,
    CallbackId,
    CallbackOutcome,
    CallbackPoolManager,
    HeartbeatTimeoutError,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.parse import preprocessor as preprocessor_module
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from ..clock import current_time
from . import fast_paths, jsonata, sdk_metadata, sqs_integration, status_events

# What Step Functions answers for a callback to a task that no longer waits (gaps 11 and 16).
CLOSED_TASK = "Task Timed Out: 'Provided task does not exist anymore'"


def name_unnamed_executions(patches: ExitStack) -> None:
    """Gap 5."""
    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        backend: StepFunctionsParserBackend, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(backend, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    patches.enter_context(mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution))


def validate_execution_names(patches: ExitStack) -> None:
    """Gap 20."""
    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        backend: StepFunctionsParserBackend, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        if name:
            backend._validate_name(name)
        return original(backend, state_machine_arn, name, *args, **kwargs)

    patches.enter_context(mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution))


def keep_task_failure_cause(patches: ExitStack) -> None:
    """Gap 9."""

    def send_task_failure(response: StepFunctionResponse) -> EmptyResult:
        backend: Any = response.stepfunction_backend  # the parser backend, whose send_task_failure takes a cause
        backend.send_task_failure(
            response._get_param("taskToken"), error=response._get_param("error"), cause=response._get_param("cause")
        )
        return EmptyResult()

    patches.enter_context(mock.patch.object(StepFunctionResponse, "send_task_failure", send_task_failure))


def report_closed_tasks(patches: ExitStack) -> None:
    """Gap 11 (TaskTimedOut's code is given back with the others', gap 24)."""
    for operation in ("send_task_success", "send_task_failure", "send_task_heartbeat"):
        original = getattr(StepFunctionsParserBackend, operation)

        def closed_aware(
            backend: StepFunctionsParserBackend, task_token: str, *args: Any, _original: Any = original, **kwargs: Any
        ) -> Any:
            try:
                return _original(backend, task_token, *args, **kwargs)
            except InvalidToken:
                if any(_issued(execution, task_token) for execution in backend._get_executions()):
                    raise TaskTimedOut(CLOSED_TASK) from None
                raise

        patches.enter_context(mock.patch.object(StepFunctionsParserBackend, operation, closed_aware))


def _issued(execution: Any, task_token: str) -> bool:
    worker = getattr(execution, "exec_worker", None)
    return worker is not None and worker.env.callback_pool_manager.get(task_token) is not None


class _HeartbeatTimedOut(StatesErrorName):
    """States.Timeout, as the history records it, that a Catch or Retry naming
    States.HeartbeatTimeout matches too."""

    def __init__(self) -> None:
        super().__init__(typ=StatesErrorNameType.StatesTimeout)

    def matches(self, error_name: str | None) -> bool:
        return error_name in (StatesErrorNameType.StatesTimeout.to_name(), HEARTBEAT_TIMEOUT)


HEARTBEAT_TIMEOUT = StatesErrorNameType.StatesHeartbeatTimeout.to_name()


def match_heartbeat_timeouts(patches: ExitStack) -> None:
    """Gap 12. ErrorEquals tests `raised in error_names`, which asks the raised name first."""
    original = StateTask._from_error

    def from_error(state: StateTask, env: Any, ex: Exception) -> Any:
        event: Any = original(state, env, ex)
        if isinstance(ex, HeartbeatTimeoutError):
            event.error_name = _HeartbeatTimedOut()
        return event

    patches.enter_context(mock.patch.object(StateTask, "_from_error", from_error))


def reuse_parsed_definitions(patches: ExitStack) -> None:
    """Gap 13."""
    lock = threading.Lock()  # executions start concurrently: parse each definition once, not once each
    programs: dict[str, Any] = {}
    lambda_clients: dict[str, Any] = {}

    def entrypoint(worker: ExecutionWorker) -> Any:
        definition = worker._evaluation_details.state_machine_details.definition
        with lock:
            if definition not in programs:
                program = AmazonStateLanguageParser.parse(definition)[0]
                _set_heap_keys(program)
                programs[definition] = program
            return programs[definition]

    # Read from the module's namespace, where the task evaluator looks it up (and the patch replaces it).
    original_client_for = vars(lambda_eval_utils)["boto_client_for"]

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        if service != "lambda" or state_credentials is not None:
            return original_client_for(region=region, service=service, state_credentials=state_credentials)
        with lock:
            if region not in lambda_clients:
                lambda_clients[region] = original_client_for(region=region, service=service)
            return lambda_clients[region]

    patches.enter_context(mock.patch.object(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint))
    patches.enter_context(
        mock.patch.object(json_path, "parse", functools.lru_cache(maxsize=1024)(vars(json_path)["parse"]))
    )
    patches.enter_context(mock.patch.object(lambda_eval_utils, "boto_client_for", boto_client_for))


def _set_heap_keys(component: Any, seen: set[int] | None = None) -> None:
    """Sets every component's heap key now, while one thread holds the program. moto sets it
    lazily, on first use, and executions that share the program would race: one stores its retry
    count under a key that another then replaces, and retries once more than MaxAttempts."""
    seen = set() if seen is None else seen
    if id(component) in seen:
        return
    seen.add(id(component))
    if isinstance(component, EvalComponent):
        _ = component.heap_key
    children: Iterable[Any] = vars(component).values() if isinstance(component, Component) else ()
    if isinstance(component, dict):
        children = component.values()
    elif isinstance(component, list | tuple | set):
        children = component
    for child in children:
        if isinstance(child, Component | dict | list | tuple | set):
            _set_heap_keys(child, seen)


def quiet_interpreter(patches: ExitStack) -> None:
    """Gap 10."""
    interpreter = logging.getLogger("moto.stepfunctions.parser")
    patches.enter_context(mock.patch.object(interpreter, "handlers", [logging.NullHandler()]))
    patches.enter_context(mock.patch.object(interpreter, "propagate", False))
    # Only what is worse than an error: what the interpreter reports of a failure it handled is
    # in the history. (setLevel, not the attribute: loggers cache their effective level.)
    patches.callback(interpreter.setLevel, interpreter.level)
    interpreter.setLevel(logging.CRITICAL)


def page_execution_history(patches: ExitStack) -> None:
    """Gap 14."""

    def get_execution_history(response: StepFunctionResponse) -> ActionResult:
        history = response.stepfunction_backend.get_execution_history(response._get_param("executionArn"))
        events = list(history["events"])
        if response._get_param("reverseOrder"):
            events.reverse()
        token = response._get_param("nextToken") or "0"
        if not token.isdigit():  # the tokens this paging writes are offsets
            raise InvalidPageToken("Invalid token")
        start = int(token)
        size = int(response._get_param("maxResults") or 100)  # Step Functions' default page
        page: dict[str, Any] = {"events": events[start : start + size]}
        if start + size < len(events):
            page["nextToken"] = str(start + size)
        return ActionResult(page)

    patches.enter_context(mock.patch.object(StepFunctionResponse, "get_execution_history", get_execution_history))


def accept_heartbeats_without_timeout(patches: ExitStack) -> None:
    """Gap 15."""
    original = CallbackEndpoint.notify_heartbeat

    def notify_heartbeat(endpoint: CallbackEndpoint) -> bool:
        if endpoint._heartbeat_endpoint is None:
            return endpoint.get_outcome() is None  # still waiting: accepted, nothing to reset
        return original(endpoint)

    patches.enter_context(mock.patch.object(CallbackEndpoint, "notify_heartbeat", notify_heartbeat))


def close_tokens_atomically(patches: ExitStack) -> None:
    """Gap 16. One lock for every endpoint: what it guards (a check and a flag) takes microseconds."""
    lock = threading.Lock()
    closed: weakref.WeakSet[CallbackEndpoint] = weakref.WeakSet()  # took an outcome, or stopped waiting
    original_notify = CallbackPoolManager.notify
    original_heartbeat = CallbackPoolManager.heartbeat
    original_interrupt = CallbackEndpoint.interrupt_all

    def notify(manager: CallbackPoolManager, callback_id: CallbackId, outcome: CallbackOutcome) -> bool:
        with lock:
            endpoint = manager.get(callback_id)
            if endpoint is None:
                return False  # another execution's token: the backend asks the next execution
            if endpoint in closed:
                raise TaskTimedOut(CLOSED_TASK)
            accepted = original_notify(manager, callback_id, outcome)
            if accepted:
                closed.add(endpoint)
            return accepted

    def heartbeat(manager: CallbackPoolManager, callback_id: CallbackId) -> bool:
        with lock:
            endpoint = manager.get(callback_id)
            if endpoint is not None and endpoint in closed:
                raise TaskTimedOut(CLOSED_TASK)
            return original_heartbeat(manager, callback_id)

    def interrupt_all(endpoint: CallbackEndpoint) -> None:
        # The interpreter calls this once the task stops waiting, whatever ended the wait (an
        # outcome, a timeout, a heartbeat timeout): from then on no callback may be accepted.
        with lock:
            closed.add(endpoint)
        original_interrupt(endpoint)

    patches.enter_context(mock.patch.object(CallbackPoolManager, "notify", notify))
    patches.enter_context(mock.patch.object(CallbackPoolManager, "heartbeat", heartbeat))
    patches.enter_context(mock.patch.object(CallbackEndpoint, "interrupt_all", interrupt_all))


def point_interpreter_at(patches: ExitStack, port: int) -> None:
    """Gap 6."""
    patches.enter_context(mock.patch.dict(os.environ, {"MOTO_PORT": str(port)}))


def parse_with_scopes_of_its_own(patches: ExitStack) -> None:
    """Gap 21."""
    original_init = Preprocessor.__init__

    def init(preprocessor: Preprocessor, *args: Any, **kwargs: Any) -> None:
        original_init(preprocessor, *args, **kwargs)
        preprocessor._query_language_per_scope = []

    patches.enter_context(mock.patch.object(Preprocessor, "__init__", init))


def step_functions_time(moment: datetime.datetime) -> str:
    """2026-01-02T03:04:05.678Z: the form of every time in the context object."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _StateEntryTime(datetime.datetime):
    """What state.py's `datetime.datetime.now(tz=...).isoformat()` gives: the clock's time, in
    Step Functions' form."""

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> "_StateEntryTime":
        return cls.fromtimestamp(current_time(), tz)

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return step_functions_time(self)


class _DatetimeModule:
    """Stands for the `datetime` module in moto's state.py, where only EnteredTime reads it."""

    timezone = datetime.timezone
    datetime = _StateEntryTime


def write_context_times_as_step_functions_does(patches: ExitStack) -> None:
    """Gap 22."""
    original = ExecutionWorker._get_evaluation_environment

    def environment(worker: ExecutionWorker) -> Any:
        env = original(worker)
        execution: Any = env.states.context_object.context_object_data["Execution"]
        start = execution.get("StartTime")  # typed as a string, given a datetime
        if isinstance(start, datetime.datetime):
            execution["StartTime"] = step_functions_time(start)
        execution.setdefault("RedriveCount", 0)  # this emulator redrives no execution
        return env

    patches.enter_context(mock.patch.object(ExecutionWorker, "_get_evaluation_environment", environment))
    patches.enter_context(mock.patch.object(state_module, "datetime", _DatetimeModule))


def answer_with_error_codes(patches: ExitStack) -> None:
    """Gap 24: each error class of the interpreter's API answers with the code it declares."""
    for error in vars(parser_api).values():
        if isinstance(error, type) and issubclass(error, AWSError) and error.TYPE is None and error is not AWSError:
            code = getattr(error, "code", None)
            if code:
                patches.enter_context(mock.patch.object(error, "TYPE", code))


def describe_refused_definitions(patches: ExitStack) -> None:
    """Gap 24."""

    def validate_definition(definition: str) -> None:
        before_parsing = _refused_before_parsing(definition)
        if before_parsing is not None:
            raise _invalid(before_parsing)
        try:
            AmazonStateLanguageParser.parse(definition)
        except ASLParserException as refused:
            raise _invalid(f"{refused!r}") from None
        except Exception as refused:  # what the preprocessor raises for a definition it refuses
            where = _downgraded_state(definition)
            if where is not None:
                raise _invalid(
                    f"'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine at {where}"
                ) from None
            text = str(refused.args[0]) if refused.args else type(refused).__name__
            unsupported = _UNSUPPORTED.match(text)
            if unsupported:
                text = (
                    f"The field '{unsupported['field']}' is supported only where QueryLanguage is "
                    f"{unsupported['language']}"
                )
            raise _invalid(text) from None

    patches.enter_context(
        mock.patch.object(StepFunctionsParserBackend, "_validate_definition", staticmethod(validate_definition))
    )


# What moto's preprocessor says of a field of the other query language.
_UNSUPPORTED = re.compile(r'Unsupported declaration in QueryLanguage=(?P<language>\w+) block: "(?P<field>[^"]+)"')


def _invalid(detail: str) -> InvalidDefinition:
    return InvalidDefinition(message=f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: {detail}'")


def _machine_of(definition: str) -> dict[str, Any] | None:
    """The definition as a JSON object, or None where it is not one (moto's parser says why)."""
    try:
        machine = json.loads(definition)
    except ValueError:
        return None
    return machine if isinstance(machine, dict) else None


def _refused_before_parsing(definition: str) -> str | None:
    """What Step Functions' schema validation refuses (in its recorded words) that moto's parser
    would word otherwise: missing top-level fields, a Wait Timestamp that is not RFC 3339."""
    machine = _machine_of(definition)
    if machine is None:
        return None
    missing = [field for field in ("StartAt", "States") if field not in machine]
    if missing:
        return f"These fields are required: [{', '.join(missing)}] at /"
    for where, state, language, _ in _states_with_language(
        machine.get("States"), "/States", machine.get("QueryLanguage", "JSONPath")
    ):
        timestamp = state.get("Timestamp")
        literal = state.get("Type") == "Wait" and language != "JSONata" and isinstance(timestamp, str)
        if literal and utc_moment(str(timestamp)) is None:
            return f"String does not match RFC3339 timestamp at {where}/Timestamp"
    return None


def _states_with_language(states: Any, where: str, inherited: Any) -> Iterator[tuple[str, dict[str, Any], Any, Any]]:
    """Each state (in branches and item processors too) with its path, its query language and
    the one it inherits."""
    for name, state in states.items() if isinstance(states, dict) else ():
        if not isinstance(state, dict):
            continue
        language = state.get("QueryLanguage", inherited)
        yield f"{where}/{name}", state, language, inherited
        nested = [(branch, f"Branches[{n}]") for n, branch in enumerate(state.get("Branches") or [])]
        nested += [(state[key], key) for key in ("ItemProcessor", "Iterator") if isinstance(state.get(key), dict)]
        for processor, key in nested:
            if isinstance(processor, dict):
                yield from _states_with_language(processor.get("States"), f"{where}/{name}/{key}/States", language)


def refuse_a_second_state_machine_of_one_name(patches: ExitStack) -> None:
    """Gap 32."""
    original = StepFunctionsParserBackend.create_state_machine

    def create_state_machine(backend: StepFunctionsParserBackend, name: str, definition: str, **kwargs: Any) -> Any:
        role = kwargs.get("roleArn")
        for machine in backend.state_machines:
            if machine.name == name and (machine.definition != definition or machine.roleArn != role):
                raise StateMachineAlreadyExists(f"State Machine Already Exists: '{machine.arn}'")
        return original(backend, name=name, definition=definition, **kwargs)

    patches.enter_context(mock.patch.object(StepFunctionsParserBackend, "create_state_machine", create_state_machine))


def _downgraded_state(definition: str) -> str | None:
    """Where a JSONPath state stands in a JSONata state machine (/States/Name), if one does."""
    machine = _machine_of(definition)
    if machine is None:
        return None
    for where, _state, language, inherited in _states_with_language(
        machine.get("States"), "/States", machine.get("QueryLanguage", "JSONPath")
    ):
        if inherited == "JSONata" and language == "JSONPath":
            return where
    return None


def read_string_literals_as_json(patches: ExitStack) -> None:
    """Gap 25."""

    def decoded(text: str) -> str:
        if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
            with suppress(ValueError):
                value = json.loads(text)
                if isinstance(value, str):
                    return value
            return text[1:-1]
        return text

    # Called with the keyword moto's callers use.
    def inner_string_of(parser_rule_context: Any) -> str | None:
        if is_terminal(parser_rule_context, ASLLexer.NULL):
            return None
        return decoded(parser_rule_context.getText())

    def from_string_literal(parser_rule_context: Any) -> str | None:
        return decoded(parser_rule_context.getText())

    patches.enter_context(mock.patch.object(Preprocessor, "_inner_string_of", staticmethod(inner_string_of)))
    for module in (preprocessor_module, antlr4utils):
        patches.enter_context(mock.patch.object(module, "from_string_literal", from_string_literal))


_PENDING = "_pausable_sfn_pending_assignments"


def assign_as_the_state_exits(patches: ExitStack) -> None:
    """Gap 26."""

    def evaluate_assign(decl: AssignDecl, env: Any) -> None:
        declarations: dict[str, Any] = {}
        for binding in decl.declaration_bindings:
            binding.eval(env=env)
            declarations.update(env.stack.pop())
        pending = getattr(env.variable_store, _PENDING, None) or {}
        setattr(env.variable_store, _PENDING, {**pending, **declarations})

    original_exited = CommonStateField._get_state_exited_event_details
    original_catch = ExecutionState._handle_catch

    def exited_event_details(state: CommonStateField, env: Any) -> Any:
        store = env.variable_store
        for name, value in (getattr(store, _PENDING, None) or {}).items():
            store.set(variable_identifier=name, variable_value=value)
        setattr(store, _PENDING, None)
        return original_exited(state, env)

    def handle_catch(state: ExecutionState, env: Any, failure_event: Any) -> Any:
        setattr(env.variable_store, _PENDING, None)  # the failed state's own Assign never applies
        return original_catch(state, env=env, failure_event=failure_event)

    patches.enter_context(mock.patch.object(AssignDecl, "_eval_body", evaluate_assign))
    patches.enter_context(mock.patch.object(CommonStateField, "_get_state_exited_event_details", exited_event_details))
    patches.enter_context(mock.patch.object(ExecutionState, "_handle_catch", handle_catch))


def describe_outputs_as_json(patches: ExitStack) -> None:
    """Gap 27."""
    original = StepFunctionResponse.describe_execution

    def describe_execution(response: StepFunctionResponse) -> ActionResult:
        described = original(response)
        answer: Any = described.result
        if "output" in answer:
            execution = response.stepfunction_backend.describe_execution(answer["executionArn"])
            if getattr(execution, "exec_worker", None) is not None:  # an execution the interpreter ran
                answer["output"] = to_json_str(execution.output, separators=(",", ":"))
        return described

    patches.enter_context(mock.patch.object(StepFunctionResponse, "describe_execution", describe_execution))


def date_timed_out_executions(patches: ExitStack) -> None:
    """Gap 34."""
    original = StepFunctionResponse.describe_execution

    def describe_execution(response: StepFunctionResponse) -> ActionResult:
        described = original(response)
        answer: Any = described.result
        if answer.get("status") == "TIMED_OUT" and "stopDate" not in answer:
            answer["stopDate"] = response.stepfunction_backend.describe_execution(answer["executionArn"]).stop_date
        return described

    patches.enter_context(mock.patch.object(StepFunctionResponse, "describe_execution", describe_execution))


_FINAL_EVENTS = (HistoryEventType.ExecutionAborted, HistoryEventType.ExecutionTimedOut)
# The event managers (one per execution, shared by its frames) of executions stopped or timed out.
_ENDED: "weakref.WeakSet[EventManager]" = weakref.WeakSet()


def end_waiting_tasks_with_their_execution(patches: ExitStack) -> None:
    """Gap 35."""

    def ending(original: Any) -> Any:
        def end(env: Environment, *args: Any, **kwargs: Any) -> None:
            original(env, *args, **kwargs)
            if env.is_frame():  # a Parallel branch or Map iteration stopped, not the execution
                return
            _ENDED.add(env.event_manager)
            for endpoint in list(env.callback_pool_manager._pool.values()):
                endpoint.interrupt_all()  # its task stops waiting (and its token closes: gap 16)

        return end

    for name in ("set_stop", "set_timed_out"):
        patches.enter_context(mock.patch.object(Environment, name, ending(getattr(Environment, name))))

    original_set_error = Environment.set_error

    def set_error(env: Environment, error: Any) -> None:
        if env.event_manager not in _ENDED:  # aborted or timed out stays so
            original_set_error(env, error)

    original_add_event = EventManager.add_event

    def add_event(manager: EventManager, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
        if manager in _ENDED and event_type not in _FINAL_EVENTS:
            return -1  # what the interrupted task would record after the execution's end
        return int(original_add_event(manager, context, event_type, *args, **kwargs))

    patches.enter_context(mock.patch.object(Environment, "set_error", set_error))
    patches.enter_context(mock.patch.object(EventManager, "add_event", add_event))


def give_each_retry_its_own_token(patches: ExitStack) -> None:
    """Gap 36."""
    original = StateTaskServiceCallback._handle_retry

    def handle_retry(state: StateTaskServiceCallback, env: Environment, failure_event: Any) -> Any:
        outcome = original(state, env=env, failure_event=failure_event)
        if outcome == RetryOutcome.CanRetry and state.resource.condition == ResourceCondition.WaitForTaskToken:
            env.callback_pool_manager.add(env.states.context_object.update_task_token())
        return outcome

    patches.enter_context(mock.patch.object(StateTaskServiceCallback, "_handle_retry", handle_retry))


def time_out_heartbeat_tasks_by_default_only(patches: ExitStack) -> None:
    """Gap 37."""
    original = ExecutionState.from_state_props

    def from_state_props(state: ExecutionState, state_props: Any) -> None:
        original(state, state_props)
        if state_props.get(Timeout) is None and state_props.get(Heartbeat) is not None:
            state.timeout = TimeoutSeconds(timeout_seconds=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS, is_default=True)

    patches.enter_context(mock.patch.object(ExecutionState, "from_state_props", from_state_props))


def see_callbacks_that_come_before_the_heartbeat_wait(patches: ExitStack) -> None:
    """Gap 38. The heartbeat wait starts only after the task is submitted; an outcome already in
    counts as the heartbeat it waits for, and the task reads it at once."""
    original = CallbackEndpoint.setup_heartbeat_endpoint

    def setup_heartbeat_endpoint(endpoint: CallbackEndpoint, heartbeat_seconds: int) -> Any:
        heartbeat: Any = original(endpoint, heartbeat_seconds=heartbeat_seconds)
        if endpoint.get_outcome() is not None:
            heartbeat.notify()
        return heartbeat

    patches.enter_context(mock.patch.object(CallbackEndpoint, "setup_heartbeat_endpoint", setup_heartbeat_endpoint))


# The longest delay a Wait takes, in seconds: Step Functions counts it in a signed 32-bit integer.
MAX_WAIT_SECONDS = 2**31 - 1


class _EndBeingWritten:
    """Stands in for an execution while moto writes its end: reads go to the execution, writes
    are kept, so that they can be made with the status last."""

    def __init__(self, execution: Execution) -> None:
        object.__setattr__(self, "_execution", execution)
        object.__setattr__(self, "writes", {})

    def __getattr__(self, name: str) -> Any:
        writes = object.__getattribute__(self, "writes")
        return writes[name] if name in writes else getattr(object.__getattribute__(self, "_execution"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__getattribute__(self, "writes")[name] = value


def end_executions_whole(patches: ExitStack) -> None:
    """Gap 42."""
    original_reflect: Any = BaseExecutionWorkerCommunication._reflect_execution_status

    def reflect(communication: BaseExecutionWorkerCommunication) -> None:
        end = _EndBeingWritten(communication.execution)
        original_reflect(types.SimpleNamespace(execution=end))
        status = end.writes.pop("exec_status", None)
        for name, value in end.writes.items():
            setattr(communication.execution, name, value)
        if status is not None:  # the status last: whoever reads it ended reads the rest written
            communication.execution.exec_status = status

    def as_running_while_running(read: Any) -> Any:
        @functools.wraps(read)
        def described(execution: Execution) -> Any:
            answer = read(execution)
            if answer.get("status") == ExecutionStatus.RUNNING:  # its end may be being written
                for field in ("stopDate", "error", "cause"):
                    answer.pop(field, None)
            return answer

        return described

    patches.enter_context(mock.patch.object(BaseExecutionWorkerCommunication, "_reflect_execution_status", reflect))
    for reader in ("to_describe_output", "to_execution_list_item"):
        original = getattr(Execution, reader)
        patches.enter_context(mock.patch.object(Execution, reader, as_running_while_running(original)))


def refuse_waits_too_long(patches: ExitStack) -> None:
    """Gap 29."""
    original = WaitFunction._wait_interval

    def wait_interval(function: WaitFunction, env: Any, wait_seconds: int) -> None:
        if wait_seconds > MAX_WAIT_SECONDS:
            runtime = StatesErrorNameType.StatesRuntime
            cause = {"error": runtime.to_name(), "cause": "Wait state delay is too long."}
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=runtime),
                    event_type=HistoryEventType.ExecutionFailed,
                    event_details=jsonata.event_details(executionFailedEventDetails=cause),
                )
            )
        original(function, env=env, wait_seconds=wait_seconds)

    patches.enter_context(mock.patch.object(WaitFunction, "_wait_interval", wait_interval))


def name_map_inputs_by_their_value(patches: ExitStack) -> None:
    """Gap 30. The cause is an f-string of `type(input_items)` in moto's state_map module, whose
    only other use of `type` words an internal error: a module-level `type` that writes its
    argument as compact JSON mends the cause without copying the Map state's evaluation."""

    def as_json(value: Any) -> str:
        return to_json_str(value, separators=(",", ":"))

    patches.enter_context(mock.patch.object(state_map_module, "type", as_json, create=True))


# RFC 3339 as Step Functions takes it: an uppercase T, and Z or a numeric offset.
_RFC_3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def utc_moment(text: str) -> datetime.datetime | None:
    """An RFC 3339 time as a naive UTC datetime (moto's convention), or None if it is not one."""
    if not _RFC_3339.fullmatch(text):
        return None
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:  # a month 13, an hour 25
        return None
    return moment.astimezone(datetime.UTC).replace(tzinfo=None)


def read_wait_timestamps_as_rfc_3339(patches: ExitStack) -> None:
    """Gaps 30 (a JSONata Timestamp's failure) and 33."""

    def get_wait_seconds(wait: Timestamp, env: Any) -> int:
        wait.string.eval(env=env)
        value = env.stack.pop()
        moment = utc_moment(value) if isinstance(value, str) else None
        if moment is None and isinstance(wait.string, StringJSONata):
            raise jsonata.evaluation_failure(
                env,
                "Timestamp",
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: "
                + (value if isinstance(value, str) else to_json_str(value)),
            )
        if moment is None:
            raise FailureEventException(wait._create_failure_event(env, str(value)))
        # Never before the moment (a Wait ends at or after its Timestamp, as on AWS).
        return math.ceil(moment.replace(tzinfo=datetime.UTC).timestamp() - current_time())

    patches.enter_context(mock.patch.object(Timestamp, "_from_timestamp_string", staticmethod(utc_moment)))
    patches.enter_context(mock.patch.object(Timestamp, "_get_wait_seconds", get_wait_seconds))


def apply(patches: ExitStack) -> None:
    """Every Step Functions workaround but gap 6's, which only server mode needs, and the
    interpreter's fast paths (fast_paths.py)."""
    for workaround in (
        name_unnamed_executions,
        validate_execution_names,  # around gap 5's: a name it gives is not checked again
        keep_task_failure_cause,
        report_closed_tasks,
        match_heartbeat_timeouts,
        reuse_parsed_definitions,
        page_execution_history,
        accept_heartbeats_without_timeout,
        close_tokens_atomically,
        quiet_interpreter,
        parse_with_scopes_of_its_own,
        jsonata.plug_in,
        write_context_times_as_step_functions_does,
        answer_with_error_codes,
        refuse_a_second_state_machine_of_one_name,
        describe_refused_definitions,
        read_string_literals_as_json,
        assign_as_the_state_exits,
        describe_outputs_as_json,
        date_timed_out_executions,
        end_waiting_tasks_with_their_execution,
        give_each_retry_its_own_token,
        time_out_heartbeat_tasks_by_default_only,
        see_callbacks_that_come_before_the_heartbeat_wait,
        end_executions_whole,  # before gap 40's, which sends the end once it is written
        status_events.emit_execution_status_changes,
        sqs_integration.run_as_step_functions_does,
        refuse_waits_too_long,
        name_map_inputs_by_their_value,
        read_wait_timestamps_as_rfc_3339,
        sdk_metadata.add_sdk_metadata,
    ):
        workaround(patches)
    fast_paths.apply(patches)
