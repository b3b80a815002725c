"""PausableTask: a step that hands its task token to a service or a person, then waits for the callback."""

import enum
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ..contracts import (
    KEY_IN_USE,
    MAX_STATE_NAME_LENGTH,
    MAX_TASK_WAIT_SECONDS,
    ON_KEY_IN_USE_FAIL,
    ON_KEY_IN_USE_QUEUE,
    REGISTRY_UNAVAILABLE,
)
from .callback_channel import CallbackChannel
from .human_approval import HumanApproval
from .nag import acknowledge

# What the task itself puts into every message: the token to call back with, and the execution
# it belongs to (so that the receiver can log and correlate without a second call).
RESERVED_FIELDS = ("taskToken", "executionId")
FAILED = "Failed"
HEARTBEAT_TIMED_OUT = "HeartbeatTimedOut"
IN_STEP_FUNCTIONS = " in Step Functions"
# The longest error prefix whose state names ("<prefix>Failed in Step Functions") still fit.
MAX_PREFIX = MAX_STATE_NAME_LENGTH - len(FAILED + IN_STEP_FUNCTIONS)
PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
TIMEOUTS = [sfn.Errors.TIMEOUT, sfn.Errors.HEARTBEAT_TIMEOUT]

C = sfn.Condition


class KeyInUse(enum.Enum):
    """What a PausableTask with a `correlation_key` does when another execution's task (of the same
    state) waits on its key: fail with `<prefix>KeyInUse`, or wait in the key's line, first come
    first served, until the tasks ahead have let the key go."""

    FAIL = ON_KEY_IN_USE_FAIL
    QUEUE = ON_KEY_IN_USE_QUEUE


