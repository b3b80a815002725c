"""Callbacks by business key: the registrar, the resume function and the janitor of a callback
channel with a correlation registry (DynamoDB, KMS and SQS in moto; Step Functions and the receiver
function faked, see correlation_fixtures.py).

Each test reads GIVEN / WHEN / THEN in its name; the channel is fresh for every test."""

import json
import random
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from botocore.exceptions import ClientError
from handlers import clients, resume_step_function
from handlers.contracts import AMBIGUOUS_KEY, MAX_CORRELATION_KEY_LENGTH, NO_TASK_WAITS_ON_KEY, fingerprint
from handlers.correlation_registry import task_entry
from handlers.resume_step_function import CallbackRefusedError, DeliveryInFlightError
from handlers.validation import InvalidEventError

from .correlation_fixtures import (
    KEY_IN_USE_ERROR,
    RECEIVER_FUNCTION,
    REFUNDS,
    WINDOW_SECONDS,
    Channel,
    Task,
    make_moto_requests_atomic,
    opened_channel,
    task_token,
)

KEY = "order-7"
PAID = {"correlationKey": KEY, "output": {"paid": 120}}


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch, lambda_context) -> Iterator[Channel]:
    with opened_channel(monkeypatch, lambda_context) as created:
        yield created


A, B = Task("order-run-a"), Task("order-run-b")


# 1. A task registers; a callback by key resumes it; a second delivery is applied once.


def test_given_a_registered_task_when_a_callback_by_key_comes_through_sns_then_the_task_resumes_with_its_output(
    channel,
):
    assert channel.register(A.registration(KEY)) == {"correlationKey": KEY, "registered": True}

    result = channel.callback_by_sns(PAID, message_id="msg-1")

    assert channel.sfn.successes() == {A.token: {"paid": 120}}
    assert result == {
        "resumed": [{"correlationKey": KEY, "status": "SUCCEED", "executionId": A.execution}],
        "alreadyClosed": [],
    }


def test_given_a_task_resumed_by_key_then_its_entry_goes_and_the_delivery_is_remembered(channel):
    channel.register(A.registration(KEY))

    channel.callback_by_sns(PAID, message_id="msg-1")

    assert channel.entries(KEY, "task#") == []
    [delivery] = channel.entries(KEY, "delivery#")
    assert delivery["entry"] == "delivery#msg-1"
    assert set(delivery) == {"correlationKey", "entry", "deleteAfter"}  # no token, no callback


def test_given_a_task_resumed_by_key_when_the_same_sns_message_comes_again_then_it_is_applied_already_and_sends_nothing(
    channel,
):
    channel.register(A.registration(KEY))
    channel.callback_by_sns(PAID, message_id="msg-1")
    calls_before = len(channel.sfn.calls)

    result = channel.callback_by_sns(PAID, message_id="msg-1")

    assert channel.sfn.calls[calls_before:] == []
    assert result["resumed"] == []
    assert result["alreadyClosed"] == [
        {
            "correlationKey": KEY,
            "status": "SUCCEED",
            "executionId": None,
            "alreadyClosed": "this delivery was received already",
        }
    ]
    assert "held" not in result
    assert channel.entries(KEY, "early#") == []
    assert channel.delayed_expiry_messages() == 0


def test_given_a_registered_task_when_an_eventbridge_event_is_delivered_twice_then_the_task_resumes_once(channel):
    channel.register(A.registration(KEY))

    first = channel.callback_by_event(PAID, event_id="event-1")
    again = channel.callback_by_event(PAID, event_id="event-1")

    assert [call.token for call in channel.sfn.calls] == [A.token]
    assert first["resumed"] == [{"correlationKey": KEY, "status": "SUCCEED", "executionId": A.execution}]
    assert again["resumed"] == []
    assert len(again["alreadyClosed"]) == 1


def test_given_a_task_resumed_by_key_when_its_message_comes_again_for_the_keys_next_task_then_that_task_waits_on(
    channel,
):
    channel.register(A.registration(KEY))
    channel.callback_by_sns(PAID, message_id="msg-1")
    channel.register(B.registration(KEY))

    channel.callback_by_sns(PAID, message_id="msg-1")

    assert channel.sfn.sent("SendTaskSuccess", B.token) == []
    assert channel.waiting_on(KEY) == [B.execution]


# 2. The token is stored encrypted, under an encryption context of its own entry.


