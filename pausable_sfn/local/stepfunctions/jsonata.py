"""Gap 8: JSONata evaluated as Step Functions evaluates it, with jsonatapy as the engine.

moto's interpreter writes every JSONata expression into a text (the variables and `$states`
serialised as `$name:=value;` declarations in front of it) and hands that text to an evaluator it
ships unplugged. Here each `{% %}` expression is compiled and evaluated with `$states`, the
variables in scope and Step Functions' own functions as bindings, so no value is ever written
into an expression. Its result is checked as Step Functions checks it, and a failure is
`States.QueryEvaluationError` with the cause Step Functions records, naming the field by its
path in the state ("Output/result", "Arguments/FunctionName").
"""

import copy
import json
import re
from contextlib import ExitStack
from typing import Any, Final
from unittest import mock

import jsonatapy
from antlr4.tree.Tree import TerminalNode
from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringJSONata,
    StringVariableSample,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.variable_store import VariableStore
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError, extract_json

from . import functions

# How long one expression may run, and how deep it may recurse: a runaway expression
# (`($f := function(){$f()}; $f())`) must fail its state, not hang its execution.
TIMEOUT_MS: Final = 10_000
MAX_DEPTH: Final = 1_000
# jsonatapy writes its errors as "<CODE>: message", a syntax error with words before the code
# ("Parse error: Invalid syntax: S0201: ..."); Step Functions writes "<CODE>: message".
_CODED = re.compile(r"\b(?P<code>[A-Z]\d{4}): (?P<message>.*)", re.DOTALL)
_HOST_FUNCTION = re.compile(r"^.*?host function raised \w+: ", re.DOTALL)
# Extra words jsonatapy puts after JSONata's own message for T1006 (the name it could not call).
_NON_FUNCTION = re.compile(r"^(Attempted to invoke a non-function): .*$", re.DOTALL)


class Undefined:
    """What an expression gives when it gives nothing (JSONata's undefined, not JSON's null)."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Final = Undefined()


class JsonataError(Exception):
    """An expression that does not compile or that fails while it runs, as JSONata reports it."""

    def __init__(self, text: str) -> None:
        # An error of a Step Functions function, which jsonatapy reports as raised by Python.
        text = _HOST_FUNCTION.sub("", text)
        match = _CODED.search(text)
        if match:
            message = _NON_FUNCTION.sub(r"\1", match["message"])
            text = f"{match['code']}: {message}"
        super().__init__(text)


def _expression(source: str) -> Any:
    """`source` compiled, with Step Functions' functions. Compiled anew at each evaluation (tens of
    microseconds): a jsonatapy expression may be used, and even dropped, only on the thread that
    compiled it, and moto's executions, Map iterations and Parallel branches each run on threads
    that come and go, so a cache would drop expressions from the wrong thread."""
    try:
        expression = jsonatapy.compile(source)
    except ValueError as error:
        raise JsonataError(str(error)) from None
    for name, function in functions.ADDED.items():
        expression.register(name, function)
    for name, function in functions.OVERRIDDEN.items():
        expression.register_override(name, function)
    return expression


def evaluate(source: str, bindings: dict[str, Any]) -> Any:
    """The value of `source` with `bindings` as its variables (names without the `$`), or UNDEFINED."""
    result, failure = _run(source, bindings)
    if failure is not None:
        raise JsonataError(failure)
    if result is None:
        return UNDEFINED
    if result == '""' and _run(f"$type(({source}))", bindings)[0] == '"function"':
        # jsonatapy writes a function as "": JSONata itself says what the value was.
        raise UnsupportedResultError
    return json.loads(result)


def _run(source: str, bindings: dict[str, Any]) -> tuple[str | None, str | None]:
    """The JSON text of the result (None: undefined), or the failure's words. Nothing is raised
    while the compiled expression lives: a traceback would keep it, and could drop it on another
    thread (moto hands a Map iteration's failure to the thread that runs the Map)."""
    expression = _expression(source)
    try:
        with functions.one_instant():
            return (
                expression.evaluate_json_or_none(None, bindings, timeout=TIMEOUT_MS, max_stack_depth=MAX_DEPTH),
                None,
            )
    except ValueError as error:  # also what a registered function raises
        return None, str(error)


class UnsupportedResultError(Exception):
    """The expression gave a function, which no JSON field can hold."""


def bindings_of(env: Environment) -> dict[str, Any]:
    """What an expression of this state sees: the variables in scope, and `$states`."""
    store = env.variable_store
    return {**store._outer_scope, **store._inner_scope, "states": env.states._states_data}


def evaluation_failure(env: Environment, field: str, cause: str) -> FailureEventException:
    """A States.QueryEvaluationError, with its EvaluationFailed event in the history, as Step Functions records it."""
    error = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
    details = EvaluationFailedEventDetails(error=error.error_name, cause=cause, location=field)
    failure = FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=error,
            event_type=HistoryEventType.EvaluationFailed,
            event_details=event_details(evaluationFailedEventDetails=details),
        )
    )
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.EvaluationFailed,
        event_details=event_details(evaluationFailedEventDetails=failure.get_evaluation_failed_event_details()),
    )
    return failure


