"""Queues as this stack makes them: encrypted, TLS only, and watched when they hold dead letters."""

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

MAX_RECEIVES = 3  # deliveries of a job request before it is set aside in its dead-letter queue


def secure_queue(scope: Construct, construct_id: str, **options: Any) -> sqs.Queue:
    """`options` go to sqs.Queue as they are (visibility_timeout, dead_letter_queue, ...)."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **options,
    )


def dead_letter_queue(scope: Construct, construct_id: str, *, holds: str) -> sqs.Queue:
    """A queue for what could not be delivered, kept 14 days, with an alarm as soon as it holds one."""
    queue = secure_queue(scope, construct_id, retention_period=Duration.days(14))
    queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1)).create_alarm(
        scope,
        f"{construct_id}NotEmpty",
        alarm_description=f"{construct_id} holds {holds}: read them, fix the cause, then redrive or delete them.",
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return queue