def test_given_a_registered_task_then_the_raw_item_holds_no_token_text(channel):
    channel.register(A.registration(KEY))

    item = channel.raw_item(KEY, task_entry(A.state_machine, A.state))

    assert item is not None
    ciphertext = item["ciphertext"]["B"]
    assert A.token not in repr(item)
    assert A.token.encode() not in ciphertext
    assert item["tokenFingerprint"] == {"S": fingerprint(A.token)}
    assert int(item["deleteAfter"]["N"]) > 0


def test_given_two_registered_tasks_then_one_ciphertext_decrypts_under_its_own_context_only(channel):
    other_key = "order-8"
    channel.register(A.registration(KEY))
    channel.register(B.registration(other_key))
    entry = task_entry(A.state_machine, A.state)
    ciphertext = channel.raw_item(KEY, entry)["ciphertext"]["B"]
    kms = channel.client("kms")

    own = kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"correlationKey": KEY, "entry": entry})
    with pytest.raises(ClientError) as refused:
        kms.decrypt(CiphertextBlob=ciphertext, EncryptionContext={"correlationKey": other_key, "entry": entry})

    assert own["Plaintext"].decode() == A.token
    assert refused.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_given_a_ciphertext_copied_into_another_keys_entry_when_a_callback_names_that_key_then_nothing_is_sent(
    channel,
):
    channel.register(A.registration(KEY))
    channel.register(B.registration("order-8"))
    entry = task_entry(A.state_machine, A.state)
    stolen = channel.raw_item(KEY, entry)["ciphertext"]
    channel.client("dynamodb").update_item(
        TableName=channel.table,
        Key={"correlationKey": {"S": "order-8"}, "entry": {"S": entry}},
        UpdateExpression="SET ciphertext = :stolen",
        ExpressionAttributeValues={":stolen": stolen},
    )

    with pytest.raises(ClientError, match="InvalidCiphertextException"):
        channel.callback_direct({"correlationKey": "order-8"})

    assert channel.sfn.calls == []


# 3. A callback that comes before its task is held, and applied when the task registers.


def test_given_no_task_waits_when_a_callback_by_key_comes_through_sns_then_it_is_held_for_the_window(channel):
    result = channel.callback_by_sns(PAID, message_id="msg-1")

    assert result == {"resumed": [], "alreadyClosed": [], "held": [{"correlationKey": KEY, "status": "SUCCEED"}]}
    assert channel.sfn.calls == []
    [early] = channel.entries(KEY, "early#")
    assert early["deliveryId"] == "msg-1"
    assert channel.delayed_expiry_messages() == 1
    assert channel.expiry_messages_after(WINDOW_SECONDS - 1) == []
    [message] = channel.expiry_messages_after(WINDOW_SECONDS + 1)
    assert json.loads(message) == {"correlationKey": KEY, "entry": early["entry"]}


def test_given_a_held_callback_when_its_task_registers_then_the_callback_is_applied_instead_of_the_receiver(channel):
    channel.callback_by_sns(PAID, message_id="msg-1")

    answer = channel.register(A.registration(KEY, receiver={"function": RECEIVER_FUNCTION}, payload={"amount": 120}))

    assert channel.sfn.successes() == {A.token: {"paid": 120}}
    assert channel.receiver.invocations == []
    assert channel.entries(KEY, "early#") == []
    assert answer == {"correlationKey": KEY, "registered": True, "appliedEarlyCallback": "msg-1"}


def test_given_a_held_callback_applied_to_its_task_when_the_window_ends_then_the_janitor_dead_letters_nothing(channel):
    channel.callback_by_sns(PAID, message_id="msg-1")
    channel.register(A.registration(KEY))
    [message] = channel.expiry_messages_after(WINDOW_SECONDS + 1)

    result = channel.janitor_on_messages(message)

    assert result == {"batchItemFailures": []}
    assert channel.dead_letters() == []


def test_given_a_held_callback_applied_to_its_task_when_the_same_message_comes_again_then_nothing_is_sent(channel):
    channel.callback_by_sns(PAID, message_id="msg-1")
    channel.register(A.registration(KEY))
    calls_before = len(channel.sfn.calls)

    result = channel.callback_by_sns(PAID, message_id="msg-1")

    assert channel.sfn.calls[calls_before:] == []
    assert len(result["alreadyClosed"]) == 1
    assert channel.entries(KEY, "early#") == []