def event_details(**details: Any) -> Any:
    """An event's details, of one kind (`taskFailedEventDetails=...`): moto types them as a
    TypedDict that requires every kind at once."""
    return details


def _field_of(component: Any, env: Environment) -> str:
    return getattr(component, FIELD_PATH, None) or env.next_field_name or ""


def _evaluate_in_state(component: StringJSONata | StringVariableSample, env: Environment) -> Any:
    source, field = component.expression, _field_of(component, env)
    prefix = f"The JSONata expression '{source}' specified for the field '{field}'"
    try:
        result = evaluate(source, bindings_of(env))
    except JsonataError as error:
        raise evaluation_failure(env, field, f"{prefix} threw an error during evaluation. {error}") from None
    except UnsupportedResultError:
        raise evaluation_failure(env, field, f"{prefix} returned an unsupported result type.") from None
    if result is UNDEFINED:
        raise evaluation_failure(env, field, f"{prefix} returned nothing (undefined).")
    # A whole field (a Choice rule's Condition stands under Choices), not a value in a template.
    expected = _EXPECTED.get("Condition" if field == "Choices/Condition" else field)
    if expected is not None and not _is_a(result, expected):
        raise evaluation_failure(
            env,
            field,
            f"{prefix} returned an unexpected result type. Expected '{expected}', but was '{_kind(result)}' "
            f"for value: {json.dumps(result, separators=(',', ':'))}",
        )
    return result


# What the fields a whole expression fills must hold (the Map's Items is checked by moto, in the
# words recorded on AWS, which these follow).
_EXPECTED: Final = {
    "Condition": "boolean",
    "Seconds": "integer",
    "TimeoutSeconds": "integer",
    "HeartbeatSeconds": "integer",
    "MaxConcurrency": "integer",
    "ToleratedFailureCount": "integer",
    "ToleratedFailurePercentage": "number",
    "Error": "string",
    "Cause": "string",
}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _is_a(value: Any, expected: str) -> bool:
    if expected == "integer":
        return _kind(value) == "number" and float(value).is_integer() and value >= 0
    return _kind(value) == expected


# The attribute that holds where an expression stands in its state ("Output/result").
FIELD_PATH: Final = "_pausable_sfn_field_path"


def plug_in(patches: ExitStack) -> None:
    """Gap 8: moto's JSONata fields and variable references evaluated with the engine above."""

    def string_jsonata(component: StringJSONata, env: Environment) -> None:
        env.stack.append(_evaluate_in_state(component, env))

    def variable_sample(component: StringVariableSample, env: Environment) -> None:
        # "$name" or "$name.path" in a field: a JSONPath into the variable in a JSONPath state
        # ("total.$": "$order.items[0].price"), JSONata in a JSONata state.
        if component.query_language_mode == QueryLanguageMode.JSONata:
            env.stack.append(_evaluate_in_state(component, env))
            return
        env.stack.append(copy.deepcopy(variable_path(env, component.expression)))

    original_visit = Preprocessor.visitString_jsonata

    def visit_string_jsonata(preprocessor: Preprocessor, ctx: Any) -> Any:
        component = original_visit(preprocessor, ctx)
        setattr(component, FIELD_PATH, _field_path(ctx))
        return component

    def assigned_variables(store: VariableStore) -> dict[str, str]:
        # Each value as JSON; moto writes a string between quotes without escaping it.
        return {
            name: json.dumps(store.get(name), separators=(",", ":"), ensure_ascii=False)
            for name in store._declaration_tracing
        }

    patches.enter_context(mock.patch.object(StringJSONata, "_eval_body", string_jsonata))
    patches.enter_context(mock.patch.object(StringVariableSample, "_eval_body", variable_sample))
    patches.enter_context(mock.patch.object(Preprocessor, "visitString_jsonata", visit_string_jsonata))
    patches.enter_context(mock.patch.object(VariableStore, "get_assigned_variables", assigned_variables))


_VARIABLE = re.compile(r"\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<path>.*)", re.DOTALL)


def variable_path(env: Environment, reference: str) -> Any:
    """What a JSONPath variable reference (`$order`, `$order.items[0]`, `$v['b c']`) reads: the
    variable by its name, then the rest of the reference as a JSONPath into its value. A path that
    leads nowhere raises NoSuchJsonPathError, which the state words as Step Functions does."""
    match = _VARIABLE.fullmatch(reference.strip())
    if match is None:
        raise NoSuchJsonPathError(json_path=reference, data=None)
    value = env.variable_store.get(match["name"])
    rest = match["path"]
    if not rest:
        return value
    try:
        return extract_json(f"${rest}", value)
    except NoSuchJsonPathError:
        raise NoSuchJsonPathError(json_path=reference, data=value) from None


def _field_path(ctx: Any) -> str:
    """Where a `{% %}` string stands in its state, as Step Functions names it in a cause: the keys
    from the state's field down to the string ("Output/result"), read from the parse tree."""
    keys: list[str] = []
    node = ctx
    while node is not None and type(node).__name__ != "State_declContext":
        children = node.children or []
        if len(children) >= 3 and isinstance(children[1], TerminalNode) and children[1].getText() == ":":
            keys.append(json.loads(children[0].getText()) if children[0].getText().startswith('"') else "")
        node = node.parentCtx
    return "/".join(reversed(keys))
