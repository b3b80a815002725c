"""Asynchronous invocations and SQS event sources, delivered as Lambda delivers them.

- SNS → Lambda is an asynchronous invoke: on a function error Lambda retries (twice by default,
  after about 1 and 2 minutes, as `retry_delays` does by default), then sends the event to the
  function's on-failure destination or dead-letter queue, if it has one. A throttled event (the
  function's reserved concurrency in use) waits and is tried again, without using an attempt;
  with a reserved concurrency of 0 it goes to the destination at once (ZeroReservedConcurrency).
- SQS → Lambda is a poller: messages become visible after their DelaySeconds, are handed over
  in batches, deleted when the batch succeeds, and left for redelivery (after the queue's
  visibility timeout) when it fails, except the items that a partial batch response lists as
  successful (ReportBatchItemFailures).

Both run on the embedded AWS's clock (clock.py): a retry's delay is a timer of it, a delivery
counts as running until it ends or waits for its retry, and a poller tells the clock when its
queue's next message becomes visible and whether one is deliverable now.
"""

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import clock as clocks
from .runtime import FunctionConfig, Invocation, LambdaRuntime, RuntimeStoppedError, ThrottledError
from .sqs.gaps import delete_expired

ClientFactory = Callable[[str], Any]
# Lambda tries a throttled event again after a backoff that starts at about a second.
THROTTLED_RETRY_SECONDS = 1.0
LOGGER = logging.getLogger("pausable_sfn.local")


class AsyncInvoker:
    def __init__(self, runtime: LambdaRuntime, clients: ClientFactory, *, retry_delays: tuple[float, ...]) -> None:
        self._runtime = runtime
        self._clients = clients
        self._retry_delays = retry_delays
        # Lambda handles queued events of a function concurrently; 16 at once is plenty here.
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="lambda-async")
        self._pending: set[Future[None]] = set()
        self._queued = 0  # submitted, not yet started: on the clock, work it has not started
        self._lock = threading.Lock()
        # Its waits (a retry's delay) are timers of the clock; set, it ends them at once.
        self._stopping = clocks.ClockEvent()

    def submit(self, function: str, event: dict[str, Any]) -> str:
        request_id = str(uuid.uuid4())
        clock = clocks.active()
        with self._lock:
            self._queued += 1  # from now on the clock finds it (has_queued) until it runs
        try:
            future = self._pool.submit(self._deliver_on, clock, function, event, request_id)
        except BaseException:
            with self._lock:
                self._queued -= 1
            raise
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)
        return request_id

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
        if not future.cancelled() and (error := future.exception()) is not None:
            # A fault of the embedded AWS itself (not of the function): it must not pass unseen.
            LOGGER.error("delivering an asynchronous invocation failed", exc_info=error)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending)

    def has_queued(self) -> bool:
        """Events waiting for a free delivery thread: work the clock must not move past. (One that
        runs is counted busy, except while it waits for its retry, a timer of the clock.)"""
        with self._lock:
            return self._queued > 0

    def signal_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _deliver_on(self, clock: clocks.Clock | None, function: str, event: dict[str, Any], request_id: str) -> None:
        if clock is not None:
            clock.acquire()  # counted before it leaves the queue: never unaccounted for
        with self._lock:
            self._queued -= 1
        if clock is None:
            self._deliver(function, event, request_id)
            return
        with clock.holding():
            self._deliver(function, event, request_id)

    def _deliver(self, function: str, event: dict[str, Any], request_id: str) -> None:
        config = self._runtime.find(function)
        attempts = 1 + config.max_retry_attempts
        attempt = 1
        while not self._stopping.is_set():
            try:
                invocation = self._runtime.invoke(function, event)
            except RuntimeStoppedError:
                return  # the embedded AWS is stopping: the event goes with it, as a stopped account's would
            except ThrottledError as throttled:
                if throttled.reserved == 0:
                    # A function switched off: Lambda does not keep its events, it fails them at once.
                    self._dead_letter(config, event, None, request_id, 0)
                    return
                # Lambda keeps a throttled event queued and tries it again later; a throttle is not
                # one of the event's attempts.
                self._stopping.wait(min(THROTTLED_RETRY_SECONDS, self._retry_delays[0]))
                continue
            if not invocation.failed:
                return
            if attempt == attempts:
                self._dead_letter(config, event, invocation, request_id, attempts)
                return
            self._stopping.wait(self._retry_delays[min(attempt, len(self._retry_delays)) - 1])
            attempt += 1

    def _dead_letter(
        self,
        config: FunctionConfig,
        event: dict[str, Any],
        invocation: Invocation | None,
        request_id: str,
        attempts: int,
    ) -> None:
        """The event after its last attempt (`invocation`), or without any (None: the function's
        reserved concurrency is 0), to the function's on-failure destination or dead-letter queue."""
        if config.on_failure_arn:
            record: dict[str, Any] = {
                "version": "1.0",
                "timestamp": datetime.fromtimestamp(clocks.current_time(), UTC).isoformat(),
                "requestContext": {
                    "requestId": request_id,
                    "functionArn": f"{config.arn}:$LATEST",
                    "condition": "RetriesExhausted" if invocation else "ZeroReservedConcurrency",
                    "approximateInvokeCount": attempts,
                },
                "requestPayload": event,
            }
            if invocation is not None:
                record["responseContext"] = {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                }
                record["responsePayload"] = invocation.result()
            self._send(config.on_failure_arn, json.dumps(record), {})
        elif config.dead_letter_arn:
            if invocation is None:
                attributes = {"RequestID": request_id, "ErrorCode": "429", "ErrorMessage": "Rate Exceeded."}
            else:
                error = invocation.result() or {}
                attributes = {
                    "RequestID": request_id,
                    "ErrorCode": "200",
                    "ErrorMessage": str(error.get("errorMessage", ""))[:256] or invocation.error_type or "",
                }
            self._send(config.dead_letter_arn, json.dumps(event), attributes)

    def _send(self, target_arn: str, body: str, attributes: dict[str, str]) -> None:
        message_attributes = {key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()}
        service = target_arn.split(":")[2]
        if service == "sqs":
            sqs = self._clients("sqs")
            url = sqs.get_queue_url(QueueName=target_arn.split(":")[5])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=message_attributes)
        elif service == "sns":
            self._clients("sns").publish(TopicArn=target_arn, Message=body, MessageAttributes=message_attributes)
        else:
            raise ValueError(f"the embedded AWS cannot send failed events to {target_arn}")


