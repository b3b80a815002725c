"""CallAsyncServiceLambda: hands the job of `Long job execution` to the external service.

Automatic mode sends a job request to the external service's queue, delayed by the job's
duration, and returns at once: no Lambda is held (or billed) while the job runs. The task waits
on the job's id (its correlation key), so the request names the job, not the task token: the
service calls back with the id (a task given the token instead passes the token on). Manual mode
asks a person: it records an approval request and publishes it with a link to the approval page
(approval_requests.py, as RequestApprovalLambda does); the execution waits until a person
decides there (or resumes it with the token).
"""

import math
import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import clients
from .approval_requests import Asking, ask
from .contracts import fingerprint
from .messages import ApprovalRequest, JobRequest, JobRequestMessage
from .validation import parse

logger = Logger()


def request_job(request: JobRequest, *, queue_url: str, sqs: Any) -> dict[str, Any]:
    message = JobRequestMessage(
        taskToken=request.taskToken,
        jobId=request.correlationKey,
        executionId=request.executionId,
        jobDurationSeconds=math.ceil(request.jobDurationSeconds),
    )
    response = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=message.model_dump_json(exclude_none=True),
        DelaySeconds=message.jobDurationSeconds,
    )
    logger.info(
        "Job request sent to the external service",
        extra={
            "message_id": response["MessageId"],
            "delay_seconds": message.jobDurationSeconds,
            "job_id": message.jobId,
        },
    )
    return {"mode": "automatic", "jobRequestId": response["MessageId"]}


def ask_a_person(request: JobRequest, asking: Asking) -> dict[str, Any]:
    assert request.taskToken is not None  # JobRequest makes sure a manual request has it
    approval = ApprovalRequest(
        taskToken=request.taskToken,
        executionId=request.executionId,
        stateName=request.stateName,
        pausedAt=request.pausedAt,
        timeoutSeconds=request.timeoutSeconds,
        heartbeatSeconds=request.heartbeatSeconds,
        # The execution's input is what a person judges (a job duration means nothing to them).
        summary={"input": request.request},
    )
    ask(approval, asking)
    logger.info("Execution paused until a person decides from the approval link")
    return {"mode": "manual", "approvalRequested": True}


@logger.inject_lambda_context(correlation_id_path="executionId", clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = parse(JobRequest, event, what="CallAsyncServiceLambda event")
    if request.taskToken is not None:
        logger.append_keys(task_token=fingerprint(request.taskToken))
    if request.isManualCallback:
        return ask_a_person(request, Asking.from_environment())
    return request_job(request, queue_url=os.environ["LONG_JOB_QUEUE_URL"], sqs=clients.client("sqs"))
