"""The contracts of the pausable workflow, defined once: limits, error codes, token fingerprints.

Standard library only. The handlers import this module as part of their asset; the operator
tools, the constructs and the app import the same file from the installed package
(`pausable_sfn.contracts` re-exports it), so a limit or a code cannot drift between them.
"""

import hashlib

# Step Functions' limits for the SendTask* APIs and for a task's output.
MAX_TASK_TOKEN_LENGTH = 2048
MAX_OUTPUT_BYTES = 256 * 1024
MAX_ERROR_LENGTH = 256
MAX_CAUSE_LENGTH = 32768
# Step Functions' limit for an execution's name, and for a state's.
MAX_EXECUTION_NAME_LENGTH = 80
MAX_STATE_NAME_LENGTH = 80
# The longest a Standard execution runs, and so the longest a task can wait for its callback.
MAX_TASK_WAIT_SECONDS = 365 * 24 * 60 * 60
# The longest job the demo's state machine accepts: the longest SQS delay, which is how the
# emulated external service waits.
MAX_JOB_DURATION_SECONDS = 900

# What Step Functions answers a SendTask* call for a task that no longer waits: it was resumed,
# failed or timed out already (TaskTimedOut is the answer for a task resumed before, too).
TASK_CLOSED_CODES = frozenset({"TaskDoesNotExist", "TaskTimedOut"})
TASK_CLOSED = "already resumed or expired: the task no longer waits for a callback"

# The error a callback fails its task with when it names none.
DEFAULT_FAILURE_ERROR = "ExternalJobFailed"
DEFAULT_FAILURE_CAUSE = "The external service reported that the job failed."


# Approval by link. A link holds a random secret of LINK_SECRET_BYTES (256 bits), never the task
# token; the page that it opens decides only on a POST from its own form.
LINK_SECRET_BYTES = 32
APPROVAL_PATH = "approval/"  # under the approval page's URL: <page URL>approval/<secret>
# What a person's rejection fails the task with, and what the page accepts from the person.
REJECTED_ERROR = "Rejected"
MAX_DECIDER_NAME_LENGTH = 100
MAX_COMMENT_LENGTH = 2000
# What an operator sends the approval function for a fresh link, and the errors it may answer.
ISSUE_LINK_ACTION = "issueLink"
APPROVAL_NOT_REQUESTED = "ApprovalNotRequested"
APPROVAL_ALREADY_DECIDED = "ApprovalAlreadyDecided"
APPROVAL_TASK_EXPIRED = "ApprovalTaskExpired"

# Callbacks by business key (a CallbackChannel's correlation registry). A key is the text of a
# string or number the task's expression gives; DynamoDB takes a partition key of 2048 bytes at
# most, which this many characters never exceed in UTF-8.
MAX_CORRELATION_KEY_LENGTH = 512
# How long a callback that came before its task waits is held at most: the longest SQS delay,
# which is how its window is timed.
MAX_EARLY_CALLBACK_WINDOW_SECONDS = 900
# The error a task fails with when another execution's task waits on its key: "<prefix>KeyInUse".
KEY_IN_USE = "KeyInUse"
# What a task does when another execution's task waits on its key: fail with that error, or wait
# in line (first come, first served) until the key is free.
ON_KEY_IN_USE_FAIL = "fail"
ON_KEY_IN_USE_QUEUE = "queue"
# What the registrar fails with when an AWS call it needs failed for a while (a timeout, throttling,
# a 5xx): the task that invoked it retries it, a new attempt with a new token.
REGISTRY_UNAVAILABLE = "RegistryUnavailable"
# What a callback by key is refused with: no task waits on the key (and no window holds it), or
# more than one does (the callback must name the state machine, or the state).
NO_TASK_WAITS_ON_KEY = "NoTaskWaitsOnKey"
AMBIGUOUS_KEY = "AmbiguousKey"
# The EventBridge event that carries a callback by key, unless a channel names its own.
CALLBACK_EVENT_SOURCE = "pausable-sfn.callbacks"
CALLBACK_EVENT_DETAIL_TYPE = "Task Callback"


def fingerprint(task_token: str) -> str:
    """A short, stable name for a task token, safe to log and to compare across log lines. Task
    tokens are credentials: code outside Step Functions only ever shows this."""
    digest = hashlib.sha256(task_token.encode("utf-8")).hexdigest()
    return f"tok-{digest[:12]}"