class PausableTask(sfn.StateMachineFragment):
    """A step that pauses the execution until someone calls back with its task token.

    The task state, named by `id`, hands a JSON object {"taskToken", "executionId", **payload} to
    exactly one receiver: `function` (invoked with it), `queue` (sent to it) or `topic` (published
    to it), with the integration pattern WAIT_FOR_TASK_TOKEN. Or it asks a person: with
    `approval` (a HumanApproval), the people subscribed to its topic get a link to a page that
    shows `payload` (what is asked, never the token) and decides; a rejection fails the task with
    the error "Rejected". A queue or topic must be a standard
    one: the task sends no MessageGroupId, which a FIFO one requires. The execution then waits, holding no
    compute, until SendTaskSuccess or SendTaskFailure arrives with the token (a CallbackChannel
    sends them); the callback's output becomes the task's result, at `result_path`.

    `timeout` is required because a pausable task without one waits as long as its execution may
    run, a year, for a callback that may never come (a lost message, a person on holiday). Give it
    as `sfn.Timeout.duration(...)`, or read it from the state with `sfn.Timeout.at("$.path")` when
    it depends on the request. A `heartbeat` ends the wait sooner when the receiver stops sending
    SendTaskHeartbeat: how a long job that died is told from one that is still working.

    How the task ends when no success comes, unless `on_timeout` / `on_failure` replace the ends:
    - the timeout ran out: Fail `<prefix>TimedOut`, whose cause says how long the task allows; the
      heartbeat timeout ran out: Fail `<prefix>HeartbeatTimedOut`, with the same error
      `<prefix>TimedOut` and a cause that names the heartbeat and its period;
    - a callback rejected the task (SendTaskFailure): Fail `<prefix>Failed`, which keeps the
      callback's own error and cause, so the execution fails with "Rejected" if that was said;
    - the hand-off itself failed (Step Functions' own States.* errors, which a Fail state may not
      raise): Fail `<prefix>Failed in Step Functions`, error `<prefix>Failed`, cause "States.X: cause".
    Either way the caught error is written to `failure_path`. `error_prefix` defaults to the id in
    PascalCase ("Approve order" gives ApproveOrder), so that two tasks never share a state name.

    With a `correlation_key` (a JSONPath such as "$.order.id", or an intrinsic made with
    sfn.JsonPath.format; in a JSONata task a "{% ... %}" expression), the task waits on that
    business key instead of handing its token out: it invokes the registrar of `channel`, which
    registers the token under the key, scoped to this state machine and state, and hands the
    receiver the payload with "correlationKey" and without "taskToken". Whoever knows the key
    calls back through the channel (its topic, an EventBridge event, or `pausable-sfn resume
    --key`), never with the token. A callback that came first is applied at once; when another
    execution's task waits on the key, the task fails with `<prefix>KeyInUse`, whose cause names
    that execution; with `on_key_in_use=KeyInUse.QUEUE` it waits in the key's line instead, and
    its receiver gets the payload once the tasks ahead have let the key go. With a key, the
    receiver may be left out: the task then only waits. A key that is null at run time means: no
    key this time, the task hands its token out as without one.

    A fragment, chained like a state: `check.next(approve).next(ship)`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        function: lambda_.IFunction | None = None,
        queue: sqs.IQueue | None = None,
        topic: sns.ITopic | None = None,
        approval: HumanApproval | None = None,
        timeout: sfn.Timeout,
        heartbeat: Duration | None = None,
        payload: Mapping[str, Any] | None = None,
        result_path: str | None = None,
        error_prefix: str | None = None,
        on_timeout: sfn.IChainable | None = None,
        on_failure: sfn.IChainable | None = None,
        failure_path: str | None = None,
        comment: str | None = None,
        query_language: sfn.QueryLanguage | None = None,
        output: Any = None,
        assign: Mapping[str, Any] | None = None,
        correlation_key: str | None = None,
        channel: CallbackChannel | None = None,
        on_key_in_use: KeyInUse = KeyInUse.FAIL,
    ) -> None:
        fields = dict(payload or {})
        self.jsonata = query_language == sfn.QueryLanguage.JSONATA
        # Checked before the construct joins the tree: a refused task leaves nothing behind.
        _validate_correlation(id, correlation_key, channel, on_key_in_use, approval=approval, jsonata=self.jsonata)
        prefix = _validate(
            id,
            receivers={"function": function, "queue": queue, "topic": topic, "approval": approval},
            may_have_no_receiver=correlation_key is not None,
            timeout=timeout,
            heartbeat=heartbeat,
            payload=fields,
            error_prefix=error_prefix,
            failure_path=failure_path,
            reads_timeout_after_failure=on_timeout is None,
            jsonata=self.jsonata,
            jsonpath_only={"result_path": result_path, "failure_path": failure_path},
            jsonata_only={"output": output, "assign": assign},
        )
        super().__init__(scope, id)
        self.approval = approval
        context = _JSONATA_CONTEXT if self.jsonata else _JSONPATH_CONTEXT
        if approval is not None:
            function = approval.request_function
            # The approval function's request: the token, and when and where the task waits.
            fields = {
                "stateName": context["stateName"],
                "pausedAt": context["pausedAt"],
                "timeoutSeconds": _timeout_value(timeout),
                "summary": fields,
            }
        self.error_prefix = prefix
        self.timed_out_error = f"{prefix}TimedOut"
        self.failed_error = f"{prefix}{FAILED}"
        self.key_in_use_error = f"{prefix}{KEY_IN_USE}"
        self._failure_path = failure_path or DEFAULT_FAILURE_PATH
        self.correlation_key = correlation_key
        self.on_key_in_use = on_key_in_use
        self.channel = channel
        # Where the payload goes: the task's own receiver, or, with a key, the channel's registrar,
        # which hands it on. `function`, `queue` and `topic` are what the state machine calls.
        self.receiver: lambda_.IFunction | sqs.IQueue | sns.ITopic | None = function or queue or topic
        self.forward_policy: iam.Policy | None = None
        if correlation_key is not None:
            assert channel is not None  # _validate_correlation made sure
            registry = channel.correlation
            message = sfn.TaskInput.from_object(
                {
                    "taskToken": context["taskToken"],
                    "executionId": context["executionId"],
                    "correlationKey": _key_value(correlation_key, self.jsonata),
                    "stateMachine": context["stateMachine"],
                    "state": context["stateName"],
                    "pausedAt": context["pausedAt"],
                    "timeoutSeconds": _timeout_value(timeout),
                    "keyInUseError": self.key_in_use_error,
                    **({"onKeyInUse": on_key_in_use.value} if on_key_in_use is KeyInUse.QUEUE else {}),
                    **({"receiver": _receiver_field(function, queue, topic)} if self.receiver is not None else {}),
                    "payload": fields,
                }
            )
            self.forward_policy = _forward_policy(self, registry.registrar, function, queue, topic)
            function, queue, topic = registry.registrar, None, None
        else:
            message = sfn.TaskInput.from_object(
                {"taskToken": context["taskToken"], "executionId": context["executionId"], **fields}
            )
        self.function, self.queue, self.topic = function, queue, topic
        options: dict[str, Any] = {
            "comment": comment,
            "integration_pattern": sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            "task_timeout": timeout,
            "heartbeat_timeout": sfn.Timeout.duration(heartbeat) if heartbeat is not None else None,
        }
        if self.jsonata:
            options.update(outputs=output, assign=assign)
        else:
            options["result_path"] = result_path
        self.task = _hand_off(
            self,
            id,
            function=function,
            queue=queue,
            topic=topic,
            message=message,
            options=options,
            jsonata=self.jsonata,
        )
        if correlation_key is not None:
            # The registrar could not reach AWS for a while (a timeout, throttling): a new attempt
            # registers again, with a new token (the first one's task has closed).
            self.task.add_retry(
                errors=[REGISTRY_UNAVAILABLE], interval=Duration.seconds(2), backoff_rate=2, max_attempts=3
            )
        # The timeouts first: the catch-all below would take them otherwise. Which clock ran out is
        # told by which Catch took the error, not by its name: Step Functions records a heartbeat
        # timeout as States.Timeout, and only a Catch naming States.HeartbeatTimeout sets it apart.
        # A JSONata Catch has no ResultPath: the next state's input is the error output itself.
        caught: dict[str, Any] = {} if self.jsonata else {"result_path": self._failure_path}
        if on_timeout is not None:
            self.task.add_catch(on_timeout, errors=TIMEOUTS, **caught)
        else:
            if heartbeat is not None:
                heartbeat_end = self._heartbeat_timed_out(heartbeat)
                self.task.add_catch(heartbeat_end, errors=[sfn.Errors.HEARTBEAT_TIMEOUT], **caught)
            timed_out, timeout_caught = self._timed_out(timeout)
            self.task.add_catch(timed_out, errors=[sfn.Errors.TIMEOUT], **(timeout_caught or caught))
        self.task.add_catch(on_failure or self._failed(), errors=[sfn.Errors.ALL], **caught)

    @property
    def start_state(self) -> sfn.State:
        return self.task

    @property
    def end_states(self) -> list[sfn.INextable]:
        """Only the task: the failure ends are Fail states, and chains given for them end where
        their author made them end."""
        return [self.task]

    def _timed_out(self, timeout: sfn.Timeout) -> tuple[sfn.Fail, dict[str, Any] | None]:
        """The timed-out end, and the options of the Catch that leads to it where they are its own."""
        cause = "No callback arrived in time (States.Timeout; the task allows {} seconds)."
        if timeout.path:
            read = sfn.JsonPath.format(cause, sfn.JsonPath.string_at(timeout.path))
            end = sfn.Fail(self, self.timed_out_error, error=self.timed_out_error, cause_path=read)
            return end, None
        if timeout.jsonata_expression:
            # The Catch writes the allowed seconds beside the error, evaluated where the task's
            # own input is still at hand; the Fail state reads them there.
            allowed = _expression_body(timeout.jsonata_expression)
            caught = {"outputs": f"{{% $merge([$states.errorOutput, {{'allowedSeconds': {allowed}}}]) %}}"}
            before, after = cause.split("{}")
            written = f"{{% '{before}' & $string($states.input.allowedSeconds) & '{after}' %}}"
            return sfn.Fail.jsonata(self, self.timed_out_error, error=self.timed_out_error, cause=written), caught
        allowed_seconds = cause.format(f"{timeout.seconds:.0f}")
        return self._fail(self.timed_out_error, error=self.timed_out_error, cause=allowed_seconds), None

    def _heartbeat_timed_out(self, heartbeat: Duration) -> sfn.Fail:
        return self._fail(
            f"{self.error_prefix}{HEARTBEAT_TIMED_OUT}",
            error=self.timed_out_error,
            cause=(
                "No callback arrived in time (States.HeartbeatTimeout; the task allows "
                f"{heartbeat.to_seconds():.0f} seconds between heartbeats)."
            ),
        )

    def _fail(self, state_name: str, *, error: str, cause: str) -> sfn.Fail:
        """A Fail state with a fixed error and cause, in the task's query language."""
        if self.jsonata:
            return sfn.Fail.jsonata(self, state_name, error=error, cause=cause)
        return sfn.Fail(self, state_name, error=error, cause=cause)

    def _failed(self) -> sfn.Choice:
        """A rejection keeps the error and cause its callback gave. Errors named States.* (a failed
        invocation or delivery, a runtime error) are Step Functions' own: a Fail state may not raise
        them, so the execution fails with `<prefix>Failed` and a cause that names the original."""
        if self.jsonata:
            return self._failed_in_jsonata()
        error, cause = f"{self._failure_path}.Error", f"{self._failure_path}.Cause"
        return (
            sfn.Choice(self, f"Read the {self.error_prefix} error")
            .when(
                C.string_matches(error, "States.*"),
                sfn.Fail(
                    self,
                    f"{self.failed_error}{IN_STEP_FUNCTIONS}",
                    error=self.failed_error,
                    cause_path=sfn.JsonPath.format(
                        "{}: {}", sfn.JsonPath.string_at(error), sfn.JsonPath.string_at(cause)
                    ),
                ),
            )
            .otherwise(sfn.Fail(self, self.failed_error, error_path=error, cause_path=cause))
        )

    def _failed_in_jsonata(self) -> sfn.Choice:
        # The caught error output is the input here. A callback may give no cause (null), and a
        # Fail state's Cause must be a string.
        cause = "($states.input.Cause ? $states.input.Cause : '')"
        return (
            sfn.Choice.jsonata(self, f"Read the {self.error_prefix} error")
            .when(
                # $string: a callback may give no error at all (null), which $substring refuses.
                sfn.Condition.jsonata("{% $substring($string($states.input.Error), 0, 7) = 'States.' %}"),
                sfn.Fail.jsonata(
                    self,
                    f"{self.failed_error}{IN_STEP_FUNCTIONS}",
                    error=self.failed_error,
                    cause=f"{{% $states.input.Error & ': ' & {cause} %}}",
                ),
            )
            .otherwise(
                sfn.Fail.jsonata(
                    self,
                    self.failed_error,
                    error=f"{{% $states.input.Error ? $states.input.Error : '{self.failed_error}' %}}",
                    cause=f"{{% {cause} %}}",
                )
            )
        )


