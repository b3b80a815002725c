"""EmulatedLongJobLambda: the stand-in for a real external service.

It consumes job requests from the external service's queue. Each message becomes visible only
after its DelaySeconds, which is how the emulated job "takes" its duration; the handler then
reports the job as done by publishing a callback to CallbackToUnpauseSfnTopic, by the job's id
(the correlation key its task waits on), as a real service calls back with its own ids. Replace this
construct with your own service: the contract is the job request in and the callback out.
"""

import json
import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import clients
from .contracts import fingerprint
from .messages import Callback, JobRequestMessage
from .validation import InvalidEventError, parse

logger = Logger()
# Even a batch of only bad messages is answered with batchItemFailures, not an exception.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def read_job_request(record: SQSRecord) -> JobRequestMessage:
    try:
        body = json.loads(record.body)
    except json.JSONDecodeError as error:
        raise InvalidEventError(f"job request {record.message_id} is not JSON ({error.msg})") from None
    return parse(JobRequestMessage, body, what=f"job request {record.message_id}")


def finish_job(job: JobRequestMessage, *, topic_arn: str, sns: Any) -> None:
    callback = Callback(
        taskToken=job.taskToken,
        correlationKey=job.jobId,
        status="SUCCEED",
        executionId=job.executionId,
        output={
            "message": "Long job finished",
            "jobDurationSeconds": job.jobDurationSeconds,
            "finishedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        },
    )
    sns.publish(TopicArn=topic_arn, Message=callback.model_dump_json(exclude_none=True))
    logger.info(
        "Job finished; callback published",
        extra={
            "execution_id": job.executionId,
            **({"job_id": job.jobId} if job.jobId else {"task_token": fingerprint(job.taskToken or "")}),
        },
    )


def record_handler(record: SQSRecord) -> None:
    try:
        job = read_job_request(record)
    except InvalidEventError as error:
        logger.error("Job request refused", extra={"message_id": record.message_id, "reason": str(error)})
        raise
    finish_job(job, topic_arn=os.environ["CALLBACK_TOPIC_ARN"], sns=clients.client("sns"))


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # A bad message fails alone: the others are not redelivered (ReportBatchItemFailures).
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
