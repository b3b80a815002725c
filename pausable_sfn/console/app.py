"""The console as a WSGI application: read-only pages over the AWS APIs of the embedded AWS.

GET only: nothing here changes anything (buttons that act are POSTs of forms, still to come).
Every answer forbids framing, sniffing and caching, and loads nothing from elsewhere. Task tokens
are shown as their fingerprints, wherever they appear in an event.
"""

import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ..contracts import fingerprint
from ..ops.errors import OperationError
from ..ops.graph import ExecutionPath, GraphvizMissingError, render_svg
from ..ops.history import event_details, read_history, recent_events, waiting_task
from ..ops.tokens import TokenLocator
from . import pages

ClientFactory = Callable[[str], Any]
PAGE_SIZE = 50  # executions per page: the list never reads every history
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class ConsoleApp:
    """Mounted at any path (`local serve` mounts it at /console): its pages link to each other by
    relative addresses, so the last segment of the path names the page."""

    def __init__(self, clients: ClientFactory) -> None:
        self._clients = clients
        self._pages = {"": self._executions, "execution": self._execution}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            if request.method not in ("GET", "HEAD"):
                raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
            folder, _, name = request.path.rpartition("/")
            if not folder and name:  # the mount point without its slash: relative links need it
                response = redirect(f"{name}/", code=308)
            elif name not in self._pages:
                raise NotFound()
            else:
                response = Response(self._pages[name](request), content_type="text/html; charset=utf-8")
        except HTTPException as error:
            response = Response(pages.page(error.name, f"<h1>{error.code} {error.name}</h1>"), status=error.code)
            response.content_type = "text/html; charset=utf-8"
        response.headers.update(HEADERS)
        return response(environ, start_response)

    def _executions(self, request: Request) -> str:
        status = request.args.get("status")
        if status is not None and status not in pages.STATUSES:
            raise NotFound()
        sfn = self._clients("stepfunctions")
        options: dict[str, Any] = {"maxResults": PAGE_SIZE}
        if status:
            options["statusFilter"] = status
        rows: list[dict[str, Any]] = []
        for machine in sfn.list_state_machines()["stateMachines"]:
            answer = sfn.list_executions(stateMachineArn=machine["stateMachineArn"], **options)
            rows.extend(answer["executions"])
        rows.sort(key=lambda row: row["startDate"], reverse=True)
        rows = rows[:PAGE_SIZE]
        for row in rows:
            if row["status"] == "RUNNING":
                waiting = waiting_task(recent_events(sfn, row["executionArn"]))
                row["waitsAt"] = waiting.state if waiting else None
        return pages.executions_page(rows, status=status, now=datetime.now(UTC))

    def _execution(self, request: Request) -> str:
        arn = request.args.get("arn", "")
        sfn = self._clients("stepfunctions")
        try:
            description = sfn.describe_execution(executionArn=arn)
            definition_text = sfn.describe_state_machine_for_execution(executionArn=arn)["definition"]
        except ClientError:
            raise NotFound() from None
        events = read_history(sfn, arn)
        definition = json.loads(definition_text)
        now = datetime.now(UTC)
        try:
            svg = render_svg(definition, ExecutionPath.from_history(events, definition), now=now)
        except GraphvizMissingError as error:
            svg = f"<p>{error}</p>"
        return pages.execution_page(description, svg, events, masked=_tokens(definition_text, events), now=now)


def _tokens(definition: str, events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The task tokens the history holds, each with the fingerprint shown in its place."""
    locator = TokenLocator(definition)
    found: list[tuple[str, str]] = []
    state = ""
    for event in events:
        details = event_details(event)
        state = details.get("name", state)
        if event["type"] == "TaskScheduled":
            try:
                token = locator.locate(state, details.get("parameters", "")).token
            except OperationError:  # a token the locator cannot place: the page masks what it knows
                continue
            found.append((token, f"{fingerprint(token)} (task token, masked)"))
    return found
