"""What the embedded AWS puts off to start fast is still there when it is asked for: Batch (and
EC2) when a Batch backend is used, the stack of a deployment's outputs when CloudFormation is."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pausable_sfn.local.deployer import DeployError
from pausable_sfn.local.embedded import EmbeddedAws

from .test_deployer import assembly

TOPIC = {"Topic": {"Type": "AWS::SNS::Topic"}}


def in_a_new_interpreter(code: str) -> dict:
    """What `code` prints as JSON on its last line, run where nothing is imported yet."""
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.splitlines()[-1])


def test_importing_the_embedded_aws_imports_neither_batch_nor_ec2_until_batch_is_used():
    seen = in_a_new_interpreter("""
        import json, sys
        import pausable_sfn.local.embedded
        from pausable_sfn.local.quick_start import deferred
        before = {"ec2": "moto.ec2" in sys.modules, "deferred": deferred(sys.modules["moto.batch"])}
        import boto3
        from moto import mock_aws
        with mock_aws():
            batch = boto3.client("batch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
            queues = batch.describe_job_queues()["jobQueues"]
        print(json.dumps({**before, "after": "moto.ec2" in sys.modules, "queues": queues}))
    """)

    assert seen == {"ec2": False, "deferred": True, "after": True, "queues": []}


def test_the_testing_package_imports_in_an_install_without_moto():
    seen = in_a_new_interpreter("""
        import json, sys
        sys.modules["moto"] = None  # as if the [local] extra were not installed
        import pausable_sfn.testing.waiting, pausable_sfn.testing.aws_under_test
        print(json.dumps({"imported": True}))
    """)

    assert seen == {"imported": True}


def test_the_step_functions_interpreter_still_has_its_batch_integration():
    seen = in_a_new_interpreter("""
        import json
        import pausable_sfn.local.embedded
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_batch as batch,
        )
        print(json.dumps({"succeeded": batch.JobStatus.SUCCEEDED.value}))
    """)

    assert seen == {"succeeded": "SUCCEEDED"}


def test_aws_managed_policies_exist_in_the_embedded_aws_partition():
    with EmbeddedAws() as aws:
        policy = aws.client("iam").get_policy(
            PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        )["Policy"]
        listed = aws.client("iam").list_policies(Scope="AWS", MaxItems=1000)["Policies"]

    assert policy["PolicyName"] == "AWSLambdaBasicExecutionRole"
    assert len(listed) == 1000


def test_a_deployment_s_outputs_are_in_cloudformation_when_a_tool_asks(tmp_path):
    assembly(tmp_path, TOPIC)
    template = {"Resources": TOPIC, "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}}}}
    (tmp_path / "Stack.template.json").write_text(json.dumps(template))

    with EmbeddedAws() as aws:
        deployed = aws.deploy(tmp_path, stack_name="Stack")
        [stack] = aws.client("cloudformation").describe_stacks(StackName="Stack")["Stacks"]
        # Once CloudFormation is in use, a later deploy's stack is there at once.
        aws.deploy(tmp_path, stack_name="Stack", as_stack="Again")
        [again] = aws.client("cloudformation").describe_stacks(StackName="Again")["Stacks"]

    assert stack["Outputs"] == [{"OutputKey": "TopicArn", "OutputValue": deployed.outputs["TopicArn"]}]
    assert again["StackStatus"] == "CREATE_COMPLETE"


@pytest.mark.parametrize("ask_first", [False, True])
def test_a_stack_name_deployed_twice_is_refused_either_way(tmp_path: Path, ask_first: bool):
    with EmbeddedAws() as aws:
        aws.deploy(assembly(tmp_path, TOPIC), stack_name="Stack")
        if ask_first:
            aws.client("cloudformation").list_stacks()
        with pytest.raises(DeployError, match="a stack named Stack is deployed already"):
            aws.deploy(assembly(tmp_path, TOPIC), stack_name="Stack")


def test_kms_keys_whose_key_pair_is_made_on_first_use_still_sign_verify_and_encrypt():
    with EmbeddedAws() as aws:
        kms = aws.client("kms")
        signing = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
        signature = kms.sign(
            KeyId=signing, Message=b"order 7", SigningAlgorithm="RSASSA_PSS_SHA_256", MessageType="RAW"
        )["Signature"]
        verified = kms.verify(
            KeyId=signing,
            Message=b"order 7",
            Signature=signature,
            SigningAlgorithm="RSASSA_PSS_SHA_256",
            MessageType="RAW",
        )["SignatureValid"]
        public_key = kms.get_public_key(KeyId=signing)["PublicKey"]
        symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
        sealed = kms.encrypt(KeyId=symmetric, Plaintext=b"secret")["CiphertextBlob"]
        opened = kms.decrypt(CiphertextBlob=sealed)["Plaintext"]

    assert verified is True
    assert len(public_key) > 200  # a DER-encoded RSA 2048 public key
    assert opened == b"secret"


@pytest.mark.parametrize("in_process", [True, False])
def test_an_endpoint_url_left_in_the_environment_does_not_move_the_embedded_aws_own_calls(
    tmp_path: Path, in_process: bool, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:9")

    with EmbeddedAws(in_process=in_process) as aws:
        deployed = aws.deploy(assembly(tmp_path, TOPIC), stack_name="Stack")
        topics = aws.client("sns").list_topics()["Topics"]

    assert topics == [{"TopicArn": deployed.resources["Topic"].ref}]
