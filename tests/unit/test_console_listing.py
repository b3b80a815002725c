"""The console's executions list with 1,000 executions: it pages, and a page reads a bounded amount.

The console runs here as the WSGI app it is, over moto in this process (executions are listed,
not run: every one stays RUNNING, the costliest case, since a running one's newest events are read
to say where it waits). What is counted is AWS calls, not seconds: a page must not read every
execution or every history, however many there are.
"""

from collections.abc import Iterator

import pytest
from moto import mock_aws

from pausable_sfn.console.app import PAGE_SIZE

from .console_harness import Console, every_page, names, older

ORDERS, REFUNDS = 600, 400  # two state machines, their executions started interleaved


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

    status, page = console.get("")

    assert status == 200
    assert names(page) == newest_first[:PAGE_SIZE]
    assert f"Executions 1–{PAGE_SIZE}, newest first" in page


def test_paging_through_1000_executions_shows_each_once_newest_first_each_page_reading_a_bounded_amount(thousand):
    console, newest_first = thousand

    pages = list(every_page(console))

    assert [name for page, _ in pages for name in names(page)] == newest_first
    assert [len(names(page)) for page, _ in pages] == [PAGE_SIZE] * (len(newest_first) // PAGE_SIZE)
    for _, calls in pages:
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

    shown = [name for page, _ in every_page(console, f"?stateMachine={refunds}") for name in names(page)]

    assert shown == [name for name in newest_first if name.startswith("refund-")]


def test_a_status_filter_that_matches_nothing_says_so_and_offers_no_older_page(thousand):
    console, _ = thousand

    _, page = console.get("?status=SUCCEEDED")

    assert names(page) == []
    assert "No execution with this status." in page
    assert older(page) is None


def test_a_status_that_does_not_exist_is_a_400_naming_the_statuses_and_an_empty_execution_a_404(thousand):
    console, _ = thousand

    assert console.get("?status=running")[0] == 200  # as the console's own links write it
    status, page = console.get("?status=stopped")
    assert status == 400
    assert "RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED" in page
    assert console.get("execution?arn=")[0] == 404
    assert console.get("execution")[0] == 404
    assert console.get("nothing")[0] == 404


def page_argument(address: str) -> str:
    return address.split("page=")[1].split("&")[0]


@pytest.mark.parametrize(
    "damage",
    [
        lambda cursor: "not-a-cursor!",
        lambda cursor: cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1],
        lambda cursor: "",
    ],
    ids=["not base64", "one character changed", "empty"],
)
def test_a_damaged_page_link_is_a_clear_400_not_a_crash(thousand, damage):
    console, _ = thousand
    _, first = console.get("")

    status, page = console.get("?page=" + damage(page_argument(older(first) or "")))

    assert status == 400
    assert "start again from the newest executions" in page
    assert "Traceback" not in page


def test_a_page_link_of_another_console_is_refused_since_it_could_carry_any_token(thousand):
    console, _ = thousand
    _, first = console.get("")
    another = Console()  # the same AWS, another console: another signing key

    status, page = another.get(older(first) or "")

    assert status == 400
    assert "not written by this console" in page
