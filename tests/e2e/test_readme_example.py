"""The README's example app, as a user would take it: its `app.py` synthesized clean under cdk-nag,
deployed on the embedded AWS, and its two pausable steps operated with `pausable-sfn --state-machine`."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pausable_sfn.ops.graph import COLOURS, WAITING
from pausable_sfn.testing.waiting import wait_until

from ..readme import example_app
from .test_graph import fills

pytestmark = pytest.mark.emulator_only(reason="deploys the README's own app, which make test-live does not")


@pytest.fixture(scope="module")
def example_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesized_app(tmp_path_factory.mktemp("readme-example"), example_app())


def synthesized_app(folder: Path, app: str) -> Path:
    """A README app.py run as `cdk synth` runs it: its own process, CDK_OUTDIR naming the folder
    (the CDK reads it in its Node.js process, which a process of its own starts with it)."""
    (folder / "app.py").write_text(app)
    environment = {**os.environ, "CDK_OUTDIR": str(folder / "cdk.out")}

    synth = subprocess.run(
        [sys.executable, "app.py"], cwd=folder, env=environment, capture_output=True, text=True, timeout=300
    )

    # cdk-nag runs as a policy-validation plugin of the example's own app: a finding fails the synth.
    assert synth.returncode == 0, synth.stdout + synth.stderr
    return folder / "cdk.out"


@pytest.fixture(scope="module")
def orders(embedded, example_assembly: Path) -> str:
    """The example's state machine ARN, deployed on the embedded AWS."""
    return embedded.deploy(example_assembly, stack_name="OrderStack").outputs["StateMachineArn"]


@pytest.fixture
def cli(run_cli, orders):
    """`pausable-sfn ARGS --state-machine <the example's>`."""
    return lambda *args: run_cli(*args, "--state-machine", orders)


def start_order(embedded, orders: str, **more_input: object) -> tuple[str, str]:
    """Starts an execution of the example with an order of its own: (its name, its ARN)."""
    name = f"order-{uuid.uuid4().hex[:8]}"
    started = embedded.client("stepfunctions").start_execution(
        stateMachineArn=orders, name=name, input=json.dumps({"order": {"id": name}, **more_input})
    )
    return name, started["executionArn"]


def ending_of(embedded, arn: str) -> dict:
    """The execution's description once it has ended."""
    sfn = embedded.client("stepfunctions")
    return wait_until(
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d, what="the end"
    )


def paused_at(cli, name: str) -> str | None:
    """The state the execution `name` waits at, as `pausable-sfn paused` reports it, or None."""
    code, out, err = cli("paused", "--json")
    assert code == 0, err
    return next((row["state"] for row in json.loads(out) if row["name"] == name), None)


def test_the_example_pauses_at_each_step_and_is_resumed_to_the_end_through_the_cli(cli, embedded, orders):
    name, arn = start_order(embedded, orders)

    assert wait_until(lambda: paused_at(cli, name) == "Pack order", what="paused at Pack order")
    packed = cli("resume", name, "--output", '{"parcelId": "P-1"}')
    assert packed[0] == 0, packed[2]
    assert wait_until(lambda: paused_at(cli, name) == "Approve shipment", what="paused at Approve shipment")
    approved = cli("resume", name, "--output", '{"approvedBy": "ana"}')

    assert approved[0] == 0, approved[2]
    ended = ending_of(embedded, arn)
    assert ended["status"] == "SUCCEEDED"
    output = json.loads(ended["output"])
    assert output["parcel"] == {"parcelId": "P-1"}
    assert output["approval"] == {"approvedBy": "ana"}


def test_a_rejected_approval_fails_the_execution_with_the_rejection(cli, embedded, orders):
    name, arn = start_order(embedded, orders)
    assert wait_until(lambda: paused_at(cli, name) == "Pack order", what="paused at Pack order")
    assert cli("resume", name)[0] == 0
    assert wait_until(lambda: paused_at(cli, name) == "Approve shipment", what="paused at Approve shipment")

    rejected = cli("fail", name, "--error", "Rejected", "--cause", "address missing")

    assert rejected[0] == 0, rejected[2]
    ended = ending_of(embedded, arn)
    assert (ended["status"], ended["error"], ended["cause"]) == ("FAILED", "Rejected", "address missing")


def test_graph_draws_the_example_with_every_state_and_the_step_that_waits_in_violet(cli, embedded, orders, tmp_path):
    name, _ = start_order(embedded, orders)

    assert_drawn_waiting_at_pack_order(cli, embedded, orders, name, tmp_path / "order.svg")


def assert_drawn_waiting_at_pack_order(cli, embedded, orders: str, name: str, svg: Path) -> None:
    """`graph` of the execution `name`, once it waits at "Pack order": every state of the
    definition drawn, the waiting one in violet; then the execution is failed, to end it."""
    assert wait_until(lambda: paused_at(cli, name) == "Pack order", what="paused at Pack order")

    code, _, err = cli("graph", name, "-o", str(svg))

    assert code == 0, err
    colours = fills(svg.read_text())
    definition = embedded.client("stepfunctions").describe_state_machine(stateMachineArn=orders)["definition"]
    assert set(colours) >= set(json.loads(definition)["States"])
    assert colours["Pack order"] == COLOURS[WAITING][0]
    cli("fail", name, "--error", "Cancelled", "--cause", "a test of the graph")
