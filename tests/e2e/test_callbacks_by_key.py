"""Callbacks by business key, end to end: the README's order workflow waits at "Pack order" on the
order's id, and the packing service, which never sees a token, resumes it by that id through the
channel's topic or an EventBridge event; early callbacks are held, unclaimed ones dead-lettered,
one id has one waiting order, and the registry keeps nothing once the orders have ended."""

import json
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pausable_sfn.contracts import CALLBACK_EVENT_DETAIL_TYPE, CALLBACK_EVENT_SOURCE
from pausable_sfn.local.deployer import Deployment
from pausable_sfn.local.runtime import TIMED_OUT
from pausable_sfn.ops.history import recent_events, scheduled_task
from pausable_sfn.testing.waiting import wait_until

from ..readme import example_app
from .test_readme_example import synthesized_app

pytestmark = pytest.mark.emulator_only(reason="deploys the README's own app, which make test-live does not")

PACK = "Pack order"
APPROVE = "Approve shipment"
WINDOW_SECONDS = 300  # CallbackChannel's default early-callback window


@pytest.fixture(scope="module")
def shop(embedded, tmp_path_factory: pytest.TempPathFactory) -> "Shop":
    assembly = synthesized_app(tmp_path_factory.mktemp("orders-by-key"), example_app())
    return Shop(embedded, embedded.deploy(assembly, stack_name="OrderStack", as_stack="OrdersByKey"))


