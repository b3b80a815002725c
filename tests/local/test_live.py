"""The live-test layer (make test-live), tried on the embedded AWS: target, discovery, clean-up."""

import json
import subprocess
import sys

import pytest

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.app.settings import Settings
from pausable_sfn.local.embedded import EmbeddedAws
from tests.e2e.targets import AwsTarget, TargetError, stack_outputs, target_name
from tests.live import SHORT_STACK, SHORT_TIMEOUTS, STACK_NAME, run_live

from .test_deployer import assembly


def test_the_target_is_the_embedded_aws_unless_aws_is_asked_for():
    assert target_name({}) == "embedded"
    assert target_name({"PAUSABLE_SFN_TARGET": "aws"}) == "aws"
    with pytest.raises(TargetError, match="must be one of embedded, aws, not 'prod'"):
        target_name({"PAUSABLE_SFN_TARGET": "prod"})


def test_a_stack_is_found_through_its_outputs(tmp_path):
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}},
    }
    with EmbeddedAws() as aws:
        folder = assembly(tmp_path, template["Resources"])
        (folder / "Stack.template.json").write_text(json.dumps(template))
        deployment = aws.deploy(folder, stack_name="Stack")

        outputs = stack_outputs(AwsTarget(), "Stack")  # ordinary boto3, as against a real account

    assert outputs == deployment.outputs
    assert outputs["TopicArn"].startswith("arn:aws:sns:")


def test_without_credentials_it_stops_at_once_and_says_why(no_aws_credentials):
    result = subprocess.run(
        [sys.executable, "-m", "tests.live"],
        cwd=PROJECT_ROOT,
        env=no_aws_credentials,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 2
    assert "make test-live needs AWS credentials and a region" in result.stderr
    assert "`make test` never needs AWS" in result.stderr


class Recorder:
    """Stands in for the CDK CLI and pytest: records each command, answers with a given code."""

    def __init__(self, failing: str = "") -> None:
        self.commands: list[tuple[list[str], dict[str, str]]] = []
        self.failing = failing

    def __call__(self, command, environment) -> int:
        self.commands.append((list(command), environment))
        return 1 if self.failing and self.failing in " ".join(command) else 0

    def verbs(self) -> list[str]:
        return ["pytest" if "pytest" in command else f"{command[1]} {command[2]}" for command, _ in self.commands]


def test_a_failing_test_run_still_destroys_both_stacks():
    recorder = Recorder(failing="pytest")

    code = run_live(keep=False, run_id="live-1", runner=recorder)

    assert code == 1
    assert recorder.verbs() == [
        f"deploy {STACK_NAME}",
        f"deploy {SHORT_STACK}",
        "pytest",
        f"destroy {SHORT_STACK}",
        f"destroy {STACK_NAME}",
    ]
    _, test_environment = recorder.commands[2]
    assert (test_environment["PAUSABLE_SFN_TARGET"], test_environment["PAUSABLE_SFN_RUN_ID"]) == ("aws", "live-1")


def test_the_short_timeout_copy_is_deployed_with_its_own_name_and_context():
    recorder = Recorder()

    run_live(keep=False, run_id="live-2", runner=recorder)

    short_deploy = recorder.commands[1][0]
    assert ["-c", f"stackName={SHORT_STACK}"] == short_deploy[5:7]
    assert f"longJobTimeoutSeconds={SHORT_TIMEOUTS['longJobTimeoutSeconds']}" in short_deploy
    assert "--require-approval" in short_deploy


def test_the_short_timeout_copy_has_what_the_timer_scenarios_need_on_aws():
    """On AWS the timeout and heartbeat scenarios (tests/e2e) run on this copy, in real time: its
    context must be one the app accepts, with timeouts of seconds and a heartbeat timeout."""
    settings = Settings.from_values(SHORT_TIMEOUTS)

    assert settings.long_job_heartbeat_seconds is not None
    assert max(settings.long_job_timeout_seconds, settings.manual_resume_timeout_seconds) <= 60


def test_a_failed_deploy_stops_and_cleans_up_what_was_started():
    recorder = Recorder(failing=f"deploy {SHORT_STACK}")

    code = run_live(keep=False, run_id="live-3", runner=recorder)

    assert code == 1
    assert recorder.verbs() == [
        f"deploy {STACK_NAME}",
        f"deploy {SHORT_STACK}",
        f"destroy {SHORT_STACK}",
        f"destroy {STACK_NAME}",
    ]


def test_keep_leaves_the_stacks_up():
    recorder = Recorder()

    assert run_live(keep=True, run_id="live-4", runner=recorder) == 0
    assert "destroy" not in " ".join(recorder.verbs())
