"""The console's HTML: small pages rendered on the server, every value from AWS escaped."""

import json
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote

from ..ops.history import event_details

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f4f5f7}
header{background:#232f3e;color:#fff;padding:.6rem 1.2rem;font-weight:600}
header a{color:#fff;text-decoration:none}
main{padding:1rem 1.2rem}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e3e5e8;vertical-align:top}
th{background:#fafbfc;font-weight:600}
.status{font-weight:600}
.SUCCEEDED{color:#1d7d36}.FAILED,.TIMED_OUT,.ABORTED{color:#b3261e}.RUNNING{color:#1f5fbf}.PAUSED{color:#6b2fbf}
nav a{margin-right:.8rem}
pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;max-width:60rem}
.graph{background:#fff;padding:.5rem;margin:1rem 0}
.graph svg{max-width:100%;height:auto}
small{color:#555}
""".strip()
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
# The two inputs the README documents, one click away on the Start page.
EXAMPLES = {
    "automatic": json.dumps({"IsManualCallback": "False", "JobDurationSeconds": 10}, indent=2),
    "manual": json.dumps({"IsManualCallback": "True"}, indent=2),
}


def page(title: str, body: str, *, refresh_seconds: int | None = None) -> str:
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds else ""
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8">{refresh}<title>{escape(title)}: pausable-sfn console</title>'
        f'<style>{STYLE}</style></head><body><header><a href="./">pausable-sfn console</a></header>'
        f"<main>{body}</main></body></html>\n"
    )


def when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else ""


def duration(execution: dict[str, Any], now: datetime) -> str:
    start, stop = execution.get("startDate"), execution.get("stopDate") or now
    if not isinstance(start, datetime):
        return ""
    seconds = max(0.0, (stop - start).total_seconds())
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def execution_link(arn: str, text: str) -> str:
    return f'<a href="execution?arn={quote(arn, safe="")}">{escape(text)}</a>'


def executions_page(rows: list[dict[str, Any]], *, status: str | None, now: datetime) -> str:
    filters = " ".join(f'<a href="./?status={name}">{name.lower().replace("_", " ")}</a>' for name in STATUSES)
    cells = []
    for row in rows:
        shown = "PAUSED" if row.get("waitsAt") else row["status"]
        where = f" at {escape(row['waitsAt'])}" if row.get("waitsAt") else ""
        cells.append(
            "<tr>"
            f"<td>{execution_link(row['executionArn'], row['name'])}</td>"
            f"<td>{escape(row['stateMachineArn'].rsplit(':', 1)[-1])}</td>"
            f'<td class="status {shown}">{escape(shown.lower().replace("_", " "))}{where}</td>'
            f"<td>{when(row.get('startDate'))}</td><td>{duration(row, now)}</td>"
            "</tr>"
        )
    body = (
        f"<h1>Executions{' · ' + escape(status.lower()) if status else ''}</h1>"
        f'<nav><a href="start">Start execution</a> · <a href="./">all</a> {filters}</nav>'
        "<table><thead><tr><th>Name</th><th>State machine</th><th>Status</th><th>Started</th><th>Duration</th>"
        f"</tr></thead><tbody>{''.join(cells) or '<tr><td colspan=5>No execution yet.</td></tr>'}</tbody></table>"
        f"<p><small>The {len(rows)} newest; updated every 5 s.</small></p>"
    )
    return page("Executions", body, refresh_seconds=5)


def execution_page(
    description: dict[str, Any],
    svg: str,
    events: list[dict[str, Any]],
    *,
    masked: list[tuple[str, str]],
    now: datetime,
    actions: str = "",
    notice: str | None = None,
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
    facts = {
        "Status": str(description.get("status", "")),
        "State machine": str(description.get("stateMachineArn", "")).rsplit(":", 1)[-1],
        "Started": when(description.get("startDate")),
        "Duration": duration(description, now),
    }
    listed = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts.items() if v)
    shown = f'<p role="status">{escape(notice)}</p>' if notice else ""
    body = (
        f"<h1>{escape(str(description.get('name', '')))}</h1>{shown}<table>{listed}</table>{actions}"
        f'<div class="graph">{svg}</div>'
        "<h2>Events</h2><table><thead><tr><th>#</th><th>Time</th><th>Type</th><th>Details</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    running = description.get("status") == "RUNNING"
    return page(str(description.get("name", "Execution")), body, refresh_seconds=5 if running else None)


def start_page(
    machines: list[str], *, form_key: str, input_text: str, name: str, chosen: str, problem: str | None
) -> str:
    options = "".join(
        f'<option value="{escape(arn)}"{" selected" if arn == chosen else ""}>{escape(arn.rsplit(":", 1)[-1])}</option>'
        for arn in machines
    )
    examples = " ".join(
        f'<a href="start?example={key}">{"Automatic callback" if key == "automatic" else "Manual callback"}</a>'
        for key in EXAMPLES
    )
    notice = f'<p class="FAILED" role="alert">{escape(problem)}</p>' if problem else ""
    body = (
        "<h1>Start execution</h1>"
        f"{notice}"
        '<form method="post" action="start">'
        f'<input type="hidden" name="formKey" value="{escape(form_key)}">'
        f'<p><label>State machine <select name="stateMachine">{options}</select></label></p>'
        f'<p><label>Name (optional) <input name="name" maxlength="80" value="{escape(name)}"></label></p>'
        f"<p>Input: {examples}</p>"
        f'<p><textarea name="input" rows="10" cols="70" aria-label="Input">{escape(input_text)}</textarea></p>'
        '<p><button type="submit">Start execution</button></p>'
        "</form>"
    )
    return page("Start execution", body)


def actions_form(arn: str, form_key: str) -> str:
    """What can be done to a paused execution: each button posts the form with its action."""
    hidden = (
        f'<input type="hidden" name="formKey" value="{escape(form_key)}">'
        f'<input type="hidden" name="arn" value="{escape(arn)}">'
    )
    return (
        "<h2>It waits for a callback</h2>"
        f'<form method="post" action="act">{hidden}'
        '<p><label>Output (JSON) <input name="output" size="40" placeholder=\'{"resumed": true}\'></label> '
        '<button name="action" value="resume">Resume</button></p>'
        '<p><label>Error <input name="error" size="16" value="Rejected"></label> '
        '<label>Cause <input name="cause" size="30"></label> '
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
        f"<p><code>{escape(url)}</code></p>"
    )
    return page("Approval link", body)