class Shop:
    """The README's app deployed on the embedded AWS, and what its packing service does."""

    def __init__(self, embedded: Any, deployment: Deployment) -> None:
        self.aws = embedded
        self.deployment = deployment
        self.sfn = embedded.client("stepfunctions")

    def resource(self, resource_type: str, logical_prefix: str) -> Any:
        [found] = [
            deployed
            for logical_id, deployed in self.deployment.resources.items()
            if logical_id.startswith(logical_prefix) and deployed.type == resource_type
        ]
        return found

    def start(self, order_id: str | None = None) -> tuple[str, str]:
        """An order, started: (its id, its execution's ARN)."""
        order_id = order_id or f"order-{uuid.uuid4().hex[:8]}"
        arn = self.sfn.start_execution(
            stateMachineArn=self.deployment.outputs["StateMachineArn"],
            name=f"{order_id}-{uuid.uuid4().hex[:6]}",
            input=json.dumps({"order": {"id": order_id}}),
        )["executionArn"]
        return order_id, arn

    def publish(self, callback: dict[str, Any]) -> None:
        topic = self.deployment.outputs["CallbackTopicArn"]
        self.aws.client("sns").publish(TopicArn=topic, Message=json.dumps(callback))

    def put_event(self, callback: dict[str, Any], *, source: str = CALLBACK_EVENT_SOURCE) -> None:
        entry = {"Source": source, "DetailType": CALLBACK_EVENT_DETAIL_TYPE, "Detail": json.dumps(callback)}
        answer = self.aws.client("events").put_events(Entries=[entry])
        assert answer["FailedEntryCount"] == 0

    def waiting_at(self, arn: str) -> str | None:
        """The state whose task has been handed off (TaskSubmitted) and not called back, else None."""
        events = recent_events(self.sfn, arn)
        task_events = [event["type"] for event in events if event["type"].startswith("Task")]
        task = scheduled_task(events)
        return task.state if task is not None and task_events[-1:] == ["TaskSubmitted"] else None

    def wait_waiting_at(self, arn: str, state: str, timeout: float = 60) -> None:
        def waiting_or_ended() -> bool:
            return self.waiting_at(arn) == state or status(self, arn) != "RUNNING"

        wait_until(waiting_or_ended, timeout=timeout, what=f"{arn} to wait at {state}")
        described = self.sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            # Whole, not cut short by pytest's diff: the cause may be a handler's traceback.
            events = "\n".join(json.dumps(event, default=str) for event in recent_events(self.sfn, arn)[-6:])
            pytest.fail(f"{arn} is {described['status']} instead of waiting at {state}:\n{events}")

    def ended(self, arn: str, timeout: float = 60) -> dict[str, Any]:
        return wait_until(
            lambda: (d := self.sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
            timeout=timeout,
            what=f"the end of {arn}",
        )

    def output_of(self, arn: str) -> dict[str, Any]:
        """The state as it entered "Approve shipment": what packing returned is at $.parcel."""
        history = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        [entered] = [
            e for e in history if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == APPROVE
        ]
        return dict(json.loads(entered["stateEnteredEventDetails"]["input"]))

    def packing_messages(self, order_id: str) -> list[dict[str, Any]]:
        """The packing jobs that the packing service received for `order_id` (taken off its queue)."""
        queue = self.resource("AWS::SQS::Queue", "PackingJobs").ref
        sqs = self.aws.client("sqs")
        kept = []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                body = json.loads(message["Body"])
                if body.get("order", {}).get("id") == order_id:
                    kept.append(body)
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return kept

    def dead_letters(self, key: str) -> list[dict[str, Any]]:
        queue = self.resource("AWS::SQS::Queue", "CallbacksCallbackDeadLetterQueue").ref
        sqs = self.aws.client("sqs")
        found = []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                body = json.loads(message["Body"])
                if body.get("correlationKey") == key:
                    found.append(body)
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return found

    def registry_items(self, keys: set[str]) -> list[dict[str, Any]]:
        table = self.resource("AWS::DynamoDB::Table", "CallbacksCorrelationRegistry").ref
        pages = self.aws.client("dynamodb").get_paginator("scan").paginate(TableName=table)
        return [item for page in pages for item in page["Items"] if item["correlationKey"]["S"] in keys]


def test_the_packing_service_gets_the_order_id_never_the_token_and_resumes_by_it_through_the_topic(shop):
    order_id, arn = shop.start()
    shop.wait_waiting_at(arn, PACK)

    [job] = shop.packing_messages(order_id)
    shop.publish({"correlationKey": job["correlationKey"], "output": {"parcelId": "P-1"}})
    shop.wait_waiting_at(arn, APPROVE)

    assert job["correlationKey"] == order_id
    assert job["executionId"] == arn
    assert "taskToken" not in job
    assert shop.output_of(arn)["parcel"] == {"parcelId": "P-1"}


def test_an_eventbridge_event_of_the_channels_source_resumes_the_order_by_its_id(shop):
    order_id, arn = shop.start()
    shop.wait_waiting_at(arn, PACK)

    shop.put_event({"correlationKey": order_id, "status": "FAILED", "error": "OutOfStock", "cause": "no parcels"})

    ended = shop.ended(arn)
    assert (ended["status"], ended["error"], ended["cause"]) == ("FAILED", "OutOfStock", "no parcels")


def test_a_heartbeat_by_key_keeps_the_order_waiting_past_its_heartbeat_timeout(shop):
    order_id, arn = shop.start()
    shop.wait_waiting_at(arn, PACK)

    for sent in range(1, 4):  # 3 × 8 minutes: beyond the step's 10-minute heartbeat timeout
        shop.aws.clock.advance(8 * 60)
        shop.publish({"correlationKey": order_id, "status": "HEARTBEAT"})
        wait_until(lambda sent=sent: heartbeats_applied(shop, order_id) == sent, what=f"heartbeat {sent} applied")

    assert shop.sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    shop.publish({"correlationKey": order_id})
    shop.wait_waiting_at(arn, APPROVE)


def heartbeats_applied(shop: Shop, order_id: str) -> int:
    """The resume function's answers that report a heartbeat by `order_id` applied to its order."""
    resume = shop.resource("AWS::Lambda::Function", "CallbacksResumeStepFunctionLambda").ref
    answers = [i.result() for i in shop.aws.runtime.invocations if i.function == resume and not i.failed]
    return sum(
        1
        for answer in answers
        for resumed in answer.get("resumed", [])
        if resumed.get("correlationKey") == order_id and resumed["status"] == "HEARTBEAT"
    )


def test_a_callback_that_comes_before_its_order_waits_is_applied_when_it_does(shop):
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    shop.publish({"correlationKey": order_id, "output": {"parcelId": "EARLY"}})
    wait_until(lambda: any(early_entries(shop, order_id)), what="the early callback held")

    _, arn = shop.start(order_id)

    shop.wait_waiting_at(arn, APPROVE)
    assert shop.output_of(arn)["parcel"] == {"parcelId": "EARLY"}
    # The packing service was not asked to pack what it had packed already.
    assert shop.packing_messages(order_id) == []
    assert early_entries(shop, order_id) == []


def early_entries(shop: Shop, key: str) -> list[dict[str, Any]]:
    return [item for item in shop.registry_items({key}) if item["entry"]["S"].startswith("early#")]


def test_a_callback_no_order_claims_within_the_window_goes_to_the_dead_letter_queue_with_its_reason(shop):
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    shop.publish({"correlationKey": order_id, "output": {"parcelId": "LOST"}})
    wait_until(lambda: any(early_entries(shop, order_id)), what="the early callback held")

    shop.aws.clock.advance(WINDOW_SECONDS + 1)

    [letter] = wait_until(lambda: shop.dead_letters(order_id), what="the dead letter")
    assert letter["reason"] == (
        f"Callback by correlation key '{order_id}' not applied: no task waited on it within the "
        f"early-callback window of {WINDOW_SECONDS} s."
    )
    assert letter["callback"] == {"correlationKey": order_id, "status": "SUCCEED", "output": {"parcelId": "LOST"}}
    assert early_entries(shop, order_id) == []


def test_two_orders_with_one_id_exactly_one_waits_and_the_other_fails_naming_the_holder(shop):
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    barrier = threading.Barrier(2)

    def start() -> str:
        barrier.wait(timeout=30)
        return shop.start(order_id)[1]

    with ThreadPoolExecutor(2) as pool:
        arns = list(pool.map(lambda _: start(), range(2)))
    wait_until(
        lambda: all(shop.waiting_at(arn) == PACK or status(shop, arn) == "FAILED" for arn in arns),
        what="each order to wait or fail",
    )

    [failed] = [arn for arn in arns if status(shop, arn) == "FAILED"]
    [waiting] = [arn for arn in arns if arn != failed]
    ended = shop.sfn.describe_execution(executionArn=failed)
    assert ended["error"] == "PackOrderKeyInUse"
    assert f"'{order_id}' is in use: execution {waiting} waits on it at the state '{PACK}'" in ended["cause"]
    shop.publish({"correlationKey": order_id, "output": {"parcelId": "ONE"}})
    shop.wait_waiting_at(waiting, APPROVE)


def test_an_order_stopped_while_it_waits_leaves_no_token_behind(shop):
    order_id, arn = shop.start()
    shop.wait_waiting_at(arn, PACK)
    [entry] = task_entries(shop, order_id)

    shop.sfn.stop_execution(executionArn=arn, error="Cancelled", cause="the customer cancelled")

    # The execution's end reaches the janitor through EventBridge, which drops its entries.
    # The janitor drops the entry, then marks the key closed: the test waits for both.
    wait_until(lambda: task_entries(shop, order_id) == [], what="the registry to drop the order's token")
    [closed] = wait_until(
        lambda: [item for item in shop.registry_items({order_id}) if item["entry"]["S"].startswith("closed#")],
        what="the key to be marked closed",
    )
    assert "ciphertext" not in closed
    assert "ciphertext" in entry  # it held the token (encrypted) while the order waited


def task_entries(shop: Shop, key: str) -> list[dict[str, Any]]:
    return [item for item in shop.registry_items({key}) if item["entry"]["S"].startswith("task#")]


def status(shop: Shop, arn: str) -> str:
    return str(shop.sfn.describe_execution(executionArn=arn)["status"])


@pytest.mark.first  # among the longest: started early, not left to end the run alone
def test_200_orders_resumed_by_id_at_once_each_exactly_once_and_the_registry_then_holds_no_token(shop):
    with ThreadPoolExecutor(8) as pool:
        orders = list(pool.map(lambda _: shop.start(), range(200)))
    for _, arn in orders:
        shop.wait_waiting_at(arn, PACK, timeout=300)

    def pack(order: tuple[str, str]) -> None:
        shop.publish({"correlationKey": order[0], "output": {"parcelId": f"P-{order[0]}"}})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(pack, orders))
    for order_id, arn in orders:
        shop.wait_waiting_at(arn, APPROVE, timeout=300)
        assert shop.output_of(arn)["parcel"] == {"parcelId": f"P-{order_id}"}
    # Each callback was applied by the resume function once, to its own order; none held. An
    # invocation that Lambda stopped at its timeout (a loaded machine) answered nothing: its retry,
    # once the delivery's lease is over, finds its order resumed already, or resumes it.
    keys = {order_id for order_id, _ in orders}
    resume = shop.resource("AWS::Lambda::Function", "CallbacksResumeStepFunctionLambda").ref
    runs = [i for i in shop.aws.runtime.invocations if i.function == resume]
    answers = [i.result() for i in runs if not i.failed]
    applied = Counter(r["correlationKey"] for a in answers for r in a["resumed"] if r["correlationKey"] in keys)
    assert set(applied.values()) == {1}
    # Each invocation carries one callback: an order missing above is one that a stopped invocation took.
    stopped = [i for i in runs if i.error_type == TIMED_OUT]
    assert len(keys - set(applied)) <= len(stopped), [i.error_type for i in runs if i.failed]
    assert [h for a in answers for h in a.get("held", []) if h["correlationKey"] in keys] == []

    # Resumed by key, each task's entry went with its callback (or with the retry of one that was
    # stopped); what may stay, until its TTL, is the record of each delivery and each task's
    # closed mark (no token, no callback).
    def entries_left() -> list[str]:
        return [item["entry"]["S"] for item in shop.registry_items(keys)]

    wait_until(
        lambda: all(entry.startswith(("delivery#", "closed#")) for entry in entries_left()),
        clock=shop.aws.clock,
        what="every order's entry to go",
    )
    assert entries_left()
    for _, arn in orders:  # the approvals are another story
        shop.sfn.stop_execution(executionArn=arn, error="TestOver", cause="packed")