def test_given_a_held_callback_when_the_same_message_comes_again_before_any_task_then_it_is_held_once(channel):
    channel.callback_by_sns(PAID, message_id="msg-1")

    channel.callback_by_sns(PAID, message_id="msg-1")

    assert [early["deliveryId"] for early in channel.entries(KEY, "early#")] == ["msg-1"]


def test_given_a_held_callback_delivered_twice_when_its_task_registers_then_nothing_is_left_to_dead_letter(
    channel,
):
    channel.callback_by_sns(PAID, message_id="msg-1")
    channel.callback_by_sns(PAID, message_id="msg-1")
    channel.register(A.registration(KEY))

    channel.janitor_on_messages(*channel.expiry_messages_after(WINDOW_SECONDS + 1))

    assert channel.sfn.successes() == {A.token: {"paid": 120}}
    assert channel.dead_letters() == []


def test_given_a_held_callback_for_another_state_machine_when_a_task_registers_then_it_is_not_applied_to_it(channel):
    channel.callback_by_sns({**PAID, "stateMachine": REFUNDS}, message_id="msg-1")

    answer = channel.register(A.registration(KEY))

    assert channel.sfn.calls == []
    assert answer == {"correlationKey": KEY, "registered": True}
    assert len(channel.entries(KEY, "early#")) == 1


# 4. A held callback that no task claims is dead-lettered when its window ends.


def test_given_a_held_callback_that_no_task_claims_when_the_window_ends_then_it_goes_to_the_dead_letter_queue(
    channel,
):
    channel.callback_by_sns(PAID, message_id="msg-1")
    [message] = channel.expiry_messages_after(WINDOW_SECONDS + 1)

    result = channel.janitor_on_messages(message)

    assert result == {"batchItemFailures": []}
    [letter] = channel.dead_letters()
    assert f"'{KEY}'" in letter["reason"]
    assert f"window of {WINDOW_SECONDS} s" in letter["reason"]
    assert letter["callback"] == {"correlationKey": KEY, "status": "SUCCEED", "output": {"paid": 120}}
    assert letter["deliveryId"] == "msg-1"
    assert channel.entries(KEY, "early#") == []
    assert channel.sfn.calls == []


# 5. With a window of 0, a callback that no task waits for is dead-lettered at once.


def test_given_a_window_of_0_when_a_callback_by_key_comes_and_no_task_waits_then_it_is_dead_lettered_at_once(
    channel, monkeypatch
):
    monkeypatch.setenv("EARLY_CALLBACK_WINDOW_SECONDS", "0")

    channel.callback_by_sns(PAID, message_id="msg-1")

    [letter] = channel.dead_letters()
    assert f"'{KEY}'" in letter["reason"]
    assert letter["callback"] == {"correlationKey": KEY, "status": "SUCCEED", "output": {"paid": 120}}
    assert [item["entry"] for item in channel.items()] == ["delivery#msg-1"]  # nothing held
    assert channel.delayed_expiry_messages() == 0
    assert channel.sfn.calls == []


# 6. A callback given by hand is answered at once: no task waits, nothing is held.


def test_given_no_task_waits_when_a_callback_by_key_is_invoked_directly_then_it_is_refused_and_nothing_is_held(
    channel,
):
    with pytest.raises(CallbackRefusedError) as refused:
        channel.callback_direct(PAID)

    assert refused.value.code == NO_TASK_WAITS_ON_KEY
    assert KEY in str(refused.value)
    assert channel.items() == []
    assert channel.delayed_expiry_messages() == 0
    assert channel.dead_letters() == []


# 7. One key, one waiting task: another execution's task fails with KeyInUse, unless the holder has closed.


def test_given_a_task_waits_on_a_key_when_another_execution_registers_it_then_that_task_fails_with_key_in_use(
    channel,
):
    channel.register(A.registration(KEY))

    answer = channel.register(B.registration(KEY))

    [failure] = channel.sfn.sent("SendTaskFailure")
    assert failure.token == B.token
    assert failure.fields["error"] == KEY_IN_USE_ERROR
    assert KEY in failure.fields["cause"]
    assert A.execution in failure.fields["cause"]
    assert [call.token for call in channel.sfn.sent("SendTaskHeartbeat")] == [A.token]
    assert answer == {"correlationKey": KEY, "registered": False, "keyInUse": A.execution}


