"""The console's execution page: each state's input and output, and how long a paused one has waited."""

import json
import re
from datetime import UTC, datetime, timedelta

from pausable_sfn.console import pages
from pausable_sfn.ops.graph import WAITING, StateRun
from pausable_sfn.ops.history import state_visits

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
TOKEN = "AQCEAAAAKgAAAAMAAAAAAAAAAd" + "x" * 120
SHOWN = "3f2a9c1e (task token, masked)"


def event(seconds: float, kind: str, **details: object) -> dict:
    key = "stateEnteredEventDetails" if kind.endswith("StateEntered") else "stateExitedEventDetails"
    return {"id": int(seconds * 10), "type": kind, "timestamp": T0 + timedelta(seconds=seconds), key: details}


def page(events: list[dict], *, waiting: tuple[str, StateRun] | None = None, now: datetime | None = None) -> str:
    description = {"name": "order-42", "status": "RUNNING", "startDate": T0, "stateMachineArn": "arn:x:stateMachine:m"}
    return pages.execution_page(
        description,
        "<svg></svg>",
        events,
        visits=state_visits(events),
        waiting=waiting,
        actions='<form method="post" action="act"></form>' if waiting else "",
        masked=[(TOKEN, SHOWN)],
        now=now or T0 + timedelta(minutes=5),
        address="execution?arn=arn%3Ax",
        notice="Resumed: SendTaskSuccess was accepted.",
    )


def test_each_state_entered_is_a_visit_and_an_exit_closes_the_newest_open_visit_of_its_name():
    events = [
        event(0, "PassStateEntered", name="Prepare", input='{"a": 1}'),
        event(1, "PassStateExited", name="Prepare", output='{"a": 2}'),
        event(2, "TaskStateEntered", name="Call", input='{"a": 2}'),
        event(3, "TaskStateExited", name="Call", output='{"try": 1}'),
        event(4, "TaskStateEntered", name="Call", input='{"try": 1}'),
    ]

    visits = state_visits(events)

    assert [(v.name, v.kind, v.input, v.output) for v in visits] == [
        ("Prepare", "Pass", '{"a": 1}', '{"a": 2}'),
        ("Call", "Task", '{"a": 2}', '{"try": 1}'),
        ("Call", "Task", '{"try": 1}', None),
    ]
    assert visits[-1].exited_at is None


def test_interleaved_iterations_of_a_map_each_keep_their_own_output_by_their_chain_of_events():
    def linked(number: int, previous: int, kind: str, **details: object) -> dict:
        return {**event(number, kind, **details), "id": number, "previousEventId": previous}

    events = [  # two iterations of "Ship": the first entered exits last
        linked(1, 0, "TaskStateEntered", name="Ship", input='{"item": 1}'),
        linked(2, 0, "TaskStateEntered", name="Ship", input='{"item": 2}'),
        linked(3, 2, "TaskStateExited", name="Ship", output='{"shipped": 2}'),
        linked(4, 1, "TaskStateExited", name="Ship", output='{"shipped": 1}'),
    ]

    visits = state_visits(events)

    assert [(v.input, v.output) for v in visits] == [
        ('{"item": 1}', '{"shipped": 1}'),
        ('{"item": 2}', '{"shipped": 2}'),
    ]


def test_a_state_s_input_and_output_are_shown_with_the_token_masked_even_in_their_shortened_form():
    events = [
        event(0, "TaskStateEntered", name="Ask", input=json.dumps({"token": TOKEN, "ticket": "T-42"})),
        event(0.25, "TaskStateExited", name="Ask", output=json.dumps({"approvedWith": TOKEN})),
    ]

    html = page(events)

    assert TOKEN[:12] not in html
    assert html.count(SHOWN) == 4  # input and output, in the States table and in the Events table
    assert "&quot;ticket&quot;: &quot;T-42&quot;" in html
    assert "250 ms" in html


