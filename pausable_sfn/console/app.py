"""The console as a WSGI application: pages over the Step Functions API of the embedded AWS.

GET and HEAD change nothing. What acts (starting an execution; resuming, failing or sending a
heartbeat to a paused one; issuing an approval link) is a POST of one of the console's own forms,
which carries a value only its pages hold.
Every answer forbids framing, sniffing and caching, and loads nothing from elsewhere. Task tokens
are shown as their fingerprints, wherever they appear in an event.
On an embedded AWS (an endpoint on this machine whose clock route answers), every page shows the
clock's time when it is not the wall clock's, reckons with it, and has a form that advances it.
"""

import functools
import hmac
import json
import logging
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from botocore.exceptions import ClientError, ParamValidationError
from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
)
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from ..clock_route import ClockReading, ClockRouteError, advance_clock, advance_seconds, read_clock
from ..durations import DurationError
from ..ops.conventions import NO_APP, AppConventions
from ..ops.errors import OperationError, UsageError
from ..ops.graph import WAITING, ExecutionPath, GraphvizMissingError, render_svg
from ..ops.history import ScheduledTask, read_history, recent_events, scheduled_task, state_visits
from ..ops.operations import Operations, parse_output, place_in_line
from ..ops.tokens import TokenLocator
from . import listing, pages
from .masking import masked_history

