"""Gap 31: what Step Functions' optimized integrations (lambda:invoke, sqs:sendMessage, sns:publish,
dynamodb:getItem/putItem/updateItem/deleteItem) return beside the service's answer: the Java
SDK's `SdkHttpMetadata` (the answer's HTTP headers, each also as a list, and its status) and
`SdkResponseMetadata` (its request id). moto's tasks return the service's answer alone. The
headers are those each service answered with on AWS (recorded), with this answer's values;
`aws-sdk:*` integrations return no such metadata on AWS, and get none here.
"""

import json
import uuid
import zlib
from contextlib import ExitStack
from email.utils import formatdate
from typing import Any, Final
from unittest import mock

from moto.stepfunctions.parser.api import InvocationResponse
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_dynamodb,
    state_task_service_sns,
    state_task_service_sqs,
)

# Each service's answer, as recorded on AWS: its content type and the headers it adds.
_CONTENT_TYPES: Final = {
    "lambda": "application/json",
    "sqs": "application/x-amz-json-1.0",
    "sns": "text/xml",
    "dynamodb": "application/x-amz-json-1.0",
}


def sdk_metadata(service: str, response_metadata: dict[str, Any], answer: Any) -> dict[str, Any]:
    """`SdkHttpMetadata` and `SdkResponseMetadata` for an answer of `service`."""
    headers_in = {str(name).lower(): str(value) for name, value in (response_metadata.get("HTTPHeaders") or {}).items()}
    request_id = str(response_metadata.get("RequestId") or headers_in.get("x-amzn-requestid") or uuid.uuid4())
    body = json.dumps(answer, separators=(",", ":"), default=str)
    headers: dict[str, str] = {
        "Connection" if service in ("lambda", "dynamodb") else "connection": "keep-alive",
        "Content-Length": str(len(body.encode())),
        "Content-Type": _CONTENT_TYPES[service],
        "Date": formatdate(usegmt=True),
        "x-amzn-RequestId": request_id,
    }
    if service == "lambda":
        headers["X-Amz-Executed-Version"] = str(headers_in.get("x-amz-executed-version", "$LATEST"))
        headers["x-amzn-Remapped-Content-Length"] = "0"
        headers["X-Amzn-Trace-Id"] = f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Sampled=0"
    if service == "dynamodb":
        headers["Server"] = "Server"
        headers["x-amz-crc32"] = str(zlib.crc32(body.encode()))
    return {
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": int(response_metadata.get("HTTPStatusCode", 200)),
        },
        "SdkResponseMetadata": {"RequestId": request_id},
    }


class _ClientWithMetadata:
    """A boto3 client whose answers carry the SDK's metadata beside `ResponseMetadata`, which the
    integration then drops as it does on AWS."""

    def __init__(self, client: Any, service: str) -> None:
        self._client, self._service = client, service

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("_") or name in ("can_paginate", "get_paginator", "get_waiter"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            answer = attribute(*args, **kwargs)
            if isinstance(answer, dict) and "ResponseMetadata" in answer:
                rest = {key: value for key, value in answer.items() if key != "ResponseMetadata"}
                answer.update(sdk_metadata(self._service, answer["ResponseMetadata"], rest))
            return answer

        return call


def add_sdk_metadata(patches: ExitStack) -> None:
    """Gap 31."""
    for module, service in (
        (state_task_service_dynamodb, "dynamodb"),
        (state_task_service_sns, "sns"),
        (state_task_service_sqs, "sqs"),
    ):
        original = vars(module)["boto_client_for"]

        def client_for(*args: Any, _original: Any = original, _service: str = service, **kwargs: Any) -> Any:
            return _ClientWithMetadata(_original(*args, **kwargs), _service)

        patches.enter_context(mock.patch.object(module, "boto_client_for", client_for))

    original_select = vars(lambda_eval_utils)["select_from_typed_dict"]

    def select_from_typed_dict(typed_dict: Any, obj: Any) -> Any:
        selected = original_select(typed_dict=typed_dict, obj=obj)
        if typed_dict is InvocationResponse and isinstance(obj, dict):
            # The lambda:invoke integration's answer (a plain function ARN resource returns the payload alone).
            selected.update(sdk_metadata("lambda", obj.get("ResponseMetadata") or {}, obj.get("Payload")))
        return selected

    patches.enter_context(mock.patch.object(lambda_eval_utils, "select_from_typed_dict", select_from_typed_dict))
