"""The Lambda functions: runtime, architecture, handlers, the Powertools layer and the asset."""

import re
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.constructs.functions import POWERTOOLS_VERSION

FUNCTIONS = {
    "CallAsyncServiceLambda": "handlers.call_async_service.handler",
    "ResumeStepFunctionLambda": "handlers.resume_step_function.handler",
    "EmulatedLongJobLambda": "handlers.emulated_long_job.handler",
    "ApprovalApprovalPageLambda": "handlers.approval_page.handler",
    "ApprovalRequestApprovalLambda": "handlers.request_approval.handler",
    "RegisterCorrelationKeyLambda": "handlers.register_correlation_key.handler",
    "CorrelationJanitorLambda": "handlers.correlation_janitor.handler",
}
LAYER_PARAMETER = f"/aws/service/powertools/python/arm64/python3.14/{POWERTOOLS_VERSION}"


@pytest.fixture(scope="module")
def layer_parameter_id(synthesized):
    [parameter_id] = [
        key for key, value in synthesized.raw["Parameters"].items() if value.get("Default") == LAYER_PARAMETER
    ]
    return parameter_id


@pytest.mark.parametrize(("name", "handler"), FUNCTIONS.items())
def test_each_function_runs_its_handler_on_python_314_arm64_with_the_public_powertools_layer(
    synthesized, layer_parameter_id, name, handler
):
    function = synthesized.raw["Resources"][synthesized.logical_id("AWS::Lambda::Function", name)]["Properties"]

    assert function["Handler"] == handler
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    assert function["Layers"] == [{"Ref": layer_parameter_id}]
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "pausable-sfn"


def test_the_layer_arn_is_resolved_from_the_public_ssm_parameter_at_deploy_time(synthesized, layer_parameter_id):
    assert synthesized.raw["Parameters"][layer_parameter_id]["Type"] == "AWS::SSM::Parameter::Value<String>"


def test_the_layer_release_is_the_powertools_release_the_project_pins():
    pinned = re.search(
        r"^aws-lambda-powertools\[parser\]==(\S+)$", (PROJECT_ROOT / "requirements.txt").read_text(), re.M
    )
    assert pinned is not None
    assert pinned.group(1) == POWERTOOLS_VERSION


def test_functions_learn_their_targets_from_environment_variables(template, synthesized):
    queue = synthesized.logical_id("AWS::SQS::Queue", "EmulatedExternalServiceLongJobRequestQueue")
    topic = synthesized.logical_id("AWS::SNS::Topic", "CallbackToUnpauseSfnTopic")

    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": FUNCTIONS["CallAsyncServiceLambda"],
            "Environment": {"Variables": Match.object_like({"LONG_JOB_QUEUE_URL": {"Ref": queue}})},
        },
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": FUNCTIONS["EmulatedLongJobLambda"],
            "Environment": {"Variables": Match.object_like({"CALLBACK_TOPIC_ARN": {"Ref": topic}})},
        },
    )


def test_each_function_and_the_state_machine_log_to_their_own_group_with_a_retention(template):
    template.resource_properties_count_is("AWS::Logs::LogGroup", {"RetentionInDays": 30}, len(FUNCTIONS) + 1)


def test_the_asset_holds_handler_code_only(synthesized):
    [asset] = {
        function["Properties"]["Code"]["S3Key"].removesuffix(".zip")
        for function in synthesized.resources("AWS::Lambda::Function").values()
    }
    files = sorted(
        str(path.relative_to(synthesized.assembly_dir / f"asset.{asset}"))
        for path in Path(synthesized.assembly_dir, f"asset.{asset}").rglob("*")
        if path.is_file()
    )

    assert files
    assert all(re.fullmatch(r"handlers/\w+\.py", name) for name in files), files


def test_the_queue_feeds_the_emulated_job_and_reports_batch_item_failures(template, synthesized):
    function = synthesized.logical_id("AWS::Lambda::Function", "EmulatedLongJobLambda")
    queue = synthesized.logical_id("AWS::SQS::Queue", "EmulatedExternalServiceLongJobRequestQueue")

    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": function},
            "EventSourceArn": {"Fn::GetAtt": [queue, "Arn"]},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_the_resume_function_is_subscribed_to_the_callback_topic(template, synthesized):
    resume = synthesized.logical_id("AWS::Lambda::Function", "ResumeStepFunctionLambda")
    topic = synthesized.logical_id("AWS::SNS::Topic", "CallbackToUnpauseSfnTopic")

    template.resource_count_is("AWS::SNS::Subscription", 1)
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "lambda", "TopicArn": {"Ref": topic}, "Endpoint": {"Fn::GetAtt": [resume, "Arn"]}},
    )
    template.has_resource_properties(
        "AWS::Lambda::Permission",
        {"Action": "lambda:InvokeFunction", "Principal": "sns.amazonaws.com", "SourceArn": {"Ref": topic}},
    )


@pytest.mark.parametrize(
    ("output", "resource_prefix"),
    [
        ("StateMachineArn", "WorkflowPausableStepFunction"),
        ("CallAsyncServiceFunctionName", "CallAsyncServiceLambda"),
        ("ResumeStepFunctionFunctionName", "ResumeStepFunctionLambda"),
        ("CallbackTopicArn", "CallbackToUnpauseSfnTopic"),
        ("LongJobRequestQueueUrl", "EmulatedExternalServiceLongJobRequestQueue"),
    ],
)
def test_outputs_name_the_resources_users_and_tools_look_for(template, output, resource_prefix):
    template.has_output(output, {"Value": {"Ref": Match.string_like_regexp(f"^{resource_prefix}")}})