def test_given_a_registration_refused_for_key_in_use_then_the_holders_entry_is_intact_and_a_callback_resumes_it(
    channel,
):
    channel.register(A.registration(KEY))
    channel.register(B.registration(KEY))
    [entry] = channel.entries(KEY, "task#")

    channel.callback_by_sns(PAID, message_id="msg-1")

    assert entry["executionArn"] == A.execution
    assert channel.sfn.successes() == {A.token: {"paid": 120}}
    assert channel.entries(KEY, "task#") == []


def test_given_the_holders_task_has_timed_out_when_another_execution_registers_then_it_takes_the_key_over(channel):
    channel.register(A.registration(KEY))
    channel.sfn.refuse(A.token, "TaskTimedOut")

    answer = channel.register(B.registration(KEY))
    channel.callback_by_sns(PAID, message_id="msg-1")

    assert answer == {"correlationKey": KEY, "registered": True}
    assert channel.sfn.sent("SendTaskFailure") == []
    assert channel.sfn.successes() == {B.token: {"paid": 120}}


def test_given_a_waiting_tasks_token_has_expired_when_a_callback_by_key_comes_then_it_is_late_and_never_held(channel):
    channel.register(A.registration(KEY))
    channel.sfn.refuse(A.token, "TaskTimedOut")

    result = channel.callback_by_sns(PAID, message_id="msg-1")
    channel.register(B.registration(KEY))

    # Held, it would resume the key's next task (B) with what was meant for A.
    assert result["alreadyClosed"][0]["alreadyClosed"].startswith("TaskTimedOut")
    assert "held" not in result
    assert channel.sfn.successes() == {}
    assert channel.waiting_on(KEY) == [B.execution]


def test_given_a_task_that_closed_when_a_callback_by_key_comes_within_the_window_then_it_is_late_not_early(channel):
    channel.register(A.registration(KEY))
    channel.callback_by_sns(PAID, message_id="msg-1")

    late = channel.callback_by_sns({**PAID, "output": {"paid": 999}}, message_id="msg-2")
    channel.register(B.registration(KEY))

    assert late["alreadyClosed"][0]["alreadyClosed"].startswith("its task closed at ")
    assert channel.entries(KEY, "early#") == []
    assert channel.sfn.successes() == {A.token: {"paid": 120}}


def test_given_a_map_of_one_execution_when_two_iterations_wait_on_one_key_then_the_second_is_refused(channel):
    first, second = Task(A.name), Task(A.name)  # one execution, one state: two attempts or iterations
    channel.register(first.registration(KEY, taskToken=task_token("iteration-1")))

    answer = channel.register(second.registration(KEY, taskToken=task_token("iteration-2")))

    assert answer["keyInUse"] == A.execution
    assert [call.token for call in channel.sfn.sent("SendTaskFailure")] == [task_token("iteration-2")]


def test_given_an_earlier_attempt_of_the_same_task_has_closed_when_it_registers_again_then_it_takes_its_key_back(
    channel,
):
    channel.register(A.registration(KEY, taskToken=task_token("attempt-1")))
    channel.sfn.refuse(task_token("attempt-1"), "TaskDoesNotExist")

    answer = channel.register(A.registration(KEY, taskToken=task_token("attempt-2")))
    channel.callback_by_sns(PAID, message_id="msg-1")

    assert answer == {"correlationKey": KEY, "registered": True}
    assert channel.sfn.successes() == {task_token("attempt-2"): {"paid": 120}}


def test_given_a_held_callback_claimed_when_sending_it_fails_then_lambdas_retry_applies_it_once(channel, monkeypatch):
    channel.register(A.registration(KEY))
    tasks = resume_step_function.Registry.tasks
    calls = {"n": 0}

    def first_look_finds_nothing(self, key, **scope):  # A registers between the two looks
        calls["n"] += 1
        return [] if calls["n"] == 1 else tasks(self, key, **scope)

    monkeypatch.setattr(resume_step_function.Registry, "tasks", first_look_finds_nothing)
    channel.sfn.refuse(A.token, "ThrottlingException")
    with pytest.raises(ClientError):
        channel.callback_by_sns(PAID, message_id="msg-1")
    monkeypatch.setattr(resume_step_function.Registry, "tasks", tasks)
    channel.sfn.accept(A.token)

    retry = channel.callback_by_sns(PAID, message_id="msg-1")  # Lambda's retry of the same delivery

    assert retry["resumed"] == [{"correlationKey": KEY, "status": "SUCCEED", "executionId": A.execution}]
    assert channel.entries(KEY, "early#") == []  # not held again besides


