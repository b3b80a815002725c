"""The deployer refuses what it cannot deploy, naming it, before creating anything."""

import json
from pathlib import Path

import pytest

from pausable_sfn.local.assembly import AssemblyError
from pausable_sfn.local.deployer import DeployError
from pausable_sfn.local.embedded import EmbeddedAws


def assembly(tmp_path: Path, resources: dict) -> Path:
    (tmp_path / "Stack.template.json").write_text(json.dumps({"Resources": resources}))
    manifest = {
        "version": "55.0.0",
        "artifacts": {
            "Stack": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Stack.template.json"}}
        },
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_an_unsupported_resource_type_stops_the_deploy_naming_type_and_logical_id(tmp_path):
    resources = {"Topic": {"Type": "AWS::SNS::Topic"}, "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {}}}

    with EmbeddedAws() as aws:
        with pytest.raises(DeployError, match=r"cannot deploy: AWS::ApiGateway::RestApi \(Api\)"):
            aws.deploy(assembly(tmp_path, resources), stack_name="Stack")

        assert aws.client("sns").list_topics()["Topics"] == []


def test_a_conditional_resource_is_refused(tmp_path):
    resources = {"Topic": {"Type": "AWS::SNS::Topic", "Condition": "InProduction"}}

    with EmbeddedAws() as aws, pytest.raises(DeployError, match=r"AWS::SNS::Topic \(Topic\) has a Condition"):
        aws.deploy(assembly(tmp_path, resources), stack_name="Stack")


def test_a_missing_assembly_says_to_synthesize_first(tmp_path):
    with EmbeddedAws() as aws, pytest.raises(AssemblyError, match="synthesize the app first"):
        aws.deploy(tmp_path / "cdk.out")


def test_an_unknown_stack_lists_the_stacks_the_assembly_has(tmp_path):
    with EmbeddedAws() as aws, pytest.raises(AssemblyError, match=r"has no stack Other \(it has: Stack\)"):
        aws.deploy(assembly(tmp_path, {}), stack_name="Other")


def test_references_order_the_creation_and_resolve_to_deployed_values(tmp_path):
    resources = {
        "Policy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Queue"}],
                "PolicyDocument": {"Statement": [{"Effect": "Deny", "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}]},
            },
        },
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 45}},
    }

    with EmbeddedAws() as aws:
        deployment = aws.deploy(assembly(tmp_path, resources), stack_name="Stack")
        url = deployment.resources["Queue"].ref
        attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    assert url.endswith("/Stack-Queue")
    assert attributes["VisibilityTimeout"] == "45"
    assert json.loads(attributes["Policy"])["Statement"][0]["Resource"] == attributes["QueueArn"]
