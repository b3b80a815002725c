"""What the embedded AWS does to moto's DynamoDB. The numbers are those of the one list in ../gaps.py.

17. DynamoDB requests are not atomic: moto checks a ConditionExpression and then writes, without
    a lock, while the endpoint serves requests on many threads (the Lambda environments call it
    concurrently). Of several UpdateItem racing with `attribute_not_exists(decision)` on one
    item, more than one can pass the check and succeed; on DynamoDB exactly one does, and the
    others get ConditionalCheckFailedException. `apply_dynamodb_requests_one_at_a_time` runs
    each DynamoDB request alone (reads too, so that none sees a write half made). What that
    costs: the time moto spends in a request, a median of 0.8 ms for an UpdateItem or a GetItem
    on this machine, during which other DynamoDB requests wait.
"""

import threading
from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.dynamodb.responses import DynamoHandler


def apply_dynamodb_requests_one_at_a_time(patches: ExitStack) -> None:
    """Gap 17. Re-entrant: nothing in a DynamoDB request calls DynamoDB again today, and a later
    moto that did must not deadlock on it."""
    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(handler: DynamoHandler) -> Any:
        with lock:
            return original(handler)

    patches.enter_context(mock.patch.object(DynamoHandler, "call_action", call_action))