def test_the_variables_a_state_assigned_are_shown_beside_its_output_with_a_token_masked():
    assigned = {"total": "5", "approver": '"ana"', "receipt": json.dumps({"token": TOKEN})}
    events = [
        event(0, "PassStateEntered", name="Sum", input="{}"),
        event(1, "PassStateExited", name="Sum", output="{}", assignedVariables=assigned),
    ]

    html = page(events)

    assert state_visits(events)[0].assigned == assigned
    assert "<th>Assigned</th>" in html
    assert "$total = <details><summary>5</summary>" in html
    assert "$approver = <details><summary>&quot;ana&quot;</summary>" in html
    assert TOKEN[:12] not in html


def test_a_state_s_row_carries_the_anchor_its_graph_node_links_to_once_however_often_it_ran():
    events = [
        event(0, "TaskStateEntered", name='Ask "the boss"', input="{}"),
        event(1, "TaskStateExited", name='Ask "the boss"', output="{}"),
        event(2, "TaskStateEntered", name='Ask "the boss"', input="{}"),
    ]

    html = page(events)

    anchor = pages.state_anchor('Ask "the boss"')
    assert re.fullmatch(r"state-[0-9a-f]{12}", anchor)
    assert html.count(f'id="{anchor}"') == 1
    assert "so far" in html


def test_a_paused_execution_says_where_since_when_and_until_when_and_does_not_refresh_away_what_is_typed():
    run = StateRun(WAITING, T0 + timedelta(seconds=1), T0 + timedelta(hours=2, seconds=1))

    html = page([event(1, "TaskStateEntered", name="Ask", input="{}")], waiting=("Ask", run))

    assert "<th>Paused at</th><td>Ask</td>" in html
    assert "(4 min 59 s ago)" in html
    assert "(in 1 h 55 min)" in html
    assert "RUNNING, waiting for a callback" in html
    assert 'http-equiv="refresh"' not in html


def test_a_running_execution_refreshes_itself_to_its_own_address_without_the_notice_of_an_action():
    html = page([event(0, "PassStateEntered", name="Prepare", input="{}")])

    assert '<meta http-equiv="refresh" content="5; url=execution?arn=arn%3Ax">' in html
    assert "Resumed: SendTaskSuccess was accepted." in html


def test_a_task_without_a_timeout_says_it_never_times_out():
    run = StateRun(WAITING, T0, None)

    html = page([event(0, "TaskStateEntered", name="Ask", input="{}")], waiting=("Ask", run))

    assert "never: the task has no timeout" in html


def test_whatever_the_execution_holds_is_escaped_names_inputs_and_outputs_alike():
    hostile = '<script>alert("x")</script>'
    events = [
        event(0, "PassStateEntered", name=f"Step {hostile}", input=json.dumps({"note": hostile})),
        event(1, "PassStateExited", name=f"Step {hostile}", output=json.dumps({"note": hostile})),
    ]

    html = page(events)

    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_a_failed_execution_says_why_when_it_stopped_and_that_its_last_state_ended_with_it():
    description = {
        "name": "order-43",
        "status": "FAILED",
        "startDate": T0,
        "stopDate": T0 + timedelta(seconds=3),
        "stateMachineArn": "arn:x:stateMachine:m",
        "error": "OutOfStock",
        "cause": f"no widgets left (asked with {TOKEN})",
        "input": '{"order": 43}',
    }
    events = [event(1, "FailStateEntered", name="Out of stock", input="{}")]

    html = pages.execution_page(
        description,
        "<svg></svg>",
        events,
        visits=state_visits(events),
        waiting=None,
        masked=[(TOKEN, SHOWN)],
        now=T0 + timedelta(minutes=5),
        address="execution?arn=arn%3Ax",
    )

    assert "<th>Error</th><td>OutOfStock</td>" in html
    assert f"no widgets left (asked with {SHOWN})" in html
    assert TOKEN not in html
    assert "<th>Stopped</th>" in html
    assert '<td class="status FAILED">FAILED</td>' in html
    assert "&quot;order&quot;: 43" in html
    assert "so far" not in html
    assert "2 s" in html  # the Fail state, entered 1 s in, ended with the execution at 3 s
