"""`pausable-sfn local advance DURATION` and `pausable-sfn local clock`: the clock of a running
`local serve`, moved and read from the command line. A duration is written as `approval-link
--expires` takes it, plus plain seconds; what cannot be one is a usage error (2) before any call; an
endpoint where no embedded AWS answers is a failure (1) that says how to start one."""

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pausable_sfn.cli import parser
from pausable_sfn.durations import DurationError, parse_duration, spoken
from pausable_sfn.local.embedded import EmbeddedAws

DAY = 86400
USAGE, FAILED = 2, 1


@pytest.fixture(scope="module")
def served() -> Iterator[EmbeddedAws]:
    """The embedded AWS in server mode, as `local serve` runs it (with nothing deployed)."""
    with EmbeddedAws(in_process=False) as aws:
        yield aws


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("3d", 3 * DAY),
        ("0", 0),
        (" 1d ", DAY),
        ("3650d", 3650 * DAY),
    ],
)
def test_a_duration_is_a_whole_number_and_a_unit_or_plain_seconds(text, seconds):
    assert parse_duration(text) == seconds
    assert parser().parse_args(["local", "advance", text]).duration == seconds


@pytest.mark.parametrize("text", ["soon", "3 days", "1.5h", "2w", "1d2h", "", "d", "٣d"])
def test_anything_else_is_not_a_duration(text):
    with pytest.raises(DurationError, match=r"^not a duration like 90s, 30m, 2h or 3d: "):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (7 * DAY, "7 days"),
        (604799.996, "7 days"),  # 7 days as an advance leaves it, a few milliseconds short
        (DAY + 2 * 3600 + 5, "1 day 2 hours"),
        (3 * 3600 + 20 * 60, "3 hours 20 minutes"),
        (61, "1 minute 1 second"),
        (33 * DAY + 50, "33 days"),  # the largest unit and the next: 0 hours are not said, nor 50 seconds
        (DAY + 5 * 60, "1 day"),
        (45.4, "45 seconds"),
        (0.2, "0 seconds"),
    ],
)
def test_a_duration_is_said_in_its_largest_unit_and_the_next_rounded_to_the_second(seconds, words):
    assert spoken(seconds) == words


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("-1d", "argument DURATION: the clock only moves forward, not back: -1d"),
        ("-5", "argument DURATION: the clock only moves forward, not back: -5"),
        ("3 days", "argument DURATION: not a duration like 90s, 30m, 2h or 3d: '3 days'"),
        ("3651d", "argument DURATION: the clock moves at most 3650 days (315360000 seconds) at once, not 3651d"),
    ],
)
def test_a_duration_it_cannot_take_is_a_usage_error_before_any_call(run_cli, argument, message):
    code, out, err = run_cli("local", "advance", argument, "--endpoint-url", f"http://127.0.0.1:{free_port()}")

    assert code == USAGE
    assert err.splitlines()[-1] == f"pausable-sfn local advance: error: {message}"
    assert out == ""


def test_an_endpoint_that_is_not_an_http_url_is_a_usage_error(run_cli, monkeypatch):
    code, _, err = run_cli("local", "clock", "--endpoint-url", "127.0.0.1:5000")
    assert code == USAGE
    assert "argument --endpoint-url: not an http:// URL such as http://127.0.0.1:5000: '127.0.0.1:5000'" in err

    monkeypatch.setenv("AWS_ENDPOINT_URL", "localhost")
    code, _, err = run_cli("local", "clock")
    assert code == USAGE
    assert err == "pausable-sfn: AWS_ENDPOINT_URL: not an http:// URL such as http://127.0.0.1:5000: 'localhost'\n"


@pytest.mark.parametrize("words", [("local", "advance", "1d"), ("local", "clock")])
def test_where_no_embedded_aws_answers_it_fails_in_one_line_saying_how_to_start_one(run_cli, words):
    endpoint = f"http://127.0.0.1:{free_port()}"

    code, out, err = run_cli(*words, "--endpoint-url", endpoint)

    assert code == FAILED
    assert out == ""
    assert err == (
        f"pausable-sfn: no embedded AWS answers at {endpoint} (Connection refused): "
        "start one with `pausable-sfn local serve`\n"
    )


def test_a_server_that_is_not_an_embedded_aws_is_named_as_such(run_cli):
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    try:
        code, _, err = run_cli("local", "clock", "--endpoint-url", endpoint)
    finally:
        server.shutdown()
        server.server_close()

    assert code == FAILED
    assert err == f"pausable-sfn: {endpoint} is not an embedded AWS: it has no clock (HTTP 404 at /_embedded/clock)\n"


def printed_time(out: str) -> datetime:
    stamp, _, _ = out.partition(" ")
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_local_clock_prints_the_time_and_that_it_is_the_wall_clock_before_any_advance(run_cli):
    with EmbeddedAws(in_process=False) as aws:
        code, out, err = run_cli("local", "clock", "--endpoint-url", aws.endpoint_url)

    assert (code, err) == (0, "")
    assert out.endswith(" (the wall clock)\n")
    assert abs(printed_time(out) - datetime.now(UTC)) < timedelta(seconds=5)


def test_local_advance_moves_the_served_clock_and_prints_the_new_time_and_how_far_ahead_it_is(run_cli, served):
    before = served.clock.now()

    code, out, err = run_cli("local", "advance", "3d", "--endpoint-url", served.endpoint_url)

    assert (code, err) == (0, "")
    assert timedelta(days=3) <= printed_time(out) - before < timedelta(days=3, seconds=5)
    assert out.endswith(f" ({spoken(served.clock.offset)} ahead of the wall clock)\n")
    assert served.clock.offset == pytest.approx(3 * DAY, abs=5)


def test_the_endpoint_is_aws_endpoint_url_when_not_given_and_json_prints_the_clock_s_document(
    run_cli, served, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", served.endpoint_url)
    offset = served.clock.offset

    code, out, _ = run_cli("local", "advance", "90", "--json")

    document = json.loads(out)
    assert code == 0
    assert set(document) == {"now", "epochMillis", "offsetSeconds", "wallClock"}
    assert document["offsetSeconds"] - offset == pytest.approx(90, abs=1)
    assert json.loads(run_cli("local", "clock", "--json")[1])["offsetSeconds"] == pytest.approx(
        served.clock.offset, abs=0.01
    )
