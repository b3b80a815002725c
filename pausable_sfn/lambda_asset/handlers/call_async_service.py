"""CallAsyncServiceLambda: hands the task token of `Long job execution` to the external service.

Automatic mode sends a job request to the external service's queue, delayed by the job's
duration, and returns at once: no Lambda is held (or billed) while the job runs. Manual mode
asks a person: RequestApprovalLambda publishes an approval request with a link to the approval
page; the execution waits until a person decides there (or resumes it with the token).
"""

import json
import math
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import clients
from .contracts import fingerprint
from .messages import JobRequest, JobRequestMessage
from .validation import parse

logger = Logger()


def request_job(request: JobRequest, *, queue_url: str, sqs: Any) -> dict[str, Any]:
    message = JobRequestMessage(
        taskToken=request.taskToken,
        executionId=request.executionId,
        jobDurationSeconds=math.ceil(request.jobDurationSeconds),
    )
    response = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=message.model_dump_json(),
        DelaySeconds=message.jobDurationSeconds,
    )
    logger.info(
        "Job request sent to the external service",
        extra={"message_id": response["MessageId"], "delay_seconds": message.jobDurationSeconds},
    )
    return {"mode": "automatic", "jobRequestId": response["MessageId"]}


class ApprovalRequestFailedError(RuntimeError):
    """The approval function refused or failed the request: the task fails rather than wait for a
    person nobody asked."""


def ask_a_person(request: JobRequest, *, function: str, lambda_client: Any) -> dict[str, Any]:
    approval = {
        "taskToken": request.taskToken,
        "executionId": request.executionId,
        "stateName": request.stateName,
        "pausedAt": request.pausedAt.isoformat(),
        "timeoutSeconds": request.timeoutSeconds,
        "heartbeatSeconds": request.heartbeatSeconds,
        # The execution's input is what a person judges (a job duration means nothing to them).
        "summary": {"input": request.request},
    }
    response = lambda_client.invoke(FunctionName=function, Payload=json.dumps(approval).encode("utf-8"))
    answer = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        error = answer if isinstance(answer, dict) else {}
        raise ApprovalRequestFailedError(f"{error.get('errorType')}: {error.get('errorMessage')}")
    logger.info("Execution paused until a person decides from the approval link")
    return {"mode": "manual", "approvalRequested": True}


@logger.inject_lambda_context(correlation_id_path="executionId", clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(JobRequest, event, what="CallAsyncServiceLambda event")
    logger.append_keys(task_token=fingerprint(request.taskToken))
    if request.isManualCallback:
        return ask_a_person(request, function=os.environ["APPROVAL_FUNCTION"], lambda_client=clients.client("lambda"))
    return request_job(request, queue_url=os.environ["LONG_JOB_QUEUE_URL"], sqs=clients.client("sqs"))
