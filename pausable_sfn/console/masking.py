"""What the console shows of a history: every task token as its fingerprint, never the token.

A waiting task's token is in the parameters its TaskScheduled event records, at the path its
state's definition gives (ops/tokens.py). That token is then replaced by its fingerprint wherever
the page shows it: events, states' inputs and outputs. When no path leads to it (a definition that
builds the token into a string with States.Format, or an event the console cannot tie to its state)
the token cannot be told apart from the rest of the parameters, so the parameters are not shown.
"""

from typing import Any

from ..contracts import fingerprint
from ..ops.errors import OperationError
from ..ops.history import event_details
from ..ops.tokens import WAIT_FOR_TASK_TOKEN, TokenLocator

HIDDEN = "(not shown: these parameters hold a task token, and the state's definition gives no path to it)"


def masked_history(definition: str, events: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """The tokens the history holds, each with what is shown in its place, and the events to show:
    those whose parameters hold a token no path leads to have their parameters left out."""
    locator = TokenLocator(definition)
    tokens: list[tuple[str, str]] = []
    shown: list[dict[str, Any]] = []
    state = ""
    for event in events:
        details = event_details(event)
        state = details.get("name", state)
        if event["type"] == "TaskScheduled" and str(details.get("resource", "")).endswith(WAIT_FOR_TASK_TOKEN):
            parameters = details.get("parameters", "")
            found = _located(locator, state, parameters)
            if found is None:
                key = next(key for key in event if key.endswith("EventDetails"))
                event = {**event, key: {**details, "parameters": HIDDEN}}
            else:
                tokens.append((found, f"{fingerprint(found)} (task token, masked)"))
        shown.append(event)
    return tokens, shown


def _located(locator: TokenLocator, state: str, parameters: str) -> str | None:
    """The token in a task's parameters: at its state's path, else at any state's path (the state
    entered last need not be the task's, when Parallel branches interleave)."""
    try:
        return locator.locate(state, parameters).token
    except OperationError:
        return locator.locate_anywhere(parameters)