LOGGER = logging.getLogger(__name__)
ClientFactory = Callable[[str], Any]
ACTIONS = ("resume", "fail", "heartbeat", "link")
# What an execution's page says after an action of its own succeeded (the redirect names it).
DONE = {
    "resume": "Resumed: SendTaskSuccess was accepted.",
    "fail": "Failed: SendTaskFailure was accepted.",
    "heartbeat": "Heartbeat sent: the task's heartbeat timeout starts again.",
}
PAGE_SIZE = 50  # executions per page: the list never reads every history
NO_APPROVAL_FUNCTION = (
    "No approval link: no deployed stack names an approval function for this state machine in its outputs. "
    "Nothing was sent."
)
# Where an embedded AWS may answer: the console asks no other endpoint (AWS's) for a clock.
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CLOCK_KEY = "pausable_sfn.console.clock"  # the request's reading of the clock, in its WSGI environ
# Where the clock's form may come back to: a page of the console, by its relative address.
CONSOLE_PAGE = re.compile(r"(\./|execution|start)(\?[^\s\\]*)?")
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

    def __init__(
        self, clients: ClientFactory, *, clock_endpoint: str | None = None, conventions: AppConventions = NO_APP
    ) -> None:
        """`clock_endpoint`: the embedded AWS whose clock the pages show; by default the clients'
        endpoint if it is on this machine. `conventions`: what an app says of itself (the outputs
        that name its approval function, the inputs its Start page offers); the console works on any
        state machine without them."""
        self._clients = clients
        self._conventions = conventions
        self._examples = {
            label: json.dumps(dict(example), indent=2) for label, example in conventions.start_examples.items()
        }
        self._clock_endpoint = clock_endpoint
        self._clock_endpoint_known = clock_endpoint is not None
        self._pages = {"": self._executions, "execution": self._execution, "start": self._start_form}
        self._actions = {"start": self._start, "act": self._act, "clock": self._advance}
        # What the console's forms carry back: a page of another site, or a request made without
        # loading a form, cannot know it (it changes with every run of the server).
        self._form_key = secrets.token_urlsafe(16)
        self._cursors = listing.CursorCodec(secrets.token_bytes(32))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        clock = None
        try:
            environ[CLOCK_KEY] = clock = self._read_clock()
            folder, _, name = request.path.rpartition("/")
            if request.method == "POST" and name in self._actions:
                self._check_form(request)
                response = self._actions[name](request)
            elif request.method not in ("GET", "HEAD"):
                raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
            elif not folder and name:  # the mount point without its slash: relative links need it
                response = redirect(f"{name}/", code=308)
            elif name not in self._pages:
                raise NotFound()
            else:
                response = Response(self._pages[name](request), content_type="text/html; charset=utf-8")
        except HTTPException as error:
            response = _error_page(error)
        except Exception:  # a bug or an AWS answer nobody foresaw: logged here, one line for the browser
            LOGGER.exception("the console failed on %s %s", request.method, request.path)
            response = _error_page(InternalServerError("The console failed; the server's log says why."))
        if clock is not None and response.mimetype == "text/html":
            shown = pages.with_clock(
                response.get_data(as_text=True), clock, form_key=self._form_key, back=_back(request)
            )
            response.set_data(shown)
        response.headers.update(HEADERS)
        return response(environ, start_response)

    def _check_form(self, request: Request) -> None:
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site != "same-origin":
            raise Forbidden("A form of another site cannot act here.")
        if not hmac.compare_digest(request.form.get("formKey", "").encode(), self._form_key.encode()):
            raise Forbidden("This form did not come from the console: reload the page and send it again.")

    def _clock_at(self) -> str | None:
        """The endpoint whose clock the pages show, if it may be an embedded AWS's."""
        if not self._clock_endpoint_known:
            client = self._clients("stepfunctions")
            url = getattr(getattr(client, "meta", None), "endpoint_url", None)
            self._clock_endpoint = url if isinstance(url, str) and urlsplit(url).hostname in LOOPBACK else None
            self._clock_endpoint_known = True
        return self._clock_endpoint

    def _read_clock(self) -> ClockReading | None:
        """The clock's reading, or None where no clock answers (AWS, another local server)."""
        endpoint = self._clock_at()
        if endpoint is None:
            return None
        try:
            return read_clock(endpoint, timeout=5)
        except (ClockRouteError, ValueError) as error:
            LOGGER.debug("no clock shown: %s", error)
            return None

    def _advance(self, request: Request) -> Response:
        """The clock's form: advances it, then back to the page the form was on."""
        back = request.form.get("back", "")
        back = back if CONSOLE_PAGE.fullmatch(back) else "./"
        endpoint = self._clock_at()
        if endpoint is None:
            raise NotFound("There is no clock to advance here: only an embedded AWS has one.")
        try:
            seconds = advance_seconds(request.form.get("advance", ""))
        except DurationError as error:
            return _clock_problem(f"{error}. The clock did not move.", back, 400)
        try:
            advance_clock(endpoint, seconds)
        except ClockRouteError as error:
            return _clock_problem(f"{error}.", back, 502)
        return redirect(back, code=303)

    def _state_machines(self) -> list[str]:
        pages_of = self._clients("stepfunctions").get_paginator("list_state_machines").paginate()
        return [machine["stateMachineArn"] for page in pages_of for machine in page["stateMachines"]]

    def _start_form(self, request: Request, *, problem: str | None = None) -> str:
        example = request.args.get("example", "")
        text = request.form.get("input") if request.method == "POST" else self._examples.get(example, "{}")
        return pages.start_page(
            self._state_machines(),
            form_key=self._form_key,
            input_text=text or "{}",
            name=request.form.get("name", ""),
            chosen=request.form.get("stateMachine") or request.args.get("stateMachine", ""),
            problem=problem,
            examples=self._examples,
        )

    def _start(self, request: Request) -> Response:
        def refuse(problem: str) -> Response:
            html = self._start_form(request, problem=problem)
            return Response(html, status=400, content_type="text/html; charset=utf-8")

        machine = request.form.get("stateMachine", "")
        if machine not in self._state_machines():
            return refuse("Choose one of the deployed state machines.")
        try:
            execution_input = json.loads(request.form.get("input", ""))
        except json.JSONDecodeError as error:
            where = f"line {error.lineno}, column {error.colno}"
            return refuse(f"The input is not valid JSON: {error.msg} ({where}). Nothing was started.")
        name = request.form.get("name", "").strip()
        options = {"name": name} if name else {}
        try:
            arn = self._clients("stepfunctions").start_execution(
                stateMachineArn=machine, input=json.dumps(execution_input), **options
            )["executionArn"]
        except ClientError as error:
            return refuse(f"Step Functions refused it: {error.response['Error'].get('Message', error)}")
        return redirect(f"execution?arn={quote(arn, safe='')}", code=303)

    def _act(self, request: Request) -> Response:
        """Resume, Fail, Heartbeat or Approval link for a paused execution, as the CLI does them:
        the live token is read from the history, never shown. What went wrong is said on the
        execution's page, with what was typed still in its fields; what went right redirects to it."""
        arn, action = request.form.get("arn", ""), request.form.get("action", "")
        machine = arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
        if machine not in self._state_machines() or action not in ACTIONS:
            raise NotFound("There is no such execution, or no such action.")
        operations = Operations(state_machine=machine, clients=self._clients, conventions=self._conventions)
        try:
            if action == "fail" and not request.form.get("error", "").strip():
                raise UsageError("Name the error (for example Rejected): a Catch matches on it. Nothing was sent.")
            token = operations.token_of(arn)
            if action == "resume":
                operations.resume(token, parse_output(request.form.get("output") or None, what="The output"))
            elif action == "fail":
                operations.fail(token, request.form.get("error", "").strip(), request.form.get("cause", ""))
            elif action == "heartbeat":
                operations.heartbeat(token)
            else:
                function = self._approval_function(machine)
                if function is None:
                    raise UsageError(NO_APPROVAL_FUNCTION)
                link = operations.approval_link(token, function=function)
                return Response(
                    pages.link_page(arn, link.url, link.expires_at), content_type="text/html; charset=utf-8"
                )
        except OperationError as error:
            problem = error.reason  # in the console's terms: never a flag of the command line
            html = self._execution_page(
                arn, now=_now(request), problem=problem[:1].upper() + problem[1:], typed=request.form
            )
            return Response(html, status=409, content_type="text/html; charset=utf-8")
        return redirect(f"execution?arn={quote(arn, safe='')}&done={action}", code=303)

    def _approval_function(self, machine: str) -> str | None:
        """The approval function of the stack whose outputs name this state machine, if the
        conventions say which outputs name them."""
        named = self._conventions.outputs
        if named is None or named.approval_function is None:
            return None
        for stack in self._clients("cloudformation").describe_stacks().get("Stacks", []):
            outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
            if outputs.get(named.state_machine_arn) == machine and named.approval_function in outputs:
                return str(outputs[named.approval_function])
        return None

    def _executions(self, request: Request) -> str:
        status = (request.args.get("status") or "").upper() or None
        if status is not None and status not in pages.STATUSES:
            raise BadRequest(f"There is no status {status!r}: it is one of {', '.join(pages.STATUSES)}.")
        machines = self._state_machines()
        chosen = request.args.get("stateMachine") or None
        if chosen is not None and chosen not in machines:
            raise NotFound(f"There is no state machine {chosen!r} on this endpoint.")
        try:
            cursor = self._cursors.decode(request.args["page"]) if "page" in request.args else None
            first = int(request.args.get("from", "1"))
        except (listing.DamagedCursorError, ValueError) as error:
            raise BadRequest(f"{error}: start again from the newest executions.") from None
        shown = [chosen] if chosen else machines
        if cursor is not None:  # a machine of another filter, or deleted since, is not read
            cursor = {machine: position for machine, position in cursor.items() if machine in shown}
        sfn = self._clients("stepfunctions")
        rows, following = listing.newest(sfn, shown, cursor, page_size=PAGE_SIZE, status=status)
        operations: dict[str, Operations] = {}  # by state machine: each reads its definition once a page
        waiting: dict[str, ScheduledTask | None] = {}  # what each execution of the page waits on now
        for row in rows:
            running = row["status"] == "RUNNING"
            # Where it waits needs no token: any state machine's waiting task is shown.
            task = scheduled_task(recent_events(sfn, row["executionArn"])) if running else None
            waiting[row["executionArn"]] = task
            if running:
                row["waitsAt"] = task.state if task else None
                row["waitsOnKey"] = self._key_waited_on(operations, row, task) if task else None
        # A task in a key's line and the one it waits behind are often on one page: read once.
        holder_waits_at = _holder_waits_at(
            sfn, known={arn: task.state if task else None for arn, task in waiting.items()}
        )
        for row in rows:
            if row.get("waitsOnKey") is not None:
                row["waitsInLine"] = _place_in_line(waiting[row["executionArn"]], holder_waits_at)
        return pages.executions_page(
            rows,
            machines=machines,
            status=status,
            chosen=chosen,
            first=max(1, first),
            older=self._cursors.encode(following) if following else None,
            now=_now(request),
        )

    def _key_waited_on(self, operations: dict[str, Operations], row: listing.Row, task: ScheduledTask) -> str | None:
        """The correlation key a listed execution's task waits on, read beside its token where its
        state machine's definition says; None when it has none, or the definition does not say."""
        machine = row["stateMachineArn"]
        try:
            if machine not in operations:
                operations[machine] = Operations(
                    state_machine=machine, clients=self._clients, conventions=self._conventions
                )
            return operations[machine].located(row["executionArn"], task).key
        except OperationError:
            return None

    def _execution(self, request: Request) -> str:
        done = request.args.get("done")
        return self._execution_page(request.args.get("arn", ""), now=_now(request), notice=DONE.get(done or ""))

    def _execution_page(
        self,
        arn: str,
        *,
        now: datetime,
        notice: str | None = None,
        problem: str | None = None,
        typed: Mapping[str, str] | None = None,
    ) -> str:
        sfn = self._clients("stepfunctions")
        try:
            description = sfn.describe_execution(executionArn=arn)
            definition_text = sfn.describe_state_machine_for_execution(executionArn=arn)["definition"]
        except (ClientError, ParamValidationError):  # no such execution, or not an ARN at all
            raise NotFound(f"There is no execution {arn!r} on this endpoint.") from None
        events = read_history(sfn, arn)
        definition = json.loads(definition_text)
        path = ExecutionPath.from_history(events, definition)
        try:
            svg = render_svg(definition, path, now=now, link=lambda name: f"#{pages.state_anchor(name)}")
        except GraphvizMissingError as error:
            svg = f"<p>{error}</p>"
        task = scheduled_task(events) if description.get("status") == "RUNNING" else None
        key = _key_of(definition_text, task) if task else None
        line = key is not None and _place_in_line(task, _holder_waits_at(sfn))
        masked, shown_events = masked_history(definition_text, events)
        return pages.execution_page(
            description,
            svg,
            shown_events,
            visits=state_visits(events),
            waiting=next(((name, run) for name, run in path.runs.items() if run.status == WAITING), None),
            masked=masked,
            now=now,
            key=key,
            line=line,
            behind=task.behind if task and line else None,
            actions=pages.actions_form(arn, self._form_key, typed or {}) if task else "",
            address=f"execution?arn={quote(arn, safe='')}",
            notice=notice,
            problem=problem,
        )


