"""Step Functions Local's mocked service integrations: a mock configuration file (MockConfigFile.json,
"Using mocked service integrations for testing in Step Functions Local", AWS Step Functions developer
guide) read and checked, and the test cases an execution started on `<state machine ARN>#<test case>`
runs with. mocked_tasks.py puts them into moto's interpreter.

A test case maps a state's name to its responses, one per attempt: attempt 0 is the state's first
run in the execution, and every later run of that state name (a retry, the state entered again in a
loop, another Map iteration or Parallel branch) takes the next one.
"""

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final


@dataclass(frozen=True)
class Return:
    """The task's result, as the service would have answered (before ResultSelector, ResultPath and
    OutputPath): for `lambda:invoke`, Lambda's `{"StatusCode": 200, "Payload": ...}`."""

    value: Any


@dataclass(frozen=True)
class Throw:
    """The task fails with this error and cause, which its Retry and Catch see."""

    error: str
    cause: str = ""


Response = Return | Throw
# A test case: each mocked state's responses, attempt i at index i.
TestCase = Mapping[str, tuple[Response, ...]]

FIELDS: Final = ("StateMachines", "MockedResponses")
_ATTEMPTS = re.compile(r"(?P<first>\d+)(?:-(?P<last>\d+))?")


class MockConfigError(ValueError):
    """A mock configuration that cannot be used, or a test case an execution cannot run with; the
    message says where."""


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MockConfigError(f"{where}: must be a JSON object, not {json.dumps(value)[:60]}")
    return value


def _response(value: Any, where: str) -> Response:
    fields = _object(value, where)
    kinds = [kind for kind in ("Return", "Throw") if kind in fields]
    others = [key for key in fields if key not in ("Return", "Throw")]
    if others or len(kinds) != 1:
        held = ", ".join(fields) or "nothing"
        raise MockConfigError(f"{where}: must hold exactly one of Return and Throw, not {held}")
    if kinds == ["Return"]:
        return Return(fields["Return"])
    throw = _object(fields["Throw"], f"{where}.Throw")
    for key in ("Error", "Cause"):
        if not isinstance(throw.get(key), str):
            raise MockConfigError(f"{where}.Throw.{key}: must be a string")
    unknown = [key for key in throw if key not in ("Error", "Cause")]
    if unknown:
        raise MockConfigError(f"{where}.Throw: {', '.join(unknown)} is not a field of Throw (Error, Cause)")
    return Throw(throw["Error"], throw["Cause"])


def _responses(value: Any, where: str) -> tuple[Response, ...]:
    """A mocked response's attempts, "0", "1-2", ..., in order from 0 without a gap or an overlap."""
    by_attempt: dict[int, tuple[str, Response]] = {}
    for key, response in _object(value, where).items():
        matched = _ATTEMPTS.fullmatch(key)
        if matched is None or int(matched["last"] or matched["first"]) < int(matched["first"]):
            raise MockConfigError(f'{where}: "{key}" is not an attempt number or a range like "1-2"')
        parsed = _response(response, _at(where, f'"{key}"'))
        for attempt in range(int(matched["first"]), int(matched["last"] or matched["first"]) + 1):
            if attempt in by_attempt:
                first = by_attempt[attempt][0]
                raise MockConfigError(f'{where}: attempt {attempt} is given twice ("{first}" and "{key}")')
            by_attempt[attempt] = (key, parsed)
    if not by_attempt:
        raise MockConfigError(f'{where}: has no response (give one for attempt "0")')
    missing = [attempt for attempt in range(max(by_attempt) + 1) if attempt not in by_attempt]
    if missing:
        raise MockConfigError(
            f"{where}: attempt {missing[0]} has no response (the attempts must run from 0 without a gap)"
        )
    return tuple(by_attempt[attempt][1] for attempt in range(len(by_attempt)))


def _test_case(value: Any, where: str, responses: Mapping[str, tuple[Response, ...]]) -> TestCase:
    states: dict[str, tuple[Response, ...]] = {}
    for state, name in _object(value, where).items():
        if not isinstance(name, str):
            raise MockConfigError(f"{_at(where, state)}: must name a mocked response of MockedResponses")
        if name not in responses:
            raise MockConfigError(f'{_at(where, state)}: "{name}" is not a mocked response of MockedResponses')
        states[state] = responses[name]
    return states


