"""An execution drawn on its state machine's graph: the path it took, coloured, in one offline file.

The graph is the definition's: every state, `Next` and `Default` as plain edges, Choice rules as
labelled edges, Catch clauses as dashed edges named by their errors (nested Parallel branches and
Map iterators as boxes of their own). The history colours it as the AWS console does (succeeded,
failed, caught error, in progress), plus a colour of its own for a task that waits for a callback,
with how long it has waited and when it times out. Graphviz's `dot` lays it out; the result is
an SVG, or an HTML page holding that SVG and its legend: no script, style or font from anywhere.
Only names and times are drawn, never an input, an output or a token.
"""

import html
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import graphviz

from .history import event_details
from .tokens import WAIT_FOR_TASK_TOKEN, states_of

SUCCEEDED, FAILED, CAUGHT, RUNNING, WAITING, NOT_RUN = "succeeded", "failed", "caught", "running", "waiting", "not run"
# Fill and border of each status; close to the AWS console's, with violet for a waiting task.
COLOURS = {
    SUCCEEDED: ("#d9f2dd", "#1d7d36"),
    FAILED: ("#fbe0de", "#b3261e"),
    CAUGHT: ("#fdebd3", "#c25e00"),
    RUNNING: ("#dbe9fb", "#1f5fbf"),
    WAITING: ("#ece0fb", "#6b2fbf"),
    NOT_RUN: ("#ffffff", "#8a8f98"),
}
LEGEND = {
    SUCCEEDED: "succeeded",
    FAILED: "failed",
    CAUGHT: "caught error",
    RUNNING: "in progress",
    WAITING: "waiting for a callback",
    NOT_RUN: "not run",
}
START, END = "__start__", "__end__"
DOT_TIMEOUT_SECONDS = 30
_FAILURES = {"TaskFailed", "TaskTimedOut", "TaskSubmitFailed", "TaskStartFailed", "LambdaFunctionFailed"}
_ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


class GraphvizMissingError(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "drawing a graph needs Graphviz's dot program: install it (apt-get install graphviz, brew install graphviz)"
        )


@dataclass
class StateRun:
    """What one state did in the execution (its last visit)."""

    status: str = NOT_RUN
    entered_at: datetime | None = None
    waits_until: datetime | None = None  # a waiting task's timeout


@dataclass
class ExecutionPath:
    runs: dict[str, StateRun] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)
    status: str = "RUNNING"

    @classmethod
    def from_history(cls, events: list[dict[str, Any]], definition: dict[str, Any]) -> "ExecutionPath":
        path = cls()
        resources = {name: str(state.get("Resource", "")) for name, state in states_of(definition)}
        last = START  # the state entered last: a caught failure leaves its task without an exit event
        for event in events:
            kind, details = event["type"], event_details(event)
            run = path.runs.get(last)
            if kind.endswith("StateEntered"):
                name = details["name"]
                if last != name:
                    path.edges.add((last, name))
                last = name
                path.runs[name] = StateRun(FAILED if kind == "FailStateEntered" else RUNNING, event["timestamp"])
            elif kind.endswith("StateExited") and details.get("name") in path.runs:
                exited = path.runs[details["name"]]
                if exited.status in (RUNNING, WAITING):
                    exited.status = SUCCEEDED
            elif kind in _FAILURES and run is not None:
                run.status = CAUGHT  # until the execution fails there (below)
            elif kind == "TaskScheduled" and run is not None and resources.get(last, "").endswith(WAIT_FOR_TASK_TOKEN):
                timeout = details.get("timeoutInSeconds")
                run.waits_until = (
                    event["timestamp"] + timedelta(seconds=timeout) if isinstance(timeout, int | float) else None
                )
                run.status = WAITING
            elif kind in _ENDS:
                path.status = _ENDS[kind]
        if path.status == "SUCCEEDED" and last != START:
            path.edges.add((last, END))
        if path.status != "RUNNING":
            for name, run in path.runs.items():
                # Where the execution ended: a failure not caught, a timeout, an abort.
                if run.status in (RUNNING, WAITING) or (run.status == CAUGHT and not _left(path, name)):
                    run.status = FAILED
        return path


