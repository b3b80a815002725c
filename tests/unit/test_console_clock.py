"""The console on an embedded AWS whose clock was advanced: every page shows the clock's time and
reckons with it, and a form of its header advances the clock, as the console's other forms act
(a POST carrying the console's form key), then comes back to the page it was on. On AWS, whose
endpoint is not on this machine, the console asks for no clock and shows none."""

import html
import json
import re
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws
from werkzeug.test import Client

from pausable_sfn.cli import _console
from pausable_sfn.console.app import ConsoleApp
from pausable_sfn.local.embedded import EmbeddedAws

from .console_harness import MOUNT, Console

ROLE = "arn:aws:iam::123456789012:role/console-clock"
DAY = 86400
SHOWN_TIME = re.compile(r"Embedded AWS clock: (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC, ([^<]+)</span>")


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    """The embedded AWS in server mode, as `local serve` runs it: its clients' endpoint is on 127.0.0.1."""
    with EmbeddedAws(in_process=False) as embedded:
        yield embedded


@pytest.fixture(scope="module")
def console(aws) -> Client:
    return Client(ConsoleApp(aws.client))


def form_key(page: str) -> str:
    found = re.search(r'name="formKey" value="([^"]+)"', page)
    assert found, page
    return html.unescape(found.group(1))


def shown_time(page: str) -> tuple[datetime, str]:
    found = SHOWN_TIME.search(page)
    assert found, page
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC), found.group(2)


def waiting_a_day(aws: EmbeddedAws, name: str) -> str:
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "Day", "States": {"Day": {"Type": "Wait", "Seconds": DAY, "End": True}}}
    machine = sfn.create_state_machine(
        name=f"day-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )
    arn: str = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=name)["executionArn"]
    return arn


def test_on_the_wall_clock_pages_show_no_time_but_the_form_that_advances_it():
    with EmbeddedAws(in_process=False) as aws:
        page = Client(ConsoleApp(aws.client)).get(MOUNT).get_data(as_text=True)

    assert "Embedded AWS clock" not in page
    assert '<form method="post" action="clock" class="clock">' in page
    assert '<button type="submit">Advance the clock</button>' in page


def test_once_advanced_every_page_shows_the_clock_s_time_and_how_far_ahead_it_is(aws, console):
    arn = waiting_a_day(aws, "shown")
    aws.clock.advance(timedelta(hours=1))
    addresses = ["", "start", f"execution?arn={urllib.parse.quote(arn, safe='')}", "no-such-page"]

    for address in addresses:
        page = console.get(MOUNT + address).get_data(as_text=True)
        shown, ahead = shown_time(page)
        assert abs(shown - aws.clock.now()) < timedelta(seconds=5), address
        assert ahead == "1 hour ahead", address


@pytest.mark.parametrize(
    ("advanced", "shown"), [(timedelta(minutes=90), "90.0 min"), (timedelta(hours=20), "20 h 0 min")]
)
def test_the_pages_reckon_with_the_clock_not_the_wall_clock(aws, console, advanced, shown):
    name = f"waits-{uuid.uuid4().hex[:8]}"
    arn = waiting_a_day(aws, name)
    aws.clock.advance(advanced)

    listed = console.get(MOUNT).get_data(as_text=True)
    described = console.get(f"{MOUNT}execution?arn={urllib.parse.quote(arn, safe='')}").get_data(as_text=True)

    row = re.search(rf">{name}</a>.*?</tr>", listed)
    assert row is not None
    assert f"<td>{shown}</td>" in row.group(0)
    assert f"<tr><th>Duration</th><td>{shown}</td></tr>" in described


def advance(console: Client, duration: str, *, back: str = "./", key: str | None = None, **headers: str):
    key = key if key is not None else form_key(console.get(MOUNT).get_data(as_text=True))
    form = {"formKey": key, "advance": duration, "back": back}
    return console.post(MOUNT + "clock", data=form, headers=headers)


