"""What the embedded AWS does to moto's SQS. The numbers are those of the one list in ../gaps.py.

4. moto delivers SQS → Lambda synchronously, inside SendMessage, so a delayed message is never
   delivered: `detach_sqs_push_delivery` removes that, and events.SqsPoller polls instead.
41. moto keeps a message after its queue's retention period. Its ReceiveMessage then stops at the
   first such message: it hides that message for the visibility timeout and returns nothing, so
   one expired message hides every message behind it, and the queue's counts still include it.
   SQS deletes a message once it has been in the queue for the retention period
   (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html,
   `MessageRetentionPeriod`). `delete_messages_past_retention` does that whenever the queue's
   messages are read: by a receive, the queue's counts, or the event-source poller.
"""

from contextlib import ExitStack
from typing import Any
from unittest import mock

from moto.core.utils import unix_time_millis
from moto.sqs.models import Message, Queue, sqs_backends


def detach_sqs_push_delivery(account_id: str, region: str, queue_name: str) -> None:
    """Gap 4: the event-source mapping stays listed; its synchronous delivery is switched off."""
    sqs_backends[account_id][region].queues[queue_name].lambda_event_source_mappings.clear()


def delete_messages_past_retention(patches: ExitStack) -> None:
    """Gap 41: every property through which moto reads a queue's messages first deletes those
    whose retention period has ended (on the embedded AWS's clock, which moto's time reads)."""

    def deleting_expired(read: Any) -> property:
        def wrapped(queue: Queue) -> Any:
            delete_expired(queue)
            return read(queue)

        return property(wrapped)

    for name in ("messages", "approximate_number_of_messages_delayed", "approximate_number_of_messages_not_visible"):
        original = getattr(Queue, name)
        patches.enter_context(mock.patch.object(Queue, name, deleting_expired(original.fget)))


def delete_expired(queue: Queue) -> None:
    """Gap 41: deletes the queue's messages whose retention period has ended."""
    # moto sets each queue attribute as an attribute of that name in snake case.
    retention_millis = int(queue.message_retention_period) * 1000  # type: ignore[attr-defined]
    now = unix_time_millis()

    def expired(message: Message) -> bool:
        return message.sent_timestamp is not None and message.sent_timestamp + retention_millis <= now

    with queue._messages_lock:
        kept = [message for message in queue._messages if not expired(message)]
        if len(kept) == len(queue._messages):
            return
        gone = set(queue._messages).difference(kept)
        queue._messages[:] = kept
        queue.pending_messages.difference_update(gone)