def _left(path: ExecutionPath, name: str) -> bool:
    return any(source == name for source, _ in path.edges)


def _condition(rule: dict[str, Any]) -> str:
    """A Choice rule, shortly: `$.x == "a"`, `$.y present`, `not …`, `… and …`; a JSONata rule
    by its Condition's expression (`$states.input.n > 1`)."""
    condition = rule.get("Condition")
    if isinstance(condition, str):
        return condition.strip().removeprefix("{%").removesuffix("%}").strip()
    if "Not" in rule:
        return f"not ({_condition(rule['Not'])})"
    for joiner in ("And", "Or"):
        if joiner in rule:
            return f" {joiner.lower()} ".join(_condition(part) for part in rule[joiner])
    variable = rule.get("Variable", "")
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment", "Output", "Assign"):
            continue
        operator = key.removesuffix("Path")
        shown = json.dumps(value) if not key.endswith("Path") else value
        words = {
            "IsPresent": "present" if value else "absent",
            "IsNull": "null" if value else "not null",
            "IsString": "is a string" if value else "not a string",
            "IsNumeric": "is a number" if value else "not a number",
            "IsBoolean": "is a boolean" if value else "not a boolean",
        }
        if operator in words:
            return f"{variable} {words[operator]}"
        # Longest first: LessThanEquals ends with Equals too.
        symbol = {
            "LessThanEquals": "<=",
            "GreaterThanEquals": ">=",
            "LessThan": "<",
            "GreaterThan": ">",
            "Equals": "==",
            "Matches": "matches",
        }
        for suffix, sign in symbol.items():
            if operator.endswith(suffix):
                return f"{variable} {sign} {shown}"
        return f"{variable} {key} {shown}"
    return "rule"


def _short(text: str, limit: int = 48) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A state's node may link somewhere (the console links it to the state's input and output).
StateLink = Callable[[str], str]


def _add_states(
    graph: graphviz.Digraph, definition: dict[str, Any], path: ExecutionPath, now: datetime, link: StateLink | None
) -> None:
    for name, state in definition.get("States", {}).items():
        run = path.runs.get(name, StateRun())
        fill, border = COLOURS[run.status]
        label = f"{name}\n{state.get('Type', '')}"
        if run.status == WAITING and run.entered_at is not None:
            label += f"\nwaiting {span(now - run.entered_at)}"
            if run.waits_until is not None:
                label += f"\ntimes out in {span(run.waits_until - now)}"
        shape = "diamond" if state.get("Type") == "Choice" else "box"
        graph.node(
            name,
            label=label,
            shape=shape,
            style="filled,rounded" if shape == "box" else "filled",
            fillcolor=fill,
            color=border,
            penwidth="2" if run.status != NOT_RUN else "1",
            fontname="Helvetica",
            fontsize="11",
            tooltip=f"{name}: {LEGEND[run.status]}",
            **({"href": link(name)} if link else {}),
        )
        for branch_number, branch in enumerate(_nested(state)):
            with graph.subgraph(name=f"cluster_{name}_{branch_number}") as box:
                box.attr(label=f"{name}, branch {branch_number + 1}", style="dashed", color="#8a8f98", fontsize="10")
                _add_states(box, branch, path, now, link)
                _add_edges(box, branch, path, start=None)
                start = branch.get("StartAt")
                if start:
                    graph.edge(name, start, style="dotted", arrowhead="none", color="#8a8f98")


