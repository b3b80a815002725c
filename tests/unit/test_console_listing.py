"""The console's executions list with 1,000 executions: it pages, and a page reads a bounded amount.

The console runs here as the WSGI app it is, over moto in this process (executions are listed,
not run: every one stays RUNNING, the costliest case, since a running one's newest events are read
to say where it waits). What is counted is AWS calls, not seconds: a page must not read every
execution or every history, however many there are.
"""

import html
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from werkzeug.test import Client

from pausable_sfn.console import listing
from pausable_sfn.console.app import PAGE_SIZE, ConsoleApp

ROLE = "arn:aws:iam::123456789012:role/console-test"
PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})
ORDERS, REFUNDS = 600, 400  # two state machines, their executions started interleaved


class Console:
    """The console app over one shared Step Functions client whose calls are counted."""

    def __init__(self) -> None:
        self.sfn = boto3.client("stepfunctions", region_name="us-east-1")
        self.calls: Counter[str] = Counter()
        self.sfn.meta.events.register("before-call.sfn.*", self._count)
        self.client = Client(ConsoleApp(lambda service: self.sfn))

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def machine(self, name: str) -> str:
        return self.sfn.create_state_machine(name=name, definition=PASS, roleArn=ROLE)["stateMachineArn"]

    def start(self, machine: str, name: str) -> None:
        """Starts an execution in a millisecond of its own: Step Functions dates executions to the
        millisecond, so the order of two started in the same one is nobody's to promise."""
        self.sfn.start_execution(stateMachineArn=machine, name=name)
        started = time.time_ns() // 1_000_000
        while time.time_ns() // 1_000_000 == started:
            pass

    def get(self, address: str) -> tuple[int, str]:
        self.calls.clear()
        answer = self.client.get(address)
        return answer.status_code, answer.get_data(as_text=True)


def names(page: str) -> list[str]:
    return re.findall(r'<a href="execution\?arn=[^"]+">([^<]+)</a>', page)


def older(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)" rel="next">Older</a>', page)
    return "/" + html.unescape(found.group(1)).removeprefix("./") if found else None


def every_page(console: Console, first: str = "/") -> Iterator[tuple[str, Counter[str]]]:
    address: str | None = first
    while address:
        status, page = console.get(address)
        assert status == 200, page
        yield page, Counter(console.calls)
        address = older(page)


@pytest.fixture(scope="module")
def thousand() -> Iterator[tuple[Console, list[str]]]:
    """1,000 executions of two state machines, and their names from the newest to the oldest."""
    with mock_aws():
        console = Console()
        orders, refunds = console.machine("orders"), console.machine("refunds")
        started = []
        for number in range(ORDERS + REFUNDS):
            machine = refunds if number % 5 in (1, 3) else orders  # 400 refunds among 600 orders
            name = f"{'refund' if machine == refunds else 'order'}-{number:04d}"
            console.start(machine, name)
            started.append(name)
        yield console, started[::-1]


def test_the_list_shows_the_newest_page_of_all_state_machines_merged(thousand):
    console, newest_first = thousand

    status, page = console.get("/")

    assert status == 200
    assert names(page) == newest_first[:PAGE_SIZE]
    assert f"Executions 1–{PAGE_SIZE}, newest first" in page


def test_paging_through_1000_executions_shows_each_once_newest_first(thousand):
    console, newest_first = thousand

    pages = [names(page) for page, _ in every_page(console)]

    assert [name for page in pages for name in page] == newest_first
    assert len(pages) == len(newest_first) // PAGE_SIZE
    assert all(len(page) == PAGE_SIZE for page in pages)


def test_a_page_reads_a_bounded_amount_however_many_executions_there_are(thousand):
    console, _ = thousand

    for _, calls in every_page(console):
        # At most two ListExecutions pages a state machine, and the newest events of the running
        # executions shown: never a whole history, never every execution.
        assert calls["ListExecutions"] <= 2 * 2
        assert calls["GetExecutionHistory"] <= PAGE_SIZE
        assert set(calls) <= {"ListStateMachines", "ListExecutions", "GetExecutionHistory"}


def test_one_state_machine_can_be_listed_alone_and_paged(thousand):
    console, newest_first = thousand
    refunds = next(
        m["stateMachineArn"] for m in console.sfn.list_state_machines()["stateMachines"] if m["name"] == "refunds"
    )

    shown = [name for page, _ in every_page(console, f"/?stateMachine={refunds}") for name in names(page)]

    assert shown == [name for name in newest_first if name.startswith("refund-")]


def test_a_status_filter_pages_only_executions_of_that_status(thousand):
    console, _ = thousand

    _, page = console.get("/?status=SUCCEEDED")

    assert names(page) == []
    assert "No execution yet." in page
    assert older(page) is None


@pytest.mark.parametrize(
    "address",
    ["/?page=not-a-cursor", "/?page=" + listing.encode({}) + "x", "/?page=W10", "/?from=two"],
    ids=["not base64 JSON", "damaged", "a list, not a cursor", "a page number that is not one"],
)
def test_a_damaged_page_link_is_a_clear_400_not_a_crash(thousand, address):
    console, _ = thousand

    status, page = console.get(address)

    assert status == 400
    assert "start again from the newest executions" in page
    assert "Traceback" not in page


def test_executions_started_while_someone_pages_are_not_skipped_and_the_next_page_goes_on_after_the_last_shown():
    with mock_aws():
        console = Console()
        machine = console.machine("busy")
        for number in range(2 * PAGE_SIZE):
            console.start(machine, f"old-{number:03d}")
        _, first = console.get(f"/?stateMachine={machine}")
        for number in range(10):
            console.start(machine, f"new-{number:03d}")

        _, second = console.get(older(first) or "")

        assert names(first)[-1] == f"old-{PAGE_SIZE:03d}"
        assert names(second) == [f"old-{number:03d}" for number in range(PAGE_SIZE - 1, -1, -1)]
        assert older(second) is None
