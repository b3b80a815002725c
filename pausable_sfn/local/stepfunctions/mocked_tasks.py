"""Mocked tasks in moto's interpreter (mocking.py reads the test cases).

moto's interpreter (LocalStack's, ported) already asks its environment, where each task calls its
service, whether the state is mocked (`Environment.is_mocked_mode`) and for the response
(`get_current_mocked_response`), and then skips the call and, for `.waitForTaskToken` and `.sync`,
the wait; but nothing ever gives an execution a test case, and the attempt it picks is the state's
RetryCount, which starts again at 0 each time the state is entered. Here StartExecution on
`<arn>#<test case>` gives the execution a MockedExecution, whose count per state name runs through
the whole execution, and a Throw fails the task as the service's failure would.

A mocked task records what the real one records (TaskScheduled with its parameters, TaskStarted,
TaskSubmitted for `.waitForTaskToken` and `.sync`, then TaskSucceeded or TaskFailed; a Lambda
function ARN resource LambdaFunctionScheduled, Started, Succeeded or Failed) and runs no service:
nothing waits, so the clock sees no busy thread.
"""

import copy
import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.stepfunctions.parser.api import HistoryEventType, ValidationException
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl
from moto.stepfunctions.parser.asl.component.common.error_name.error_name import ErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import StateTaskService
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from .jsonata import event_details
from .mocking import MockConfigError, MockedExecution, MockRegistry, Response, Return, Throw

RUNTIME = StatesErrorNameType.StatesRuntime.to_name()


