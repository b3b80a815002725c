"""Callbacks by business key (issue 23) beside callbacks by token, on the embedded AWS: the AWS API
calls the Lambda functions make, their billed time, and how fast a callback resumes its task.

A minimal app of this module's own: one CallbackChannel, one queue, and two state machines of one
PausableTask each, "Keyed" waiting on the correlation key $.id and "Unkeyed" without one. Each
keyed execution is resumed by one callback published to the channel's topic, by key or by its
token, alternately; the unkeyed ones measure a registration without a registrar.

The Lambda code's calls are counted where they arrive: the embedded AWS's endpoint, which in
process mode (the default) only the Lambda execution environments call (the bench's own clients
and the embedded AWS's deliveries are answered in process). Each function's environments get
AWS_SDK_UA_APP_ID, so botocore names the function in the User-Agent of every call (`app/<tag>`).
"""

import json
import re
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from pausable_sfn.app.cdk_app import FEATURE_FLAGS
from pausable_sfn.constructs import CallbackChannel, PausableStateMachine, PausableTask
from pausable_sfn.local.deployer import Deployment
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.local.runtime import Invocation
from pausable_sfn.ops.history import read_history
from pausable_sfn.testing.polling import Snapshot, wait_for

from .figures import Figure
from .measure import Sample

STACK = "CallbacksByKeyBench"
TASK = "Wait for job"
WARMUP = 3  # executions of each kind first, not counted: they carry the handlers' cold starts
POLL_SECONDS = 0.005  # how often an execution is asked whether it waits (while no function runs)
WATCH_SECONDS = 0.001  # how often the runtime's invocations are looked at (in memory, no API call)
UNATTRIBUTED = "(no app id)"
# The functions, by their logical ids without the channel's prefix and Lambda's suffix.
REGISTRAR, RESUME, JANITOR = "RegisterCorrelationKey", "ResumeStepFunction", "CorrelationJanitor"

# --- the app ---------------------------------------------------------------------------------------


class _BenchStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        jobs = sqs.Queue(self, "Jobs", enforce_ssl=True, encryption=sqs.QueueEncryption.SQS_MANAGED)
        channel = CallbackChannel(self, "Callbacks")
        for name, key in (("Keyed", "$.id"), ("Unkeyed", None)):
            task = PausableTask(
                self,
                f"{TASK} ({name})",
                queue=jobs,
                payload={"id.$": "$.id"},
                timeout=sfn.Timeout.duration(Duration.hours(1)),
                correlation_key=key,
                channel=channel if key else None,
            )
            done = sfn.Succeed(self, f"Done ({name})")
            machine = PausableStateMachine(self, name, definition=task.next(done), channels=[channel])
            cdk.CfnOutput(self, f"{name}StateMachineArn", value=machine.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "CallbackTopicArn", value=channel.topic.topic_arn)


def synthesize() -> Path:
    app = cdk.App(
        context=json.loads(FEATURE_FLAGS.read_text()), outdir=tempfile.mkdtemp(prefix="pausable-sfn-bench-by-key-")
    )
    _BenchStack(app, STACK)
    return Path(app.synth().directory)


# --- counting the Lambda code's API calls ------------------------------------------------------------

_APP_ID = re.compile(r"(?:^|\s)app/(\S+)")
_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_SERVICE_NAMES = {"dynamodb": "DynamoDB", "kms": "KMS", "states": "Step Functions", "sqs": "SQS", "sns": "SNS"}


def api_call(environ: dict[str, Any]) -> tuple[str, str]:
    """Who made an API call that reached the endpoint (the app id in its User-Agent) and what it
    was ("DynamoDB PutItem"): the operation from X-Amz-Target (JSON protocols) or from the form's
    Action (query protocols, whose body is read and put back), else the method and path."""
    caller = _APP_ID.search(environ.get("HTTP_USER_AGENT", ""))
    service = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
    name = _SERVICE_NAMES.get(service.group(1), service.group(1)) if service else "?"
    operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
    if not operation and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = environ["wsgi.input"].read()
        environ["wsgi.input"] = BytesIO(body)
        operation = urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
    operation = operation or f"{environ.get('REQUEST_METHOD', '')} {environ.get('PATH_INFO', '')}"
    return (caller.group(1) if caller else UNATTRIBUTED), f"{name} {operation}"