def test_given_events_without_an_id_then_each_is_its_own_delivery(channel):
    channel.register(A.registration(KEY))
    first = channel.callback_by_event(PAID, event_id="")  # made by hand: EventBridge gives every event one
    channel.register(B.registration(KEY))

    second = channel.callback_by_event(PAID, event_id="")

    assert first["resumed"][0]["executionId"] == A.execution
    assert second["resumed"][0]["executionId"] == B.execution


def test_given_a_flow_by_key_then_the_logs_name_the_tokens_by_fingerprint_only(channel, log_lines):
    channel.register(A.registration(KEY))
    channel.register(B.registration(KEY))
    channel.callback_by_sns(PAID, message_id="msg-1")

    logged = log_lines.text()
    assert fingerprint(A.token) in logged
    assert fingerprint(B.token) in logged
    assert A.token not in logged
    assert B.token not in logged


# 8. Tasks of two state machines on one key: a callback must say which.


REFUND = Task("refund-run-a", state_machine=REFUNDS)


def test_given_tasks_of_two_state_machines_wait_on_a_key_when_a_callback_names_none_then_it_is_refused_ambiguous(
    channel,
):
    channel.register(A.registration(KEY))
    channel.register(REFUND.registration(KEY))

    with pytest.raises(CallbackRefusedError) as refused:
        channel.callback_direct(PAID)

    assert refused.value.code == AMBIGUOUS_KEY
    assert channel.sfn.calls == []
    assert sorted(channel.waiting_on(KEY)) == sorted([A.execution, REFUND.execution])


def test_given_tasks_of_two_state_machines_wait_on_a_key_when_a_callback_names_one_then_only_that_one_resumes(
    channel,
):
    channel.register(A.registration(KEY))
    channel.register(REFUND.registration(KEY))

    channel.callback_by_sns({**PAID, "stateMachine": REFUNDS}, message_id="msg-1")

    assert channel.sfn.successes() == {REFUND.token: {"paid": 120}}
    assert channel.waiting_on(KEY) == [A.execution]


# 9. The registrar hands the payload on, with the key and without the token.


def test_given_a_function_receiver_when_a_task_registers_then_the_function_gets_the_key_not_the_token(channel):
    channel.receiver.answer({"accepted": True, "reference": "pay-1"})

    answer = channel.register(A.registration(KEY, receiver={"function": RECEIVER_FUNCTION}, payload={"amount": 120}))

    [invocation] = channel.receiver.invocations
    assert invocation["FunctionName"] == RECEIVER_FUNCTION
    assert invocation["InvocationType"] == "RequestResponse"
    assert invocation["Payload"] == {"amount": 120, "correlationKey": KEY, "executionId": A.execution}
    assert answer == {"accepted": True, "reference": "pay-1"}


def test_given_a_queue_receiver_when_a_task_registers_then_the_message_body_is_the_payload_with_the_key(channel):
    answer = channel.register(A.registration(KEY, receiver={"queue": channel.receiver_queue}, payload={"amount": 120}))

    [body] = channel.receive_all(channel.receiver_queue)
    assert json.loads(body) == {"amount": 120, "correlationKey": KEY, "executionId": A.execution}
    assert answer == {"correlationKey": KEY, "registered": True}


def test_given_a_topic_receiver_when_a_task_registers_then_the_published_message_is_the_payload_with_the_key(
    channel,
):
    channel.register(A.registration(KEY, receiver={"topic": channel.receiver_topic}, payload={"amount": 120}))

    [body] = channel.receive_all(channel.topic_queue)
    assert json.loads(body) == {"amount": 120, "correlationKey": KEY, "executionId": A.execution}


def test_given_a_function_receiver_that_fails_when_a_task_registers_then_the_task_fails_and_the_key_is_released(
    channel,
):
    channel.receiver.answer(
        {"errorType": "PaymentRejected", "errorMessage": "card expired"}, function_error="Unhandled"
    )

    answer = channel.register(A.registration(KEY, receiver={"function": RECEIVER_FUNCTION}))

    [failure] = channel.sfn.sent("SendTaskFailure")
    assert failure.token == A.token
    assert failure.fields["error"] == "PaymentRejected"
    assert "card expired" in failure.fields["cause"]
    assert answer == {"correlationKey": KEY, "registered": False, "receiverFailed": "PaymentRejected"}
    with pytest.raises(CallbackRefusedError) as refused:
        channel.callback_direct(PAID)
    assert refused.value.code == NO_TASK_WAITS_ON_KEY


