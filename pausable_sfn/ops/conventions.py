"""What an app tells the generic tools about itself, so that they need not know it.

The operations, the operator CLI and the console work on any state machine named by its ARN and
need nothing of this. An app that wants `--stack` to have a default, its outputs to be found by
name, or the CLI's shortcuts (`start --manual`, `--job-duration`, `--manual-only`) describes itself
with an AppConventions; `pausable_sfn.app.conventions` is the demo's. Standard library only: the
CLI builds its parser from one before anything slow is imported.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class StackOutputs:
    """Which of a deployed stack's CloudFormation outputs name what the operations use."""

    state_machine_arn: str
    resume_function: str | None = None  # CallbackChannel's resume function, for `resume --via-lambda`
    approval_function: str | None = None  # HumanApproval's request function, for approval links


@dataclass(frozen=True)
class AppConventions:
    """An app's stack, outputs and input fields. Every field may be left out: a tool then offers only
    what it can do without it (no default stack, no `start --manual`, no manual mode)."""

    stack: str | None = None  # what --stack means when neither it nor --state-machine is given
    outputs: StackOutputs | None = None
    # The field beside the token in a task's payload that says a person holds the token (true) or a
    # service does (false).
    manual_flag: str | None = None
    # Added to the execution input by `start --manual`.
    manual_input: Mapping[str, Any] | None = None
    # The input field `start --job-duration SECONDS` sets.
    job_duration_input: str | None = None
    # Inputs offered one click away on the console's Start page, by their label.
    start_examples: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))


NO_APP = AppConventions()