def _nested(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [*state.get("Branches", []), *(state[key] for key in ("Iterator", "ItemProcessor") if key in state)]


def _add_edges(graph: graphviz.Digraph, definition: dict[str, Any], path: ExecutionPath, *, start: str | None) -> None:
    def edge(source: str, target: str, **attributes: str) -> None:
        taken = (source, target) in path.edges
        colour = attributes.pop("color", "#5f6670")
        graph.edge(
            source,
            target,
            color="#1d7d36" if taken else colour,
            penwidth="2.5" if taken else "1",
            fontname="Helvetica",
            fontsize="9",
            **attributes,
        )

    if start is not None and definition.get("StartAt"):
        edge(START, definition["StartAt"])
    for name, state in definition.get("States", {}).items():
        if "Next" in state:
            edge(name, state["Next"])
        # The End node belongs to the top level; a branch ends in its Parallel or Map state.
        if start is not None and (state.get("End") or state.get("Type") == "Succeed"):
            edge(name, END)
        for rule in state.get("Choices", []):
            edge(name, rule["Next"], label=_short(_condition(rule)))
        if "Default" in state:
            edge(name, state["Default"], label="otherwise", style="dashed")
        for catch in state.get("Catch", []):
            errors = ", ".join(catch.get("ErrorEquals", []))
            edge(name, catch["Next"], label=_short(f"catch {errors}"), style="dashed", color="#c25e00")


def dot_source(
    definition: dict[str, Any], path: ExecutionPath, *, now: datetime, link: StateLink | None = None
) -> graphviz.Digraph:
    graph = graphviz.Digraph("execution", graph_attr={"rankdir": "TB", "nodesep": "0.4", "ranksep": "0.45"})
    graph.node(
        START, label="Start", shape="circle", style="filled", fillcolor="#1b1f24", fontcolor="white", fontsize="9"
    )
    end_fill = COLOURS[SUCCEEDED][0] if path.status == "SUCCEEDED" else "#ffffff"
    graph.node(END, label="End", shape="doublecircle", style="filled", fillcolor=end_fill, fontsize="9")
    _add_states(graph, definition, path, now, link)
    _add_edges(graph, definition, path, start=START)
    return graph


def render_svg(definition: dict[str, Any], path: ExecutionPath, *, now: datetime, link: StateLink | None = None) -> str:
    if shutil.which("dot") is None:
        raise GraphvizMissingError()
    source = dot_source(definition, path, now=now, link=link).source
    result = subprocess.run(
        ["dot", "-Tsvg"], input=source.encode("utf-8"), capture_output=True, timeout=DOT_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"dot could not lay out the graph: {result.stderr.decode(errors='replace').strip()}")
    svg = str(result.stdout.decode("utf-8"))
    # dot writes an XML declaration and a DOCTYPE naming a DTD on w3.org: an SVG for a page or a
    # file needs neither, and nothing in the file may point at the network.
    return svg[svg.index("<svg") :]


# The file may load nothing: its style is inline (the legend's swatches too), its graph an inline SVG.
OFFLINE_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
PAGE_STYLE = """
body{font:14px/1.5 system-ui,sans-serif;margin:1.5rem;color:#1b1f24}
h1{font-size:1.3rem;margin:0 0 .5rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{color:#555}dd{margin:0}
.legend span{display:inline-block;margin-right:1rem}
.legend i{display:inline-block;width:.9rem;height:.9rem;border:2px solid;border-radius:3px;
vertical-align:middle;margin-right:.3rem}
svg{max-width:100%;height:auto}
""".strip()


def render_html(definition: dict[str, Any], path: ExecutionPath, *, now: datetime, execution: dict[str, Any]) -> str:
    """A page that opens offline: the SVG inline, its legend and the execution's facts."""
    svg = render_svg(definition, path, now=now)
    name = str(execution.get("name", ""))
    facts = {
        "Execution": name,
        "State machine": str(execution.get("stateMachineArn", "")).rsplit(":", 1)[-1],
        "Status": str(execution.get("status", path.status)),
        "Started": when(execution.get("startDate")),
        "Stopped": when(execution.get("stopDate")),
        "Drawn": when(now),
    }
    rows = "".join(f"<dt>{html.escape(key)}</dt><dd>{html.escape(value)}</dd>" for key, value in facts.items() if value)
    legend = "".join(
        f'<span><i style="background:{fill};border-color:{border}"></i>{html.escape(LEGEND[status])}</span>'
        for status, (fill, border) in COLOURS.items()
    )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{OFFLINE_POLICY}">'
        f"<title>{html.escape(name)}: execution graph</title><style>{PAGE_STYLE}</style></head><body>"
        f"<h1>{html.escape(name)}</h1><dl>{rows}</dl>"
        f'<p class="legend">{legend}</p>{svg}</body></html>\n'
    )


def when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else ""


def span(delta: Any) -> str:
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"
