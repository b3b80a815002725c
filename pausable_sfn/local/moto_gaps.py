"""Everything the embedded AWS does because moto (5.2.x) lacks it, in one place.

Each gap has a test in tests/local/test_moto_gaps.py that exercises plain moto and fails once
an upgrade closes the gap, so that its workaround here can be deleted (gap 2 is moto's design,
not a gap to close).

1. moto's CloudFormation does not create AWS::SNS::Subscription, and puts a state machine in the
   backend that does not execute it: the deployer creates each resource through its own API
   instead of through CloudFormation (deployer.py).
2. moto runs Lambda code only in Docker: `route_lambda_invocations` hands every invocation to
   the embedded Lambda runtime (runtime.py), after checking its payload is JSON as Lambda's API
   does (InvalidRequestContentException, 400), and returns the log tail when asked (Tail). A
   function's reserved concurrency (PutFunctionConcurrency), which moto only records, is handed
   to the runtime too, and an invocation it throttles is answered as Lambda answers it
   (TooManyRequestsException, 429, Reason ReservedFunctionConcurrentInvocationLimitExceeded).
3. moto delivers SNS → Lambda synchronously, inside Publish, without retries or dead letters:
   `route_lambda_invocations` turns it into an asynchronous invoke (events.AsyncInvoker).
4. moto delivers SQS → Lambda synchronously, inside SendMessage, so a delayed message is never
   delivered: `detach_sqs_push_delivery` removes that, and events.SqsPoller polls instead.
5. StartExecution without a name gives every such execution the ARN "...:None":
   `name_unnamed_executions` gives them a UUID, as Step Functions does.
6. In server mode the state machine interpreter calls Lambda at localhost:$MOTO_PORT (default
   5000) whatever port the server really listens on: `point_interpreter_at` sets MOTO_PORT.
7. A function whose layer moto does not hold (the public Powertools layer) is refused:
   `publish_stand_in_layer` publishes an empty stand-in; the handlers run with the Powertools
   installed beside the embedded AWS, at the version the layer would have (settings.py).
8. moto does not evaluate JSONata: the workflow uses JSONPath only (workflow.py).
9. SendTaskFailure drops the `cause`: `keep_task_failure_cause` passes it on.
10. The state machine interpreter logs each failure it handles (an InvalidInput, a rejected
    task) as an error with its whole parse tree: `quiet_interpreter` keeps that off stderr.
11. A callback for a task that has closed (resumed, timed out) whose execution has ended is
    refused as InvalidToken; Step Functions answers TaskTimedOut ("Provided task does not exist
    anymore"): `report_closed_tasks` does so for tokens the interpreter issued. moto's own
    TaskTimedOut also reaches the client without its error code; it gets it back here.
12. A heartbeat timeout fails the task with States.Timeout; Step Functions names it
    States.HeartbeatTimeout (what a Catch or Retry matches): `name_heartbeat_timeouts`.
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
17. DynamoDB requests are not atomic: moto checks a ConditionExpression and then writes, without
    a lock, while the endpoint serves requests on many threads (the Lambda environments call it
    concurrently). Of several UpdateItem racing with `attribute_not_exists(decision)` on one
    item, more than one can pass the check and succeed; on DynamoDB exactly one does, and the
    others get ConditionalCheckFailedException. `apply_dynamodb_requests_one_at_a_time` runs
    each DynamoDB request alone (reads too, so that none sees a write half made). What that
    costs: the time moto spends in a request, a median of 0.8 ms for an UpdateItem or a GetItem
    on this machine, during which other DynamoDB requests wait.
18. CreateFunctionUrlConfig answers with a URL that nothing serves
    (https://<32 hex digits>.lambda-url.<region>.on.aws, without the trailing slash AWS's has):
    `serve_function_urls` gives each function URL one on the embedded AWS's endpoint instead,
    http://127.0.0.1:<port>/lambda-url/<url-id>/ with a url-id of 32 lowercase letters and
    digits as AWS's, and `find_function_url` tells function_urls.py which function a url-id is
    of, its auth type, and whether the function's resource-based policy lets the public call it.
19. A page token (nextToken) that decodes to JSON other than an object crashes moto's paginator
    (AttributeError: a 500 over HTTP) where AWS answers InvalidToken (400), as moto itself does
    for a token that does not decode: `refuse_malformed_page_tokens` answers InvalidToken for
    both. Gap 14's own paging refuses a token it did not write the same way.
20. StartExecution takes any name once state machines execute (the interpreter's backend skips
    the check moto's other backend makes): spaces, "/", 81 characters and more. Step Functions
    refuses them (InvalidName; ValidationException over 80 characters), and an app tried here
    would start failing on AWS: `validate_execution_names` makes moto's own check.
"""

