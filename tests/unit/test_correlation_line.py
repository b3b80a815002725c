"""Tasks that queue on a key in use (`PausableTask(on_key_in_use=KeyInUse.QUEUE)`): instead of
failing with `<prefix>KeyInUse`, a task waits in the key's line, first come first served, and
gets the key (its receiver gets its payload) once the tasks ahead have let it go.

The same channel as test_correlation.py (moto's DynamoDB, KMS and SQS; Step Functions and Lambda
faked). The registrar's promotions, which the resume function and the janitor ask for with an
asynchronous invoke, are delivered by the test (`channel.deliver_promotions()`)."""

from collections.abc import Iterator

import pytest
from handlers.validation import InvalidEventError

from .correlation_fixtures import RECEIVER_FUNCTION, Channel, Task, opened_channel


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch, lambda_context) -> Iterator[Channel]:
    with opened_channel(monkeypatch, lambda_context) as created:
        yield created


KEY = "order-7"
A, B, C = Task("order-run-a"), Task("order-run-b"), Task("order-run-c")


def queued(task: Task, **changes):
    """The task's registration, queueing on a key in use, with a receiver function."""
    return task.registration(
        KEY, onKeyInUse="queue", receiver={"function": RECEIVER_FUNCTION}, payload={"run": task.name}, **changes
    )


def paid(amount: int) -> dict:
    return {"correlationKey": KEY, "output": {"paid": amount}}


def holder(channel) -> list[str]:
    return channel.waiting_on(KEY)


def line(channel) -> list[str]:
    return [item["executionArn"] for item in sorted(channel.entries(KEY, "queued#"), key=lambda item: item["entry"])]


def test_given_a_free_key_when_a_queueing_task_registers_then_it_waits_on_the_key_at_once(channel):
    answer = channel.register(queued(A))

    assert answer == {"correlationKey": KEY, "registered": True}  # the receiver answered nothing (null)
    assert holder(channel) == [A.execution]
    assert channel.receiver_payloads() == [{"run": A.name, "correlationKey": KEY, "executionId": A.execution}]


def test_given_a_task_waits_on_a_key_when_a_queueing_task_registers_then_it_waits_in_line_and_nothing_fails(
    channel,
):
    channel.register(queued(A))

    answer = channel.register(queued(B))

    assert answer == {"correlationKey": KEY, "registered": False, "inLine": True, "behind": A.execution}
    assert channel.sfn.sent("SendTaskFailure") == []
    assert holder(channel) == [A.execution]
    assert line(channel) == [B.execution]
    assert [payload["run"] for payload in channel.receiver_payloads()] == [A.name]  # B's receiver waits too
    # Its token is kept as a waiting task's is: encrypted, never as text.
    [item] = channel.entries(KEY, "queued#")
    assert B.token not in repr(item)


def test_given_a_line_when_the_holder_is_resumed_by_key_then_the_next_task_gets_the_key_and_its_receiver_the_payload(
    channel,
):
    channel.register(queued(A))
    channel.register(queued(B))

    channel.callback_by_sns(paid(1), message_id="msg-1")
    channel.deliver_promotions()

    assert holder(channel) == [B.execution]
    assert line(channel) == []
    assert channel.receiver_payloads()[-1] == {"run": B.name, "correlationKey": KEY, "executionId": B.execution}
    channel.callback_by_sns(paid(2), message_id="msg-2")
    assert channel.sfn.successes() == {A.token: {"paid": 1}, B.token: {"paid": 2}}


def test_given_three_tasks_on_one_key_then_each_gets_it_in_the_order_they_came(channel):
    for task in (A, B, C):
        channel.register(queued(task))

    resumed = []
    for number in range(3):
        channel.callback_by_sns(paid(number), message_id=f"msg-{number}")
        channel.deliver_promotions()
        resumed.append(next(call.token for call in reversed(channel.sfn.sent("SendTaskSuccess"))))

    assert resumed == [A.token, B.token, C.token]
    assert channel.entries(KEY, "task#") == channel.entries(KEY, "queued#") == []


def test_given_a_line_when_the_holders_execution_ends_then_the_janitor_has_the_next_task_get_the_key(channel):
    channel.register(queued(A))
    channel.register(queued(B))

    channel.janitor_on_execution_end(A.execution, "ABORTED")
    channel.deliver_promotions()

    assert holder(channel) == [B.execution]


