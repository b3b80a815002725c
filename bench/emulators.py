"""The embedded AWS beside plain `moto_server`, each in its own process and reached over HTTP as a
user's tools reach it, one target at a time: how fast it starts, how fast it runs executions, how
fast a callback resumes one, and how much memory it holds."""

import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.local.embedded import CREDENTIALS
from pausable_sfn.local.runtime import LambdaRuntime

from .measure import Sample

BIN = Path(sys.executable).parent
ROLE = "arn:aws:iam::123456789012:role/bench"  # neither emulator checks it
PASS_CHAIN = 10
KEPT_INVOCATIONS = LambdaRuntime.kept_invocations
POLL_SECONDS = 0.002  # how often a waiting client asks; the same for both targets


@dataclass(frozen=True)
class Target:
    name: str
    command: Callable[[int], list[str]]  # the server's command line, given its port
    ready_line: str | None  # the line that says it is ready, if it prints one


def embedded(assembly: Path) -> Target:
    return Target(
        "embedded (`local serve --assembly`, the demo deployed)",
        lambda port: [
            *(str(BIN / "python"), "-m", "pausable_sfn", "local", "serve"),
            *("--port", str(port), "--assembly", str(assembly)),
        ],
        "export AWS_ENDPOINT_URL=",
    )


PLAIN_MOTO = Target("plain `moto_server`", lambda port: [str(BIN / "moto_server"), "-p", str(port)], None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _client(endpoint: str, service: str, **config: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(**{"retries": {"mode": "standard"}, "max_pool_connections": 16, **config}),
    )


@dataclass
class Started:
    endpoint: str
    pid: int
    first_answer_s: float  # from the process's start to its first answer to an API call
    ready_s: float | None  # from the process's start to its ready line


@contextmanager
def started(target: Target) -> Iterator[Started]:
    """The target's server, from its process start until it answers (and says it is ready)."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    probe = _client(endpoint, "stepfunctions", connect_timeout=1, read_timeout=60, retries={"max_attempts": 1})
    began = time.perf_counter()
    server = subprocess.Popen(
        target.command(port), cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(server.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
        reader.start()
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"{target.name} ended: {''.join(lines)[-2000:]}")
            try:
                probe.list_state_machines()
                break
            except Exception:  # not listening yet
                time.sleep(0.005)
        first_answer = time.perf_counter() - began
        ready = None
        if target.ready_line:
            while not any(target.ready_line in line for line in lines):
                if server.poll() is not None:
                    raise RuntimeError(f"{target.name} ended: {''.join(lines)[-2000:]}")
                time.sleep(0.005)
            ready = time.perf_counter() - began
        else:  # moto_server runs no state machine unless told to
            request = urllib.request.Request(
                f"{endpoint}/moto-api/config",
                data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                method="POST",
            )
            urllib.request.urlopen(request, timeout=10).read()
        yield Started(endpoint, server.pid, first_answer, ready)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def pass_chain(states: int = PASS_CHAIN) -> str:
    names = [f"Pass {n}" for n in range(1, states + 1)]
    chain: dict[str, Any] = {name: {"Type": "Pass", "Next": after} for name, after in itertools.pairwise(names)}
    chain[names[-1]] = {"Type": "Pass", "End": True}
    return json.dumps({"StartAt": names[0], "States": chain})


def _machine(sfn: Any, name: str, definition: str) -> str:
    return str(sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"])


def _start(sfn: Any, machine: str, document: str = "{}") -> str:
    # Named: plain moto names an unnamed execution "None", and a second one then already exists.
    return str(sfn.start_execution(stateMachineArn=machine, name=str(uuid.uuid4()), input=document)["executionArn"])


def _until_ended(sfn: Any, arn: str, timeout: float = 60, interval: float = POLL_SECONDS) -> str:
    deadline = time.monotonic() + timeout
    while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
        if time.monotonic() > deadline:
            raise RuntimeError(f"{arn} still running after {timeout} s")
        time.sleep(interval)
    return str(status)


def one_execution_ms(endpoint: str, runs: int) -> Sample:
    """StartExecution of a 10-Pass chain → SUCCEEDED seen by DescribeExecution."""
    sfn = _client(endpoint, "stepfunctions")
    machine = _machine(sfn, "bench-latency", pass_chain())
    times = []
    for _ in range(runs + 1):  # the first one warms up
        began = time.perf_counter()
        arn = _start(sfn, machine)
        if _until_ended(sfn, arn) != "SUCCEEDED":
            raise RuntimeError(f"{arn} did not succeed")
        times.append((time.perf_counter() - began) * 1000)
    return Sample.of(times[1:])


def many_executions_s(endpoint: str, executions: int, threads: int = 4) -> float:
    """`executions` of a 10-Pass chain started by `threads` threads: the first start → all ended."""
    sfn = _client(endpoint, "stepfunctions")
    machine = _machine(sfn, f"bench-throughput-{time.monotonic_ns()}", pass_chain())
    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        arns = list(pool.map(lambda _: _start(sfn, machine), range(executions)))
    statuses = [_until_ended(sfn, arn, timeout=300) for arn in arns]
    seconds = time.perf_counter() - began
    if set(statuses) != {"SUCCEEDED"}:
        raise RuntimeError(f"not all succeeded: {sorted(set(statuses))}")
    return seconds


CALLBACK_TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "Parameters": {"QueueUrl": "", "MessageBody": {"token.$": "$$.Task.Token"}},
    "End": True,
}


def callback_ms(endpoint: str, runs: int) -> Sample:
    """SendTaskSuccess for an SQS callback task → SUCCEEDED seen by DescribeExecution."""
    sfn, sqs = _client(endpoint, "stepfunctions"), _client(endpoint, "sqs")
    queue = sqs.create_queue(QueueName="bench-callbacks")["QueueUrl"]
    task = {**CALLBACK_TASK, "Parameters": {**CALLBACK_TASK["Parameters"], "QueueUrl": queue}}  # type: ignore[dict-item]
    machine = _machine(sfn, "bench-callback", json.dumps({"StartAt": "Wait", "States": {"Wait": task}}))
    times = []
    for _ in range(runs + 1):  # the first one warms up
        arn = _start(sfn, machine)
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while not messages and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            raise RuntimeError(f"{arn} sent no message")
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])
        token = json.loads(messages[0]["Body"])["token"]
        began = time.perf_counter()
        sfn.send_task_success(taskToken=token, output="{}")
        if _until_ended(sfn, arn) != "SUCCEEDED":
            raise RuntimeError(f"{arn} did not succeed")
        times.append((time.perf_counter() - began) * 1000)
    return Sample.of(times[1:])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class Measured:
    first_answer_s: list[float]
    ready_s: list[float]
    latency_ms: list[float]  # each server start's median
    throughput_s: list[float]
    callback_ms: list[float]  # each server start's median


def measure(target: Target, *, executions: int, into: Measured) -> None:
    """One server start of the target, measuring a turn of every figure."""
    with started(target) as server:
        into.first_answer_s.append(server.first_answer_s)
        if server.ready_s is not None:
            into.ready_s.append(server.ready_s)
        into.latency_ms.append(one_execution_ms(server.endpoint, runs=10).median)
        into.throughput_s.append(many_executions_s(server.endpoint, executions))
        into.callback_ms.append(callback_ms(server.endpoint, runs=10).median)


def memory(assembly: Path, *, paused: int, rounds: int = 2) -> list[Any]:
    """`local serve` with the demo deployed: its resident memory idle, with `paused` manual
    executions waiting, and after each of `rounds` more batches of as many automatic executions
    run to their end (three Lambda invocations, an SNS and an SQS message each)."""
    from .figures import Figure, _pause

    with started(embedded(assembly)) as server, mock.patch.dict(os.environ, CREDENTIALS):
        # The paused executions' figure must not carry CloudFormation's first load (_pause reads
        # the stack's outputs): a tool asks for them first, as `pausable-sfn` does.
        _client(server.endpoint, "cloudformation").describe_stacks()
        deployed = rss_mb(server.pid)
        arns = _pause(server.endpoint, paused)
        waiting = rss_mb(server.pid)
        sfn = _client(server.endpoint, "stepfunctions")
        machine = sfn.describe_execution(executionArn=arns[0])["stateMachineArn"]
        after = []
        for _ in range(rounds):
            with ThreadPoolExecutor(4) as pool:
                arns = list(pool.map(lambda _: _start(sfn, machine, '{"JobDurationSeconds": 0}'), range(paused)))
            for arn in arns:
                _until_ended(sfn, arn, timeout=300, interval=0.05)
            after.append(rss_mb(server.pid))
    growth = (after[-1] - after[0]) / (rounds - 1) if rounds > 1 else 0.0
    return [
        Figure("`local serve` memory (RSS), the demo deployed", "MB", Sample.of([deployed]), target="report"),
        Figure(f"… with {paused} paused executions", "MB", Sample.of([waiting]), "deployed, idle",
               Sample.of([deployed]), "report"),
        Figure(f"… growth per {paused} more automatic executions run to their end", "MB", Sample.of([growth]),
               target="report", note="moto keeps every execution and its history, as AWS does for 90 days; "
               f"the runtime keeps the newest {KEPT_INVOCATIONS} invocations",
               extra={"rss_after_rounds_mb": after}),
    ]  # fmt: skip


def figures(assembly: Path, *, runs: int, executions: int) -> list[Any]:
    """The rows of the table: ours beside plain moto, each target measured alone."""
    from .figures import Figure

    ours, moto = Measured([], [], [], [], []), Measured([], [], [], [], [])
    for _ in range(runs):  # the targets take turns, so that what else runs on the machine hits both
        for target, measured in ((embedded(assembly), ours), (PLAIN_MOTO, moto)):
            measure(target, executions=executions, into=measured)
    first, throughput, ready = Sample.of(ours.first_answer_s), Sample.of(ours.throughput_s), Sample.of(ours.ready_s)
    latency, moto_latency = Sample.of(ours.latency_ms), Sample.of(moto.latency_ms)
    callback, moto_callback = Sample.of(ours.callback_ms), Sample.of(moto.callback_ms)
    return [
        Figure("`local serve --assembly` (the demo's) → ready (its export line)", "s", ready,
               "plain moto's first answer", Sample.of(moto.first_answer_s), "≤ 2 s", ready.median <= 2),
        Figure("process start → first API answer", "s", first, "plain `moto_server`",
               Sample.of(moto.first_answer_s), "≤ 1.5 s", first.median <= 1.5),
        Figure(f"one execution of a {PASS_CHAIN}-Pass chain, start → `SUCCEEDED` seen", "ms", latency,
               "plain `moto_server`", moto_latency, "≤ 40 ms", latency.median <= 40),
        Figure(f"{executions} such executions started by 4 threads, until all ended", "s", throughput,
               "plain `moto_server`", Sample.of(moto.throughput_s), "≤ 1.5 s", throughput.median <= 1.5),
        Figure("`SendTaskSuccess` → `SUCCEEDED` seen (an SQS callback task)", "ms", callback,
               "plain `moto_server`", moto_callback, "≤ 10 ms", callback.median <= 10),
    ]  # fmt: skip


if __name__ == "__main__":  # `python -m bench.emulators ASSEMBLY [RUNS]`: one quick look, nothing written
    assembly, turns = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1
    for row in figures(assembly, runs=turns, executions=int(os.environ.get("EXECUTIONS", "200"))):
        print(row.name, row.ours, row.reference, flush=True)
