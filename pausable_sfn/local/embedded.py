"""EmbeddedAws: moto with executing state machines, the in-process Lambda runtime, and the
event delivery that ties them together, in this process; or behind a local moto server."""

import json
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config
from moto import mock_aws
from moto.core.config import default_user_config

from .. import STACK_NAME
from . import moto_gaps
from .assembly import read_stack
from .deployer import Deployer, Deployment
from .events import AsyncInvoker, SqsPoller, wait_until_idle
from .runtime import FunctionConfig, LambdaRuntime

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "embedded", "AWS_SECRET_ACCESS_KEY": "embedded", "AWS_SESSION_TOKEN": "embedded"}
# State machines that run, and the AWS managed policies that CDK roles attach.
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "iam": {"load_aws_managed_policies": True}}


class EmbeddedAws:
    """Use as a context manager. `endpoint_url` set means a moto server of this process listens
    there (server mode); unset, moto intercepts every boto3 call in this process."""

    def __init__(
        self,
        *,
        region: str = REGION,
        endpoint_url: str | None = None,
        async_retry_delays: tuple[float, ...] = (1.0, 2.0),
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        aws_environment = dict(CREDENTIALS)
        if endpoint_url:
            aws_environment["AWS_ENDPOINT_URL"] = endpoint_url
        self.runtime = LambdaRuntime(
            region=region, account_id=ACCOUNT_ID, aws_environment=aws_environment, log_sink=self._write_logs
        )
        self._async = AsyncInvoker(self.runtime, self.client, retry_delays=async_retry_delays)
        self._pollers: list[SqsPoller] = []
        self._exit = ExitStack()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def __enter__(self) -> "EmbeddedAws":
        self._exit.enter_context(mock.patch.dict("os.environ", {"AWS_DEFAULT_REGION": self.region}))
        if self.endpoint_url is None:
            self._exit.enter_context(mock.patch.dict("os.environ", CREDENTIALS))
            self._exit.enter_context(mock_aws(config=MOTO_CONFIG))
        else:
            self._exit.enter_context(mock.patch.dict(default_user_config, MOTO_CONFIG))
        server_port = int(self.endpoint_url.rsplit(":", 1)[1]) if self.endpoint_url else None
        moto_gaps.apply(self._exit, self.runtime, self._async, server_port=server_port)
        self._exit.callback(self._stop_delivery)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def client(self, service: str) -> Any:
        """A boto3 client for the embedded AWS (shared; boto3 clients are thread-safe)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(
                    service,
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
                    config=Config(retries={"mode": "standard"}),
                )
            return self._clients[service]

    def deploy(self, assembly_dir: Path, *, stack_name: str = STACK_NAME, as_stack: str | None = None) -> Deployment:
        """Deploys a stack of a synthesized assembly (under another stack name with `as_stack`)."""
        stack = read_stack(Path(assembly_dir), stack_name)
        deployment = Deployer(self.client, region=self.region, account_id=ACCOUNT_ID).deploy(stack, stack_name=as_stack)
        for function in deployment.functions:
            self.runtime.register(function)
        for source in deployment.sqs_event_sources:
            poller = SqsPoller(source, self.runtime, self.client)
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
        for poller in self._pollers:
            poller.stop()
        self._async.stop()

    def _write_logs(self, config: FunctionConfig, stream: str, lines: list[str]) -> None:
        logs = self.client("logs")
        now = int(time.time() * 1000)
        try:
            logs.create_log_stream(logGroupName=config.log_group, logStreamName=stream)
            logs.put_log_events(
                logGroupName=config.log_group,
                logStreamName=stream,
                logEvents=[{"timestamp": now, "message": line} for line in lines],
            )
        except logs.exceptions.ResourceNotFoundException:
            pass  # a function whose log group is gone logs nowhere, as on AWS
