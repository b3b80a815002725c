"""One place for the defaults every Lambda function of the constructs and the app shares."""

from pathlib import Path
from typing import Any

from aws_cdk import Duration, IgnoreMode, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .cloudformation import depend_on_role_policy_only
from .nag import acknowledge_service_wildcards

# The Lambda asset: the handlers package, deployed as it is (it imports nothing from this package).
ASSET_DIR = Path(__file__).resolve().parent.parent / "lambda_asset"
# Kept equal to the aws-lambda-powertools pin in requirements.txt (a test checks it), so the
# layer on AWS and the library the embedded AWS runs the handlers with are the same release.
POWERTOOLS_VERSION = "3.37.0"
RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest runtime that the Powertools layer ships for
ARCHITECTURE = lambda_.Architecture.ARM_64
SERVICE_NAME = "pausable-sfn"
# Only handler code goes into the asset: not the folder's own __init__.py (it makes the folder part
# of this package), no caches or hidden files. Patterns in .gitignore syntax: "/" anchors at the folder.
ASSET_EXCLUDES = ["/__init__.py", "__pycache__/", "*.pyc", ".*"]


def powertools_layer_parameter(powertools_version: str = POWERTOOLS_VERSION) -> str:
    """The public SSM parameter whose value is the official Powertools layer ARN for the region."""
    python = RUNTIME.name.removeprefix("python")
    return f"/aws/service/powertools/python/{ARCHITECTURE.name}/python{python}/{powertools_version}"


class FunctionFactory:
    """Creates Lambda functions in `scope` with shared defaults and one shared code asset."""

    def __init__(
        self,
        scope: Construct,
        *,
        log_retention: logs.RetentionDays,
        powertools_version: str = POWERTOOLS_VERSION,
    ) -> None:
        self._scope = scope
        self._log_retention = log_retention
        self._code = lambda_.Code.from_asset(str(ASSET_DIR), exclude=ASSET_EXCLUDES, ignore_mode=IgnoreMode.GIT)
        # Resolved by CloudFormation at deploy time, so the synth needs no AWS call and each
        # region gets its own copy of the layer.
        layer_arn = ssm.StringParameter.value_for_string_parameter(
            scope, powertools_layer_parameter(powertools_version)
        )
        self._layer = lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", layer_arn)

    def create(
        self,
        construct_id: str,
        *,
        handler: str,
        description: str,
        timeout_seconds: int = 10,
        environment: dict[str, str] | None = None,
        **options: Any,
    ) -> lambda_.Function:
        """A function running `handlers.<handler>.handler` from the package's Lambda asset; `options`
        go to lambda_.Function as they are (on_failure, retry_attempts, ...)."""
        log_group = logs.LogGroup(
            self._scope,
            f"{construct_id}Logs",
            retention=self._log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        # A role of its own that may write to its own log group only, instead of the managed
        # AWSLambdaBasicExecutionRole, which may write to every log group of the account.
        role = iam.Role(
            self._scope,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs {construct_id}",
        )
        log_group.grant_write(role)
        acknowledge_service_wildcards(
            role.node.find_child("DefaultPolicy"),  # the policy that holds the finding, not the whole role
            "Only X-Ray's PutTraceSegments and PutTelemetryRecords, which take no resource-level permission.",
        )
        function = lambda_.Function(
            self._scope,
            construct_id,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            code=self._code,
            handler=f"handlers.{handler}.handler",
            layers=[self._layer],
            role=role,
            memory_size=256,
            timeout=Duration.seconds(timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **(environment or {}),
            },
            **options,
        )
        depend_on_role_policy_only(function, role)
        return function
