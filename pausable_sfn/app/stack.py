"""PausableStepFunctionStack: the demo workflow, its Lambda functions and the callback path,
composed from the constructs of `pausable_sfn.constructs`."""

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from ..constructs import CallbackChannel, FunctionFactory, HumanApproval
from .external_service import EmulatedExternalService
from .names import (
    APPROVAL_FUNCTION_OUTPUT,
    APPROVAL_TOPIC_OUTPUT,
    RESUME_FUNCTION_OUTPUT,
    STATE_MACHINE_ARN_OUTPUT,
)
from .settings import Settings
from .workflow import PausableWorkflow


class PausableStepFunctionStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = Settings.from_context(self)

        # The stack's "Default" child, which CDK leaves out of logical ids: the callback topic, the
        # resume function and the dead-letter queue keep the logical ids they had before they became
        # a construct of their own, so an update of a deployed stack replaces none of them (the
        # topic's ARN is what external services publish to; the queue may hold dead letters).
        channel = CallbackChannel(
            self, "Default", log_retention=settings.log_retention, powertools_version=settings.powertools_version
        )
        # A person resumes a manual execution from a link (the approval page).
        approval = HumanApproval(
            self,
            "Approval",
            link_lifetime=Duration.seconds(settings.approval_link_lifetime_seconds)
            if settings.approval_link_lifetime_seconds
            else None,
            page_concurrency=settings.approval_page_concurrency,
            log_retention=settings.log_retention,
            powertools_version=settings.powertools_version,
        )
        functions = FunctionFactory(
            self, log_retention=settings.log_retention, powertools_version=settings.powertools_version
        )
        call_async_service = functions.create(
            "CallAsyncServiceLambda",
            handler="call_async_service",
            description="Hands the task token of 'Long job execution' to the external service",
        )
        external_service = EmulatedExternalService(
            self, "EmulatedExternalService", functions=functions, channel=channel
        )
        call_async_service.add_environment("LONG_JOB_QUEUE_URL", external_service.queue.queue_url)
        external_service.queue.grant_send_messages(call_async_service)
        # In manual mode it asks a person itself (no second function in between).
        approval.let_ask(call_async_service)

        workflow = PausableWorkflow(
            self,
            "Workflow",
            call_async_service=call_async_service,
            channel=channel,
            resumers=[channel, approval],
            settings=settings,
        )

        outputs = {
            STATE_MACHINE_ARN_OUTPUT: workflow.state_machine.state_machine_arn,
            "CallAsyncServiceFunctionName": call_async_service.function_name,
            RESUME_FUNCTION_OUTPUT: channel.resume_function.function_name,
            "CallbackTopicArn": channel.topic.topic_arn,
            "LongJobRequestQueueUrl": external_service.queue.queue_url,
            "CallbackDeadLetterQueueUrl": channel.dead_letter_queue.queue_url,
            "LongJobRequestDeadLetterQueueUrl": external_service.dead_letter_queue.queue_url,
            APPROVAL_TOPIC_OUTPUT: approval.topic.topic_arn,
            APPROVAL_FUNCTION_OUTPUT: approval.request_function.function_name,
            "ApprovalPageUrl": approval.page_url,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
