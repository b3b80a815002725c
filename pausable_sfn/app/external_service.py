"""The emulated external service: a stand-in for the long job a real workflow would call.

Delete this construct and point CallAsyncServiceLambda at your own service; the contract is the
job-request message in and the callback message out (see the README).
"""

from aws_cdk import Duration
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..constructs import CallbackChannel, FunctionFactory
from ..constructs.queues import MAX_RECEIVES, dead_letter_queue, secure_queue


class EmulatedExternalService(Construct):
    """A queue of job requests, each delayed by its job's duration, and the consumer that
    publishes the "job done" callback when a request becomes visible."""

    def __init__(
        self, scope: Construct, construct_id: str, *, functions: FunctionFactory, channel: CallbackChannel
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(
            self, "LongJobRequestDeadLetterQueue", holds="job requests that failed"
        )
        self.queue = secure_queue(
            self,
            "LongJobRequestQueue",
            # Longer than the consumer's timeout, so a message in flight is not handed out twice.
            visibility_timeout=Duration.seconds(60),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVES),
        )
        self.function = functions.create(
            "EmulatedLongJobLambda",
            handler="emulated_long_job",
            description="Emulated external service: finishes a long job and publishes its callback",
            environment={"CALLBACK_TOPIC_ARN": channel.topic.topic_arn},
        )
        self.function.add_event_source(
            event_sources.SqsEventSource(self.queue, batch_size=10, report_batch_item_failures=True)
        )
        channel.grant_callback(self.function)
