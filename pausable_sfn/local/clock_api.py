"""The embedded AWS's clock on its endpoint, for what is not Python: `pausable-sfn local advance`,
the console, and tools in any language (docs/embedded-aws.md, Moving the clock from outside, documents the request).

GET /_embedded/clock answers the clock's time; POST /_embedded/clock with {"advance": "3d"} or
{"advanceSeconds": 259200} advances it (clock.py: every timer due on the way fires, in order) and
answers the new time once what they woke has settled. The path cannot be an AWS API's: no
service's path starts with an underscore, nor does an S3 bucket's name, and function URLs are
under /lambda-url/. Whatever a caller can get wrong is a 4xx answer {"message": ...} saying what,
never a traceback; the clock does not move then.
"""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.wrappers import Request, Response

from ..clock_route import PATH, ClockReading, advance_seconds, within_reach
from ..durations import DurationError
from .clock import Clock, ClockError, OutOfReachError
from .clock import active as active_clock
from .endpoint import Endpoint, WsgiApp

MAX_BODY_BYTES = 1024  # {"advanceSeconds": 259200} is 26
FIELDS = ("advance", "advanceSeconds")
EXAMPLE = '{"advance": "3d"} or {"advanceSeconds": 259200}'
JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


class _RefusedError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def mount(endpoint: Endpoint, clock: Clock) -> None:
    """Serves the clock route on the endpoint."""
    endpoint.mount(PATH, ClockApi(clock))


def reading(clock: Clock) -> ClockReading:
    return ClockReading.at(clock.time(), offset=clock.offset, wall_clock=clock.is_wall_clock)


class ClockApi:
    """The WSGI application of the route. Mounted on the endpoint, which counts each request as
    work the clock waits for (see served_as_a_client)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.respond(Request(environ))(environ, start_response)

    def respond(self, request: Request) -> Response:
        if request.path.rstrip("/") != PATH:
            return _answer(404, {"message": f"there is nothing at {request.path}: the clock is at {PATH}"})
        if request.method in ("GET", "HEAD"):
            return _answer(200, reading(self._clock).document())
        if request.method != "POST":
            answer = _answer(405, {"message": f"the clock answers GET and POST, not {request.method}"})
            answer.headers["Allow"] = "GET, HEAD, POST"
            return answer
        try:
            seconds = requested_seconds(request)
        except _RefusedError as refused:
            return _answer(refused.status, {"message": str(refused)})
        try:
            with _uncounted():
                self._clock.advance(seconds)
        except OutOfReachError as refused:  # past the last date: the clock has not moved
            return _answer(400, {"message": str(refused)})
        except ClockError as error:  # what a timer woke never settled: the clock stopped on the way
            return _answer(500, {"message": f"{error}; the clock is at {reading(self._clock).stamp}"})
        return _answer(200, reading(self._clock).document())


def requested_seconds(request: Request) -> float:
    """How far the POST asks the clock to move, or the _RefusedError that says what is wrong with it."""
    if request.mimetype != "application/json":
        # A browser sends no JSON to another site without asking it first (CORS): no web page
        # the developer has open can move the clock.
        shown = request.mimetype or "none"
        raise _RefusedError(f"send the body as Content-Type: application/json (this one is {shown})", 415)
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise _RefusedError(f"the body is more than {MAX_BODY_BYTES} bytes: send {EXAMPLE}", 413)
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = f"{error.msg} at character {error.pos}" if isinstance(error, json.JSONDecodeError) else str(error)
        raise _RefusedError(f"the body is not JSON ({reason}): send {EXAMPLE}") from None
    if not isinstance(body, dict):
        raise _RefusedError(
            f"the body is a JSON object such as {EXAMPLE}, not {JSON_TYPES.get(type(body), 'a number')}"
        )
    unknown = [name for name in body if name not in FIELDS]
    if unknown:
        raise _RefusedError(f"unknown field {json.dumps(unknown[0])}: the body has advance or advanceSeconds")
    if not body:
        raise _RefusedError(f"the body names no field: send {EXAMPLE}")
    if len(body) > 1:
        raise _RefusedError("the body has both advance and advanceSeconds: send one of them")
    if "advance" in body:
        return _duration(body["advance"])
    return _seconds(body["advanceSeconds"])


def _duration(value: Any) -> float:
    if not isinstance(value, str):
        raise _RefusedError(f'advance is a duration written as a string such as "3d", not {json.dumps(value)}')
    try:
        return advance_seconds(value)
    except DurationError as error:
        raise _RefusedError(f"advance: {error}") from None


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _RefusedError(f"advanceSeconds is a number of seconds, not {json.dumps(value)}")
    try:
        return within_reach(value, f"{json.dumps(value)} seconds")
    except DurationError as error:
        raise _RefusedError(f"advanceSeconds: {error}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _answer(status: int, document: dict[str, Any]) -> Response:
    answer = Response(json.dumps(document), status=status, content_type="application/json")
    answer.headers["Cache-Control"] = "no-store"
    return answer


def served_as_a_client(app: WsgiApp) -> WsgiApp:
    """An application mounted on the endpoint that is a client of the embedded AWS (the console):
    its requests are not the embedded AWS's work, only the API calls they make are, each counted
    as it is served. Counted, a console page that advances the clock would wait for itself."""

    def client(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with _uncounted():
            return list(app(environ, start_response))

    return client


@contextmanager
def _uncounted() -> Iterator[None]:
    """Takes the request in progress out of the clock's busy count for the block. The endpoint
    counts every request on the active clock while it is served (endpoint._Routes); an advance
    made from one would otherwise wait a minute for that very request to end, then give up."""
    clock = active_clock()
    if clock is None:  # no clock counted it
        yield
        return
    clock.release()
    try:
        yield
    finally:
        clock.acquire()