def test_given_a_registration_with_a_null_key_then_the_receiver_gets_the_token_and_nothing_is_registered(channel):
    channel.register(A.registration(None, receiver={"queue": channel.receiver_queue}, payload={"amount": 120}))

    [body] = channel.receive_all(channel.receiver_queue)
    assert json.loads(body) == {"amount": 120, "taskToken": A.token, "executionId": A.execution}
    assert channel.items() == []
    assert channel.sfn.calls == []


def test_given_a_task_registered_on_the_number_42_when_a_callback_names_the_key_42_as_text_then_they_meet(channel):
    channel.register(A.registration(42, receiver={"queue": channel.receiver_queue}))

    channel.callback_by_sns({"correlationKey": "42", "output": {"paid": 42}}, message_id="msg-1")

    assert channel.sfn.successes() == {A.token: {"paid": 42}}
    [body] = channel.receive_all(channel.receiver_queue)
    assert json.loads(body)["correlationKey"] == 42


# 10. The janitor drops the entries of an execution that has ended, and no other's.


@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "TIMED_OUT", "SUCCEEDED"])
def test_given_entries_of_two_executions_when_one_ends_then_the_janitor_removes_its_entries_only(channel, status):
    channel.register(A.registration(KEY))
    channel.register(Task(A.name, state="Wait for shipping").registration("parcel-7"))
    channel.register(B.registration("order-8"))

    result = channel.janitor_on_execution_end(A.execution, status)

    assert result == {"released": 2}
    assert [item["executionArn"] for item in channel.items() if item["entry"].startswith("task#")] == [B.execution]
    # A callback for A's tasks from now on is late: each left a closed mark for the window.
    assert {item["entry"].split("#")[-1] for item in channel.items() if item["entry"].startswith("closed#")} == {
        A.state,
        "Wait for shipping",
    }


def test_given_a_task_resumed_by_key_when_its_execution_ends_then_only_the_delivery_record_is_left_to_its_ttl(
    channel,
):
    channel.register(A.registration(KEY))
    channel.callback_by_sns(PAID, message_id="msg-1")

    result = channel.janitor_on_execution_end(A.execution, "SUCCEEDED")

    assert result == {"released": 0}  # the callback took the entry already
    entries = sorted(item["entry"] for item in channel.items())
    assert entries == [f"closed#{A.state_machine}#{A.state}", "delivery#msg-1"]  # no token, no callback


def test_given_a_running_execution_when_its_status_changes_to_running_then_the_janitor_removes_nothing(channel):
    channel.register(A.registration(KEY))

    result = channel.janitor_on_execution_end(A.execution, "RUNNING")

    assert result == {"released": 0}
    assert channel.waiting_on(KEY) == [A.execution]


# 11. Bad input gets a clear error and loses nothing.


@pytest.mark.parametrize(
    ("callback", "message"),
    [
        pytest.param(
            {"taskToken": A.token, "correlationKey": KEY}, "give taskToken or correlationKey", id="token-and-key"
        ),
        pytest.param({"correlationKey": True}, "correlationKey", id="boolean-key"),
        pytest.param({"correlationKey": ""}, "correlationKey must have 1 to 512 characters", id="empty-key"),
        pytest.param(
            {"correlationKey": KEY + "x" * MAX_CORRELATION_KEY_LENGTH},
            "correlationKey must have 1 to 512 characters",
            id="key-over-the-limit",
        ),
    ],
)
def test_given_a_waiting_task_when_a_malformed_callback_comes_then_it_is_refused_clearly_and_the_task_still_waits(
    channel, callback, message
):
    channel.register(A.registration(KEY))

    with pytest.raises(InvalidEventError, match=message) as refused:
        channel.callback_direct(callback)

    assert A.token not in str(refused.value)
    assert channel.sfn.calls == []
    assert channel.waiting_on(KEY) == [A.execution]
    assert channel.entries(KEY, "early#") == []


