"""The outcomes an operation reports to the person who asked, as exception types (no boto3 here:
the token locator, which is pure, raises them too)."""

from ..contracts import TASK_CLOSED


class OperationError(Exception):
    """The operation could not be done; the message says why, for the person who asked.

    The message may tell a person at the command line what to type (a flag, a command); `reason`
    says the same without it, for a tool that has no command line (the console), which says what to
    do in its own terms. Without a `reason`, the message names nothing of the command line."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = message if reason is None else reason


class UsageError(OperationError):
    """What was asked is malformed (bad JSON, an output too large, not an ARN): nothing was sent."""


class ExecutionNotFoundError(OperationError):
    """No execution has that name or ARN (or the ARN is not an execution's)."""

    def __init__(self, execution: str) -> None:
        super().__init__(f"execution {execution} not found")


class TaskClosedError(OperationError):
    """The task no longer waits for a callback: resumed, failed or timed out already."""

    def __init__(self) -> None:
        super().__init__(TASK_CLOSED)


class TokenNotFoundError(OperationError):
    """The task waits, but where its token is cannot be told exactly from the state machine's
    definition (the token is inside a string, say): no field is guessed at."""

    def __init__(self, state: str, reason: str) -> None:
        found = f"cannot find the task token of state {state!r}: {reason}"
        super().__init__(f"{found}; pass it with --token", reason=found)
        self.state = state
