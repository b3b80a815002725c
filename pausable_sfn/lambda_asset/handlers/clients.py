"""AWS clients, created once per Lambda environment (on first use) and replaceable in tests."""

import functools
from typing import Any

import boto3
from botocore.config import Config

# Throttling and 5xx answers are retried with backoff inside the call (SendTask* is a token bucket).
RETRIES = Config(retries={"mode": "standard", "max_attempts": 3})


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service, config=RETRIES)
