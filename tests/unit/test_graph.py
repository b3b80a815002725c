"""Execution graphs: the definition's states and edges, coloured by what the history says happened."""

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from pausable_sfn.ops.graph import (
    CAUGHT,
    COLOURS,
    END,
    FAILED,
    NOT_RUN,
    RUNNING,
    START,
    SUCCEEDED,
    WAITING,
    ExecutionPath,
    dot_source,
    render_html,
)

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
DEFINITION = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Ask"}],
            "Default": "Refuse",
        },
        "Refuse": {"Type": "Fail", "Error": "Refused"},
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Rejected"}],
            "Next": "Done",
        },
        "Rejected": {"Type": "Fail", "ErrorPath": "$.failure.Error"},
        "Done": {"Type": "Pass", "End": True},
    },
}


def history(*steps: tuple[str, dict]) -> list[dict]:
    """Events one second apart, as GetExecutionHistory gives them."""
    events = [{"type": "ExecutionStarted", "timestamp": T0, "executionStartedEventDetails": {}}]
    for number, (kind, details) in enumerate(steps, start=1):
        key = kind[0].lower() + kind[1:] + "EventDetails"
        events.append({"type": kind, "timestamp": T0 + timedelta(seconds=number), key: details})
    return events


def entered(kind: str, name: str) -> tuple[str, dict]:
    return (f"{kind}StateEntered", {"name": name})


def exited(kind: str, name: str) -> tuple[str, dict]:
    return (f"{kind}StateExited", {"name": name})


ASKED = [
    entered("Choice", "Check"),
    exited("Choice", "Check"),
    entered("Task", "Ask"),
    ("TaskScheduled", {"resourceType": "lambda", "timeoutInSeconds": 3600}),
    ("TaskSubmitted", {}),
]


def test_a_waiting_task_is_waiting_with_its_timeout_and_the_path_to_it_is_taken():
    path = ExecutionPath.from_history(history(*ASKED), DEFINITION)

    assert path.runs["Check"].status == SUCCEEDED
    assert path.runs["Ask"].status == WAITING
    assert path.runs["Ask"].waits_until == T0 + timedelta(seconds=4 + 3600)
    assert path.edges == {(START, "Check"), ("Check", "Ask")}
    assert "Refuse" not in path.runs


def test_an_approved_task_succeeds_and_the_run_reaches_the_end():
    path = ExecutionPath.from_history(
        history(
            *ASKED,
            ("TaskSucceeded", {}),
            exited("Task", "Ask"),
            entered("Pass", "Done"),
            exited("Pass", "Done"),
            ("ExecutionSucceeded", {}),
        ),
        DEFINITION,
    )

    assert {name: run.status for name, run in path.runs.items()} == {
        "Check": SUCCEEDED,
        "Ask": SUCCEEDED,
        "Done": SUCCEEDED,
    }
    assert ("Done", END) in path.edges


def test_a_rejection_is_a_caught_error_on_the_task_and_a_failure_where_it_ends():
    path = ExecutionPath.from_history(
        history(*ASKED, ("TaskFailed", {"error": "Rejected"}), entered("Fail", "Rejected"), ("ExecutionFailed", {})),
        DEFINITION,
    )

    assert path.runs["Ask"].status == CAUGHT
    assert path.runs["Rejected"].status == FAILED
    assert ("Ask", "Rejected") in path.edges
    assert path.status == "FAILED"


def test_a_task_the_execution_ended_in_is_failed():
    path = ExecutionPath.from_history(history(*ASKED, ("ExecutionTimedOut", {})), DEFINITION)

    assert path.runs["Ask"].status == FAILED


def test_a_task_that_is_not_waiting_for_a_token_is_in_progress():
    definition = json.loads(json.dumps(DEFINITION))
    definition["States"]["Ask"]["Resource"] = "arn:aws:states:::lambda:invoke"

    path = ExecutionPath.from_history(history(*ASKED), definition)

    assert path.runs["Ask"].status == RUNNING


def node_colours(dot: str) -> dict[str, str]:
    """Each node's fill colour, read from the DOT source (a node's attributes may span lines)."""
    nodes = re.findall(r'^\t"?([^"\s\[]+)"? \[([^\]]*)\]', dot, re.MULTILINE)
    fills = {name: re.search(r'fillcolor="(#[0-9a-f]{6})"', attributes) for name, attributes in nodes}
    return {name: fill.group(1) for name, fill in fills.items() if fill}


