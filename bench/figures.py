"""Each figure of the benchmark table, measured with the project's own tools."""

import html
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.app.conventions import DEMO
from pausable_sfn.app.names import STACK_NAME
from pausable_sfn.console.app import PAGE_SIZE
from pausable_sfn.local.deployer import _zip_folder
from pausable_sfn.local.embedded import EmbeddedAws
from pausable_sfn.local.runtime import FunctionConfig, LambdaRuntime
from pausable_sfn.ops.history import read_history
from pausable_sfn.ops.operations import Operations
from pausable_sfn.testing.polling import wait_for

from .measure import Sample, repeat, run_process

BIN = Path(sys.executable).parent
ORIGINAL_SLEEP_MS = 10_000.0  # the TypeScript demo's CallAsyncServiceLambda slept 10 s per execution


@dataclass
class Figure:
    name: str
    unit: str
    ours: Sample
    reference_name: str = ""
    reference: Sample | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        # A reference of nothing (no call, no Lambda time) has no ratio.
        return self.ours.median / self.reference.median if self.reference and self.reference.median else None


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def synth(runs: int) -> list[Figure]:
    cli = str(PROJECT_ROOT / "node_modules" / ".bin" / "cdk")
    memory: dict[str, list[float]] = {"app": [], "empty": []}

    def timed(folder: Path, key: str) -> Callable[[], float]:
        def one() -> float:
            with tempfile.TemporaryDirectory() as out:
                result = run_process([cli, "synth", "--quiet", "--output", out], cwd=folder, env=_env())
            memory[key].append(result.peak_rss_mb)
            return result.seconds

        return one

    ours = repeat(timed(PROJECT_ROOT, "app"), runs=runs)
    empty = repeat(timed(PROJECT_ROOT / "bench" / "empty_app", "empty"), runs=runs)
    ratio = ours.median / empty.median
    return [
        Figure("`cdk synth` of the whole app (pinned CLI, cdk-nag on)", "s", ours, "empty CDK Python app", empty,
               "≤ 1.6×", ratio <= 1.6),
        Figure("peak memory of `cdk synth` (largest process)", "MB", Sample.of(memory["app"][1:]),
               "empty CDK Python app", Sample.of(memory["empty"][1:]), "report"),
    ]  # fmt: skip


TEST_WORKERS = "3"  # as the Makefile runs it


