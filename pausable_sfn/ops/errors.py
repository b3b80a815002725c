"""The outcomes an operation reports to the person who asked, as exception types (no boto3 here:
the token locator, which is pure, raises them too)."""

from ..contracts import TASK_CLOSED


class OperationError(Exception):
    """The operation could not be done; the message says why, for the person who asked."""


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
        super().__init__(f"cannot find the task token of state {state!r}: {reason}; pass it with --token")
        self.state = state
