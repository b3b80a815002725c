"""PausableStepFunctionStack: composes the workflow, its Lambda functions and the callback path."""

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ..constructs.functions import FunctionFactory
from ..constructs.nag import acknowledge
from ..constructs.queues import dead_letter_queue
from .external_service import EmulatedExternalService
from .settings import Settings
from .workflow import PausableWorkflow


class PausableStepFunctionStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = Settings.from_context(self)
        functions = FunctionFactory(
            self, log_retention=settings.log_retention, powertools_version=settings.powertools_version
        )

        callback_topic = sns.Topic(
            self,
            "CallbackToUnpauseSfnTopic",
            enforce_ssl=True,
            # Encrypted at rest with the account's AWS managed key for SNS (no key to pay for or rotate).
            master_key=kms.Alias.from_alias_name(self, "AwsManagedSnsKey", "alias/aws/sns"),
        )
        # A callback that cannot be applied is kept here: SNS puts what it cannot deliver, and
        # Lambda the events that still fail after its two retries.
        callback_dead_letters = dead_letter_queue(
            self, "CallbackDeadLetterQueue", holds="callbacks that could not resume their execution"
        )
        acknowledge(
            callback_dead_letters,
            "AwsSolutions-SQS3",
            "It is itself a dead-letter queue: of the SNS subscription and of ResumeStepFunctionLambda's failed "
            "events (a redrive policy of another queue is the only use the rule recognises).",
        )
        resume = functions.create(
            "ResumeStepFunctionLambda",
            handler="resume_step_function",
            description="Resumes a paused execution: SendTaskSuccess or SendTaskFailure from a callback",
            on_failure=destinations.SqsDestination(callback_dead_letters),
            retry_attempts=2,
        )
        callback_topic.add_subscription(
            subscriptions.LambdaSubscription(resume, dead_letter_queue=callback_dead_letters)
        )

        call_async_service = functions.create(
            "CallAsyncServiceLambda",
            handler="call_async_service",
            description="Hands the task token of 'Long job execution' to the external service",
        )
        external_service = EmulatedExternalService(
            self, "EmulatedExternalService", functions=functions, callback_topic=callback_topic
        )
        call_async_service.add_environment("LONG_JOB_QUEUE_URL", external_service.queue.queue_url)
        external_service.queue.grant_send_messages(call_async_service)

        workflow = PausableWorkflow(self, "Workflow", call_async_service=call_async_service, settings=settings)
        workflow.state_machine.grant_task_response(resume)

        outputs = {
            "StateMachineArn": workflow.state_machine.state_machine_arn,
            "CallAsyncServiceFunctionName": call_async_service.function_name,
            "ResumeStepFunctionFunctionName": resume.function_name,
            "CallbackTopicArn": callback_topic.topic_arn,
            "LongJobRequestQueueUrl": external_service.queue.queue_url,
            "CallbackDeadLetterQueueUrl": callback_dead_letters.queue_url,
            "LongJobRequestDeadLetterQueueUrl": external_service.dead_letter_queue.queue_url,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
