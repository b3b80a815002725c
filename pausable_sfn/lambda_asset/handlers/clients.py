"""AWS clients, created once per Lambda environment (on first use) and replaceable in tests."""

import functools
from typing import Any

import boto3
from botocore.config import Config

# Throttling and 5xx answers are retried with backoff inside the call (SendTask* is a token bucket).
# A call that hangs must end well within the function's own timeout (botocore waits 60 s by
# default), so that the handler, not Lambda, decides what to say about it.
RETRIES = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5)


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service, config=RETRIES)