def test_suite(runs: int) -> list[Figure]:
    def pytest(*paths: str) -> Callable[[], float]:
        command = [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", TEST_WORKERS, *paths]
        return lambda: run_process(command, cwd=PROJECT_ROOT, env=_env()).seconds

    whole = repeat(pytest(), runs=runs, warmup=0)
    e2e = repeat(pytest("tests/e2e"), runs=runs, warmup=0)
    name = f"`make test` without set-up (ruff aside; {TEST_WORKERS} workers)"
    return [
        Figure(name, "s", whole, target="≤ 90 s", met=whole.median <= 90),
        Figure("e2e part (`tests/e2e`)", "s", e2e, target="≤ 30 s", met=e2e.median <= 30),
    ]


def cold_imports(runs: int) -> list[Figure]:
    def importing(statement: str) -> Callable[[], float]:
        code = f"import sys; sys.path.insert(0, 'pausable_sfn/lambda_asset'); {statement}"
        return lambda: run_process([str(BIN / "python"), "-c", code], cwd=PROJECT_ROOT).seconds

    boto = repeat(importing("import boto3"), runs=runs)
    figures = []
    for module in ("call_async_service", "resume_step_function", "emulated_long_job"):
        ours = repeat(importing(f"import handlers.{module}"), runs=runs)
        figures.append(
            Figure(
                f"cold import of `handlers.{module}`",
                "s",
                ours,
                "`import boto3`",
                boto,
                "≤ 1.3×",
                ours.median / boto.median <= 1.3,
            )
        )
    return figures


def embedded_flows(assembly: Path, executions: int) -> list[Figure]:
    """Lambda time per automatic execution, and callback → SUCCEEDED latency, on the embedded AWS."""
    with EmbeddedAws() as aws:
        deployment = aws.deploy(assembly)
        sfn, sns = aws.client("stepfunctions"), aws.client("sns")
        machine, topic = deployment.outputs["StateMachineArn"], deployment.outputs["CallbackTopicArn"]

        def automatic() -> float:
            before = len(aws.runtime.invocations)
            arn = sfn.start_execution(stateMachineArn=machine, input='{"JobDurationSeconds": 0}')["executionArn"]
            wait_for(sfn, arn, lambda s: False, timeout=30, interval=0.01)
            aws.wait_idle()
            return sum(i.duration_ms for i in aws.runtime.invocations[before:])

        billed = repeat(automatic, runs=20, warmup=1)  # the warm-up run carries the handlers' imports

        latencies = []
        for _ in range(executions):
            arn = sfn.start_execution(stateMachineArn=machine, input='{"IsManualCallback": "True"}')["executionArn"]
            token = wait_for(sfn, arn, lambda s: s.paused, timeout=30, interval=0.005).task_token
            sent = time.time()
            sns.publish(TopicArn=topic, Message=json.dumps({"taskToken": token}))
            wait_for(sfn, arn, lambda s: False, timeout=30, interval=0.002)
            succeeded = read_history(sfn, arn)[-1]["timestamp"].timestamp()
            latencies.append((succeeded - sent) * 1000)
    percentiles = statistics.quantiles(latencies, n=100)
    reference = Sample(ORIGINAL_SLEEP_MS, ORIGINAL_SLEEP_MS, ORIGINAL_SLEEP_MS, 0)
    return [
        Figure("Lambda time billed per automatic execution (all handlers)", "ms", billed,
               "original design: 10 s sleep in the call Lambda", reference, "≤ 300 ms (> 30× less)",
               billed.median <= 300, note="reference is the original's fixed sleep, not a run"),
        Figure(f"callback → `SUCCEEDED` latency, p50 over {executions} executions", "ms",
               Sample.of([percentiles[49]]), target="report; guard against regressions",
               extra={"p50_ms": percentiles[49], "p99_ms": percentiles[98], "max_ms": max(latencies)}),
        Figure(f"callback → `SUCCEEDED` latency, p99 over {executions} executions", "ms",
               Sample.of([percentiles[98]]), target="report"),
    ]  # fmt: skip


def virtual_time(assembly: Path, runs: int, scaled_down_seconds: int = 10) -> list[Figure]:
    """A manual execution that nobody resumes, from its start to its end by the app's 7-day
    timeout, on the advanced clock; beside the same scenario in real time, the timeout scaled
    down to `scaled_down_seconds` (what a test had to do before the clock)."""
    from pausable_sfn.app.cdk_app import synthesize
    from pausable_sfn.app.settings import Settings

    week = Settings().manual_resume_timeout_seconds
    scaled = synthesize(
        tempfile.mkdtemp(prefix="pausable-sfn-scaled-"), {"manualResumeTimeoutSeconds": scaled_down_seconds}
    )
    with EmbeddedAws() as aws:
        sfn = aws.client("stepfunctions")
        machines = {
            "week": aws.deploy(assembly).outputs["StateMachineArn"],
            "scaled": aws.deploy(scaled, as_stack="ScaledDown").outputs["StateMachineArn"],
        }

        def timed_out(machine: str, advance: float) -> float:
            started = time.perf_counter()
            arn = sfn.start_execution(stateMachineArn=machines[machine], input='{"IsManualCallback": "True"}')[
                "executionArn"
            ]
            wait_for(sfn, arn, lambda s: s.paused, timeout=30, interval=0.005)
            if advance:
                aws.clock.advance(advance)
            wait_for(sfn, arn, lambda s: False, timeout=scaled_down_seconds + 60, interval=0.005)
            if sfn.describe_execution(executionArn=arn)["error"] != "LongJobTimedOut":
                raise RuntimeError(f"{arn} did not end by its timeout")
            return time.perf_counter() - started

        ours = repeat(lambda: timed_out("week", week), runs=runs)
        reference = repeat(lambda: timed_out("scaled", 0), runs=2, warmup=0)
    return [
        Figure("a 7-day approval timeout, end to end, wall time (the clock advanced)", "s", ours,
               f"the same in real time, scaled down to {scaled_down_seconds} s", reference, "≤ 1 s",
               ours.median <= 1),
    ]  # fmt: skip


def user_session(runs: int) -> list[Figure]:
    """A user's test session as docs/testing-your-workflows.md writes it (the README's order app,
    its six tests and its mock file) run by plain `pytest`: the synth, the deploy and the tests;
    beside the synth of the same app alone, the part the plugin cannot make faster; and the same
    session with the app unchanged, whose assembly is reused: whole, and until its first test
    begins (the wait the plugin adds before a user's first test)."""
    from tests.readme import docs_example_project

    project = Path(tempfile.mkdtemp(prefix="pausable-sfn-user-session-"))
    docs_example_project(project)
    session = [str(BIN / "python"), "-m", "pytest", "-q"]
    ours = repeat(lambda: run_process([*session, "--pausable-sfn-synth"], cwd=project, env=_env()).seconds, runs=runs)
    # The warm-up run leaves the assembly in pytest's cache; the app does not change after it.
    reused = repeat(lambda: run_process(session, cwd=project, env=_env()).seconds, runs=runs)

    def until_first_test() -> float:
        # Outside the project: a file of the project is an input of the app, and a changed input
        # means a new synth (the first full run measured synths, 6.4 s, because of it).
        with tempfile.TemporaryDirectory(prefix="pausable-sfn-session-clock-") as folder:
            clock = Path(folder) / "first-test.txt"
            paths = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
            env = {**_env(), "PYTHONPATH": paths, "BENCH_SESSION_CLOCK": str(clock)}
            env["BENCH_SESSION_T0"] = str(time.time())
            run_process([*session, "-p", "bench.session_clock"], cwd=project, env=env)
            return float(clock.read_text())

    first_test = repeat(until_first_test, runs=runs)

    def synth_alone() -> float:
        with tempfile.TemporaryDirectory() as out:
            return run_process([str(BIN / "python"), "app.py"], cwd=project, env={**_env(), "CDK_OUTDIR": out}).seconds

    alone = repeat(synth_alone, runs=runs)
    return [
        Figure("a user's test session: the docs page's six tests of the README's app, by plain `pytest`", "s",
               ours, "the synth of that app alone (`python app.py`)", alone, "report"),
        Figure("the same session again, the app unchanged (its assembly reused from pytest's cache)", "s",
               reused, "the session with a synth", ours, "report"),
        Figure("that session's start, the app unchanged: `pytest` started → its first test begins", "s",
               first_test, "the whole session", reused, "≤ 3 s", first_test.median <= 3),
    ]  # fmt: skip


@contextmanager
def _served(assembly: Path, latency_ms: float = 0) -> Iterator[tuple[str, str]]:
    """`local serve` of the assembly in its own process: its endpoint and its console's address;
    AWS_ENDPOINT_URL names it meanwhile, as the README's `export` line would."""
    command = [str(BIN / "python"), "-m", "pausable_sfn", "local", "serve", "--port", "0", "--assembly", str(assembly)]
    if latency_ms:
        command += ["--latency", str(latency_ms)]
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    saved = {key: os.environ.get(key) for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    try:
        endpoint = console = ""
        output = server.stdout
        assert output is not None, "stdout=PIPE gives the server's output a pipe"
        while "stops it" not in (line := output.readline()):
            if not line:
                raise RuntimeError("local serve did not start")
            if "deployed into the embedded AWS at " in line:
                endpoint = line.split(" at ")[-1].strip()
            console = line.removeprefix("Console: ").strip() if line.startswith("Console: ") else console
        os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "embedded", "AWS_SECRET_ACCESS_KEY": "x"})
        yield endpoint, console
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)


