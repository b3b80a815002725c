"""The console's HTML: small pages rendered on the server, every value from AWS escaped."""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from ..clock_route import ClockReading
from ..ops.graph import StateRun, span, when
from ..ops.history import StateVisit, event_details
from ..ops.operations import LINE_PLACES

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f4f5f7}
header{background:#232f3e;color:#fff;padding:.6rem 1.2rem;font-weight:600}
header a{color:#fff;text-decoration:none}
header .clock{float:right;font-weight:400}
header .clock input{width:4rem}
main{padding:1rem 1.2rem}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e3e5e8;vertical-align:top}
th{background:#fafbfc;font-weight:600}
.status{font-weight:600}
.SUCCEEDED{color:#1d7d36}.FAILED,.TIMED_OUT,.ABORTED{color:#b3261e}.RUNNING{color:#1f5fbf}.PAUSED{color:#6b2fbf}
nav a{margin-right:.8rem}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;max-width:60rem}
.graph{background:#fff;padding:.5rem}
.top th{white-space:nowrap}
.top{display:grid;grid-template-columns:minmax(24rem,2fr) 3fr;gap:1rem;align-items:start;margin:1rem 0}
@media (max-width:60rem){.top{grid-template-columns:1fr}}
.graph svg{max-width:100%;height:auto}
small{color:#555}
details summary{cursor:pointer;color:#3a4350;font-family:ui-monospace,monospace;font-size:12px}
:target{outline:2px solid #6b2fbf}
""".strip()
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


HEADER = '<header><a href="./">pausable-sfn console</a>'


def page(title: str, body: str, *, refresh_seconds: int | None = None, refresh_to: str | None = None) -> str:
    """A console page; one that refreshes itself may load another address when it does (an
    execution page drops the notice its address carried after an action)."""
    target = f"; url={refresh_to}" if refresh_to else ""
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}{escape(target)}">' if refresh_seconds else ""
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8">{refresh}<title>{escape(title)}: pausable-sfn console</title>'
        f"<style>{STYLE}</style></head><body>{HEADER}</header>"
        f"<main>{body}</main></body></html>\n"
    )


def duration(execution: dict[str, Any], now: datetime) -> str:
    start, stop = execution.get("startDate"), execution.get("stopDate") or now
    if not isinstance(start, datetime):
        return ""
    seconds = max(0.0, (stop - start).total_seconds())
    if seconds < 120:
        return f"{seconds:.1f} s"
    # Hours and days on an embedded AWS whose clock was advanced, or for a task that waits on AWS.
    return f"{seconds / 60:.1f} min" if seconds < 7200 else span(stop - start)


def execution_link(arn: str, text: str) -> str:
    return f'<a href="execution?arn={quote(arn, safe="")}">{escape(text)}</a>'


def _address(**query: str | int | None) -> str:
    """The list page with these arguments (those that are None left out), for an href."""
    kept = {key: value for key, value in query.items() if value is not None}
    return escape("./" + ("?" + urlencode(kept) if kept else ""))


def executions_page(
    rows: list[dict[str, Any]],
    *,
    machines: list[str],
    status: str | None,
    chosen: str | None,
    first: int,
    older: str | None,
    now: datetime,
) -> str:
    def label(arn: str) -> str:
        return arn.rsplit(":", 1)[-1]

    filters = " ".join(
        f'<a href="{_address(status=name, stateMachine=chosen)}">{name.lower().replace("_", " ")}</a>'
        for name in STATUSES
    )
    by_machine = " ".join(
        f'<a href="{_address(status=status, stateMachine=arn)}">{escape(label(arn))}</a>' for arn in machines
    )
    cells = []
    for row in rows:
        shown = "PAUSED" if row.get("waitsAt") else row["status"]
        where = f" at {escape(row['waitsAt'])}" if row.get("waitsAt") else ""
        where += f" on key {escape(row['waitsOnKey'])}" if row.get("waitsOnKey") else ""
        where += escape(LINE_PLACES[row.get("waitsInLine", False)])
        cells.append(
            "<tr>"
            f"<td>{execution_link(row['executionArn'], row['name'])}</td>"
            f"<td>{escape(label(row['stateMachineArn']))}</td>"
            f'<td class="status {shown}">{escape(shown.lower().replace("_", " "))}{where}</td>'
            f"<td>{when(row.get('startDate'))}</td><td>{duration(row, now)}</td>"
            "</tr>"
        )
    empty = (
        ("No execution yet." if not status else "No execution with this status.")
        if first == 1
        else "No older execution."
    )
    counted = f"Executions {first}–{first + len(rows) - 1}, newest first" if rows else "No executions"
    paging = [f'<a href="{_address(status=status, stateMachine=chosen)}">Newest</a>'] if first > 1 else []
    if older:
        after = _address(status=status, stateMachine=chosen, page=older, **{"from": first + len(rows)})
        paging.append(f'<a href="{after}" rel="next">Older</a>')
    title = " · ".join(part for part in ("Executions", chosen and label(chosen), status and status.lower()) if part)
    body = (
        f"<h1>{escape(title)}</h1>"
        f'<nav><a href="start">Start execution</a> · <a href="./">all</a> {filters}</nav>'
        f"<nav><small>State machine:</small> {by_machine}</nav>"
        "<table><thead><tr><th>Name</th><th>State machine</th><th>Status</th><th>Started</th><th>Duration</th>"
        f"</tr></thead><tbody>{''.join(cells) or f'<tr><td colspan=5>{empty}</td></tr>'}</tbody></table>"
        f"<p><small>{counted}; updated every 5 s.</small> {' · '.join(paging)}</p>"
    )
    return page(title, body, refresh_seconds=5)


def state_anchor(name: str) -> str:
    """The id of a state's first row in the States table: any name (spaces, quotes, non-ASCII)
    makes a valid id, and the graph's node links to it."""
    return "state-" + hashlib.sha256(name.encode()).hexdigest()[:12]


def _data(text: str | None, hidden: Callable[[str], str]) -> str:
    """A state's input or output: one line to glance at, the whole JSON on a click; masked first,
    so that no shortened form can hold a part of a token."""
    if text is None:
        return ""
    shown = hidden(text)
    try:
        pretty = json.dumps(json.loads(shown), indent=1, ensure_ascii=False)
    except json.JSONDecodeError:
        pretty = shown
    glance = shown if len(shown) <= 40 else shown[:39] + "…"
    return f"<details><summary>{escape(glance)}</summary><pre>{escape(pretty)}</pre></details>"


def _states_table(
    visits: list[StateVisit], hidden: Callable[[str], str], now: datetime, stopped: datetime | None
) -> str:
    rows, anchored = [], set()
    for visit in visits:
        anchor = "" if visit.name in anchored else f' id="{state_anchor(visit.name)}"'
        anchored.add(visit.name)
        # A state with no exit ended with the execution (a Fail state, a failed task) or runs still.
        ended = visit.exited_at or stopped
        elapsed = (ended or now) - visit.entered_at
        took = f"{elapsed.total_seconds() * 1000:.0f} ms" if elapsed.total_seconds() < 1 else span(elapsed)
        took += "" if ended else " so far"
        # The day is the execution's (in its facts above); to the millisecond, states are told apart.
        entered = visit.entered_at.strftime("%H:%M:%S.%f")[:-3]
        rows.append(
            f"<tr{anchor}><td>{escape(visit.name)}</td><td>{escape(visit.kind)}</td><td>{entered}</td>"
            f"<td>{took}</td><td>{_data(visit.input, hidden)}</td><td>{_data(visit.output, hidden)}</td>"
            f"<td>{_assigned(visit.assigned, hidden)}</td></tr>"
        )
    return (
        "<h2>States</h2><table><thead><tr><th>State</th><th>Type</th><th>Entered</th><th>Took</th><th>Input</th>"
        f"<th>Output</th><th>Assigned</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _assigned(variables: dict[str, str] | None, hidden: Callable[[str], str]) -> str:
    """The variables a state assigned, `$name` and its value (masked, shortened as input and output are)."""
    if not variables:
        return ""
    return "".join(f"<div>${escape(name)} = {_data(value, hidden)}</div>" for name, value in variables.items())


def _waiting_facts(
    waiting: tuple[str, StateRun] | None, now: datetime, key: str | None, line: bool | None, behind: str | None
) -> dict[str, str]:
    if waiting is None:
        return {}
    name, run = waiting
    if run.entered_at is None:
        return {}
    until = run.waits_until
    return {
        "Paused at": name,
        # What a service calls back with, instead of the token: never the token itself.
        **({"Waits on key": f"{key}{LINE_PLACES[line]}"} if key is not None else {}),
        **({"In line behind": behind.rsplit(":", 1)[-1]} if line and behind else {}),
        "Paused since": f"{when(run.entered_at)} ({span(now - run.entered_at)} ago)",
        "Times out": f"{when(until)} (in {span(until - now)})" if until else "never: the task has no timeout",
    }


def execution_page(
    description: dict[str, Any],
    svg: str,
    events: list[dict[str, Any]],
    *,
    visits: list[StateVisit],
    waiting: tuple[str, StateRun] | None,
    masked: list[tuple[str, str]],
    now: datetime,
    address: str,
    key: str | None = None,
    line: bool | None = False,
    behind: str | None = None,
    actions: str = "",
    notice: str | None = None,
    problem: str | None = None,
) -> str:
    def hidden(text: str) -> str:
        for token, shown in masked:
            text = text.replace(token, shown)
        return text

    rows = []
    for event in events:
        details = event_details(event)
        rows.append(
            f"<tr><td>{event['id']}</td><td>{when(event.get('timestamp'))}</td><td>{escape(event['type'])}</td>"
            f"<td><pre>{escape(hidden(json.dumps(details, indent=1, default=str)))}</pre></td></tr>"
        )
    status = str(description.get("status", ""))
    stopped = description.get("stopDate") if isinstance(description.get("stopDate"), datetime) else None
    paused = bool(actions)  # what it waits for is a person's form: the one sign, for every part of the page
    facts = {
        "Status": f"{status}, waiting for a callback" if paused else status,
        "State machine": str(description.get("stateMachineArn", "")).rsplit(":", 1)[-1],
        "Started": when(description.get("startDate")),
        "Stopped": when(description.get("stopDate")),
        "Duration": duration(description, now),
        **_waiting_facts(waiting, now, key, line, behind),
        "Error": str(description.get("error", "")),
        "Cause": hidden(str(description.get("cause", ""))),
    }
    coloured = {"Status": f' class="status {escape(status)}"'}
    listed = "".join(
        f"<tr><th>{escape(k)}</th><td{coloured.get(k, '')}>{escape(v)}</td></tr>" for k, v in facts.items() if v
    )
    listed += "".join(
        f"<tr><th>{label}</th><td>{_data(description.get(key), hidden)}</td></tr>"
        for label, key in (("Input", "input"), ("Output", "output"))
        if description.get(key) is not None
    )
    shown = f'<p role="status">{escape(notice)}</p>' if notice else ""
    shown += f'<p class="FAILED" role="alert">{escape(problem)}</p>' if problem else ""
    # A page that waits for a person does not refresh itself: it would wipe what they type.
    refreshes = status == "RUNNING" and not paused
    later = ""
    if refreshes:
        later = "<p><small>Updated every 5 s while it runs.</small></p>"
    elif paused:
        reload = f'<a href="{escape(address)}">reload</a>'
        later = f"<p><small>Not refreshed while it waits, to keep what you type: {reload}.</small></p>"
    body = (
        f"<h1>{escape(str(description.get('name', '')))}</h1>{shown}"
        f'<div class="top"><div><table>{listed}</table>{later}{actions}</div><div class="graph">{svg}</div></div>'
        f"{_states_table(visits, hidden, now, stopped)}"
        "<h2>Events</h2><table><thead><tr><th>#</th><th>Time</th><th>Type</th><th>Details</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    title = str(description.get("name", "Execution"))
    return page(title, body, refresh_seconds=5 if refreshes else None, refresh_to=address)


def start_page(
    machines: list[str],
    *,
    form_key: str,
    input_text: str,
    name: str,
    chosen: str,
    problem: str | None,
    examples: Iterable[str] = (),
) -> str:
    """The Start form; `examples`: the labels of the inputs an app offers one click away."""
    options = "".join(
        f'<option value="{escape(arn)}"{" selected" if arn == chosen else ""}>{escape(arn.rsplit(":", 1)[-1])}</option>'
        for arn in machines
    )
    links = " ".join(f'<a href="start?example={quote(label, safe="")}">{escape(label)}</a>' for label in examples)
    offered = f"<p>Input: {links}</p>" if links else ""
    notice = f'<p class="FAILED" role="alert">{escape(problem)}</p>' if problem else ""
    body = (
        "<h1>Start execution</h1>"
        f"{notice}"
        '<form method="post" action="start">'
        f'<input type="hidden" name="formKey" value="{escape(form_key)}">'
        f'<p><label>State machine <select name="stateMachine">{options}</select></label></p>'
        f'<p><label>Name (optional) <input name="name" maxlength="80" value="{escape(name)}"></label></p>'
        f"{offered}"
        f'<p><textarea name="input" rows="10" cols="70" aria-label="Input">{escape(input_text)}</textarea></p>'
        '<p><button type="submit">Start execution</button></p>'
        "</form>"
    )
    return page("Start execution", body)


def actions_form(arn: str, form_key: str, typed: Mapping[str, str]) -> str:
    """What can be done to a paused execution: each button posts the form with its action; what
    was typed in a refused one is there again."""
    hidden = (
        f'<input type="hidden" name="formKey" value="{escape(form_key)}">'
        f'<input type="hidden" name="arn" value="{escape(arn)}">'
    )

    def field(name: str, default: str = "") -> str:
        return escape(typed.get(name, default))

    return (
        "<h2>It waits for a callback</h2>"
        f'<form method="post" action="act">{hidden}'
        '<p><label>Output (JSON, optional) <input name="output" size="30" placeholder=\'{"resumed": true}\' '
        f'value="{field("output")}"></label> <button name="action" value="resume">Resume</button></p>'
        f'<p><label>Error <input name="error" size="16" value="{field("error", "Rejected")}"></label> '
        f'<label>Cause <input name="cause" size="30" value="{field("cause")}"></label> '
        '<button name="action" value="fail">Fail</button></p>'
        '<p><button name="action" value="heartbeat">Heartbeat</button> '
        '<button name="action" value="link">Approval link</button></p>'
        "</form>"
    )


def link_page(arn: str, url: str, expires_at: str) -> str:
    body = (
        "<h1>Approval link</h1>"
        f"<p>For {execution_link(arn, arn.rsplit(':', 1)[-1])}, until {escape(expires_at)}. Anyone with it can decide "
        "once: send it to one person.</p>"
        f'<p><a href="{escape(url)}">{escape(url)}</a></p>'
        "<p><small>This page is the only place the link is shown: reloading it issues another one.</small></p>"
    )
    return page("Approval link", body)


def with_clock(html: str, reading: ClockReading, *, form_key: str, back: str) -> str:
    """A page with the embedded AWS's clock in its header: the time when it is not the wall clock's,
    and a form that advances it, then comes back to `back`. The header comes first in every page,
    before any value from AWS."""
    shown = ""
    if not reading.wall_clock:
        ahead = reading.ahead.removesuffix(" of the wall clock")
        shown = f"<span>Embedded AWS clock: {reading.now:%Y-%m-%d %H:%M:%S} UTC, {escape(ahead)}</span> "
    form = (
        f'<form method="post" action="clock" class="clock">{shown}'
        f'<input type="hidden" name="formKey" value="{escape(form_key)}">'
        f'<input type="hidden" name="back" value="{escape(back)}">'
        '<input name="advance" placeholder="3d" aria-label="Advance the clock by (90s, 30m, 2h, 3d)" required> '
        '<button type="submit">Advance the clock</button>'
        "</form>"
    )
    return html.replace(HEADER, HEADER + form, 1)


def clock_problem(problem: str, back: str) -> str:
    body = (
        "<h1>Advance the clock</h1>"
        f'<p class="FAILED" role="alert">{escape(problem)}</p>'
        f'<p><a href="{escape(back)}">Back</a></p>'
    )
    return page("Advance the clock", body)