import base64
import functools
import json
import logging
import os
import threading
import uuid
import weakref
from collections.abc import Iterable
from contextlib import ExitStack, suppress
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import FunctionUrlConfig, LambdaBackend, LambdaFunction, lambda_backends
from moto.core.exceptions import InvalidToken as InvalidPageToken
from moto.core.responses import ActionResult, EmptyResult
from moto.dynamodb.responses import DynamoHandler
from moto.sns.models import Subscription
from moto.sqs.models import sqs_backends
from moto.stepfunctions.parser.api import InvalidToken, TaskTimedOut
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.component import Component
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackEndpoint,
    CallbackId,
    CallbackOutcome,
    CallbackPoolManager,
    HeartbeatTimeoutError,
)
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse
from moto.utilities.paginator import Paginator

from .events import sns_event
from .function_urls import PATH_PREFIX as URL_PATH_PREFIX
from .function_urls import FunctionUrlTarget, new_url_id
from .runtime import FunctionNotFoundError, ThrottledError, platform_lines

# What Step Functions answers for a callback to a task that no longer waits (gaps 11 and 16).
CLOSED_TASK = "Task Timed Out: 'Provided task does not exist anymore'"

if TYPE_CHECKING:
    from .events import AsyncInvoker
    from .runtime import LambdaRuntime


def route_lambda_invocations(patches: ExitStack, runtime: "LambdaRuntime", async_invoker: "AsyncInvoker") -> None:
    """Gaps 2 and 3."""

    def invoke(function: LambdaFunction, body: Any, request_headers: Any, response_headers: dict[str, str]) -> bytes:
        try:
            event = json.loads(body) if body else {}
        except ValueError as error:  # as Lambda's API answers: 400, nothing invoked
            raise InvalidRequestContentError(f"Could not parse request body into json: {error}") from None
        invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "Event":
            async_invoker.submit(function.function_name, event)
            return b""
        if invocation_type == "DryRun":
            return b""
        try:
            invocation = runtime.invoke(function.function_name, event)
        except ThrottledError as error:
            raise TooManyRequestsError(error.reason) from None
        if invocation.failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["x-amz-executed-version"] = "$LATEST"
        if _header(request_headers, "X-Amz-Log-Type") == "Tail":
            # The last 4 KB of the invocation's log, as `aws lambda invoke --log-type Tail` shows it.
            log = "\n".join(platform_lines(invocation, runtime.find(function.function_name))).encode()
            tail = log[-4096:].decode(errors="ignore").encode()  # whole characters only
            response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        return invocation.payload

    original_publish = Subscription.publish

    def publish(
        subscription: Subscription, message: str, message_id: str, subject: str | None = None, **kwargs: Any
    ) -> None:
        if subscription.protocol != "lambda":
            return original_publish(subscription, message, message_id, subject=subject, **kwargs)
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(kwargs.get("message_attributes"), message):
            return None
        event = sns_event(
            subscription_arn=subscription.arn,
            topic_arn=subscription.topic.arn,
            message_id=message_id,
            message=message,
            subject=subject,
        )
        async_invoker.submit(subscription.endpoint, event)
        return None

    original_put_concurrency = LambdaBackend.put_function_concurrency
    original_delete_concurrency = LambdaBackend.delete_function_concurrency

    def put_function_concurrency(backend: LambdaBackend, function_name: str, reserved_concurrency: str) -> Any:
        reserved = original_put_concurrency(backend, function_name, reserved_concurrency)
        _reserve(function_name, int(reserved))
        return reserved

    def delete_function_concurrency(backend: LambdaBackend, function_name: str) -> Any:
        original_delete_concurrency(backend, function_name)
        _reserve(function_name, None)

    def _reserve(function_name: str, reserved: int | None) -> None:
        # A function created through the API alone is not one the runtime runs: nothing to tell it.
        with suppress(FunctionNotFoundError):
            runtime.find(function_name).reserved_concurrency = reserved

    patches.enter_context(mock.patch.object(LambdaFunction, "invoke", invoke))
    patches.enter_context(mock.patch.object(Subscription, "publish", publish))
    patches.enter_context(mock.patch.object(LambdaBackend, "put_function_concurrency", put_function_concurrency))
    patches.enter_context(mock.patch.object(LambdaBackend, "delete_function_concurrency", delete_function_concurrency))


