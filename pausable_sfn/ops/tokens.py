"""Where a waiting task's token is, read exactly from its state machine's definition.

Step Functions gives a task its token only where the definition asks for it: in JSONPath, a field
of the task's `Parameters` whose key is "NAME.$" and whose value is "$$.Task.Token"; in JSONata, a
field of its `Arguments` whose value is "{% $states.context.Task.Token %}". Where that field is
depends on the integration and on the author: `Payload.taskToken` for Lambda,
`MessageBody.taskToken` for SQS, `Message.taskToken` for SNS, `Entries[0].Detail.TaskToken` for
EventBridge, or any name at any depth. The TaskScheduled event of each attempt records the task's
parameters as resolved, so the token of that attempt is at the same path there. An SQS message body
or an SNS message may be recorded as an object or as a JSON string: both are read.

A task that waits on a correlation key (a business id: PausableTask's correlation_key) invokes
its channel's registrar with `correlationKey` beside the token and the task's own fields one level
down, in `payload`: the key is read beside the token, and the manual flag beside it or in that
`payload`.

A token that the definition puts inside a string (States.Format, a JSONata expression that builds
the payload) has no path: it is not guessed at, and TokenNotFoundError names the state.

Pure functions on parsed JSON: no AWS call here.
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from ..contracts import fingerprint
from .errors import OperationError, TokenNotFoundError

TOKEN_REFERENCE = "$$.Task.Token"
JSONATA_TOKEN_REFERENCE = "$states.context.Task.Token"
# The resource of a task that waits for its callback, as in "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
# (in the TaskScheduled event: resourceType "sqs", resource "sendMessage.waitForTaskToken").
WAIT_FOR_TASK_TOKEN = ".waitForTaskToken"

# A path into a JSON document: object keys and array indexes.
Path = tuple[str | int, ...]

# Where this project's pausable task (a Lambda invoke) puts the token.
LAMBDA_PAYLOAD: tuple[Path, ...] = (("Payload", "taskToken"),)


# Beside the token of a task that waits on a key: the key, and the task's own fields.
CORRELATION_KEY = "correlationKey"
TASK_FIELDS = "payload"


class FoundToken(NamedTuple):
    token: str
    # The flag beside the token (or in the task's own fields beside it) that says whether a person
    # holds it, when the caller names one (AppConventions.manual_flag) and the payload has it: True
    # or False; None otherwise.
    manual: bool | None
    # The correlation key the task waits on, as the registry keeps it (a number as its JSON text);
    # None when it waits by token only.
    key: str | None = None

    def __repr__(self) -> str:
        # The token is a credential: a repr (a log line, a test's failure report) shows its fingerprint.
        return f"FoundToken(token={fingerprint(self.token)!r}, manual={self.manual!r}, key={self.key!r})"


def show(path: Path) -> str:
    """A path as people write it: MessageBody.callback.token, Entries[0].Detail.TaskToken."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else step
    return text


