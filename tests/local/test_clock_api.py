"""The embedded AWS's clock over HTTP (local/clock_api.py), as a tool in any language calls it:
GET /_embedded/clock reads it, POST moves it forward and answers once what the move woke has
settled; whatever a caller gets wrong is a 4xx answer whose message says what, and the clock stays."""

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pausable_sfn.clock_route import PATH
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.testing.waiting import wait_until

ROLE = "arn:aws:iam::123456789012:role/clock-api"
DAY = 86400
EXAMPLE = '{"advance": "3d"} or {"advanceSeconds": 259200}'  # what each refusal of a body shows
AT_MOST = "the clock moves at most 3650 days (315360000 seconds) at once"
RFC_3339_MS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def aws() -> Iterator[EmbeddedAws]:
    with EmbeddedAws() as embedded:
        yield embedded


def call(
    aws: EmbeddedAws, method: str, body: Any = None, *, raw: bytes | None = None, path: str = PATH, **headers: str
) -> tuple[int, dict[str, Any], Any]:
    """(status, JSON document, headers) of a request to the clock, as any HTTP client sends it."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        aws.endpoint_url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read()), answer.headers
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), error.headers


def moment(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_a_clock_never_advanced_is_the_wall_clock_to_the_millisecond():
    with EmbeddedAws(in_process=False) as aws:
        before = datetime.now(UTC)
        status, document, headers = call(aws, "GET")
        after = datetime.now(UTC)

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert set(document) == {"now", "epochMillis", "offsetSeconds", "wallClock"}
    assert document["wallClock"] is True
    assert document["offsetSeconds"] == 0
    assert RFC_3339_MS_UTC.fullmatch(document["now"]), document["now"]
    assert before - timedelta(milliseconds=1) <= moment(document["now"]) <= after
    assert document["epochMillis"] == int(moment(document["now"]).timestamp() * 1000)


def test_post_advance_moves_the_clock_by_the_duration_and_answers_the_new_time(aws):
    before = aws.clock.now()

    status, document, _ = call(aws, "POST", {"advance": "3d"})

    now = moment(document["now"])
    assert status == 200
    assert document["wallClock"] is False
    assert timedelta(days=3) <= now - before < timedelta(days=3, seconds=5)
    assert timedelta(0) <= aws.clock.now() - now < timedelta(seconds=5)
    assert call(aws, "GET")[1]["offsetSeconds"] == pytest.approx(aws.clock.offset, abs=0.01)


@pytest.mark.parametrize(("body", "seconds"), [({"advanceSeconds": 90.5}, 90.5), ({"advance": "90"}, 90)])
def test_post_takes_plain_seconds_as_a_number_or_as_a_duration(aws, body, seconds):
    offset = aws.clock.offset

    status, document, _ = call(aws, "POST", body)

    assert status == 200
    assert document["offsetSeconds"] - offset == pytest.approx(seconds, abs=1)


def test_a_wait_of_30_days_has_ended_when_the_advance_of_30_days_answers(aws):
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "Month", "States": {"Month": {"Type": "Wait", "Seconds": 30 * DAY, "End": True}}}
    machine = sfn.create_state_machine(
        name=f"month-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    wait_until(
        lambda: any(
            e["type"] == "WaitStateEntered" for e in sfn.get_execution_history(executionArn=execution)["events"]
        ),
        what="the execution's Wait state",
    )
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"

    status, _, _ = call(aws, "POST", {"advance": "30d"})

    ended = sfn.describe_execution(executionArn=execution)
    assert status == 200
    assert ended["status"] == "SUCCEEDED"
    assert ended["stopDate"] - ended["startDate"] >= timedelta(days=30)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"3d", f"the body is not JSON (Extra data at character 1): send {EXAMPLE}"),
        (b"", f"the body is not JSON (Expecting value at character 0): send {EXAMPLE}"),
        (b'{"advanceSeconds": NaN}', f"the body is not JSON (NaN is not a JSON number): send {EXAMPLE}"),
        (b'["3d"]', f"the body is a JSON object such as {EXAMPLE}, not an array"),
        (b"{}", f"the body names no field: send {EXAMPLE}"),
        (b'{"advance": "3d", "why": "test"}', 'unknown field "why": the body has advance or advanceSeconds'),
        (b'{"Advance": "3d"}', 'unknown field "Advance": the body has advance or advanceSeconds'),
        (b'{"advance": "1d", "advanceSeconds": 5}', "the body has both advance and advanceSeconds: send one of them"),
        (b'{"advance": "-1d"}', "advance: the clock only moves forward, not back: -1d"),
        (b'{"advanceSeconds": -5}', "advanceSeconds: the clock only moves forward, not back: -5 seconds"),
        (b'{"advance": "3 days"}', "advance: not a duration like 90s, 30m, 2h or 3d: '3 days'"),
        (b'{"advance": "1.5h"}', "advance: not a duration like 90s, 30m, 2h or 3d: '1.5h'"),
        (b'{"advance": 3}', 'advance is a duration written as a string such as "3d", not 3'),
        (b'{"advanceSeconds": "3d"}', 'advanceSeconds is a number of seconds, not "3d"'),
        (b'{"advanceSeconds": true}', "advanceSeconds is a number of seconds, not true"),
        (b'{"advanceSeconds": null}', "advanceSeconds is a number of seconds, not null"),
        (b'{"advance": "3651d"}', f"advance: {AT_MOST}, not 3651d"),
        (b'{"advanceSeconds": 315360000.5}', f"advanceSeconds: {AT_MOST}, not 315360000.5 seconds"),
        (b'{"advanceSeconds": 1e999}', f"advanceSeconds: {AT_MOST}, not Infinity seconds"),
    ],
)
def test_a_request_the_clock_cannot_take_is_a_400_saying_what_is_wrong_and_the_clock_stays(aws, body, message):
    offset = aws.clock.offset

    status, document, headers = call(aws, "POST", raw=body)

    assert (status, document) == (400, {"message": message})
    assert headers["Content-Type"] == "application/json"
    assert aws.clock.offset == offset


def test_a_body_that_is_not_sent_as_json_is_refused_so_that_no_web_page_can_move_the_clock(aws):
    # A page of any site may post a form to 127.0.0.1 without asking; it may not post JSON.
    status, document, _ = call(aws, "POST", raw=b'{"advance": "3d"}', Content_Type="text/plain")

    assert (status, document) == (
        415,
        {"message": "send the body as Content-Type: application/json (this one is text/plain)"},
    )


def test_a_body_over_a_kilobyte_is_refused_unread(aws):
    status, document, _ = call(aws, "POST", raw=b'{"advance": "' + b" " * 2000 + b'3d"}')

    assert (status, document) == (
        413,
        {"message": f"the body is more than 1024 bytes: send {EXAMPLE}"},
    )


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_a_method_other_than_get_or_post_is_a_405_naming_those_it_answers(aws, method):
    status, document, headers = call(aws, method, {"advance": "1d"})

    assert (status, document) == (405, {"message": f"the clock answers GET and POST, not {method}"})
    assert headers["Allow"] == "GET, HEAD, POST"


def test_a_path_under_the_clock_s_is_not_the_clock(aws):
    status, document, _ = call(aws, "GET", path=PATH + "/now")

    assert (status, document) == (404, {"message": f"there is nothing at {PATH}/now: the clock is at {PATH}"})


def test_the_clock_cannot_be_moved_past_the_last_date_that_can_be_written():
    with EmbeddedAws(in_process=False) as aws:
        last = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
        aws.clock.advance(last - aws.clock.now() - timedelta(days=1))
        offset = aws.clock.offset

        status, document, _ = call(aws, "POST", {"advance": "2d"})

        assert status == 400
        assert re.fullmatch(
            r"the clock cannot pass 9999-12-31T23:59:59Z, after which no date can be written: "
            r"it is at 9999-12-30T23:59:5\d\.\d{3}Z, 8639\d seconds before",
            document["message"],
        ), document
        assert aws.clock.offset == offset
        assert call(aws, "POST", {"advance": "1h"})[0] == 200