def test_given_a_key_of_exactly_the_limit_when_a_task_registers_and_is_called_back_then_it_resumes(channel):
    key = "k" * MAX_CORRELATION_KEY_LENGTH
    channel.register(A.registration(key))

    channel.callback_direct({"correlationKey": key})

    assert channel.sfn.successes() == {A.token: {"resumed": True}}


def test_given_a_registration_with_a_bad_state_machine_arn_then_it_is_refused_and_nothing_is_registered(channel):
    registration = A.registration(KEY, stateMachine="arn:aws:states:us-east-1:123456789012:execution:Orders:x")

    with pytest.raises(InvalidEventError, match="stateMachine") as refused:
        channel.register(registration)

    assert A.token not in str(refused.value)
    assert channel.items() == []
    assert channel.sfn.calls == []


def test_given_a_janitor_batch_with_a_message_that_is_not_json_then_it_fails_alone_and_the_rest_is_processed(
    channel,
):
    channel.callback_by_sns(PAID, message_id="msg-1")
    [message] = channel.expiry_messages_after(WINDOW_SECONDS + 1)

    result = channel.janitor_on_messages("not json", message)

    assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert [letter["deliveryId"] for letter in channel.dead_letters()] == ["msg-1"]


# 12. Concurrency: registrations and callbacks on 30 keys, at once, in random order and timing.


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_given_30_tasks_and_their_30_callbacks_racing_then_every_task_is_resumed_exactly_once(
    channel, seed, monkeypatch
):
    make_moto_requests_atomic(monkeypatch)
    rng = random.Random(seed)
    keys = [f"job-{number:02d}" for number in range(30)]
    tasks = {key: Task(f"run-{key}") for key in keys}
    # Both orders happen every time, whatever the timing: on 10 keys the callback goes first (the
    # registration waits for it to end), on 10 the registration does; on 10 they race.
    ended = {(key, side): threading.Event() for key in keys for side in ("register", "callback")}
    first = {
        key: ("callback" if number < 10 else "register" if number < 20 else None) for number, key in enumerate(keys)
    }

    def register(key: str) -> dict:
        return channel.register(tasks[key].registration(key))

    def callback(key: str) -> dict:
        return channel.callback_by_sns({"correlationKey": key, "output": {"job": key}}, message_id=f"msg-{key}")

    actions = [
        (side, function, key) for key in keys for side, function in (("register", register), ("callback", callback))
    ]
    rng.shuffle(actions)
    delays = [rng.uniform(0, 1.5) for _ in actions]
    start = threading.Barrier(len(actions))
    errors: list[str] = []
    answers: list[dict] = []

    def run(side, action, key, delay: float) -> None:
        start.wait()
        if first[key] not in (None, side):
            ended[key, first[key]].wait(timeout=60)
        threading.Event().wait(delay)
        try:
            answers.append(action(key))
        except BaseException:  # reported below, with the others
            errors.append(traceback.format_exc())
        finally:
            ended[key, side].set()

    threads = [
        threading.Thread(target=run, args=(side, action, key, delay))
        for (side, action, key), delay in zip(actions, delays, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert not errors, "\n".join(errors)
    # Both orders happened: callbacks that found their task waiting, and callbacks held for it.
    assert any(answer.get("resumed") for answer in answers)
    assert any("appliedEarlyCallback" in answer or answer.get("held") for answer in answers)
    attempts = [call for call in channel.sfn.calls if call.operation == "SendTaskSuccess"]
    assert sorted(call.token for call in attempts) == sorted(task.token for task in tasks.values())
    assert channel.sfn.successes() == {task.token: {"job": key} for key, task in tasks.items()}
    assert channel.sfn.sent("SendTaskFailure") == []
    assert [item for item in channel.items() if "ciphertext" in item] == []
    assert [item for item in channel.items() if item["entry"].startswith("early#")] == []
    # The windows of the callbacks that were held end: none is left for the dead-letter queue.
    expiry = channel.expiry_messages_after(WINDOW_SECONDS + 1)
    if expiry:
        assert channel.janitor_on_messages(*expiry) == {"batchItemFailures": []}
    assert channel.dead_letters() == []


# 13. A delivery is leased to the invocation that handles it: one stopped at its timeout (its
# process ended, nothing said how far it got) leaves it to Lambda's retry once the lease is over.


def stopped_at_its_timeout(channel: Channel, key: str, message_id: str) -> None:
    """What an invocation leaves when Lambda stops it at its timeout right after it recorded the
    delivery: the record, leased for the time it had (the fixture's context has 10 s)."""
    from handlers.correlation_registry import Registry

    Registry.from_environment().receive(key, message_id, lease=timedelta(seconds=10))


def test_given_a_delivery_whose_handler_was_stopped_when_lambda_retries_it_after_the_lease_then_it_is_applied(
    channel,
):
    channel.register(A.registration(KEY))
    stopped_at_its_timeout(channel, KEY, "msg-1")

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):  # Lambda's first retry
        result = channel.callback_by_sns(PAID, message_id="msg-1")

    assert channel.sfn.successes() == {A.token: {"paid": 120}}
    assert result["resumed"] == [{"correlationKey": KEY, "status": "SUCCEED", "executionId": A.execution}]


def test_given_a_delivery_being_handled_when_it_comes_again_within_the_lease_then_lambda_is_told_to_retry_it(
    channel,
):
    channel.register(A.registration(KEY))
    stopped_at_its_timeout(channel, KEY, "msg-1")

    with pytest.raises(DeliveryInFlightError, match="msg-1"):
        channel.callback_by_sns(PAID, message_id="msg-1")

    assert channel.sfn.calls == []
    assert channel.waiting_on(KEY) == [A.execution]  # untouched: the retry decides


def test_given_a_delivery_handled_when_it_comes_again_after_the_lease_then_it_is_still_a_duplicate(channel):
    channel.register(A.registration(KEY))
    channel.callback_by_sns(PAID, message_id="msg-1")
    channel.register(B.registration(KEY))  # the key's next task

    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1)):
        again = channel.callback_by_sns(PAID, message_id="msg-1")

    assert again["alreadyClosed"][0]["alreadyClosed"] == "this delivery was received already"
    assert channel.sfn.successes() == {A.token: {"paid": 120}}  # B never got A's result