def bulk_resume(assembly: Path, executions: int, latency_ms: float = 0, concurrency: int = 16) -> list[Figure]:
    """`resume --all-paused` against `local serve`, beside a naive loop, on the same server; with
    `latency_ms`, every API answer comes that much later, as over a network to AWS."""
    with _served(assembly, latency_ms) as (endpoint, _):
        naive_rate, naive_calls = _naive_loop(endpoint, _pause(endpoint, executions))
        operations = Operations(region="us-east-1", conventions=DEMO)
        _pause(endpoint, executions)
        operations.calls = 0
        started = time.perf_counter()
        report = operations.resume_all(concurrency=concurrency)
        seconds = time.perf_counter() - started
        if report.resumed != executions or report.failed:
            raise RuntimeError(f"resume --all-paused resumed {report.resumed} of {executions}: {report.failed[:3]}")
        ours_rate, ours_calls = executions / seconds, operations.calls / executions
    where = f"`local serve --latency {latency_ms:g}`" if latency_ms else "`local serve` (no latency)"
    rate = Figure(
        f"`resume --all-paused` over {executions} paused executions on {where}",
        "executions/s",
        Sample.of([ours_rate]),
        "naive loop: list, read each full history, send",
        Sample.of([naive_rate]),
    )
    if latency_ms:
        rate.target, rate.met = "≥ 3× the loop's rate", ours_rate / naive_rate >= 3
    else:
        rate.target, rate.note = "report", "one local process's CPU bounds both; see the row with latency"
    calls = Figure(
        f"AWS API calls per resumed execution, {where}",
        "calls",
        Sample.of([ours_calls]),
        "naive loop",
        Sample.of([naive_calls]),
        "≤ 2.1",
        ours_calls <= 2.1,
    )
    return [rate, calls]


