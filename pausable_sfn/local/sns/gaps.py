"""What the embedded AWS does to moto's SNS. The numbers are those of the one list in ../gaps.py.

3. moto delivers SNS → Lambda synchronously, inside Publish, without retries or dead letters:
   `deliver_to_lambda_asynchronously` turns it into an asynchronous invoke (events.AsyncInvoker),
   after the subscription's filter policy, as SNS does.
"""

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto.sns.models import Subscription

from ..events import sns_event

if TYPE_CHECKING:
    from ..events import AsyncInvoker


def deliver_to_lambda_asynchronously(patches: ExitStack, async_invoker: "AsyncInvoker") -> None:
    """Gap 3."""
    original_publish = Subscription.publish

    def publish(
        subscription: Subscription, message: str, message_id: str, subject: str | None = None, **kwargs: Any
    ) -> None:
        if subscription.protocol != "lambda":
            return original_publish(subscription, message, message_id, subject=subject, **kwargs)
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(kwargs.get("message_attributes"), message):
            return None
        event = sns_event(
            subscription_arn=subscription.arn,
            topic_arn=subscription.topic.arn,
            message_id=message_id,
            message=message,
            subject=subject,
        )
        async_invoker.submit(subscription.endpoint, event)
        return None

    patches.enter_context(mock.patch.object(Subscription, "publish", publish))
