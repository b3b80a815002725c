"""Reusable CDK constructs for Step Functions workflows that pause for a task-token callback.

- `PausableTask`: a step that hands its task token to a function, a queue or a topic and waits
  (or waits on a business key; `KeyInUse` says what it does when another task waits on that key).
- `CallbackChannel`: the way back in (SNS topic → resume function → SendTaskSuccess/Failure),
  one per app or team, for any number of tasks and state machines.
- `HumanApproval`: a person decides from a link (a page that decides only on its own form's POST).
- `PausableStateMachine`: the state machine around them, logged without execution data (task
  tokens are credentials), traced, and cdk-nag clean with no suppression of the user's own.
"""

from .callback_channel import CallbackChannel
from .functions import POWERTOOLS_VERSION, FunctionFactory
from .human_approval import HumanApproval
from .pausable_task import KeyInUse, PausableTask
from .state_machine import PausableStateMachine

__all__ = [
    "POWERTOOLS_VERSION",
    "CallbackChannel",
    "FunctionFactory",
    "HumanApproval",
    "KeyInUse",
    "PausableStateMachine",
    "PausableTask",
]
