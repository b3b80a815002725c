"""EmbeddedAws: moto with executing state machines, the Lambda runtime, and the event delivery
that ties them together, in this process, with an HTTP endpoint on 127.0.0.1 for the Lambda
execution environments (and, in server mode, for every client) that also serves the functions'
URLs."""

import json
import os
import threading
from collections.abc import Mapping
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config
from moto import mock_aws
from moto.core.config import DefaultConfig, default_user_config
from moto.utilities.utils import get_partition

from . import clock_api, gaps, quick_start, timekeeping
from .assembly import read_stack
from .awslambda.gaps import find_function_url
from .clock import Clock
from .deployer import Deployer, DeployError, Deployment
from .endpoint import Endpoint
from .events import AsyncInvoker, SqsPoller, wait_until_idle
from .function_urls import PATH_PREFIX as FUNCTION_URL_PREFIX
from .function_urls import FunctionUrls
from .runtime import DEFAULT_MAX_ENVIRONMENTS, FunctionConfig, LambdaRuntime
from .stepfunctions import mocked_tasks
from .stepfunctions.mocking import MockRegistry

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "embedded", "AWS_SECRET_ACCESS_KEY": "embedded", "AWS_SESSION_TOKEN": "embedded"}
# State machines that run, and the AWS managed policies that CDK roles attach.
# Step Functions Local's name for the mock configuration file.
MOCK_CONFIG_VARIABLE = "SFN_MOCK_CONFIG"
# An AWS_ENDPOINT_URL left in the environment (local serve's own export line, say) must not send
# the embedded AWS's clients elsewhere. (botocore-stubs do not know the setting yet.)
OWN_CLIENT_CONFIG = Config(retries={"mode": "standard"}, ignore_configured_endpoint_urls=True)  # type: ignore[call-arg]
MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "iam": {"load_aws_managed_policies": True},
}