def _key_of(definition: str, task: ScheduledTask) -> str | None:
    """The correlation key a waiting task waits on, read beside its token; None when it waits by
    token only, or its definition does not say where the token is."""
    try:
        return TokenLocator(definition).locate(task.state, task.parameters).key
    except OperationError:
        return None


def _holder_waits_at(sfn: Any, known: Mapping[str, str | None] | None = None) -> Callable[[str], str | None]:
    """Where the task of an execution that a task was put behind in a key's line waits now, by the
    execution's ARN: None when it waits no more, or the execution is gone. Each read once a page,
    and not at all when `known` (where the page's executions wait) says."""

    @functools.cache
    def waits_at(arn: str) -> str | None:
        if known is not None and arn in known:
            return known[arn]
        try:
            holder = scheduled_task(recent_events(sfn, arn))
        except (ClientError, ParamValidationError):
            return None
        return holder.state if holder else None

    return waits_at


def _place_in_line(task: ScheduledTask | None, holder_waits_at: Callable[[str], str | None]) -> bool | None:
    return False if task is None else place_in_line(task.state, task.registered, task.behind, holder_waits_at)


def _now(request: Request) -> datetime:
    """The time by the embedded AWS's clock when it has one, which may be ahead of the wall clock."""
    clock: ClockReading | None = request.environ.get(CLOCK_KEY)
    return clock.now if clock is not None else datetime.now(UTC)


def _back(request: Request) -> str:
    """The relative address of the page asked for (without an action's notice), for the clock's form
    to come back to; after a form, the list."""
    _, _, name = request.path.rpartition("/")
    if request.method not in ("GET", "HEAD") or name not in ("", "execution", "start"):
        return "./"
    query = urlencode([(key, value) for key, value in request.args.items(multi=True) if key != "done"])
    return (name or "./") + (f"?{query}" if query else "")


def _clock_problem(problem: str, back: str, status: int) -> Response:
    html = pages.clock_problem(problem[:1].upper() + problem[1:], back)
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _error_page(error: HTTPException) -> Response:
    text = (
        f"<h1>{error.code} {error.name}</h1><p>{escape(error.description or '')}</p>"
        '<p><a href="./">Back to the executions</a></p>'
    )
    return Response(pages.page(error.name, text), status=error.code, content_type="text/html; charset=utf-8")
