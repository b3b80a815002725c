"""AWS clients, created once per Lambda environment (on first use) and replaceable in tests."""

import functools
from typing import Any

import boto3


@functools.cache
def client(service: str) -> Any:
    return boto3.client(service)
