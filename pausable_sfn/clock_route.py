"""The embedded AWS's clock over HTTP, as both ends see it: the route (its path, its document, the
most it moves at once) and a client of it for `pausable-sfn local advance` and the console.

    GET  {endpoint}/_embedded/clock   -> {"now": "2026-12-10T14:03:07.123Z", "epochMillis": ...,
                                          "offsetSeconds": 604800.0, "wallClock": false}
    POST {endpoint}/_embedded/clock   {"advance": "3d"} or {"advanceSeconds": 259200}
                                      -> the same document, once what the advance woke has settled

docs/embedded-aws.md ("Moving the clock from outside") describes it for a client in any language.
Standard library only: the embedded AWS (local/clock_api.py serves the route), the console and
the operator CLI import it.
"""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from .durations import DurationError, parse_duration, spoken

PATH = "/_embedded/clock"
MAX_ADVANCE_DAYS = 3650  # ten years of 365 days: far past any AWS timer, short of datetime's end
MAX_ADVANCE_SECONDS = MAX_ADVANCE_DAYS * 86400
DEFAULT_ENDPOINT = "http://127.0.0.1:5000"  # where `pausable-sfn local serve` listens by default
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def advance_seconds(text: str) -> int:
    """How far a duration as people write it (3d, 90) asks the clock to move; DurationError says
    why it cannot (not a duration, backwards, too far)."""
    if text.strip().startswith("-"):
        raise DurationError(f"the clock only moves forward, not back: {text}")
    return int(within_reach(parse_duration(text), text))


def within_reach(seconds: float, shown: str) -> float:
    """`seconds` if the clock may move that far at once; DurationError naming it as `shown` if not."""
    if seconds < 0:
        raise DurationError(f"the clock only moves forward, not back: {shown}")
    if not (math.isfinite(seconds) and seconds <= MAX_ADVANCE_SECONDS):
        limit = f"{MAX_ADVANCE_DAYS} days ({MAX_ADVANCE_SECONDS} seconds)"
        raise DurationError(f"the clock moves at most {limit} at once, not {shown}")
    return seconds


@dataclass(frozen=True)
class ClockReading:
    """The clock at one moment, to the millisecond."""

    epoch_millis: int
    offset_seconds: float  # how far ahead of the wall clock it is
    wall_clock: bool  # never advanced: it is the wall clock

    @classmethod
    def at(cls, seconds: float, *, offset: float, wall_clock: bool) -> "ClockReading":
        """The reading of a clock whose time() was `seconds`."""
        return cls(int(seconds * 1000), round(offset, 3), wall_clock)

    @property
    def now(self) -> datetime:
        return _EPOCH + timedelta(milliseconds=self.epoch_millis)

    @property
    def stamp(self) -> str:
        """RFC 3339 in UTC with milliseconds: 2026-12-10T14:03:07.123Z."""
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    @property
    def ahead(self) -> str:
        """How it stands to the wall clock, in words: '7 days ahead of the wall clock'."""
        return "the wall clock" if self.wall_clock else f"{spoken(self.offset_seconds)} ahead of the wall clock"

    def document(self) -> dict[str, Any]:
        return {
            "now": self.stamp,
            "epochMillis": self.epoch_millis,
            "offsetSeconds": self.offset_seconds,
            "wallClock": self.wall_clock,
        }

    @classmethod
    def from_document(cls, document: Any) -> "ClockReading":
        """ValueError if `document` is not the route's answer."""
        try:
            millis, offset, wall = document["epochMillis"], document["offsetSeconds"], document["wallClock"]
        except (TypeError, KeyError):
            raise ValueError("not a clock document") from None
        numbers = isinstance(millis, int) and isinstance(offset, int | float)
        if not (numbers and isinstance(wall, bool) and not isinstance(millis, bool)):
            raise ValueError("not a clock document")
        return cls(millis, float(offset), wall)


class ClockRouteError(Exception):
    """The clock could not be read or moved; the message says why."""


class ClockUnreachableError(ClockRouteError):
    """Nothing answers at the endpoint."""


class NotEmbeddedAwsError(ClockRouteError):
    """Something answers at the endpoint, but it has no clock route (AWS itself, another server)."""


class ClockRefusedError(ClockRouteError):
    """The route refused the request; the message is the route's own."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_clock(endpoint_url: str, *, timeout: float = 10) -> ClockReading:
    return _call(endpoint_url, None, timeout)


def advance_clock(endpoint_url: str, seconds: float, *, timeout: float = 600) -> ClockReading:
    """Moves the clock `seconds` forward; answers once what the timers on the way woke has settled
    (the route gives up after a minute of unsettled work for each timer)."""
    return _call(endpoint_url, {"advanceSeconds": seconds}, timeout)


def _call(endpoint_url: str, body: dict[str, Any] | None, timeout: float) -> ClockReading:
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http:// or https:// URL: {endpoint_url!r}")
    # Imported here: `pausable-sfn --help` and every other command need none of it.
    from urllib.error import HTTPError, URLError
    from urllib.request import ProxyHandler, Request, build_opener

    url = endpoint_url.rstrip("/") + PATH
    request = Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Accept": "application/json", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        # The endpoint is on this machine: no proxy of the environment (HTTP_PROXY) stands between.
        with build_opener(ProxyHandler({})).open(request, timeout=timeout) as answer:
            text = answer.read()
    except HTTPError as error:
        with error:
            message = _message(error.read())
        if message is None or error.code in (403, 404):  # the route answers neither for its own path
            raise NotEmbeddedAwsError(
                f"{endpoint_url} is not an embedded AWS: it has no clock (HTTP {error.code} at {PATH})"
            ) from None
        raise ClockRefusedError(error.code, message) from None
    except (URLError, OSError) as error:  # refused, unknown host, timed out
        reason = error.reason if isinstance(error, URLError) else error
        reason = getattr(reason, "strerror", None) or reason
        raise ClockUnreachableError(f"no embedded AWS answers at {endpoint_url} ({reason})") from None
    try:
        return ClockReading.from_document(json.loads(text))
    except ValueError:
        raise NotEmbeddedAwsError(
            f"{endpoint_url} is not an embedded AWS: what it answers at {PATH} is no clock"
        ) from None


def _message(body: bytes) -> str | None:
    """The route's own words for a refusal, or None if the answer is not the route's."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    message = document.get("message") if isinstance(document, dict) else None
    return message if isinstance(message, str) else None
