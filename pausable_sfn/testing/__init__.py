"""What users' tests and ours share: the pytest plugin (plugin.py) that deploys a CDK app on the
embedded AWS once per session and gives each test `embedded_aws`; the execution a test drives
(executions.py); waiting for an outcome on the embedded AWS's clock or in real time (waiting.py).

Importing this package imports neither moto nor the CDK: pytest loads the plugin in every session
of a virtualenv where pausable-sfn is installed, with or without its extras. `Return` and `Throw`
(mocked responses) come from the embedded AWS, imported when first asked for.
"""

from typing import TYPE_CHECKING, Any

from .app_under_test import AppError
from .aws_under_test import AwsUnderTest, StateMachine
from .executions import Execution, ExecutionError, PausedTask, Result, WorkflowError

if TYPE_CHECKING:
    from ..local.stepfunctions.mocking import Return, Throw

__all__ = [
    "AppError",
    "AwsUnderTest",
    "Execution",
    "ExecutionError",
    "PausedTask",
    "Result",
    "Return",
    "StateMachine",
    "Throw",
    "WorkflowError",
]


def __getattr__(name: str) -> Any:
    if name in ("Return", "Throw"):
        from ..local.stepfunctions import mocking

        return getattr(mocking, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