def test_given_a_task_in_line_whose_execution_ends_then_it_leaves_the_line_and_never_gets_the_key(channel):
    channel.register(queued(A))
    channel.register(queued(B))
    channel.register(queued(C))

    assert channel.janitor_on_execution_end(B.execution, "ABORTED") == {"released": 0}  # it held nothing
    assert line(channel) == [C.execution]
    channel.callback_by_sns(paid(1), message_id="msg-1")
    channel.deliver_promotions()

    assert holder(channel) == [C.execution]
    assert [payload["run"] for payload in channel.receiver_payloads()] == [A.name, C.name]


def test_given_a_task_in_line_that_timed_out_there_when_its_turn_comes_then_it_is_passed_over(channel):
    channel.register(queued(A))
    channel.register(queued(B))
    channel.register(queued(C))
    channel.sfn.refuse(B.token, "TaskTimedOut")  # its workflow caught the timeout and went on

    channel.callback_by_sns(paid(1), message_id="msg-1")
    channel.deliver_promotions()

    assert holder(channel) == [C.execution]
    assert line(channel) == []
    assert B.name not in [payload["run"] for payload in channel.receiver_payloads()]


def test_given_a_holder_that_timed_out_when_a_queueing_task_registers_then_the_first_in_line_gets_the_key(channel):
    channel.register(queued(A))
    channel.register(queued(B))
    channel.sfn.refuse(A.token, "TaskTimedOut")  # no callback came; its execution goes on

    answer = channel.register(queued(C))

    assert holder(channel) == [B.execution]  # B came first: C waits behind it
    assert line(channel) == [C.execution]
    assert answer == {"correlationKey": KEY, "registered": False, "inLine": True, "behind": B.execution}


def test_given_a_callback_for_the_next_in_line_before_it_has_the_key_then_it_is_late_and_applied_to_nobody(channel):
    channel.register(queued(A))
    channel.register(queued(B))
    channel.register(queued(C))
    channel.callback_by_sns(paid(1), message_id="msg-1")  # A's
    # B's callback comes before B has the key: the key's task just closed, so it is late, not held.
    assert channel.callback_by_sns(paid(2), message_id="msg-2")["alreadyClosed"]

    channel.deliver_promotions()

    assert holder(channel) == [B.execution]
    assert channel.sfn.successes() == {A.token: {"paid": 1}}


def test_given_a_line_when_the_holders_receiver_fails_then_the_task_fails_and_the_next_gets_the_key(channel):
    channel.register(queued(A))
    channel.register(queued(B))
    channel.callback_by_sns(paid(1), message_id="msg-1")
    channel.receiver.answer({"errorType": "PaymentServiceDown"}, function_error="Unhandled")
    channel.register(queued(C))  # behind B

    channel.deliver_promotions()  # B gets the key; its receiver fails; C's turn, whose receiver fails too

    failures = {call.token: call.fields["error"] for call in channel.sfn.sent("SendTaskFailure")}
    assert failures == {B.token: "PaymentServiceDown", C.token: "PaymentServiceDown"}
    assert holder(channel) == line(channel) == []


def test_given_an_empty_line_when_a_promotion_comes_then_nothing_changes(channel):
    channel.register(queued(A))

    [answer] = [
        channel.register({"promote": {"correlationKey": KEY, "stateMachine": A.state_machine, "state": A.state}})
    ]

    assert answer == {"correlationKey": KEY, "promoted": None}
    assert holder(channel) == [A.execution]


@pytest.mark.parametrize(
    ("promotion", "named"),
    [
        ({"correlationKey": KEY}, "stateMachine"),
        ({"correlationKey": KEY, "stateMachine": "Orders", "state": "S"}, "stateMachine"),
        ({"correlationKey": "", "stateMachine": A.state_machine, "state": "S"}, "correlationKey"),
    ],
)
def test_given_a_malformed_promotion_then_it_is_refused_naming_the_field(channel, promotion, named):
    with pytest.raises(InvalidEventError, match=named):
        channel.register({"promote": promotion})


def test_given_a_registration_with_an_unknown_on_key_in_use_then_it_is_refused_naming_the_field(channel):
    with pytest.raises(InvalidEventError, match="onKeyInUse"):
        channel.register(A.registration(KEY, onKeyInUse="wait"))
    assert channel.items() == []