def _hand_off(
    scope: Construct,
    state_name: str,
    *,
    function: lambda_.IFunction | None,
    queue: sqs.IQueue | None,
    topic: sns.ITopic | None,
    message: sfn.TaskInput,
    options: dict[str, Any],
    jsonata: bool,
) -> sfn.TaskStateBase:
    """The task state that gives `message` to the one receiver there is."""
    if function is not None:
        invoke = tasks.LambdaInvoke.jsonata if jsonata else tasks.LambdaInvoke
        return invoke(scope, state_name, lambda_function=function, payload=message, **options)
    if queue is not None:
        send = tasks.SqsSendMessage.jsonata if jsonata else tasks.SqsSendMessage
        return send(scope, state_name, queue=queue, message_body=message, **options)
    assert topic is not None  # _validate made sure there is exactly one receiver
    publish = tasks.SnsPublish.jsonata if jsonata else tasks.SnsPublish
    return publish(scope, state_name, topic=topic, message=message, **options)


# What the task puts into its message, and an approval's request, in each query language.
_JSONPATH_CONTEXT: dict[str, Any] = {
    "taskToken": sfn.JsonPath.task_token,
    "executionId": sfn.JsonPath.execution_id,
    "stateName": sfn.JsonPath.string_at("$$.State.Name"),
    "pausedAt": sfn.JsonPath.string_at("$$.State.EnteredTime"),
    "stateMachine": sfn.JsonPath.string_at("$$.StateMachine.Id"),
}
_JSONATA_CONTEXT: dict[str, Any] = {
    "taskToken": "{% $states.context.Task.Token %}",
    "executionId": "{% $states.context.Execution.Id %}",
    "stateName": "{% $states.context.State.Name %}",
    "pausedAt": "{% $states.context.State.EnteredTime %}",
    "stateMachine": "{% $states.context.StateMachine.Id %}",
}
DEFAULT_FAILURE_PATH = "$.failure"