def states_of(definition: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every state of a definition with its name, those in Parallel branches and Map iterators too."""
    states = definition.get("States")
    if not isinstance(states, Mapping):
        return
    for name, state in states.items():
        if not isinstance(state, Mapping):
            continue
        yield name, state
        branches = state.get("Branches")
        for branch in branches if isinstance(branches, list) else []:
            if isinstance(branch, Mapping):
                yield from states_of(branch)
        for processor in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(processor), Mapping):
                yield from states_of(state[processor])


def token_paths(state: Mapping[str, Any]) -> list[Path]:
    """The paths at which a state's definition puts the task token in the task's parameters."""
    paths: list[Path] = []

    def walk(value: Any, path: Path, *, jsonata: bool) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not jsonata and isinstance(key, str) and key.endswith(".$"):
                    if isinstance(item, str) and item.strip() == TOKEN_REFERENCE:
                        paths.append((*path, key[:-2]))
                else:
                    walk(item, (*path, key), jsonata=jsonata)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, index), jsonata=jsonata)
        elif jsonata and isinstance(value, str) and _is_jsonata_token(value) and path:
            paths.append(path)

    walk(state.get("Parameters"), (), jsonata=False)
    walk(state.get("Arguments"), (), jsonata=True)
    return paths


def _is_jsonata_token(text: str) -> bool:
    text = text.strip()
    return text.startswith("{%") and text.endswith("%}") and text[2:-2].strip() == JSONATA_TOKEN_REFERENCE


def read_token(parameters: Any, paths: Sequence[Path], manual_flag: str | None = None) -> FoundToken | None:
    """The token at the first of `paths` that holds one in a task's resolved parameters (the JSON
    text of a TaskScheduled event, or that text parsed), or None; with the boolean field `manual_flag`
    beside it (or in the task's own fields beside it), if named and there, and the correlation key
    beside it, if the task waits on one."""
    for path in paths:
        container: Any = None
        value = parameters
        for step in path:
            value = _parsed(value)
            if isinstance(step, int):
                if not isinstance(value, list) or not 0 <= step < len(value):
                    break
            elif not isinstance(value, Mapping) or step not in value:
                break
            container, value = value, value[step]
        else:
            if isinstance(value, str) and value:
                beside = container if isinstance(container, Mapping) else {}
                return FoundToken(value, _manual(beside, manual_flag), key_text(beside.get(CORRELATION_KEY)))
    return None


def _manual(beside: Mapping[str, Any], manual_flag: str | None) -> bool | None:
    """The manual flag beside the token, or else among the task's own fields beside it (where a
    task that waits on a key has them)."""
    if manual_flag is None:
        return None
    fields = _parsed(beside.get(TASK_FIELDS))
    for holder in (beside, fields if isinstance(fields, Mapping) else {}):
        if isinstance(holder.get(manual_flag), bool):
            return bool(holder[manual_flag])
    return None


def key_text(value: Any) -> str | None:
    """A correlation key as the registry compares it: a string as it is, a number as its JSON text
    (42 and "42" are one key); anything else (null, a boolean, an empty string) is no key."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text or None


def _parsed(value: Any) -> Any:
    """A JSON document in a string (the parameters themselves, an SNS message, an SQS message body)
    as the object or array it holds; anything else as it is."""
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except json.JSONDecodeError:
            return value
        if isinstance(document, dict | list):
            return document
    return value


class TokenLocator:
    """The token paths of each state of one state machine definition, worked out once."""

    def __init__(self, definition: str, *, manual_flag: str | None = None) -> None:
        self._manual_flag = manual_flag
        try:
            document = json.loads(definition)
        except json.JSONDecodeError:
            raise OperationError("the state machine's definition is not JSON") from None
        self._paths: dict[str, list[Path]] = {}
        for name, state in states_of(document if isinstance(document, Mapping) else {}):
            # State names are unique in a state machine, its branches and iterators included.
            self._paths.setdefault(name, []).extend(token_paths(state))

    def paths(self, state: str) -> list[Path]:
        if state not in self._paths:
            raise TokenNotFoundError(state, "the state machine's definition has no state of that name")
        if not self._paths[state]:
            raise TokenNotFoundError(
                state,
                f'its definition has no field "NAME.$": "{TOKEN_REFERENCE}" in Parameters (nor one '
                '"{% $states.context.Task.Token %}" in Arguments); a token inside a string, as States.Format '
                "puts it, has no path to read",
            )
        return self._paths[state]

    def locate_anywhere(self, parameters: str) -> str | None:
        """The token at any path of any state, for parameters whose state is not known for sure."""
        found = read_token(parameters, [path for paths in self._paths.values() for path in paths])
        return found.token if found else None

    def locate(self, state: str, parameters: str) -> FoundToken:
        """The token in the resolved parameters of a task of `state`; TokenNotFoundError if the
        definition puts it nowhere exact, or the parameters hold no token where it says."""
        paths = self.paths(state)
        found = read_token(parameters, paths, self._manual_flag)
        if found is None:
            where = " or ".join(show(path) for path in paths)
            raise TokenNotFoundError(state, f"its parameters hold no token at {where}, where its definition puts it")
        return found