def console_list(assembly: Path, executions: int, runs: int, page_size: int = PAGE_SIZE) -> list[Figure]:
    """The console's executions list on `local serve`: each page of `executions` paused ones
    (every one running, so each row shown reads its newest events), reached through its Older
    links, beside the one page of `page_size` paused executions, as a newcomer's first minutes."""

    def load(address: str) -> tuple[float, str]:
        started = time.perf_counter()
        with urllib.request.urlopen(address, timeout=120) as answer:
            page = answer.read().decode()
        return time.perf_counter() - started, page

    if executions < page_size:
        raise ValueError(f"the console's list is measured with at least {page_size} executions, not {executions}")
    with _served(assembly) as (endpoint, console):
        _pause(endpoint, page_size)
        few = repeat(lambda: load(console)[0] * 1000, runs=runs)
        _pause(endpoint, executions - page_size)
        timings, address, pages = [], console, 0
        while address:
            seconds, page = load(address)
            timings.append(seconds * 1000)
            pages += 1
            older = re.search(r'<a href="\./([^"]*)" rel="next">Older</a>', page)
            address = console + html.unescape(older.group(1)) if older else ""
    if pages != math.ceil(executions / page_size):
        raise RuntimeError(
            f"the console showed {executions} executions on {pages} pages, not {executions / page_size:.0f}"
        )
    many = Sample.of(timings)
    return [
        Figure(
            f"console executions list, each of the {pages} pages of {executions} paused executions",
            "ms",
            many,
            f"the one page of {page_size}",
            few,
            "≤ 2× the one page",
            many.median <= 2 * few.median,
        )
    ]


LONG_HANDLER = """
import time

def handler(event, context):
    time.sleep(event.get("seconds", 0))
    return {"slept": event.get("seconds", 0)}
"""


