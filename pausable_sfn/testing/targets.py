"""Where a test session's stack runs: deployed on the embedded AWS, or already deployed on AWS.

Both answer the same questions (a client, the physical resource a logical id became, the
stack's outputs, a function's log group); only the embedded AWS has a clock a test can move and
mocked tasks. The embedded target imports the embedded AWS (moto, the [local] extra) only when
it is made, so that a session against AWS needs none of it.
"""

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .app_under_test import AppError, StackResources

STATE_MACHINE = "AWS::StepFunctions::StateMachine"
# What a test that needs the embedded AWS is told on AWS: it is skipped, never passed.
ONLY_EMBEDDED = "runs on the embedded AWS only ({what}); this session tests the stack deployed on AWS"

if TYPE_CHECKING:
    from ..local.clock import Clock
    from ..local.deployer import Deployment
    from ..local.embedded import EmbeddedAws
    from ..local.stepfunctions.mocking import Return, Throw

    MockedResponses = Return | Throw | Sequence[Return | Throw]


class EmbeddedTarget:
    """The stack deployed on an embedded AWS of this process, for the whole session."""

    is_embedded = True

    def __init__(self, aws: "EmbeddedAws", deployment: "Deployment") -> None:
        self.aws = aws
        self.deployment = deployment

    @classmethod
    def deploy(
        cls, assembly_dir: Path, resources: StackResources, *, mock_config: Path | None
    ) -> "tuple[EmbeddedTarget, Callable[[], None]]":
        """Starts an embedded AWS and deploys the stack into it: (the target, what stops it)."""
        from ..local.embedded import EmbeddedAws

        aws = EmbeddedAws()
        aws.__enter__()
        try:
            target = cls(aws, aws.deploy(assembly_dir, stack_name=resources.stack))
            if mock_config is not None:
                target.load_mocks(mock_config, resources)
        except BaseException:
            aws.__exit__(None, None, None)
            raise
        return target, lambda: aws.__exit__(None, None, None)

    def load_mocks(self, file: Path, resources: StackResources) -> None:
        """Loads Step Functions Local's mock file. Its StateMachines are named as the author named
        them: a state machine's name where the app gives it one, else its construct id or path
        ("Orders"), which stands for the name the deployment made ("OrderStack-OrdersA9B65338")."""
        from ..local.stepfunctions.mocking import MockConfigError

        try:
            config = json.loads(file.read_text())
        except (OSError, ValueError) as error:
            raise AppError(f"the mock file {file} cannot be read as JSON: {error}") from None
        machines = config.get("StateMachines") if isinstance(config, dict) else None
        if isinstance(machines, dict):
            config = {**config, "StateMachines": {self._machine_name(key, resources): v for key, v in machines.items()}}
        try:
            self.aws.mocks.load(config)
        except MockConfigError as error:
            raise AppError(f"the mock file {file}: {error}") from None

    def _machine_name(self, key: str, resources: StackResources) -> str:
        names = {}
        for resource in resources.resources:
            if resource.type == STATE_MACHINE:
                names[self.physical_id(resource.logical_id).rsplit(":", 1)[-1]] = resource.path
        if key in names:
            return key
        found = resources.find(STATE_MACHINE, key, what="state machine")
        if found is None:
            known = ", ".join(sorted(names.values())) or "none"
            raise AppError(
                f"the mock file names a state machine {key!r}, which the stack does not have (it has: {known})"
            )
        return self.physical_id(found.logical_id).rsplit(":", 1)[-1]

    @property
    def clock(self) -> "Clock":
        return self.aws.clock

    def embedded(self, what: str) -> "EmbeddedTarget":
        return self

    @property
    def endpoint_url(self) -> str:
        return self.aws.endpoint_url

    @property
    def region(self) -> str:
        return self.aws.region

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def physical_id(self, logical_id: str) -> str:
        return str(self.deployment.resources[logical_id].ref)

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self.deployment.outputs)

    def log_group(self, function_name: str) -> str:
        return self.aws.function(function_name).log_group

    def add_mocks(self, state_machine_name: str, test_case: str, states: "Mapping[str, MockedResponses]") -> None:
        self.aws.mocks.add_test_case(state_machine_name, test_case, states)

    def remove_mocks(self, state_machine_name: str, test_case: str) -> None:
        self.aws.mocks.remove_test_case(state_machine_name, test_case)


class AwsTarget:
    """A stack already deployed on AWS, reached with the ordinary credentials (AWS_PROFILE, ...)."""

    is_embedded = False
    clock = None
    endpoint_url = None

    def __init__(self, stack_name: str) -> None:
        self.stack_name = stack_name
        # AWS_REGION too, as the AWS CLI reads it: boto3 reads only AWS_DEFAULT_REGION.
        self._session = boto3.Session(region_name=os.environ.get("AWS_REGION") or None)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()  # a session is not thread-safe; the clients it makes are
        try:
            [stack] = self.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        except (BotoCoreError, ClientError) as error:
            raise AppError(f"cannot read the stack {stack_name} on AWS: {error}") from None
        self._outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}

    @property
    def region(self) -> str:
        return str(self._session.region_name)

    def embedded(self, what: str) -> NoReturn:
        """Skips the test, which needs the embedded AWS for `what`, saying so."""
        import pytest  # here, not above: the package serves the demo too, where pytest is not installed

        pytest.skip(ONLY_EMBEDDED.format(what=what))

    def client(self, service: str) -> Any:
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(service)
            return self._clients[service]

    def physical_id(self, logical_id: str) -> str:
        described = self.client("cloudformation").describe_stack_resource(
            StackName=self.stack_name, LogicalResourceId=logical_id
        )
        return str(described["StackResourceDetail"]["PhysicalResourceId"])

    @property
    def outputs(self) -> dict[str, str]:
        return dict(self._outputs)

    def log_group(self, function_name: str) -> str:
        configuration = self.client("lambda").get_function_configuration(FunctionName=function_name)
        return str(configuration.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{function_name}")
