"""The pytest plugin as a user meets it: a project of their own in a temporary folder, the
README's order app deployed once for their session, their tests, and what pytest reports back.

Most scenarios are one user test each in one user session (a session deploys the app once, as the
user's does); each test here asserts its scenario's outcome. The reports a user reads (a failure,
a mistake in the settings) are run with pytester, one session each."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pausable_sfn.local.embedded import EmbeddedAws

from ..readme import example_app
from .conftest import UserRun, run_user_tests, write_project

# The README's own example of a user's test ("Test your own workflows") runs in the session too.
README_TEST = example_app("## Test your own workflows")

MOCK_FILE = {
    "StateMachines": {
        "Orders": {
            "TestCases": {
                "PackedAtOnce": {"Pack order": "ParcelP9"},
                "ApprovalServiceHiccups": {"Pack order": "ParcelP9", "Approve shipment": "ThrottledTwiceThenApproved"},
                "ApprovalThrottledOnce": {"Pack order": "ParcelP9", "Approve shipment": "ThrottledOnceThenApproved"},
            }
        }
    },
    "MockedResponses": {
        "ParcelP9": {"0": {"Return": {"parcel": "P-9"}}},
        "ThrottledTwiceThenApproved": {
            "0-1": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "busy"}},
            "2": {"Return": {"approved": True}},
        },
        "ThrottledOnceThenApproved": {
            "0": {"Throw": {"Error": "Lambda.ServiceException", "Cause": "busy"}},
            "1": {"Return": {"approved": True}},
        },
    },
}

USER_TESTS = """
import json
import os
import subprocess
import sys

import boto3
import pytest

from pausable_sfn.testing import ExecutionError, Return, Throw, WorkflowError


def test_an_order_nobody_approves_times_out_after_three_days(embedded_aws):
    orders = embedded_aws.state_machine("Orders")
    run = orders.start({"order": {"id": "o-1"}})
    run.wait_until_paused("Pack order").resume({"parcel": "P-1"})
    run.wait_until_paused("Approve shipment")
    embedded_aws.clock.advance(days=3)
    result = run.result()
    assert result.status == "FAILED" and result.error == "ApproveShipmentTimedOut"
    assert run.states_entered[:2] == ["Pack order", "Approve shipment"]


