"""Paging the console's list while executions start and stop: each shown once, none skipped."""

from moto import mock_aws

from .console_harness import Console, every_page, names, older


def test_executions_started_meanwhile_appear_on_the_newest_page_and_the_next_page_goes_on_after_the_last_shown():
    with mock_aws():
        console = Console()
        a, b = console.machine("a"), console.machine("b")
        for number in range(60):
            console.start(a if number % 2 else b, f"old-{number:03d}")
        _, first = console.get("")
        for number in range(40):
            console.start(a, f"new-{number:03d}")

        _, second = console.get(older(first) or "")
        _, newest = console.get("")

        assert names(first) == [f"old-{number:03d}" for number in range(59, 9, -1)]
        assert names(second)[:10] == [f"old-{number:03d}" for number in range(9, -1, -1)]
        assert names(newest)[:40] == [f"new-{number:03d}" for number in range(39, -1, -1)]


def test_a_status_filter_pages_on_while_executions_leave_it_showing_each_that_stays_once():
    with mock_aws():
        console = Console()
        a, b = console.machine("a"), console.machine("b")
        arns = {}
        for number in range(120):
            name = f"run-{number:03d}"
            arns[name] = console.start(a if number % 3 else b, name)
        _, first = console.get("?status=RUNNING")
        shown_first = names(first)
        # The last one shown and the first of the next page stop between the two loads.
        for name in (shown_first[-1], "run-069", "run-068"):
            console.sfn.stop_execution(executionArn=arns[name])

        rest = [name for page, _ in every_page(console, older(first) or "") for name in names(page)]

        assert shown_first == [f"run-{number:03d}" for number in range(119, 69, -1)]
        still_running = [f"run-{number:03d}" for number in range(69, -1, -1) if number not in (68, 69)]
        assert rest == still_running
