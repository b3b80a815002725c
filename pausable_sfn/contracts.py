"""The contracts users and tools share, in one place: limits, error codes, the token fingerprint.

Nothing of the demo app is here: its names are in `pausable_sfn.app.names`.

The limits, the "task closed" codes and the token fingerprint are defined in the Lambda asset's
`handlers/contracts.py`, because the asset may import nothing from this package; they are
re-exported here, from that very file, for the operator tools, the constructs and the app.
"""

from .lambda_asset.handlers.contracts import (
    AMBIGUOUS_KEY,
    APPROVAL_ALREADY_DECIDED,
    APPROVAL_NOT_REQUESTED,
    APPROVAL_TASK_EXPIRED,
    CALLBACK_EVENT_DETAIL_TYPE,
    CALLBACK_EVENT_SOURCE,
    DEFAULT_FAILURE_CAUSE,
    DEFAULT_FAILURE_ERROR,
    ISSUE_LINK_ACTION,
    KEY_IN_USE,
    MAX_CAUSE_LENGTH,
    MAX_CORRELATION_KEY_LENGTH,
    MAX_EARLY_CALLBACK_WINDOW_SECONDS,
    MAX_ERROR_LENGTH,
    MAX_EXECUTION_NAME_LENGTH,
    MAX_JOB_DURATION_SECONDS,
    MAX_OUTPUT_BYTES,
    MAX_STATE_NAME_LENGTH,
    MAX_TASK_TOKEN_LENGTH,
    MAX_TASK_WAIT_SECONDS,
    NO_TASK_WAITS_ON_KEY,
    ON_KEY_IN_USE_FAIL,
    ON_KEY_IN_USE_QUEUE,
    REGISTRY_UNAVAILABLE,
    REJECTED_ERROR,
    TASK_CLOSED,
    TASK_CLOSED_CODES,
    fingerprint,
)

# The most calls at once that `resume --all-paused --concurrency` may make (the CLI checks it,
# the operations size their connection pool from it).
MAX_CONCURRENCY = 32

__all__ = [
    "AMBIGUOUS_KEY",
    "APPROVAL_ALREADY_DECIDED",
    "APPROVAL_NOT_REQUESTED",
    "APPROVAL_TASK_EXPIRED",
    "CALLBACK_EVENT_DETAIL_TYPE",
    "CALLBACK_EVENT_SOURCE",
    "DEFAULT_FAILURE_CAUSE",
    "DEFAULT_FAILURE_ERROR",
    "ISSUE_LINK_ACTION",
    "KEY_IN_USE",
    "MAX_CAUSE_LENGTH",
    "MAX_CONCURRENCY",
    "MAX_CORRELATION_KEY_LENGTH",
    "MAX_EARLY_CALLBACK_WINDOW_SECONDS",
    "MAX_ERROR_LENGTH",
    "MAX_EXECUTION_NAME_LENGTH",
    "MAX_JOB_DURATION_SECONDS",
    "MAX_OUTPUT_BYTES",
    "MAX_STATE_NAME_LENGTH",
    "MAX_TASK_TOKEN_LENGTH",
    "MAX_TASK_WAIT_SECONDS",
    "NO_TASK_WAITS_ON_KEY",
    "ON_KEY_IN_USE_FAIL",
    "ON_KEY_IN_USE_QUEUE",
    "REGISTRY_UNAVAILABLE",
    "REJECTED_ERROR",
    "TASK_CLOSED",
    "TASK_CLOSED_CODES",
    "fingerprint",
]