def _timeout_value(timeout: sfn.Timeout) -> Any:
    """The task's timeout in seconds, as a field of its message: a number, a path or an expression."""
    if timeout.path:
        return sfn.JsonPath.number_at(timeout.path)
    if timeout.jsonata_expression:
        return timeout.jsonata_expression
    return int(timeout.seconds or 0)


def _expression_body(expression: str) -> str:
    """`{% $x + 1 %}` → `($x + 1)`: an expression's body, to be written inside another."""
    return f"({expression.strip().removeprefix('{%').removesuffix('%}').strip()})"


def pascal_case(text: str) -> str:
    """ "Approve order" → "ApproveOrder": the words of `text`, each with a capital, nothing between."""
    return "".join(word[0].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", text))


def _validate(
    id: str,
    *,
    receivers: dict[str, object | None],
    may_have_no_receiver: bool,
    timeout: sfn.Timeout,
    heartbeat: Duration | None,
    payload: Mapping[str, Any],
    error_prefix: str | None,
    failure_path: str | None,
    reads_timeout_after_failure: bool,
    jsonata: bool,
    jsonpath_only: Mapping[str, Any],
    jsonata_only: Mapping[str, Any],
) -> str:
    """Refuses props that would synthesize a task that cannot work; returns the error prefix."""

    def invalid(message: str) -> ValueError:
        return ValueError(f"PausableTask '{id}': {message}")

    if len(id) > MAX_STATE_NAME_LENGTH:
        raise invalid(f"id names the task state, and a state's name has at most {MAX_STATE_NAME_LENGTH} characters")
    given = [name for name, receiver in receivers.items() if receiver is not None]
    if len(given) > 1 or (not given and not may_have_no_receiver):
        raise invalid(
            "give exactly one of function, queue, topic or approval to hand the task token to, "
            f"not {' and '.join(given) or 'none'}"
        )

    # The task sends no MessageGroupId (nor a deduplication id): a FIFO receiver would refuse
    # every hand-off at run time, so it is refused here, where the cause is plain.
    for kind in ("queue", "topic"):
        if getattr(receivers[kind], "fifo", False) is True:
            raise invalid(
                f"{kind} is a FIFO {kind}, which takes a message only with a MessageGroupId, and the task "
                f"sends none: give a standard {kind}"
            )

    if timeout.seconds is not None and not 1 <= timeout.seconds <= MAX_TASK_WAIT_SECONDS:
        raise invalid(
            f"timeout ({_iso(timeout.seconds)}) must be from 1 second to a year (P365D), "
            "the longest a Standard execution runs"
        )
    if heartbeat is not None and receivers.get("approval") is not None:
        raise invalid(
            "heartbeat cannot go with approval: a person sends no heartbeats, so the task would time out at the "
            "first heartbeat timeout; give a timeout only"
        )
    if heartbeat is not None:
        milliseconds = heartbeat.to_milliseconds()
        if milliseconds < 1000 or milliseconds % 1000:
            raise invalid(f"heartbeat ({heartbeat.to_iso_string()}) must be a whole number of seconds, at least 1")
        if timeout.seconds is not None and milliseconds >= timeout.seconds * 1000:
            raise invalid(
                f"heartbeat ({heartbeat.to_iso_string()}) must be shorter than timeout ({_iso(timeout.seconds)})"
            )

    _validate_query_language(invalid, jsonata, timeout, payload, jsonpath_only, jsonata_only)
    reserved = [key for key in payload if key.removesuffix(".$") in RESERVED_FIELDS]
    if reserved:
        raise invalid(f"payload may not set {', '.join(reserved)}: the task sets taskToken and executionId itself")
    if may_have_no_receiver and any(key.removesuffix(".$") == "correlationKey" for key in payload):
        raise invalid("payload may not set correlationKey: with a correlation_key, the task sets it itself")

    failure_path = failure_path or DEFAULT_FAILURE_PATH
    if not failure_path.startswith("$."):
        raise invalid(
            f"failure_path ({failure_path}) must be a field of the state, like $.failure: the caught "
            "error is written there, and the rest of the state is kept beside it"
        )
    if reads_timeout_after_failure and timeout.path and _within(timeout.path, failure_path):
        raise invalid(
            f"timeout ({timeout.path}) is read again after a timeout, to say how long the task allows, "
            f"but the caught error overwrites it at failure_path ({failure_path})"
        )

    prefix = pascal_case(id) if error_prefix is None else error_prefix
    if not PREFIX.fullmatch(prefix) or len(prefix) > MAX_PREFIX:
        if error_prefix is None:
            raise invalid(f"error_prefix cannot be derived from the id ({prefix!r} is not a valid one): give it")
        raise invalid(
            f"error_prefix ({error_prefix!r}) must start with a letter, hold only letters, digits, - and _, "
            f"and have at most {MAX_PREFIX} characters: error and state names are made from it"
        )
    return prefix


def _validate_query_language(
    invalid: Any,
    jsonata: bool,
    timeout: sfn.Timeout,
    payload: Mapping[str, Any],
    jsonpath_only: Mapping[str, Any],
    jsonata_only: Mapping[str, Any],
) -> None:
    """Each prop in the query language it belongs to: a JSONata state has no paths, a JSONPath
    state no expressions."""
    language, other = ("JSONata", "JSONPath") if jsonata else ("JSONPath", "JSONata")
    wrong = [name for name, value in (jsonpath_only if jsonata else jsonata_only).items() if value is not None]
    if wrong:
        instead = "give output= or assign= instead" if jsonata else "give result_path= instead"
        verb = "belongs" if len(wrong) == 1 else "belong"
        raise invalid(f"{' and '.join(wrong)} {verb} to {other} tasks, and this one is {language}: {instead}")
    if jsonata and timeout.path:
        raise invalid(
            f"timeout reads a JSONPath ({timeout.path}) and the task is JSONata: give "
            "sfn.Timeout.jsonata('{% ... %}') or a duration"
        )
    if not jsonata and timeout.jsonata_expression:
        raise invalid("timeout is a JSONata expression and the task is JSONPath: give query_language=JSONATA")
    if jsonata:
        paths = _jsonpath_fields(payload)
        if paths:
            raise invalid(
                f"payload keys {', '.join(paths)} are JSONPath; in a JSONata task a value is an expression: "
                '{"key": "{% $states.input.x %}"}'
            )


def _jsonpath_fields(value: Any, where: str = "") -> list[str]:
    """The fields of a payload, at any depth, that are JSONPath: a "key.$" or a value made with
    sfn.JsonPath (which a JSONata state would send as the literal text of the path)."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if str(key).endswith(".$") or (isinstance(item, str) and sfn.JsonPath.is_encoded_json_path(item)):
                found.append(name)
            else:
                found.extend(_jsonpath_fields(item, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_jsonpath_fields(item, f"{where}[{index}]"))
    return found


def _iso(seconds: float) -> str:
    return Duration.seconds(seconds).to_iso_string()


def _within(path: str, parent: str) -> bool:
    return path == parent or path.startswith((f"{parent}.", f"{parent}["))


def _validate_correlation(
    id: str,
    key: str | None,
    channel: CallbackChannel | None,
    on_key_in_use: KeyInUse,
    *,
    approval: HumanApproval | None,
    jsonata: bool,
) -> None:
    def invalid(message: str) -> ValueError:
        return ValueError(f"PausableTask '{id}': {message}")

    if not isinstance(on_key_in_use, KeyInUse):
        raise invalid(f"on_key_in_use is KeyInUse.FAIL or KeyInUse.QUEUE, not {on_key_in_use!r}")
    if on_key_in_use is KeyInUse.QUEUE and key is None:
        raise invalid("on_key_in_use goes with correlation_key: only a key can be in use")
    if key is None:
        if channel is not None:
            raise invalid("channel goes with correlation_key: it is the channel whose registry knows the key")
        return
    if channel is None:
        raise invalid("correlation_key needs channel=: the CallbackChannel whose callbacks name the key")
    if approval is not None:
        raise invalid(
            "correlation_key cannot go with approval: a person decides from a link, which names the task already"
        )
    if jsonata:
        if not (key.strip().startswith("{%") and key.strip().endswith("%}")):
            raise invalid(f"correlation_key {key!r} must be a JSONata expression in a JSONata task: '{{% ... %}}'")
    elif not (key.startswith("$") or sfn.JsonPath.is_encoded_json_path(key) or Token.is_unresolved(key)):
        raise invalid(
            f"correlation_key {key!r} must be a JSONPath (like $.order.id) or an intrinsic function made with "
            "sfn.JsonPath: the key is read from the state when the task waits"
        )


def _key_value(key: str, jsonata: bool) -> Any:
    """The key as the task's parameters read it: a path or intrinsic (JSONPath), or the expression."""
    if jsonata or sfn.JsonPath.is_encoded_json_path(key) or Token.is_unresolved(key):
        return key
    return sfn.JsonPath.string_at(key)


def _receiver_field(
    function: lambda_.IFunction | None, queue: sqs.IQueue | None, topic: sns.ITopic | None
) -> dict[str, str]:
    if function is not None:
        return {"function": function.function_arn}
    if queue is not None:
        return {"queue": queue.queue_url}
    assert topic is not None
    return {"topic": topic.topic_arn}


def _forward_policy(
    task: Construct,
    registrar: lambda_.Function,
    function: lambda_.IFunction | None,
    queue: sqs.IQueue | None,
    topic: sns.ITopic | None,
) -> iam.Policy | None:
    """What the registrar needs to hand this task's payload to its receiver, and nothing more: a
    policy of the task's own stack, attached to the registrar's role, so that a channel of another
    stack never depends on this one."""
    statements: list[iam.PolicyStatement] = []
    key = None
    if function is not None:
        statements.append(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[function.function_arn]))
    elif queue is not None:
        statements.append(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))
        key = queue.encryption_master_key
    elif topic is not None:
        statements.append(iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]))
        key = topic.master_key
    else:
        return None
    alias = getattr(key, "alias_name", None)
    aws_managed = isinstance(alias, str) and not Token.is_unresolved(alias) and alias.startswith("alias/aws/")
    if key is not None and not aws_managed:
        statements.append(iam.PolicyStatement(actions=["kms:GenerateDataKey*", "kms:Decrypt"], resources=[key.key_arn]))
    role = registrar.role
    assert role is not None
    policy = iam.Policy(task, "HandOnToReceiver", statements=statements, roles=[role])
    if len(statements) > 1:
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Encrypting the payload the registrar hands on with the customer managed key of the task's queue or "
            "topic, on that key only; the wildcard covers GenerateDataKey and GenerateDataKeyWithoutPlaintext.",
        )
    return policy
