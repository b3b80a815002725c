"""Where the end-to-end scenarios run: the embedded AWS (default) or a real deployment.

Only the fixtures know the target; a scenario sees a Stack with the same calls either way.
"""

import json
import os
import time
from typing import Any

import boto3

TARGETS = ("embedded", "aws")


class TargetError(ValueError):
    pass


def target_name(environment: dict[str, str] | None = None) -> str:
    value = (environment if environment is not None else os.environ).get("PAUSABLE_SFN_TARGET", "embedded")
    if value not in TARGETS:
        raise TargetError(f"PAUSABLE_SFN_TARGET must be one of {', '.join(TARGETS)}, not {value!r}")
    return value


class AwsTarget:
    """The account and region of the ordinary AWS credentials, with the calls a Stack needs."""

    # SNS → Lambda → Step Functions on AWS: seconds, not the embedded AWS's milliseconds.
    SETTLE_SECONDS = 5.0

    def __init__(self) -> None:
        self._session = boto3.Session()
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._session.client(service)
        return self._clients[service]

    def invoke(self, function: str, event: Any) -> dict[str, Any]:
        return self.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())

    def wait_idle(self, timeout: float = 10.0) -> None:
        time.sleep(min(timeout, self.SETTLE_SECONDS))


def stack_outputs(target: Any, stack_name: str) -> dict[str, str]:
    [stack] = target.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