def test_the_form_advances_the_clock_and_comes_back_to_the_page_it_was_on(aws, console):
    before = aws.clock.now()
    back = "execution?arn=arn%3Aaws%3Astates%3Aus-east-1%3A123456789012%3Aexecution%3Am%3Ax"

    answer = advance(console, "3d", back=back)

    assert answer.status_code == 303
    assert answer.headers["Location"] == back
    assert timedelta(days=3) <= aws.clock.now() - before < timedelta(days=3, seconds=5)


def test_the_form_on_a_page_comes_back_to_it_without_the_notice_of_an_earlier_action(aws, console):
    arn = urllib.parse.quote(waiting_a_day(aws, "acted-on"), safe="")
    aws.clock.advance(1)

    page = console.get(f"{MOUNT}execution?arn={arn}&done=resume").get_data(as_text=True)

    assert f'name="back" value="execution?arn={arn}"' in page


@pytest.mark.parametrize("elsewhere", ["https://example.com/", "//example.com/", "/console/../admin", "javascript:x"])
def test_the_form_comes_back_only_to_a_page_of_the_console(console, elsewhere):
    answer = advance(console, "1s", back=elsewhere)

    assert (answer.status_code, answer.headers["Location"]) == (303, "./")


@pytest.mark.parametrize(
    ("duration", "problem"),
    [
        ("soon", "Not a duration like 90s, 30m, 2h or 3d: &#x27;soon&#x27;. The clock did not move."),
        ("-1d", "The clock only moves forward, not back: -1d. The clock did not move."),
        ("3651d", "The clock moves at most 3650 days (315360000 seconds) at once, not 3651d. The clock did not move."),
    ],
)
def test_a_duration_it_cannot_take_is_said_on_a_page_and_the_clock_stays(aws, console, duration, problem):
    offset = aws.clock.offset

    answer = advance(console, duration, back="start")

    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert f'<p class="FAILED" role="alert">{problem}</p>' in page
    assert '<a href="start">Back</a>' in page
    assert aws.clock.offset == offset


@pytest.mark.parametrize(
    ("key", "headers"), [("", {}), ("guessed", {}), (None, {"Sec-Fetch-Site": "cross-site"})], ids=str
)
def test_a_form_that_is_not_the_console_s_own_cannot_move_the_clock(aws, console, key, headers):
    offset = aws.clock.offset

    answer = advance(console, "1d", key=key, **headers)

    assert answer.status_code == 403
    assert aws.clock.offset == offset


def test_served_as_local_serve_serves_it_the_form_advances_the_clock_at_once(aws):
    # On the endpoint, each request is work the clock waits for before it moves: the console's own
    # request must not be, or its advance would wait a minute for it and fail.
    aws.endpoint.mount("/console", _console(aws.client))
    page = urllib.request.urlopen(f"{aws.endpoint_url}/console/", timeout=30).read().decode()
    form = urllib.parse.urlencode({"formKey": form_key(page), "advance": "2d", "back": "./"}).encode()
    before, started = aws.clock.now(), time.monotonic()

    with urllib.request.urlopen(f"{aws.endpoint_url}/console/clock", data=form, timeout=120) as answer:
        after = answer.read().decode()

    assert time.monotonic() - started < 10
    assert answer.url == f"{aws.endpoint_url}/console/"  # the redirect, followed
    shown, _ = shown_time(after)
    assert timedelta(days=2) <= shown - before.replace(microsecond=0) < timedelta(days=2, seconds=5)


def test_on_aws_the_console_asks_for_no_clock_and_shows_none():
    with mock_aws():
        console = Console()  # its client's endpoint is AWS's, not this machine's
        page = console.client.get(MOUNT).get_data(as_text=True)
        refused = console.client.post(MOUNT + "clock", data={"formKey": form_key_of(console), "advance": "1d"})

    assert "Advance the clock" not in page
    assert "Embedded AWS clock" not in page
    assert refused.status_code == 404


def form_key_of(console: Console) -> str:
    return form_key(console.client.get(MOUNT + "start").get_data(as_text=True))
