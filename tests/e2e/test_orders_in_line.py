"""Orders that wait in line for their id, end to end: the README's order workflow with "Pack order"
queueing on a key in use (`on_key_in_use=KeyInUse.QUEUE`) instead of failing with
PackOrderKeyInUse. Orders with one id are packed one at a time, in the order they came: each
one's packing job is sent once the order ahead has let the id go (resumed by it, or ended)."""

import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.test import Client

from pausable_sfn.console.app import ConsoleApp
from pausable_sfn.ops.history import recent_events
from pausable_sfn.ops.operations import Operations, in_line
from pausable_sfn.testing.waiting import wait_until

from ..readme import example_app
from .test_callbacks_by_key import APPROVE, PACK, Shop, status, task_entries
from .test_readme_example import synthesized_app

pytestmark = pytest.mark.emulator_only(reason="deploys a variant of the README's app, which make test-live does not")


def queueing_app() -> str:
    """The README's app.py, its packing step queueing on an id in use."""
    app = example_app()
    keyed = '            correlation_key="$.order.id",'
    assert keyed in app, "the README's example no longer keys its packing step as this test expects"
    app = app.replace(keyed, f"{keyed}\n            on_key_in_use=KeyInUse.QUEUE,")
    return app.replace("from pausable_sfn.constructs import ", "from pausable_sfn.constructs import KeyInUse, ")


@pytest.fixture(scope="module")
def shop(embedded, tmp_path_factory: pytest.TempPathFactory) -> Shop:
    assembly = synthesized_app(tmp_path_factory.mktemp("orders-in-line"), queueing_app())
    return Shop(embedded, embedded.deploy(assembly, stack_name="OrderStack", as_stack="OrdersInLine"))


def packing_jobs_of(shop: Shop, order_id: str) -> list[str]:
    """The executions whose packing job for `order_id` the packing service has received so far."""
    return [job["executionId"] for job in shop.packing_messages(order_id)]


def wait_for_jobs(shop: Shop, order_id: str, jobs: list[str], *, count: int) -> None:
    """Adds the packing jobs received for `order_id` to `jobs` until there are `count`."""

    def arrived() -> bool:
        jobs.extend(packing_jobs_of(shop, order_id))
        return len(jobs) >= count

    wait_until(arrived, what=f"packing job {count} of {order_id}")


def submitted(shop: Shop, arn: str) -> dict[str, Any] | None:
    """What the registrar answered the packing task (the payload of its TaskSubmitted output), once it has."""
    for event in recent_events(shop.sfn, arn):
        if event["type"] == "TaskSubmitted":
            return dict(json.loads(event["taskSubmittedEventDetails"]["output"])["Payload"])
    return None


def wait_submitted(shop: Shop, arn: str) -> dict[str, Any]:
    return wait_until(lambda: submitted(shop, arn), what=f"{arn}'s packing task to be handed off")


def test_three_orders_with_one_id_are_packed_one_at_a_time_in_the_order_they_came(shop):
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    first = shop.start(order_id)[1]
    shop.wait_waiting_at(first, PACK)
    arns = [first]
    for _ in range(2):  # each started once the one before is in place: the order they came in is known
        arns.append(shop.start(order_id)[1])
        wait_submitted(shop, arns[-1])
    jobs: list[str] = packing_jobs_of(shop, order_id)

    assert jobs == [first]  # the others wait in line, their packing jobs not sent
    told_to_wait = {"correlationKey": order_id, "registered": False, "inLine": True, "behind": first}
    assert submitted(shop, arns[1]) == submitted(shop, arns[2]) == told_to_wait
    # What `pausable-sfn paused` and `resume --key` see: the first holds the id, the others wait in line.
    operations = Operations(state_machine=shop.deployment.outputs["StateMachineArn"], clients=shop.aws.client)
    assert operations.paused_on_key(order_id).arn == first
    places = in_line([paused for paused in operations.paused() if paused.key == order_id])
    assert places == {first: False, arns[1]: True, arns[2]: True}
    # And the console's page of an order in line names the one it waits behind.
    page = Client(ConsoleApp(shop.aws.client)).get(f"/console/execution?arn={quote(arns[2], safe='')}")
    assert f"<th>Waits on key</th><td>{order_id} (in line)</td>" in page.get_data(as_text=True)
    assert f"<th>In line behind</th><td>{first.rsplit(':', 1)[-1]}</td>" in page.get_data(as_text=True)
    for number, arn in enumerate(arns):
        shop.publish({"correlationKey": order_id, "output": {"parcelId": f"P-{number}"}})
        shop.wait_waiting_at(arn, APPROVE)
        if arn != arns[-1]:
            # The next order gets the id: its packing job goes out (the registrar, asked to, sends it).
            wait_for_jobs(shop, order_id, jobs, count=number + 2)
    assert jobs == arns
    assert [shop.output_of(arn)["parcel"] for arn in arns] == [{"parcelId": f"P-{n}"} for n in range(3)]
    assert all(status(shop, arn) == "RUNNING" for arn in arns)  # none failed with PackOrderKeyInUse
    for arn in arns:
        shop.sfn.stop_execution(executionArn=arn)


def test_when_the_order_holding_the_id_is_stopped_the_next_in_line_gets_it(shop):
    order_id = f"order-{uuid.uuid4().hex[:8]}"
    holder = shop.start(order_id)[1]
    shop.wait_waiting_at(holder, PACK)
    waiting = shop.start(order_id)[1]
    wait_submitted(shop, waiting)
    assert packing_jobs_of(shop, order_id) == [holder]

    shop.sfn.stop_execution(executionArn=holder, error="Cancelled", cause="the customer cancelled")

    # Its end reaches the janitor through EventBridge; it has the registrar move the line on.
    jobs: list[str] = []
    wait_for_jobs(shop, order_id, jobs, count=1)
    assert jobs == [waiting]
    [entry] = task_entries(shop, order_id)
    assert entry["executionArn"]["S"] == waiting
    shop.publish({"correlationKey": order_id, "output": {"parcelId": "P-2"}})
    shop.wait_waiting_at(waiting, APPROVE)
    shop.sfn.stop_execution(executionArn=waiting)
