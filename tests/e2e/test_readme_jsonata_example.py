"""The README's JSONata example app, as a user would take it: synthesized clean under cdk-nag,
deployed on the embedded AWS, and its two pausable steps operated with `pausable-sfn`, as its
JSONPath twin is (test_readme_example.py)."""

import json

import pytest

from pausable_sfn.testing.waiting import wait_until

from ..readme import JSONATA_EXAMPLE_HEADING, example_app
from .test_readme_example import (
    assert_drawn_waiting_at_pack_order,
    ending_of,
    paused_at,
    synthesized_app,
)
from .test_readme_example import start_order as start_example_order

pytestmark = pytest.mark.emulator_only(reason="deploys the README's own app, which make test-live does not")


@pytest.fixture(scope="module")
def orders(embedded, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The JSONata example's state machine ARN, deployed on the embedded AWS."""
    assembly = synthesized_app(tmp_path_factory.mktemp("readme-jsonata"), example_app(JSONATA_EXAMPLE_HEADING))
    return embedded.deploy(assembly, stack_name="JsonataOrderStack").outputs["StateMachineArn"]


@pytest.fixture
def cli(run_cli, orders):
    return lambda *args: run_cli(*args, "--state-machine", orders)


def start_order(embedded, orders: str) -> tuple[str, str]:
    return start_example_order(embedded, orders, packingHours=4)


def test_the_definition_is_jsonata_and_hands_the_token_in_its_arguments(embedded, orders):
    definition = json.loads(
        embedded.client("stepfunctions").describe_state_machine(stateMachineArn=orders)["definition"]
    )

    pack = definition["States"]["Pack order"]
    assert definition["QueryLanguage"] == "JSONata"
    assert pack["Arguments"]["MessageBody"]["taskToken"] == "{% $states.context.Task.Token %}"
    assert "Parameters" not in pack


def test_the_example_pauses_at_each_step_keeps_the_parcel_in_a_variable_and_ends_with_the_approval(
    cli, embedded, orders
):
    name, arn = start_order(embedded, orders)

    assert wait_until(lambda: paused_at(cli, name) == "Pack order", what="paused at Pack order")
    packed = cli("resume", name, "--output", '{"parcelId": "P-1"}')
    assert packed[0] == 0, packed[2]
    assert wait_until(lambda: paused_at(cli, name) == "Approve shipment", what="paused at Approve shipment")
    approved = cli("resume", name, "--output", '{"approvedBy": "ana"}')

    assert approved[0] == 0, approved[2]
    ended = ending_of(embedded, arn)
    assert ended["status"] == "SUCCEEDED", ended
    assert json.loads(ended["output"]) == {
        "order": {"id": name},
        "parcel": {"parcelId": "P-1"},
        "approval": {"approvedBy": "ana"},
    }
    history = embedded.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    [packed_exit] = [
        e for e in history if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Pack order"
    ]
    assert packed_exit["stateExitedEventDetails"]["assignedVariables"] == {"parcel": '{"parcelId":"P-1"}'}


def test_a_rejection_fails_the_execution_with_the_callbacks_error_and_cause(cli, embedded, orders):
    name, arn = start_order(embedded, orders)
    assert wait_until(lambda: paused_at(cli, name) == "Pack order", what="paused at Pack order")
    beat = cli("heartbeat", name)  # found in the JSONata Arguments, as resume and fail find it
    assert beat[0] == 0, beat[2]

    rejected = cli("fail", name, "--error", "Rejected", "--cause", "address missing")

    assert rejected[0] == 0, rejected[2]
    ended = ending_of(embedded, arn)
    assert (ended["status"], ended["error"], ended["cause"]) == ("FAILED", "Rejected", "address missing")


def test_graph_draws_the_jsonata_example_with_the_step_that_waits_in_violet(cli, embedded, orders, tmp_path):
    name, _ = start_order(embedded, orders)

    assert_drawn_waiting_at_pack_order(cli, embedded, orders, name, tmp_path / "order.svg")