class EmbeddedAws:
    """Use as a context manager. In process (the default), moto also intercepts every boto3 call
    of this process; in server mode (`in_process=False`) clients reach it at `endpoint_url` only.
    Either way the endpoint listens on 127.0.0.1:`port` (0: a free one).

    `mock_config` (by default the file $SFN_MOCK_CONFIG names) holds Step Functions Local's test
    cases: an execution started on `<state machine ARN>#<test case>` runs with its mocked tasks;
    `mocks` takes more."""

    def __init__(
        self,
        *,
        region: str = REGION,
        in_process: bool = True,
        port: int = 0,
        latency_ms: float = 0,
        async_retry_delays: tuple[float, ...] = (60.0, 120.0),  # AWS's: about 1 and 2 minutes
        max_environments: int = DEFAULT_MAX_ENVIRONMENTS,
        mock_config: Path | str | Mapping[str, Any] | None = None,
    ) -> None:
        self.region = region
        self.mocks = MockRegistry()
        if mock_config is None:
            mock_config = os.environ.get(MOCK_CONFIG_VARIABLE) or None
        if mock_config is not None:
            self.mocks.load(mock_config)  # a file that cannot be used stops us here, saying where
        self.in_process = in_process
        # Every timer of this embedded AWS reads it; the wall clock until a test advances it.
        self.clock = Clock()
        self.endpoint = Endpoint(port=port, latency_ms=latency_ms)
        self.runtime = LambdaRuntime(
            region=region,
            aws_environment=dict(CREDENTIALS),
            log_sink=self._write_logs,
            max_environments=max_environments,
        )
        self._async = AsyncInvoker(self.runtime, self._own_client, retry_delays=async_retry_delays)
        self._pollers: list[SqsPoller] = []
        self._exit = ExitStack()
        self._clients: dict[tuple[str, bool], Any] = {}
        self._clients_lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self.stacks = quick_start.DeferredStacks(account_id=ACCOUNT_ID, region=region)

    @property
    def endpoint_url(self) -> str:
        return self.endpoint.url

    def __enter__(self) -> "EmbeddedAws":
        try:
            self._enter()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _enter(self) -> None:
        # The exit stack closes in reverse: event delivery and the Lambda environments stop first
        # (_stop_delivery), then the endpoint, then moto.
        self._exit.enter_context(mock.patch.dict("os.environ", {"AWS_DEFAULT_REGION": self.region}))
        if self.in_process:
            self._exit.enter_context(mock.patch.dict("os.environ", CREDENTIALS))
            self._exit.enter_context(mock_aws(config=MOTO_CONFIG))
        else:
            self._exit.enter_context(mock.patch.dict(default_user_config, MOTO_CONFIG))
        quick_start.load_managed_policies_of(self._exit, get_partition(self.region))
        self.stacks.enter(self._exit)
        quick_start.generate_kms_key_pairs_when_used(self._exit)
        self._session = boto3.session.Session()
        quick_start.read_service_models_once(self._exit, self._session)
        self._exit.callback(self.endpoint.stop)
        self.endpoint.start()
        self.runtime.aws_environment["AWS_ENDPOINT_URL"] = self.endpoint_url
        timekeeping.apply(self._exit, self.clock)
        self.clock.idle_checks.append(self._async.has_queued)
        gaps.apply(
            self._exit,
            self.runtime,
            self._async,
            server_port=None if self.in_process else self.endpoint.port,
            endpoint_url=self.endpoint_url,
        )
        mocked_tasks.apply(self._exit, self.mocks)
        self.endpoint.mount(FUNCTION_URL_PREFIX, FunctionUrls(find_function_url, self.runtime))
        clock_api.mount(self.endpoint, self.clock)
        self._exit.callback(self._stop_delivery)

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def client(self, service: str) -> Any:
        """A boto3 client for the embedded AWS (shared; boto3 clients are thread-safe)."""
        return self._cached_client(service, direct=False)

    def _own_client(self, service: str) -> Any:
        """A client for the embedded AWS's own calls (the deploy, log writes, event delivery): in
        server mode too they are answered in this process, as in-process mode answers them,
        without a round trip through the endpoint (3 ms a call)."""
        return self._cached_client(service, direct=not self.in_process)

    def _cached_client(self, service: str, *, direct: bool) -> Any:
        with self._clients_lock:
            key = (service, direct)
            if key not in self._clients:
                assert self._session is not None, "enter the embedded AWS first"
                client = self._session.client(
                    service,
                    region_name=self.region,
                    endpoint_url=None if self.in_process or direct else self.endpoint_url,
                    aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
                    config=OWN_CLIENT_CONFIG,
                )
                if direct:
                    quick_start.answer_in_process(client)
                self._clients[key] = client
            return self._clients[key]

    def deploy(self, assembly_dir: Path, *, stack_name: str | None = None, as_stack: str | None = None) -> Deployment:
        """Deploys a stack of a synthesized assembly (by default its only one; under another stack
        name with `as_stack`)."""
        stack = read_stack(Path(assembly_dir), stack_name)
        name = as_stack or stack.name
        if name in self.stacks:
            raise DeployError(
                f"a stack named {name} is deployed already: deploy it again under another name"
                " (as_stack=...), or into a new embedded AWS"
            )
        deployment = Deployer(
            self._own_client, region=self.region, account_id=ACCOUNT_ID, publish_stack=self.stacks.publish
        ).deploy(stack, stack_name=as_stack)
        for function in deployment.functions:
            self.runtime.register(function)
        for source in deployment.sqs_event_sources:
            poller = SqsPoller(source, self.runtime, self._own_client)
            poller.start()
            self._pollers.append(poller)
        return deployment

    def invoke(self, function: str, event: Any) -> Any:
        """Invokes a function through the Lambda API, as `aws lambda invoke` does."""
        return self.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Waits until no asynchronous invocation or SQS batch is being handled."""
        wait_until_idle(self._async.busy, *(poller.busy for poller in self._pollers), timeout=timeout)

    def function(self, name: str) -> FunctionConfig:
        return self.runtime.find(name)

    def _stop_delivery(self) -> None:
        """Stops polling and retrying, and ends the running invocations (their environments) rather
        than waiting for them: a stop must not wait out a function's timeout."""
        for poller in self._pollers:
            poller.signal_stop()
        self._async.signal_stop()
        self.runtime.stop()
        for poller in self._pollers:
            poller.stop()
        self._async.stop()

    def _write_logs(self, config: FunctionConfig, stream: str, lines: list[str]) -> None:
        """An environment's lines go to its own stream; as Lambda does, a missing log group (the
        default /aws/lambda/<name> is never declared by most apps) is created on first use."""
        logs = self._own_client("logs")
        now = int(self.clock.time() * 1000)
        events = [{"timestamp": now, "message": line} for line in lines if line]  # CloudWatch refuses empty ones
        try:
            logs.put_log_events(logGroupName=config.log_group, logStreamName=stream, logEvents=events)
            return
        except logs.exceptions.ResourceNotFoundException:
            pass
        with suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=config.log_group)
        with suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_stream(logGroupName=config.log_group, logStreamName=stream)
        logs.put_log_events(logGroupName=config.log_group, logStreamName=stream, logEvents=events)