@dataclass(frozen=True)
class SqsEventSource:
    uuid: str
    queue_arn: str
    queue_url: str
    function: str
    batch_size: int
    report_batch_item_failures: bool


class SqsPoller:
    """Polls one queue for one function, in a background thread, until stopped.

    Every `interval` seconds while messages come; an idle queue is asked less and less often, up
    to every `idle_interval`, so that an embedded AWS that waits costs next to no CPU. (Lambda's
    pollers long-poll; moto's long poll spins while the queue holds delayed messages.)"""

    def __init__(
        self,
        source: SqsEventSource,
        runtime: LambdaRuntime,
        clients: ClientFactory,
        *,
        interval: float = 0.05,
        idle_interval: float = 0.2,
    ) -> None:
        self.source = source
        self._runtime = runtime
        self._sqs = clients("sqs")
        self._interval = interval
        self._idle_interval = idle_interval
        self._stopping = threading.Event()
        # Set to poll at once: on stopping, and whenever the clock moves (a message may have
        # become visible that the next poll would find only after its pause).
        self._poke = threading.Event()
        self._handling = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{source.uuid[:8]}", daemon=True)
        self._clock = clocks.active()

    def start(self) -> None:
        if self._clock is not None:
            self._clock.idle_checks.append(self.busy)
            self._clock.timer_sources.append(self.next_visible)
            self._clock.listeners.append(self._poke.set)
        self._thread.start()

    def signal_stop(self) -> None:
        self._stopping.set()
        self._poke.set()

    def stop(self) -> None:
        self.signal_stop()
        self._thread.join(timeout=10)
        if self._clock is not None:
            self._clock.idle_checks.remove(self.busy)
            self._clock.timer_sources.remove(self.next_visible)
            self._clock.listeners.remove(self._poke.set)

    def busy(self) -> bool:
        """Handling a batch, or a message is there to take."""
        if self._handling.is_set():
            return True
        queue = self._queue()
        if queue is None:
            return False
        # A FIFO queue holds back a group while one of its messages is in flight.
        held = {m.group_id for m in list(queue._pending_messages) if not m.visible} if queue.fifo_queue else set()
        return any(m.group_id not in held for m in queue.messages) if held else bool(queue.messages)

    def next_visible(self) -> float | None:
        """When the queue's next message becomes visible (clock seconds), if one is yet to."""
        queue = self._queue()
        if queue is None:
            return None
        delete_expired(queue)  # gap 41: an expired message is no timer, it is gone
        now_ms = clocks.current_time() * 1000
        moments = [max(m.visible_at, m.delayed_until) for m in list(queue._messages)]
        return min((moment / 1000 for moment in moments if moment > now_ms), default=None)

    def _queue(self) -> Any:
        from moto.sqs.models import sqs_backends

        _, _, _, region, account, name = self.source.queue_arn.split(":")
        return sqs_backends[account][region].queues.get(name)

    def _run(self) -> None:
        pause = self._interval
        while not self._stopping.is_set():
            try:
                handled = self.poll_once()
            except Exception:
                handled = 0
            if handled:
                pause = self._interval
            else:
                self._poke.wait(pause)
                if self._poke.is_set():
                    self._poke.clear()
                    pause = self._interval
                else:
                    pause = min(pause * 2, self._idle_interval)

    def poll_once(self) -> int:
        # Busy from before the receive: a batch taken off the queue is never unaccounted for.
        self._handling.set()
        try:
            response = self._sqs.receive_message(
                QueueUrl=self.source.queue_url,
                MaxNumberOfMessages=self.source.batch_size,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            if not messages:
                return 0
            try:
                invocation = self._runtime.invoke(
                    self.source.function, {"Records": [self._record(m) for m in messages]}
                )
            except ThrottledError:
                # As Lambda's poller: the batch goes back to the queue, visible again after the
                # visibility timeout, and polling slows down meanwhile.
                return 0
            done = self._succeeded(messages, invocation)
            for message in messages:
                if message["MessageId"] in done:
                    self._sqs.delete_message(QueueUrl=self.source.queue_url, ReceiptHandle=message["ReceiptHandle"])
        finally:
            self._handling.clear()
        return len(messages)

    def _succeeded(self, messages: list[dict[str, Any]], invocation: Invocation) -> set[str]:
        if invocation.failed:
            return set()
        ids = {message["MessageId"] for message in messages}
        if not self.source.report_batch_item_failures:
            return ids
        result = invocation.result()
        failures = (result.get("batchItemFailures") or []) if isinstance(result, dict) else []
        failed = {item.get("itemIdentifier") for item in failures}
        if not failed <= ids:
            return set()  # an unknown identifier fails the whole batch, as on AWS
        return ids - failed

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {key[0].lower() + key[1:]: value for key, value in attribute.items()}
                for name, attribute in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source.queue_arn,
            "awsRegion": self.source.queue_arn.split(":")[3],
        }


def sns_event(
    *, subscription_arn: str, topic_arn: str, message_id: str, message: str, subject: str | None
) -> dict[str, Any]:
    """The event Lambda receives from an SNS subscription (one record per delivery)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": datetime.fromtimestamp(clocks.current_time(), UTC)
                    .isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
                    "SignatureVersion": "1",
                    "Signature": "EMBEDDED",
                    "SigningCertUrl": "https://sns.embedded.invalid/cert.pem",
                    "UnsubscribeUrl": "https://sns.embedded.invalid/unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def wait_until_idle(*busy: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while any(check() for check in busy):
        if time.monotonic() > deadline:
            raise TimeoutError("the embedded AWS is still delivering events")
        time.sleep(0.01)
