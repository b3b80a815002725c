"""cdk-nag's AWS Solutions rules and cfn-lint pass on every synth; each exception is argued."""

import json
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import Validations
from aws_cdk import aws_sqs as sqs
from cdk_nag import AwsSolutionsChecks

from pausable_sfn.app.names import STACK_NAME


@pytest.fixture(scope="module")
def nag_report(synthesized) -> dict:
    report = json.loads((synthesized.assembly_dir / "validation-report.json").read_text())
    [plugin] = report["pluginReports"]
    assert plugin["pluginName"] == "AwsSolutions"
    return plugin


def test_the_aws_solutions_rules_find_nothing_unacknowledged(nag_report):
    assert nag_report["conclusion"] == "success"
    assert nag_report["violations"] == []


def test_each_acknowledgement_is_scoped_to_one_resource_and_argued(nag_report):
    acknowledged = nag_report["suppressedViolations"]

    assert acknowledged  # the X-Ray wildcards at least
    for finding in acknowledged:
        at = finding["acknowledgedAt"]
        assert at.count("/") >= 1, f"{finding['ruleName']} is acknowledged for the whole stack"
        assert all(c["constructPath"].startswith(f"{at}/") for c in finding["violatingConstructs"])
        assert len(finding["reason"]) >= 40, f"{finding['ruleName']} at {at}: the reason is too thin"


def test_a_new_finding_fails_the_synth(tmp_path):
    # The app's synth runs the plugin (the report above is its output); what the plugin does with a
    # finding is shown on a stack of one non-compliant queue, a synth far cheaper than the app's.
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "NonCompliant")
    sqs.Queue(stack, "UnencryptedQueueWithoutDeadLetters", encryption=sqs.QueueEncryption.UNENCRYPTED)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))

    with pytest.raises(Exception, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {violation["ruleName"] for violation in report["pluginReports"][0]["violations"]}
    assert {"AwsSolutions-SQS2", "AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


def test_cfn_lint_finds_no_error_or_warning(synthesized):
    template = synthesized.assembly_dir / f"{STACK_NAME}.template.json"
    cfn_lint = Path(sys.executable).parent / "cfn-lint"

    result = subprocess.run([cfn_lint, str(template)], capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr
