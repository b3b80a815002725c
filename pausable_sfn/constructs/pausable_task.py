"""PausableTask: a step that hands its task token to a service or a person, then waits for the callback."""

import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ..contracts import MAX_STATE_NAME_LENGTH, MAX_TASK_WAIT_SECONDS
from .human_approval import HumanApproval

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
        failure_path: str = "$.failure",
        comment: str | None = None,
    ) -> None:
        fields = dict(payload or {})
        # Checked before the construct joins the tree: a refused task leaves nothing behind.
        prefix = _validate(
            id,
            receivers={"function": function, "queue": queue, "topic": topic, "approval": approval},
            timeout=timeout,
            heartbeat=heartbeat,
            payload=fields,
            error_prefix=error_prefix,
            failure_path=failure_path,
            reads_timeout_after_failure=on_timeout is None,
        )
        super().__init__(scope, id)
        self.approval = approval
        if approval is not None:
            function = approval.request_function
            # The approval function's request: the token, and when and where the task waits.
            fields = {
                "stateName": sfn.JsonPath.string_at("$$.State.Name"),
                "pausedAt": sfn.JsonPath.string_at("$$.State.EnteredTime"),
                "timeoutSeconds": (sfn.JsonPath.number_at(timeout.path) if timeout.path else int(timeout.seconds or 0)),
                "summary": fields,
            }
        self.function, self.queue, self.topic = function, queue, topic
        self.error_prefix = prefix
        self.timed_out_error = f"{prefix}TimedOut"
        self.failed_error = f"{prefix}{FAILED}"
        self._failure_path = failure_path

        message = sfn.TaskInput.from_object(
            {"taskToken": sfn.JsonPath.task_token, "executionId": sfn.JsonPath.execution_id, **fields}
        )
        self.task = _hand_off(
            self,
            id,
            function=function,
            queue=queue,
            topic=topic,
            message=message,
            options={
                "comment": comment,
                "integration_pattern": sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
                "result_path": result_path,
                "task_timeout": timeout,
                "heartbeat_timeout": sfn.Timeout.duration(heartbeat) if heartbeat is not None else None,
            },
        )
        # The timeouts first: the catch-all below would take them otherwise. Which clock ran out is
        # told by which Catch took the error, not by its name: Step Functions records a heartbeat
        # timeout as States.Timeout, and only a Catch naming States.HeartbeatTimeout sets it apart.
        if on_timeout is not None:
            self.task.add_catch(on_timeout, errors=TIMEOUTS, result_path=failure_path)
        else:
            if heartbeat is not None:
                heartbeat_end = self._heartbeat_timed_out(heartbeat)
                self.task.add_catch(heartbeat_end, errors=[sfn.Errors.HEARTBEAT_TIMEOUT], result_path=failure_path)
            self.task.add_catch(self._timed_out(timeout), errors=[sfn.Errors.TIMEOUT], result_path=failure_path)
        self.task.add_catch(on_failure or self._failed(), errors=[sfn.Errors.ALL], result_path=failure_path)

    @property
    def start_state(self) -> sfn.State:
        return self.task

    @property
    def end_states(self) -> list[sfn.INextable]:
        """Only the task: the failure ends are Fail states, and chains given for them end where
        their author made them end."""
        return [self.task]

    def _timed_out(self, timeout: sfn.Timeout) -> sfn.Fail:
        cause = "No callback arrived in time (States.Timeout; the task allows {} seconds)."
        if timeout.path:
            return sfn.Fail(
                self,
                self.timed_out_error,
                error=self.timed_out_error,
                cause_path=sfn.JsonPath.format(cause, sfn.JsonPath.string_at(timeout.path)),
            )
        return sfn.Fail(
            self, self.timed_out_error, error=self.timed_out_error, cause=cause.format(f"{timeout.seconds:.0f}")
        )

    def _heartbeat_timed_out(self, heartbeat: Duration) -> sfn.Fail:
        return sfn.Fail(
            self,
            f"{self.error_prefix}{HEARTBEAT_TIMED_OUT}",
            error=self.timed_out_error,
            cause=(
                "No callback arrived in time (States.HeartbeatTimeout; the task allows "
                f"{heartbeat.to_seconds():.0f} seconds between heartbeats)."
            ),
        )

    def _failed(self) -> sfn.Choice:
        """A rejection keeps the error and cause its callback gave. Errors named States.* (a failed
        invocation or delivery, a runtime error) are Step Functions' own: a Fail state may not raise
        them, so the execution fails with `<prefix>Failed` and a cause that names the original."""
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


def _hand_off(
    scope: Construct,
    state_name: str,
    *,
    function: lambda_.IFunction | None,
    queue: sqs.IQueue | None,
    topic: sns.ITopic | None,
    message: sfn.TaskInput,
    options: dict[str, Any],
) -> sfn.TaskStateBase:
    """The task state that gives `message` to the one receiver there is."""
    if function is not None:
        return tasks.LambdaInvoke(scope, state_name, lambda_function=function, payload=message, **options)
    if queue is not None:
        return tasks.SqsSendMessage(scope, state_name, queue=queue, message_body=message, **options)
    assert topic is not None  # _validate made sure there is exactly one receiver
    return tasks.SnsPublish(scope, state_name, topic=topic, message=message, **options)


def pascal_case(text: str) -> str:
    """ "Approve order" → "ApproveOrder": the words of `text`, each with a capital, nothing between."""
    return "".join(word[0].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", text))


def _validate(
    id: str,
    *,
    receivers: dict[str, object | None],
    timeout: sfn.Timeout,
    heartbeat: Duration | None,
    payload: Mapping[str, Any],
    error_prefix: str | None,
    failure_path: str,
    reads_timeout_after_failure: bool,
) -> str:
    """Refuses props that would synthesize a task that cannot work; returns the error prefix."""

    def invalid(message: str) -> ValueError:
        return ValueError(f"PausableTask '{id}': {message}")

    if len(id) > MAX_STATE_NAME_LENGTH:
        raise invalid(f"id names the task state, and a state's name has at most {MAX_STATE_NAME_LENGTH} characters")
    given = [name for name, receiver in receivers.items() if receiver is not None]
    if len(given) != 1:
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

    reserved = [key for key in payload if key.removesuffix(".$") in RESERVED_FIELDS]
    if reserved:
        raise invalid(f"payload may not set {', '.join(reserved)}: the task sets taskToken and executionId itself")

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


def _iso(seconds: float) -> str:
    return Duration.seconds(seconds).to_iso_string()


def _within(path: str, parent: str) -> bool:
    return path == parent or path.startswith((f"{parent}.", f"{parent}["))