@dataclass(frozen=True)
class MockConfig:
    """A mock configuration file, read and checked: each state machine's (by name) test cases."""

    state_machines: Mapping[str, Mapping[str, TestCase]]

    @classmethod
    def from_file(cls, path: Path | str) -> "MockConfig":
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as unreadable:
            raise MockConfigError(f"{path}: cannot be read ({unreadable.strerror or unreadable})") from None
        try:
            data = json.loads(text)
        except ValueError as not_json:
            raise MockConfigError(f"{path}: is not JSON ({not_json})") from None
        try:
            return cls.from_dict(data)
        except MockConfigError as wrong:
            raise MockConfigError(f"{path}: {wrong}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MockConfig":
        top = _object(data, "the mock configuration")
        unknown = [key for key in top if key not in FIELDS]
        if unknown:
            raise MockConfigError(f"{unknown[0]}: is not a field of a mock configuration ({', '.join(FIELDS)})")
        for key in FIELDS:
            if key not in top:
                raise MockConfigError(f"{key}: is missing (a mock configuration has {', '.join(FIELDS)})")
        responses = {
            name: _responses(value, _at("MockedResponses", name))
            for name, value in _object(top["MockedResponses"], "MockedResponses").items()
        }
        machines: dict[str, dict[str, TestCase]] = {}
        for machine, value in _object(top["StateMachines"], "StateMachines").items():
            where = _at("StateMachines", machine)
            fields = _object(value, where)
            if list(fields) != ["TestCases"]:
                raise MockConfigError(f"{where}: must hold TestCases alone, not {', '.join(fields) or 'nothing'}")
            cases = _object(fields["TestCases"], f"{where}.TestCases")
            machines[machine] = {
                case: _test_case(states, f"{where}.TestCases.{case}", responses) for case, states in cases.items()
            }
        return cls(machines)


EMPTY = MockConfig({})


def responses_of(states: Mapping[str, Response | Sequence[Response]], where: str) -> TestCase:
    """A test case given from Python: each state's response, or its responses by attempt."""
    test_case: dict[str, tuple[Response, ...]] = {}
    for state, given in states.items():
        attempts = (given,) if isinstance(given, Return | Throw) else tuple(given)
        if not attempts or not all(isinstance(attempt, Return | Throw) for attempt in attempts):
            raise MockConfigError(f"{where}.{state}: must be a Return or a Throw, or a non-empty sequence of them")
        test_case[state] = attempts
    return test_case


class MockRegistry:
    """The test cases of the embedded AWS: a mock configuration's (`load`), and those given from
    Python (`add_test_case`), which win over a file's of the same name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._config = EMPTY
        self._added: dict[tuple[str, str], TestCase] = {}

    def load(self, source: Path | str | Mapping[str, Any]) -> MockConfig:
        """Reads a mock configuration (a file's path, or its content), which replaces the one loaded before."""
        config = MockConfig.from_dict(source) if isinstance(source, Mapping) else MockConfig.from_file(source)
        with self._lock:
            self._config = config
        return config

    def add_test_case(
        self, state_machine_name: str, test_case: str, states: Mapping[str, Response | Sequence[Response]]
    ) -> None:
        """A test case of the state machine of that name; a sequence gives attempt i its item i."""
        checked = responses_of(states, f"{state_machine_name}#{test_case}")
        with self._lock:
            self._added[state_machine_name, test_case] = checked

    def remove_test_case(self, state_machine_name: str, test_case: str) -> None:
        """Forgets a test case added from Python (the executions started with it keep it: each
        takes its test case when it starts)."""
        with self._lock:
            self._added.pop((state_machine_name, test_case), None)

    def test_case(self, state_machine_name: str, test_case: str) -> TestCase:
        """The test case an execution runs with, or a MockConfigError naming what is not there."""
        machine_name = state_machine_name
        with self._lock:
            added = self._added.get((state_machine_name, test_case))
            cases = dict(self._config.state_machines.get(state_machine_name, {}))
            cases.update({case: states for (machine, case), states in self._added.items() if machine == machine_name})
        if added is not None:
            return added
        if not cases:
            raise MockConfigError(f"State machine '{state_machine_name}' has no test cases in the mock configuration")
        if test_case not in cases:
            raise MockConfigError(
                f"Test case '{test_case}' is not one of state machine '{state_machine_name}' in the mock "
                f"configuration (its test cases: {', '.join(sorted(cases))})"
            )
        return cases[test_case]


class MockedExecution:
    """One execution's test case, and how many attempts each mocked state has taken in it. Shared by
    the execution's Map iterations and Parallel branches, which may run at once."""

    def __init__(self, state_machine_name: str, test_case_name: str, test_case: TestCase) -> None:
        self.state_machine_name = state_machine_name
        self.test_case_name = test_case_name
        self._test_case = test_case
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()

    def mocks(self, state_name: str | None) -> bool:
        return state_name in self._test_case

    def next_response(self, state_name: str) -> tuple[int, Response | None]:
        """This attempt's number and its response (None past the last one)."""
        with self._lock:
            attempt = self._attempts.get(state_name, 0)
            self._attempts[state_name] = attempt + 1
        responses = self._test_case[state_name]
        return attempt, responses[attempt] if attempt < len(responses) else None

    def attempts_given(self, state_name: str) -> int:
        return len(self._test_case[state_name])