def lambda_runtime(assembly: Path, runs: int, work_seconds: float = 10.0) -> list[Figure]:
    """The embedded Lambda runtime: a cold start of the app's resume function (a new process that
    imports Powertools and boto3) beside a warm invocation, and three invocations of a handler that
    works `work_seconds`, started together, beside one alone."""
    template = json.loads((assembly / f"{STACK_NAME}.template.json").read_text())
    resume = next(
        r["Properties"]
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and logical_id.startswith("ResumeStepFunctionLambda")
    )
    app_asset = assembly / f"asset.{resume['Code']['S3Key'].removesuffix('.zip')}"
    with tempfile.TemporaryDirectory() as folder:
        asset = Path(folder)
        (asset / "long.py").write_text(LONG_HANDLER)
        runtime = LambdaRuntime(region="us-east-1", aws_environment={})
        for name, handler, code in (("long", "long.handler", asset), ("resume", resume["Handler"], app_asset)):
            runtime.register(
                FunctionConfig(
                    name=name,
                    arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                    handler=handler,
                    asset_dir=code,
                    environment={},
                    timeout_seconds=int(work_seconds) + 30,
                    memory_mb=128,
                    log_group=f"/aws/lambda/{name}",
                )
            )
        try:
            cold = []
            for _ in range(runs):
                runtime.stop_idle()
                cold.append(runtime.invoke("resume", {}).duration_ms)  # refused at once: init is the cost
            warm = [runtime.invoke("resume", {}).duration_ms for _ in range(runs)]

            def at_once(count: int) -> float:
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=count) as pool:
                    list(pool.map(lambda _: runtime.invoke("long", {"seconds": work_seconds}), range(count)))
                return time.perf_counter() - started

            alone, three = at_once(1), at_once(3)
        finally:
            runtime.stop()
    return [
        Figure("invocation of ResumeStepFunctionLambda in a new execution environment (cold start)", "ms",
               Sample.of(cold), "a warm environment", Sample.of(warm), target="report"),
        Figure(f"three {work_seconds:g}-second invocations started together", "s", Sample.of([three]),
               "one alone", Sample.of([alone]), "≤ 1.2× one alone (they run concurrently)", three <= 1.2 * alone),
    ]  # fmt: skip


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"mode": "adaptive"})
    )


def _pause(endpoint: str, executions: int) -> list[str]:
    sfn = _client(endpoint, "stepfunctions")
    [stack] = _client(endpoint, "cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"]
    machine = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "StateMachineArn")
    arns = [sfn.start_execution(stateMachineArn=machine, input='{"IsManualCallback": "True"}')["executionArn"]
            for _ in range(executions)]  # fmt: skip
    for arn in arns:
        wait_for(sfn, arn, lambda s: s.paused, timeout=120, interval=0.02)
    return arns


def _naive_loop(endpoint: str, arns: list[str]) -> tuple[float, float]:
    """What a script without this project would do: list, read each whole history, send."""
    sfn = _client(endpoint, "stepfunctions")
    calls = 0

    def count(**_: Any) -> None:
        nonlocal calls
        calls += 1

    sfn.meta.events.register("before-call", count)
    [stack] = _client(endpoint, "cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"]
    machine = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "StateMachineArn")
    started = time.perf_counter()
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine, statusFilter="RUNNING")
    running = [execution for page in pages for execution in page["executions"]]
    for execution in running:
        events = read_history(sfn, execution["executionArn"])
        scheduled = [e for e in events if e["type"] == "TaskScheduled"][-1]
        token = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])["Payload"]["taskToken"]
        sfn.send_task_success(taskToken=token, output="{}")
    seconds = time.perf_counter() - started
    return len(running) / seconds, calls / len(running)


# The handlers' own code, zipped, and nothing else (no library: Powertools comes as a layer). It
# was 32 KB for five functions; callbacks by key (issue 23) added three handlers, 38 KB in all.
MAX_ASSET_KB = 48


def asset_size(assembly: Path) -> list[Figure]:
    template = json.loads((assembly / f"{STACK_NAME}.template.json").read_text())
    functions = {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function"
    }
    figures = []
    for logical_id, resource in functions.items():
        key = resource["Properties"]["Code"]["S3Key"].removesuffix(".zip")
        size_kb = len(_zip_folder(assembly / f"asset.{key}")) / 1024
        name = logical_id[:-8]  # CDK appends an 8-character hash to the construct path
        figures.append(Figure(f"asset of `{name}` (zip)", "KB", Sample.of([size_kb]), target=f"≤ {MAX_ASSET_KB} KB",
                              met=size_kb <= MAX_ASSET_KB,
                              note=f"one asset, shared by the {len(functions)} functions"))  # fmt: skip
    return figures
