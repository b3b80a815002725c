"""Gap 28: the SQS integration (`arn:aws:states:::sqs:sendMessage`, `.waitForTaskToken`) as Step
Functions runs it.

moto's task crashes on a null MessageBody (States.Runtime, or a 500 over HTTP that the task
reports as SQS.SdkClientException), writes an object body with spaces, and names every error SQS
answers `SQS.SdkClientException` with SQS's bare message. Step Functions (recorded on AWS)
reports an error SQS answers as `SQS.AmazonSQSException` with the Java SDK's cause, e.g. "The
request must contain the parameter MessageBody. (Service: AmazonSQS; Status Code: 400; Error
Code: MissingParameter; Request ID: ...; Proxy: null)". Its answer's SDK metadata is gap 31's.
"""

import uuid
from contextlib import ExitStack
from typing import Any, Final
from unittest import mock

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs import (
    StateTaskServiceSqs,
)
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

from .jsonata import event_details

SQS_ERROR: Final = "SQS.AmazonSQSException"


def java_sdk_cause(error: ClientError) -> str:
    """An error SQS answered, as the Java SDK words it in Step Functions' causes."""
    details = error.response.get("Error", {})
    metadata = error.response.get("ResponseMetadata", {})
    return (
        f"{details.get('Message', '')} (Service: AmazonSQS; Status Code: {metadata.get('HTTPStatusCode', 400)}; "
        f"Error Code: {details.get('Code', '')}; Request ID: {metadata.get('RequestId', '')}; Proxy: null)"
    )


class _MissingParameterError(ClientError):
    def __init__(self, parameter: str) -> None:
        answer: Any = {
            "Error": {
                "Code": "MissingParameter",
                "Message": f"The request must contain the parameter {parameter}.",
            },
            "ResponseMetadata": {"HTTPStatusCode": 400, "RequestId": str(uuid.uuid4())},
        }
        super().__init__(answer, "SendMessage")


def run_as_step_functions_does(patches: ExitStack) -> None:
    """Gap 28."""
    original_eval = StateTaskServiceSqs._eval_service_task

    def eval_service_task(
        task: StateTaskServiceSqs,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        if "MessageBody" in normalised_parameters:
            body = normalised_parameters["MessageBody"]
            if body is None:
                raise _MissingParameterError("MessageBody")
            if not isinstance(body, str):  # Step Functions sends an object as its compact JSON text
                normalised_parameters["MessageBody"] = to_json_str(body, separators=(",", ":"))
        original_eval(task, env, resource_runtime_part, normalised_parameters, state_credentials)

    original_from_error = StateTaskServiceSqs._from_error

    def from_error(task: StateTaskServiceSqs, env: Any, ex: Exception) -> FailureEvent:
        if not isinstance(ex, ClientError):
            return original_from_error(task, env, ex)
        details = event_details(
            taskFailedEventDetails=TaskFailedEventDetails(
                error=SQS_ERROR,
                cause=java_sdk_cause(ex),
                resource=task._get_sfn_resource(),
                resourceType=task._get_sfn_resource_type(),
            )
        )
        return FailureEvent(
            env=env,
            error_name=CustomErrorName(SQS_ERROR),
            event_type=HistoryEventType.TaskFailed,
            event_details=details,
        )

    patches.enter_context(mock.patch.object(StateTaskServiceSqs, "_eval_service_task", eval_service_task))
    patches.enter_context(mock.patch.object(StateTaskServiceSqs, "_from_error", from_error))