class InvalidRequestContentError(LambdaClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestContentException", message)


class TooManyRequestsError(LambdaClientError):
    code = 429

    def __init__(self, reason: str) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        # Lambda's error body: its type, its reason, and who caused it (the caller: "User").
        self.description = json.dumps(
            {"__type": self.error_type, "message": self.message, "Reason": reason, "Type": "User"}
        )


def _header(headers: Any, name: str) -> str | None:
    """A request header, whatever the case of its name (mock mode and server mode spell them differently)."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def apply(
    patches: ExitStack,
    runtime: "LambdaRuntime",
    async_invoker: "AsyncInvoker",
    *,
    server_port: int | None,
    endpoint_url: str,
) -> None:
    """Every workaround, entered into `patches`: closing it undoes them all."""
    if server_port is not None:
        point_interpreter_at(patches, server_port)
    route_lambda_invocations(patches, runtime, async_invoker)
    serve_function_urls(patches, endpoint_url)
    for workaround in (
        name_unnamed_executions,
        validate_execution_names,  # around gap 5's: a name it gives is not checked again
        keep_task_failure_cause,
        report_closed_tasks,
        name_heartbeat_timeouts,
        reuse_parsed_definitions,
        page_execution_history,
        accept_heartbeats_without_timeout,
        close_tokens_atomically,
        quiet_interpreter,
        apply_dynamodb_requests_one_at_a_time,
        refuse_malformed_page_tokens,
    ):
        workaround(patches)


def detach_sqs_push_delivery(account_id: str, region: str, queue_name: str) -> None:
    """Gap 4: the event-source mapping stays listed; its synchronous delivery is switched off."""
    sqs_backends[account_id][region].queues[queue_name].lambda_event_source_mappings.clear()


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
    """Gap 11."""
    patches.enter_context(mock.patch.object(TaskTimedOut, "TYPE", "TaskTimedOut"))
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


def name_heartbeat_timeouts(patches: ExitStack) -> None:
    """Gap 12."""
    original = StateTask._from_error

    def from_error(state: StateTask, env: Any, ex: Exception) -> Any:
        event: Any = original(state, env, ex)
        if isinstance(ex, HeartbeatTimeoutError):
            name = StatesErrorName(typ=StatesErrorNameType.StatesHeartbeatTimeout)
            event.error_name = name
            event.event_details["taskTimedOutEventDetails"]["error"] = name.error_name
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


def refuse_malformed_page_tokens(patches: ExitStack) -> None:
    """Gap 19."""
    parse = Paginator._parse_starting_token

    def parse_starting_token(paginator: Paginator) -> dict[str, Any] | None:
        if paginator._starting_token is not None:
            try:
                decoded = paginator._token_decoder.decode(paginator._starting_token)
            except (ValueError, TypeError, UnicodeDecodeError):
                decoded = {}  # moto's own answer to a token that does not decode stays
            except AttributeError:  # JSON but not an object: botocore's decoder calls .pop on it
                decoded = None
            if not isinstance(decoded, dict):
                raise InvalidPageToken("Invalid token")
        return parse(paginator)

    patches.enter_context(mock.patch.object(Paginator, "_parse_starting_token", parse_starting_token))


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


def apply_dynamodb_requests_one_at_a_time(patches: ExitStack) -> None:
    """Gap 17. Re-entrant: nothing in a DynamoDB request calls DynamoDB again today, and a later
    moto that did must not deadlock on it."""
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        with lock:
            return original(handler)

    patches.enter_context(mock.patch.object(DynamoHandler, "call_action", call_action))


def serve_function_urls(patches: ExitStack, endpoint_url: str) -> None:
    """Gap 18: the URL is made when the configuration is, so that CreateFunctionUrlConfig,
    GetFunctionUrlConfig and a template's Fn::GetAtt FunctionUrl all give the one that works."""
    original_init = FunctionUrlConfig.__init__

    def init(url_config: FunctionUrlConfig, function: LambdaFunction, config: dict[str, Any]) -> None:
        original_init(url_config, function=function, config=config)
        url_config.url = f"{endpoint_url}{URL_PATH_PREFIX}{new_url_id()}/"

    patches.enter_context(mock.patch.object(FunctionUrlConfig, "__init__", init))


def find_function_url(url_id: str) -> FunctionUrlTarget | None:
    """Gap 18: the function URL with this url-id, as moto holds it now (a deleted one is gone)."""
    path = f"{URL_PATH_PREFIX}{url_id}/"
    for account_id, regions in list(lambda_backends.items()):
        for backend in list(regions.values()):
            for function in backend._lambdas.latest():
                config = function.url_config
                if url_id and config is not None and config.url.endswith(path):
                    auth_type = str(config.config.get("AuthType", "NONE"))
                    return FunctionUrlTarget(
                        url_id=url_id,
                        function=function.function_name,
                        auth_type=auth_type,
                        public=_invokable_by_anyone(function.policy.statements, auth_type),
                        account_id=account_id,
                    )
    return None


def _invokable_by_anyone(statements: list[dict[str, Any]], auth_type: str) -> bool:
    """Whether the policy grants "*" both lambda:InvokeFunctionUrl (for this auth type) and
    lambda:InvokeFunction (through a function URL, or at all), as function URLs made since
    October 2025 need. moto keeps AddPermission's FunctionUrlAuthType and InvokedViaFunctionUrl
    as it was given them, beside the conditions it knows."""

    def allows(statement: dict[str, Any], action: str) -> bool:
        actions = statement.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        principal = statement.get("Principal")
        return (
            statement.get("Effect", "Allow") == "Allow"
            and principal in ("*", {"AWS": "*"})
            and any(name in (action, "lambda:*") for name in actions)
        )

    def condition(statement: dict[str, Any], key: str) -> Any:
        return statement.get("Condition", {}).get("StringEquals", {}).get(key)

    url_granted = any(
        allows(statement, "lambda:InvokeFunctionUrl")
        and auth_type in (statement.get("FunctionUrlAuthType"), condition(statement, "lambda:FunctionUrlAuthType"))
        for statement in statements
    )
    invoke_granted = any(
        allows(statement, "lambda:InvokeFunction") and statement.get("InvokedViaFunctionUrl") in (True, "true", None)
        for statement in statements
    )
    return url_granted and invoke_granted


def point_interpreter_at(patches: ExitStack, port: int) -> None:
    """Gap 6."""
    patches.enter_context(mock.patch.dict(os.environ, {"MOTO_PORT": str(port)}))


def publish_stand_in_layer(lambda_client: Any, parameter_name: str) -> str:
    """Gap 7: an empty layer in the local account stands in for the layer the public parameter names."""
    name = parameter_name.strip("/").replace("/", "-").replace(".", "_")[:140]
    layer = lambda_client.publish_layer_version(
        LayerName=name,
        Description=f"embedded stand-in for the layer named by {parameter_name}",
        Content={"ZipFile": _empty_zip()},
    )
    return str(layer["LayerVersionArn"])


def _empty_zip() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("python/.embedded-stand-in", "")
    return buffer.getvalue()