# 14. A call that timed out after it was served: the SDK sends it again, and finds its own write.


class PutsSentTwice:
    """The registry's DynamoDB client, whose PutItem is served and then sent again by the SDK
    (its answer timed out): the second sending meets the first one's write."""

    def __init__(self, dynamodb) -> None:
        self._dynamodb = dynamodb

    def put_item(self, **request):
        self._dynamodb.put_item(**request)
        return self._dynamodb.put_item(**request)

    def __getattr__(self, name):
        return getattr(self._dynamodb, name)


@pytest.fixture
def puts_sent_twice(channel, monkeypatch):
    real = channel.client

    def client(service: str):
        answer = real(service)
        return PutsSentTwice(answer) if service == "dynamodb" else answer

    monkeypatch.setattr(clients, "client", client)


def test_given_a_registration_whose_put_was_sent_twice_then_the_task_waits_and_is_not_refused_its_own_key(
    channel, puts_sent_twice
):
    answer = channel.register(A.registration(KEY))

    assert answer == {"correlationKey": KEY, "registered": True}
    assert channel.sfn.calls == []  # no KeyInUse, and no heartbeat to ask whether "another" task waits
    assert channel.waiting_on(KEY) == [A.execution]


def test_given_a_callback_held_by_puts_sent_twice_then_it_is_held_once_and_applied(channel, puts_sent_twice):
    held = channel.callback_by_sns(PAID, message_id="msg-1")
    channel.register(A.registration(KEY))

    assert held["held"] == [{"correlationKey": KEY, "status": "SUCCEED"}]
    assert channel.sfn.successes() == {A.token: {"paid": 120}}
    assert channel.entries(KEY, "early#") == []


def test_given_an_aws_call_of_the_registrar_times_out_then_it_fails_with_the_error_the_task_retries(
    channel, monkeypatch
):
    from botocore.exceptions import ReadTimeoutError
    from handlers.register_correlation_key import RegistryUnavailable

    class Unanswered:
        def encrypt(self, **_request):
            raise ReadTimeoutError(endpoint_url="https://kms.us-east-1.amazonaws.com/")

    real = channel.client
    monkeypatch.setattr(clients, "client", lambda service: Unanswered() if service == "kms" else real(service))

    with pytest.raises(RegistryUnavailable, match="Read timeout on endpoint URL"):
        channel.register(A.registration(KEY))
    assert channel.items() == []
    assert RegistryUnavailable.__name__ == "RegistryUnavailable"  # the error name the task's Retry names