def test_the_drawing_colours_each_state_and_labels_rules_and_catches():
    path = ExecutionPath.from_history(history(*ASKED), DEFINITION)

    source = dot_source(DEFINITION, path, now=T0 + timedelta(minutes=5)).source

    colours = node_colours(source)
    assert colours["Ask"] == COLOURS[WAITING][0]
    assert colours["Check"] == COLOURS[SUCCEEDED][0]
    assert colours["Done"] == COLOURS[NOT_RUN][0]
    assert "$.ok == true" in source
    assert "otherwise" in source
    assert "catch States.ALL" in source
    assert "waiting 4 min 57 s" in source  # entered at T0 + 3 s
    assert "times out in 55 min 4 s" in source


def test_states_of_parallel_branches_are_drawn_in_boxes_of_their_own():
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                    {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "End": True}}},
                ],
                "End": True,
            }
        },
    }

    source = dot_source(definition, ExecutionPath(), now=T0).source

    assert source.count("subgraph cluster_") == 2
    assert "Left" in source
    assert "Right" in source


# What Graphviz's dot writes before its SVG (version 2.43): an XML declaration, a DOCTYPE naming a
# DTD on w3.org, comments. The unit tier runs without Graphviz: dot is stood in for by a program
# that writes this around an empty graph (laid out by the real dot: tests/e2e/test_graph.py).
DOT_PREAMBLE = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
 "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- Generated by graphviz version 2.43.0 (0)
 -->
<!-- Title: execution Pages: 1 -->
"""


@pytest.fixture
def dot_stand_in(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`dot -Tsvg` without Graphviz: the DOT sources it was given, answered with an empty SVG."""
    from pausable_sfn.ops import graph

    given: list[str] = []

    def run(command: list[str], *, input: bytes, **options: object) -> subprocess.CompletedProcess[bytes]:
        assert command == ["dot", "-Tsvg"]
        given.append(input.decode())
        svg = '<svg width="8pt" height="8pt" xmlns="http://www.w3.org/2000/svg"><g class="graph"></g></svg>\n'
        return subprocess.CompletedProcess(command, 0, (DOT_PREAMBLE + svg).encode(), b"")

    monkeypatch.setattr(graph, "shutil", SimpleNamespace(which=lambda program: f"/usr/bin/{program}"))
    monkeypatch.setattr(graph, "subprocess", SimpleNamespace(run=run))
    return given


def test_the_page_loads_nothing_runs_nothing_and_escapes_names(dot_stand_in):
    definition = {"StartAt": "<b>x</b>", "States": {"<b>x</b>": {"Type": "Pass", "End": True}}}
    execution = {"name": "<script>alert(1)</script>", "status": "RUNNING", "startDate": T0}

    page = render_html(definition, ExecutionPath(), now=T0, execution=execution)

    [source] = dot_stand_in
    assert "<b>x</b>" in source  # the state, handed to dot (which escapes its labels)
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page
    assert "<?xml" not in page
    assert "<!DOCTYPE svg" not in page  # dot's DOCTYPE names a DTD on the network
    assert "default-src 'none'" in page


@pytest.mark.parametrize(
    ("rule", "shown"),
    [
        ({"Variable": "$.a", "StringEquals": "x"}, '$.a == "x"'),
        ({"Variable": "$.a", "IsPresent": False}, "$.a absent"),
        ({"Not": {"Variable": "$.a", "NumericGreaterThan": 3}}, "not ($.a > 3)"),
        (
            {"Or": [{"Variable": "$.a", "IsString": True}, {"Variable": "$.b", "IsNull": True}]},
            "$.a is a string or $.b null",
        ),
        ({"Variable": "$.a", "StringMatches": "States.*"}, '$.a matches "States.*"'),
        ({"Variable": "$.a", "NumericLessThanEqualsPath": "$.b"}, "$.a <= $.b"),
        ({"Condition": "{% $states.input.n > 1 %}", "Next": "Big", "Output": {"a": 1}}, "$states.input.n > 1"),
        ({"Variable": "$.a", "BooleanEquals": True, "Assign": {"x": 1}, "Next": "B"}, "$.a == true"),
    ],
)
def test_choice_rules_read_shortly(rule, shown):
    from pausable_sfn.ops.graph import _condition

    assert _condition(rule) == shown