class MockedTaskError(Exception):
    """A Throw, raised where the service call would have failed."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(error)
        self.error, self.cause = error, cause


class NoMockedResponseError(MockedTaskError):
    """A mocked state run once more than its test case gives responses for: the execution fails."""


class _Unmatchable(StatesErrorName):
    """States.Runtime that no Retry or Catch takes, States.ALL included (Step Functions never
    retries or catches States.Runtime; moto's States.ALL would)."""

    def __init__(self) -> None:
        super().__init__(typ=StatesErrorNameType.StatesRuntime)


def error_name_of(error: str) -> ErrorName:
    """A Throw's error as the interpreter names it: one of Step Functions' own (States.Timeout, which
    States.TaskFailed does not match) or the user's."""
    try:
        return StatesErrorName(typ=StatesErrorNameType.from_name(error))
    except (KeyError, ValueError):
        pass
    return CustomErrorName(error) if not error.startswith("States.") else ErrorName(error_name=error)


def _response_for(env: Environment) -> Response:
    mocked: MockedExecution = env.mock_test_case  # type: ignore[assignment]
    state = str(env.next_state_name)
    attempt, response = mocked.next_response(state)
    if response is None:
        raise NoMockedResponseError(
            RUNTIME,
            f"No mocked response for attempt {attempt} of state '{state}': test case "
            f"'{mocked.test_case_name}' of state machine '{mocked.state_machine_name}' gives "
            f"{mocked.attempts_given(state)} (attempts 0 to {mocked.attempts_given(state) - 1})",
        )
    return response


def _evaluate(env: Environment, mocked_response: Any) -> None:
    # Called by moto, by keyword, with what get_current_mocked_response returned.
    if isinstance(mocked_response, Throw):
        raise MockedTaskError(mocked_response.error, mocked_response.cause)
    assert isinstance(mocked_response, Return)
    env.stack.append(copy.deepcopy(mocked_response.value))


def _failure_event(state: StateTask, env: Environment, failure: MockedTaskError) -> FailureEvent:
    unmatchable = isinstance(failure, NoMockedResponseError)
    error_name = _Unmatchable() if unmatchable else error_name_of(failure.error)
    details: dict[str, Any] = {"error": failure.error, "cause": failure.cause}
    if isinstance(state, StateTaskLambda):
        return FailureEvent(
            env=env,
            error_name=error_name,
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=event_details(lambdaFunctionFailedEventDetails=details),
        )
    if isinstance(state, StateTaskService):  # its failure names the integration, as a real one does
        details |= {"resource": state._get_sfn_resource(), "resourceType": state._get_sfn_resource_type()}
    return FailureEvent(
        env=env,
        error_name=error_name,
        event_type=HistoryEventType.TaskFailed,
        event_details=event_details(taskFailedEventDetails=details),
    )


def _states_of(states: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each state of a definition's States, with those of its Parallel branches and Map processors."""
    for name, state in states.items() if isinstance(states, dict) else ():
        if isinstance(state, dict):
            yield name, state
            for inner in [*(state.get("Branches") or []), state.get("ItemProcessor"), state.get("Iterator")]:
                if isinstance(inner, dict):
                    yield from _states_of(inner.get("States"))


def check_against_definition(mocked: MockedExecution, states: dict[str, Any], definition: str) -> None:
    """Refuses a test case that mocks what the state machine cannot run mocked."""
    found = dict(_states_of(json.loads(definition).get("States")))
    where = f"Test case '{mocked.test_case_name}' of state machine '{mocked.state_machine_name}'"
    for name in states:
        state = found.get(name)
        if state is None:
            raise MockConfigError(f"{where} mocks '{name}', which is not a state of its definition")
        if state.get("Type") != "Task":
            kind = state.get("Type")
            raise MockConfigError(f"{where} mocks '{name}', a {kind} state: only Task states can be mocked")
        if ":activity:" in str(state.get("Resource", "")):
            raise MockConfigError(
                f"{where} mocks '{name}', an activity: only service integrations and Lambda functions can be mocked"
            )


def _classes_naming_failures() -> list[type[StateTask]]:
    """Every task class with a `_from_error` of its own: several name any failure they do not know
    as their service's (DynamoDB.AmazonDynamoDBException, ...) instead of asking their base."""
    found: list[type[StateTask]] = []
    pending: list[type[StateTask]] = [StateTask]  # type: ignore[type-abstract]
    while pending:
        task_class = pending.pop()
        pending.extend(task_class.__subclasses__())
        if "_from_error" in vars(task_class):
            found.append(task_class)
    return found


def _naming_mocked_failures(task_class: type[StateTask]) -> Any:
    original = vars(task_class)["_from_error"]

    def from_error(state: StateTask, env: Environment, ex: Exception) -> FailureEvent:
        if isinstance(ex, MockedTaskError):
            return _failure_event(state, env, ex)
        return original(state, env, ex)  # type: ignore[no-any-return]

    return from_error


def apply(patches: ExitStack, registry: MockRegistry) -> None:
    """Mocked tasks for executions started on `<arn>#<test case>`, with `registry`'s test cases."""
    # StartExecution creates the execution's worker in the request's thread: the test case waits here.
    starting = threading.local()
    original_start = StepFunctionsParserBackend.start_execution

    def start_execution(
        backend: StepFunctionsParserBackend, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        if "#" not in str(state_machine_arn):
            return original_start(backend, state_machine_arn, name, *args, **kwargs)
        arn, _, case = state_machine_arn.partition("#")
        machine = backend.describe_state_machine(arn)
        try:
            states = registry.test_case(machine.name, case)
            mocked = MockedExecution(machine.name, case, states)
            check_against_definition(mocked, dict(states), machine.definition)
        except MockConfigError as refused:
            raise ValidationException(str(refused)) from None
        starting.mocked = mocked
        try:
            # A name is given here, not by gap 5's patch below, so that the worker is made in this call.
            return original_start(backend, arn, name or str(uuid.uuid4()), *args, **kwargs)
        finally:
            starting.mocked = None

    original_init = ExecutionWorker.__init__

    def init(worker: ExecutionWorker, *args: Any, **kwargs: Any) -> None:
        kwargs["mock_test_case"] = kwargs.get("mock_test_case") or getattr(starting, "mocked", None)
        original_init(worker, *args, **kwargs)

    def is_mocked_mode(env: Environment) -> bool:
        mocked = env.mock_test_case
        return isinstance(mocked, MockedExecution) and mocked.mocks(env.next_state_name)

    original_error_equals = ErrorEqualsDecl._eval_body

    def error_equals(decl: ErrorEqualsDecl, env: Environment) -> None:
        if isinstance(env.stack[-1], _Unmatchable):
            env.stack.pop()
            env.stack.append(False)
            return
        original_error_equals(decl, env)

    patches.enter_context(mock.patch.object(StepFunctionsParserBackend, "start_execution", start_execution))
    patches.enter_context(mock.patch.object(ExecutionWorker, "__init__", init))
    patches.enter_context(mock.patch.object(Environment, "is_mocked_mode", is_mocked_mode))
    patches.enter_context(mock.patch.object(Environment, "get_current_mocked_response", _response_for))
    for module in (state_task_service, lambda_eval_utils):  # each calls the evaluation it imported
        patches.enter_context(mock.patch.object(module, "eval_mocked_response", _evaluate))
    for task_class in _classes_naming_failures():
        patches.enter_context(mock.patch.object(task_class, "_from_error", _naming_mocked_failures(task_class)))
    patches.enter_context(mock.patch.object(ErrorEqualsDecl, "_eval_body", error_equals))