def test_an_approved_order_ships_with_its_parcel(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-2"}})
    packing = run.wait_until_paused("Pack order")
    assert packing.payload["order"] == {"id": "o-2"}  # the queue message's body, as the packer reads it
    packing.resume({"parcel": "P-2"})
    run.wait_until_paused("Approve shipment").resume({"approved": True})
    result = run.result()
    assert result.status == "SUCCEEDED"
    assert result.output["approval"] == {"approved": True}
    assert run.states_entered == ["Pack order", "Approve shipment", "Shipped"]


def test_a_packer_that_gives_up_fails_the_order_with_its_own_error(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-3"}})
    run.wait_until_paused("Pack order").fail("OutOfStock", "no parcel today")
    result = run.result()
    assert (result.status, result.error, result.cause) == ("FAILED", "OutOfStock", "no parcel today")


def test_a_packer_that_never_sends_a_heartbeat(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-4"}})
    started = embedded_aws.clock.now()
    result = run.result(skip_time=True)
    assert result.error == "PackOrderTimedOut" and "heartbeat" in result.cause
    assert run.states_entered == ["Pack order", "PackOrderHeartbeatTimedOut"]
    assert (embedded_aws.clock.now() - started).total_seconds() >= 600  # the 10-minute heartbeat


ARNS = []


def test_leaves_an_execution_paused(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-5"}})
    run.wait_until_paused("Pack order")
    ARNS.append(run.arn)


def test_finds_the_execution_it_did_not_start_stopped(embedded_aws):
    sfn = embedded_aws.client("stepfunctions")
    assert sfn.describe_execution(executionArn=ARNS[0])["status"] == "ABORTED"


def test_reads_what_a_function_printed_since_it_began(embedded_aws):
    assert embedded_aws.logs("Approvers/RequestApprovalLambda") == []
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-6"}})
    run.wait_until_paused("Pack order").resume({"parcel": "P-6"})
    run.wait_until_paused("Approve shipment")
    assert any('"Approval requested"' in line for line in embedded_aws.logs("RequestApprovalLambda"))


LIST = "import boto3; print(boto3.client('stepfunctions').list_state_machines()['stateMachines'][0]['stateMachineArn'])"


def test_the_users_own_boto3_code_in_this_process_and_in_one_of_its_own(embedded_aws):
    arn = embedded_aws.outputs["StateMachineArn"]
    assert embedded_aws.state_machine(arn).arn == embedded_aws.state_machine("Orders").arn
    assert [m["stateMachineArn"] for m in boto3.client("stepfunctions").list_state_machines()["stateMachines"]] == [arn]
    environment = {"PATH": os.environ["PATH"], **embedded_aws.environment}
    child = subprocess.run([sys.executable, "-c", LIST], env=environment, capture_output=True, text=True)
    assert child.stdout.strip() == arn, child.stderr


def test_names_the_state_machines_the_app_has(embedded_aws):
    with pytest.raises(WorkflowError, match=r"has no state machine 'Invoices' \\(it has: Orders\\)"):
        embedded_aws.state_machine("Invoices")


def test_a_packing_service_mocked_from_python(embedded_aws):
    orders = embedded_aws.state_machine("Orders")
    run = orders.start({"order": {"id": "o-7"}}, mocks={"Pack order": Return({"parcel": "P-7"})})
    approval = run.wait_until_paused("Approve shipment")
    assert approval.payload["summary"]["parcel"] == {"parcel": "P-7"}  # what the approval page shows


def test_a_retried_lambda_from_the_mock_file(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-8"}}, test_case="ApprovalServiceHiccups")
    result = run.result(skip_time=True)  # the Lambda task's retries wait 2 s, then 4 s
    assert result.status == "SUCCEEDED"
    assert result.output["approval"] == {"approved": True}
    assert [e["type"] for e in run.history].count("TaskFailed") == 2


def test_a_retry_two_seconds_away_fires_in_real_time_without_skipping_time(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-9"}}, test_case="ApprovalThrottledOnce")
    assert run.result(timeout=30).status == "SUCCEEDED"  # the retry's 2 s pass on the clock as on a wall clock


def test_a_wait_that_no_timer_could_end_before_its_deadline_fails_at_once(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-10"}})
    run.wait_until_paused("Pack order")
    with pytest.raises(ExecutionError, match=r"its next timer falls due at .* after this wait's 5 s"):
        run.result(timeout=5)  # the heartbeat falls due in 10 minutes


def test_the_history_shows_tokens_by_their_fingerprint_only(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-11"}})
    packing = run.wait_until_paused("Pack order")
    # Packing waits on the order's id: its receiver gets the key, and no token.
    assert packing.correlation_key == "o-11"
    assert packing.payload["correlationKey"] == "o-11"
    assert "taskToken" not in packing.payload
    packing.resume({"parcel": "P-11"})
    approval = run.wait_until_paused("Approve shipment")
    token = approval.payload["taskToken"]
    assert repr(token).startswith("<task token tok-")
    assert json.loads(json.dumps(approval.payload))["taskToken"] == token  # sent as the token itself
    approval.resume({"approved": True})
    run.result()
    history = json.dumps(run.history, default=str)
    assert str(token) not in history
    assert repr(token)[len("<task token "):-1] in history


def test_a_mock_file_test_case_that_is_not_there(embedded_aws):
    embedded_aws.state_machine("Orders").start({}, mocks={"Pack order": Return({})})  # leaves no test case
    with pytest.raises(WorkflowError) as refused:
        embedded_aws.state_machine("Orders").start({}, test_case="Nope")
    assert str(refused.value) == (
        "cannot start Orders: Test case 'Nope' is not one of state machine 'Orders' in the mock configuration "
        "(its test cases: ApprovalServiceHiccups, ApprovalThrottledOnce, PackedAtOnce)"
    )


def test_a_state_name_with_a_typo_is_named_with_the_nearest_ones(embedded_aws):
    run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-13"}})
    typo = r"Orders: 'Pack Order' is not a state of its definition; did you mean 'Pack order'"
    with pytest.raises(WorkflowError, match=typo):
        run.wait_until_paused("Pack Order")
    mocked_typo = r"mocks= of Orders: 'Pack the order' is not a state .* did you mean 'Pack order'"
    with pytest.raises(WorkflowError, match=mocked_typo):
        embedded_aws.state_machine("Orders").start({}, mocks={"Pack the order": Return({})})


def test_a_mock_for_a_state_that_is_not_there(embedded_aws):
    with pytest.raises(WorkflowError, match="Pack orders"):
        embedded_aws.state_machine("Orders").start({}, mocks={"Pack orders": Throw("Nope")})


def test_mocked_responses_that_are_not_return_or_throw(embedded_aws):
    with pytest.raises(WorkflowError, match="mocks= of Orders: .*Pack order"):
        embedded_aws.state_machine("Orders").start({}, mocks={"Pack order": {"parcel": "P-1"}})
"""


@pytest.fixture(scope="module")
def session(order_assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> UserRun:
    """The user's session: their tests above, against the order app on the embedded AWS."""
    folder = write_project(
        tmp_path_factory.mktemp("user-project"),
        USER_TESTS + "\n\n" + README_TEST,
        {"pausable_sfn_app": str(order_assembly), "pausable_sfn_mock_config": "MockConfigFile.json"},
        {"MockConfigFile.json": json.dumps(MOCK_FILE)},
    )
    return run_user_tests(folder, "-p", "no:randomly")


@pytest.mark.parametrize(
    "scenario",
    [
        "test_an_order_nobody_approves_times_out_after_three_days",
        "test_an_approved_order_ships_with_its_parcel",
        "test_a_packer_that_gives_up_fails_the_order_with_its_own_error",
        "test_a_packer_that_never_sends_a_heartbeat",
        "test_leaves_an_execution_paused",
        "test_finds_the_execution_it_did_not_start_stopped",
        "test_reads_what_a_function_printed_since_it_began",
        "test_the_users_own_boto3_code_in_this_process_and_in_one_of_its_own",
        "test_names_the_state_machines_the_app_has",
        "test_a_packing_service_mocked_from_python",
        "test_a_retried_lambda_from_the_mock_file",
        "test_a_retry_two_seconds_away_fires_in_real_time_without_skipping_time",
        "test_a_wait_that_no_timer_could_end_before_its_deadline_fails_at_once",
        "test_the_history_shows_tokens_by_their_fingerprint_only",
        "test_a_mock_file_test_case_that_is_not_there",
        "test_a_mock_for_a_state_that_is_not_there",
        "test_a_state_name_with_a_typo_is_named_with_the_nearest_ones",
        "test_mocked_responses_that_are_not_return_or_throw",
        "test_an_approval_nobody_gives_ends_the_order_after_three_days",  # the README's
    ],
)
def test_a_user_scenario_passes(session: UserRun, scenario: str):
    assert session.outcome(scenario) == "passed", session.messages.get(scenario, session.output)


def test_the_session_deploys_the_app_once_and_runs_every_scenario(session: UserRun):
    assert set(session.outcomes.values()) == {"passed"}, session.output
    assert len(session.outcomes) == (USER_TESTS + README_TEST).count("def test_")


@pytest.fixture(scope="module")
def deployed_on_aws(order_assembly: Path) -> Iterator[EmbeddedAws]:
    """The order app deployed "on AWS": an embedded AWS in server mode, which the user's session
    reaches only as it reaches AWS, through AWS_ENDPOINT_URL and credentials."""
    with EmbeddedAws(in_process=False) as aws:
        aws.deploy(order_assembly, stack_name="OrderStack")
        yield aws


AGAINST_AWS = """
import pytest

from pausable_sfn.testing import Return


def test_a_scenario_on_any_target(embedded_aws):
    run = embedded_aws.state_machine(embedded_aws.outputs["StateMachineArn"]).start({"order": {"id": "o-9"}})
    run.wait_until_paused("Pack order").resume({"parcel": "P-9"})
    assert run.wait_until_paused("Approve shipment").state == "Approve shipment"


def test_moves_the_clock(embedded_aws):
    embedded_aws.clock.advance(days=3)


def test_skips_time(embedded_aws):
    run = embedded_aws.state_machine(embedded_aws.outputs["StateMachineArn"]).start({"order": {"id": "o-12"}})
    run.result(skip_time=True)


def test_mocks_a_task(embedded_aws):
    embedded_aws.state_machine(embedded_aws.outputs["StateMachineArn"]).start({}, mocks={"Pack order": Return({})})


@pytest.mark.embedded_only(reason="injects a fault")
def test_marked(embedded_aws):
    pass
"""


def test_against_aws_what_only_the_embedded_aws_can_do_is_skipped_with_its_reason(
    deployed_on_aws: EmbeddedAws, order_assembly: Path, tmp_path: Path
):
    folder = write_project(tmp_path / "user-project", AGAINST_AWS, {"pausable_sfn_app": str(order_assembly)})
    credentials = {
        "AWS_ENDPOINT_URL": deployed_on_aws.endpoint_url,
        "AWS_ACCESS_KEY_ID": "user",
        "AWS_SECRET_ACCESS_KEY": "user",
        "AWS_REGION": deployed_on_aws.region,
    }

    run = run_user_tests(folder, "--pausable-sfn-stack=OrderStack", environment=credentials)

    assert run.outcome("test_a_scenario_on_any_target") == "passed", run.output
    for skipped, reason in [
        ("test_moves_the_clock", "advancing the clock"),
        ("test_mocks_a_task", "mocked tasks"),
        ("test_skips_time", "skip_time=True"),
        ("test_marked", "injects a fault"),
    ]:
        assert run.outcome(skipped) == "skipped", run.output
        assert f"runs on the embedded AWS only ({reason})" in run.messages[skipped]


def test_a_failing_user_test_says_what_the_execution_did_and_never_shows_its_token(
    pytester: pytest.Pytester, order_assembly: Path
):
    pytester.makeini(f"[pytest]\npausable_sfn_app = {order_assembly}\n")
    pytester.makepyfile(
        test_workflow="""
        import pathlib

        def test_waits_for_an_end_that_only_a_timer_could_bring(embedded_aws):
            run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-5"}})
            run.wait_until_paused("Pack order").resume({"parcel": "P-5"})  # by token; it waits on a key
            token = run.wait_until_paused("Approve shipment").payload["taskToken"]
            pathlib.Path("token.txt").write_text(token)
            run.result()

        def test_compares_a_payload_that_differs(embedded_aws):
            run = embedded_aws.state_machine("Orders").start({"order": {"id": "o-6"}})
            run.wait_until_paused("Pack order").resume({"parcel": "P-6"})
            approval = run.wait_until_paused("Approve shipment")
            pathlib.Path("second-token.txt").write_text(approval.payload["taskToken"])
            assert approval.payload == {"order": {"id": "another"}}
        """
    )

    outcome = pytester.runpytest_subprocess()

    outcome.assert_outcomes(failed=2)
    report = outcome.stdout.str()
    assert "has not reached its end, nothing runs on the embedded AWS, and its next timer falls due" in report
    assert "states entered: Pack order → Approve shipment" in report
    assert "TaskSubmitted [Approve shipment]: paused: waiting for the callback" in report
    assert "skip_time=True" in report
    assert "eval_component" not in report  # moto's log of the failures it handled stays out of it
    # The report points at the user's line, not into the plugin's machinery.
    assert "run.result()" in report
    assert "def _wait" not in report
    assert "<task token tok-" in report  # the differing payload, as pytest shows it
    for name in ("token.txt", "second-token.txt"):
        token = (pytester.path / name).read_text()
        assert len(token) > 20
        assert token not in report


def session_error(pytester: pytest.Pytester) -> str:
    """What a user's session with one test reports when its stack cannot be started."""
    pytester.makepyfile(test_workflow="def test_x(embedded_aws):\n    pass\n")
    outcome = pytester.runpytest_subprocess()
    outcome.assert_outcomes(errors=1)
    return outcome.stdout.str()


def test_without_an_app_to_test_the_session_says_how_to_name_one_without_a_traceback(pytester: pytest.Pytester):
    report = session_error(pytester)

    assert "pausable-sfn: no CDK app to test: set pausable_sfn_app" in report
    assert "Traceback" not in report
    assert "app_under_test.py" not in report


def test_an_app_command_that_fails_is_quoted_in_the_error(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\npausable_sfn_app = python app.py\n")
    pytester.makepyfile(app="raise SystemExit('the app could not find its settings')")
    report = session_error(pytester)

    assert "the app command 'python app.py' failed (exit code 1)" in report
    assert "the app could not find its settings" in report


def test_a_mock_file_that_names_a_response_it_does_not_have_is_named_without_a_traceback(
    pytester: pytest.Pytester, order_assembly: Path
):
    pytester.makeini(f"[pytest]\npausable_sfn_app = {order_assembly}\npausable_sfn_mock_config = mocks.json\n")
    broken = {"StateMachines": {"Orders": {"TestCases": {"T": {"Pack order": "Missing"}}}}, "MockedResponses": {}}
    (pytester.path / "mocks.json").write_text(json.dumps(broken))
    report = session_error(pytester)

    assert "pausable-sfn: the mock file" in report
    assert "Missing" in report
    assert "Traceback" not in report
