"""What the embedded AWS does to moto's SQS. The numbers are those of the one list in ../gaps.py.

4. moto delivers SQS → Lambda synchronously, inside SendMessage, so a delayed message is never
   delivered: `detach_sqs_push_delivery` removes that, and events.SqsPoller polls instead.
"""

from moto.sqs.models import sqs_backends


def detach_sqs_push_delivery(account_id: str, region: str, queue_name: str) -> None:
    """Gap 4: the event-source mapping stays listed; its synchronous delivery is switched off."""
    sqs_backends[account_id][region].queues[queue_name].lambda_event_source_mappings.clear()