class CallCounter:
    """A WSGI application that counts each request by `api_call`, then passes it on."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        call = api_call(environ)
        with self._lock:
            self.calls[call] += 1
        return self.app(environ, start_response)

    def snapshot(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.calls)


def count_calls(aws: EmbeddedAws) -> CallCounter:
    """Counts the API calls that reach the embedded AWS's endpoint: the Lambda code's, in process
    mode. The endpoint has no public hook for it: its router's default application (moto) is wrapped."""
    routes = aws.endpoint._routes
    counter = CallCounter(routes.default)
    routes.default = counter
    return counter


# --- one unit of work and what it cost ---------------------------------------------------------------


@dataclass
class Cost:
    """The API calls (by function, then operation) and the Lambda time of one registration or callback."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    ms: dict[str, float] = field(default_factory=dict)  # by function

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())

    @property
    def lambda_ms(self) -> float:
        return sum(self.ms.values())


def calls_per_unit(costs: list[Cost], functions: dict[str, str]) -> str:
    """What the units called, on average, by function: "resume: DynamoDB PutItem 1, KMS Decrypt 1"."""
    total: Counter[tuple[str, str]] = Counter()
    for cost in costs:
        total += cost.calls
    if not total:
        return "no call"
    parts = []
    for tag in sorted({tag for tag, _ in total}, key=lambda tag: functions.get(tag, tag)):
        mine = sorted((operation, count) for (caller, operation), count in total.items() if caller == tag)
        each = ", ".join(f"{operation} {count / len(costs):.3g}" for operation, count in mine)
        parts.append(f"{functions.get(tag, tag)}: {each}")
    return "; ".join(parts)


class _Bench:
    def __init__(self, aws: EmbeddedAws, counter: CallCounter, deployment: Deployment) -> None:
        self.aws = aws
        self.counter = counter
        self.sfn = aws.client("stepfunctions")
        self.sns = aws.client("sns")
        self.outputs = deployment.outputs
        # Each function's short name (its logical id's: "ResumeStepFunction"), and its tag in the User-Agent.
        self.names = {
            deployed.ref: re.sub(r"Lambda[0-9A-F]{8}$", "", logical_id).removeprefix("Callbacks")
            for logical_id, deployed in deployment.resources.items()
            if deployed.type == "AWS::Lambda::Function"
        }
        self.functions: dict[str, str] = {}
        for index, function in enumerate(deployment.functions):
            tag = f"fn{index}"
            function.environment["AWS_SDK_UA_APP_ID"] = tag
            self.functions[tag] = self.names[function.name]
        aws.runtime.stop_idle()  # an environment started in the deploy would not have its tag

    def measured(self, action: Callable[[], None], *, expected: Callable[[list[Invocation]], bool]) -> Cost:
        """What `action` cost, once the invocations it causes have ended (`expected` says when:
        watched in the runtime's list, not asked of moto, whose CPU the functions' calls need) and
        the embedded AWS is idle."""
        before_calls = self.counter.snapshot()
        before = len(self.aws.runtime.invocations)
        action()
        deadline = time.monotonic() + 30
        while not expected(self.aws.runtime.invocations[before:]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the expected invocations did not end: {self.aws.runtime.invocations[before:]}")
            time.sleep(WATCH_SECONDS)
        self.aws.wait_idle()
        ms: dict[str, float] = {}
        for invocation in self.aws.runtime.invocations[before:]:
            name = self.names[invocation.function]
            ms[name] = ms.get(name, 0.0) + invocation.duration_ms
        return Cost(self.counter.snapshot() - before_calls, ms)

    def start_paused(self, machine: str, *, keyed: bool) -> tuple[str, str, str, Cost]:
        """An execution started and paused at its task: its ARN, its key, its token, and the cost of
        its registration (a keyed task's registrar invocation; none without a key, which the
        execution's pause, awaited within the measurement, shows)."""
        key = f"job-{uuid.uuid4().hex}"
        arns: list[str] = []

        def start() -> None:
            arns.append(
                self.sfn.start_execution(stateMachineArn=self.outputs[machine], input=json.dumps({"id": key}))[
                    "executionArn"
                ]
            )
            if not keyed:
                self._paused(arns[0])

        cost = self.measured(start, expected=lambda new: not keyed or self._called(new, REGISTRAR))
        token = self._paused(arns[0]).task_token
        if keyed and token is None:
            raise RuntimeError(f"{arns[0]} waits with no token in its TaskScheduled event")
        return arns[0], key, token or "", cost

    def _paused(self, arn: str) -> Snapshot:
        paused = wait_for(self.sfn, arn, lambda s: s.paused, timeout=30, interval=POLL_SECONDS)
        if not paused.paused:
            raise RuntimeError(f"{arn} did not pause at its task: {paused.status}")
        return paused

    def resume(self, arn: str, callback: dict[str, Any]) -> tuple[float, Cost]:
        """Publishes the callback and waits until the functions it causes have ended (the resume
        function, and the janitor at the execution's end): the latency from the publish to the
        task's TaskSucceeded event, in ms, and the cost."""
        sent: list[float] = []

        def publish() -> None:
            sent.append(time.time())
            self.sns.publish(TopicArn=self.outputs["CallbackTopicArn"], Message=json.dumps(callback))

        cost = self.measured(publish, expected=lambda new: self._called(new, RESUME) and self._called(new, JANITOR))
        status = self.sfn.describe_execution(executionArn=arn)["status"]
        if status != "SUCCEEDED":
            raise RuntimeError(f"{arn} is {status} after the callback {callback}")
        [succeeded] = [event for event in read_history(self.sfn, arn) if event["type"] == "TaskSucceeded"]
        return (succeeded["timestamp"].timestamp() - sent[0]) * 1000, cost

    def _called(self, invocations: list[Invocation], function: str) -> bool:
        return any(self.names[invocation.function] == function for invocation in invocations)


def callbacks_by_key(executions: int) -> list[Figure]:
    """`executions` keyed executions resumed by key and as many by token, alternately, through the
    channel's topic, each paused first; and as many executions of a task without a key, paused."""
    assembly = synthesize()
    with EmbeddedAws() as aws:
        counter = count_calls(aws)
        bench = _Bench(aws, counter, aws.deploy(assembly))
        registrations: dict[str, list[Cost]] = {"keyed": [], "unkeyed": []}
        paused: list[tuple[str, str, str]] = []
        for index in range(WARMUP + executions):
            keyed = [bench.start_paused("KeyedStateMachineArn", keyed=True) for _ in range(2)]
            _, _, _, unkeyed = bench.start_paused("UnkeyedStateMachineArn", keyed=False)
            if index >= WARMUP:
                registrations["keyed"] += [cost for *_, cost in keyed]
                registrations["unkeyed"].append(unkeyed)
            paused += [(arn, key, token) for arn, key, token, _ in keyed]
        latencies: dict[str, list[float]] = {"key": [], "token": []}
        callbacks: dict[str, list[Cost]] = {"key": [], "token": []}
        for index, (arn, key, token) in enumerate(paused):
            by = "key" if index % 2 == 0 else "token"
            named = {"correlationKey": key} if by == "key" else {"taskToken": token}
            latency, cost = bench.resume(arn, {**named, "output": {"done": index}})
            if index >= 2 * WARMUP:
                latencies[by].append(latency)
                callbacks[by].append(cost)
        functions = bench.functions
    return _figures(registrations, callbacks, latencies, functions)


def _figures(
    registrations: dict[str, list[Cost]],
    callbacks: dict[str, list[Cost]],
    latencies: dict[str, list[float]],
    functions: dict[str, str],
) -> list[Figure]:
    def calls(costs: list[Cost]) -> Sample:
        return Sample.of([cost.call_count for cost in costs])

    def billed(costs: list[Cost], function: str | None = None) -> Sample:
        return Sample.of([cost.ms.get(function, 0.0) if function else cost.lambda_ms for cost in costs])

    keyed, unkeyed = registrations["keyed"], registrations["unkeyed"]
    by_key, by_token = callbacks["key"], callbacks["token"]
    over = f"over {len(by_key)} executions each"
    return [
        Figure(f"AWS API calls per registration, a task with a key ({calls_per_unit(keyed, functions)})", "calls",
               calls(keyed), f"a task without a key ({calls_per_unit(unkeyed, functions)})", calls(unkeyed), "report",
               note=f"over {len(keyed)} and {len(unkeyed)} executions"),
        Figure(f"AWS API calls per callback by key through the topic ({calls_per_unit(by_key, functions)})", "calls",
               calls(by_key), f"by token ({calls_per_unit(by_token, functions)})", calls(by_token), "report",
               note=f"{over}; the janitor's at the execution's end included"),
        Figure("Lambda time billed per registration, a task with a key (the registrar)", "ms", billed(keyed),
               "a task without a key (no function runs)", billed(unkeyed), "report"),
        Figure("Lambda time billed per callback by key through the topic (resume function, janitor)", "ms",
               billed(by_key), "by token", billed(by_token), "report",
               note=f"{over}; the resume function alone: {billed(by_key, RESUME).median:.3g} ms by key, "
                    f"{billed(by_token, RESUME).median:.3g} ms by token"),
        Figure("callback published → its task's `TaskSucceeded`, by key", "ms", Sample.of(latencies["key"]),
               "by token", Sample.of(latencies["token"]), "report", note=over),
    ]  # fmt: skip
