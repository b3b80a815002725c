"""`make demo`: the real app on the embedded local AWS, every flow a user meets, end to end.

It synthesizes the app, deploys the cloud assembly into the embedded AWS, and runs each flow
as a user would on AWS: it starts executions, shows the job id that an automatic one waits on
(the external service calls back by it, never with the token), and resumes a manual one by
invoking ResumeStepFunctionLambda with the token read from the execution's TaskScheduled event. The last
flow waits out the app's real 7-day manual timeout: the demo advances the embedded AWS's clock.
"""

import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .app.conventions import DEMO
from .app.names import RESUME_FUNCTION_OUTPUT, STATE_MACHINE_ARN_OUTPUT
from .contracts import fingerprint
from .local.deployer import Deployment
from .local.embedded import EmbeddedAws
from .ops.history import timeline, waiting_task
from .ops.operations import OperationError, Operations
from .testing import approval_form
from .testing.polling import Snapshot, wait_for

DEMO_JOB_SECONDS = 3
FLOW_TIMEOUT_SECONDS = 60
# The events a person follows; the Pass and Choice exits in between add nothing to read.
SHOWN_EVENTS = {
    "ExecutionStarted",
    "PassStateEntered",
    "ChoiceStateEntered",
    "TaskStateEntered",
    "TaskScheduled",
    "TaskSubmitted",
    "TaskSucceeded",
    "TaskFailed",
    "TaskTimedOut",
    "FailStateEntered",
    "ExecutionSucceeded",
    "ExecutionFailed",
    "ExecutionTimedOut",
    "ExecutionAborted",
}


@dataclass(frozen=True)
class Flow:
    title: str
    input: dict[str, Any]
    explanation: str
    expected_status: str
    expected_error: str | None = None
    # Set for a flow that a person resumes: what they send besides the token.
    callback: dict[str, Any] | None = None
    # Set for a flow that a person decides on the approval page: approve or reject.
    decision_by_link: str | None = None
    # Set for a flow that nobody resumes: how far the demo moves the embedded AWS's clock once it pauses.
    clock_advance: timedelta | None = None
    # Set for a flow whose task waits on a correlation key: the demo shows the key and the callback by it.
    by_key: bool = False


FLOWS = (
    Flow(
        "Automatic callback",
        {"IsManualCallback": "False", "JobDurationSeconds": DEMO_JOB_SECONDS},
        f"pauses; the emulated external job calls back by itself, by the job's id, after {DEMO_JOB_SECONDS} s",
        "SUCCEEDED",
        by_key=True,
    ),
    Flow(
        "Manual callback",
        {"IsManualCallback": "True"},
        "stays paused until a person invokes ResumeStepFunctionLambda with its task token",
        "SUCCEEDED",
        callback={},
    ),
    Flow(
        "Rejected job",
        {"IsManualCallback": "True"},
        "a person resumes it with status FAILED, so ResumeStepFunctionLambda calls SendTaskFailure",
        "FAILED",
        expected_error="JobRejected",
        callback={"status": "FAILED", "error": "JobRejected", "cause": "The reviewer rejected the job."},
    ),
    Flow(
        "Approval by link",
        {"IsManualCallback": "True", "ticket": "T-1"},
        "a person opens the approval link and presses Approve (an HTTP POST, as the page's form sends it)",
        "SUCCEEDED",
        decision_by_link="approve",
    ),
    Flow(
        "Invalid input",
        {"IsManualCallback": "maybe"},
        "the state machine refuses it before any Lambda runs",
        "FAILED",
        expected_error="InvalidInput",
    ),
    Flow(
        "Nobody resumes it",
        {"IsManualCallback": "True"},
        "nobody resumes it: its real 7-day timeout fires, as the demo advances the embedded AWS's clock a week",
        "FAILED",
        expected_error="LongJobTimedOut",
        clock_advance=timedelta(days=7),
    ),
)


@dataclass
class Outcome:
    flow: Flow
    status: str = "NOT STARTED"
    error: str | None = None
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def as_expected(self) -> bool:
        expected = (self.flow.expected_status, self.flow.expected_error)
        return not self.problems and (self.status, self.error) == expected


class Demo:
    def __init__(self, aws: EmbeddedAws, deployment: Deployment, console: Console) -> None:
        self.aws = aws
        self.sfn = aws.client("stepfunctions")
        self.deployment = deployment
        self.console = console

    def run(self, number: int, flow: Flow) -> Outcome:
        outcome = Outcome(flow)
        self.console.print()
        self.console.rule(f"[bold]{number}. {flow.title}[/]  input {json.dumps(flow.input)}", align="left")
        self.console.print(f"   {flow.explanation}")
        started = time.monotonic()
        arn = self.sfn.start_execution(
            stateMachineArn=self.deployment.outputs[STATE_MACHINE_ARN_OUTPUT],
            name=f"demo-{flow.title.lower().replace(' ', '-')}-{uuid.uuid4().hex[:8]}",
            input=json.dumps(flow.input),
        )["executionArn"]
        try:
            if flow.by_key:
                self._show_key(arn, started, outcome)
            if flow.callback is not None:
                self._resume_by_hand(arn, flow.callback, started, outcome)
            if flow.decision_by_link is not None:
                self._decide_by_link(arn, flow.decision_by_link, started, outcome)
            if flow.clock_advance is not None:
                self._let_time_pass(arn, flow.clock_advance, started, outcome)
            final = self._wait(arn, started, lambda snapshot: False)
        except TimeoutError as error:
            outcome.problems.append(str(error))
            final = Snapshot(self.sfn, arn, "RUNNING")
        outcome.seconds = time.monotonic() - started
        description = self.sfn.describe_execution(executionArn=arn)
        outcome.status, outcome.error = description["status"], description.get("error")
        self._report(description, final, outcome)
        return outcome

    def _resume_by_hand(self, arn: str, callback: dict[str, Any], started: float, outcome: Outcome) -> None:
        paused = self._wait(arn, started, lambda snapshot: snapshot.paused)
        time.sleep(0.5)  # long enough to see that nothing resumes it by itself
        status = self.sfn.describe_execution(executionArn=arn)["status"]
        token = paused.task_token
        if not paused.paused or status != "RUNNING" or token is None:
            outcome.problems.append(f"expected it to stay paused at Long job execution; it is {status}")
            return
        self.console.print(
            f"   still {status} after 0.5 s; task token {fingerprint(token)} read from its TaskScheduled event"
        )
        shown = json.dumps({"taskToken": "<token>", **callback})
        self.console.print(f"   invoking ResumeStepFunctionLambda with {shown}")
        response = self.aws.invoke(self.deployment.outputs[RESUME_FUNCTION_OUTPUT], {"taskToken": token, **callback})
        if "FunctionError" in response:
            outcome.problems.append(f"ResumeStepFunctionLambda failed: {response['Payload'].read().decode()}")

    def _show_key(self, arn: str, started: float, outcome: Outcome) -> None:
        paused = self._wait(arn, started, lambda snapshot: snapshot.paused)
        task = waiting_task(paused.events)
        if not paused.paused or task is None or task.key is None:
            outcome.problems.append(f"expected it to pause waiting on a job id; it is {paused.status}")
            return
        self.console.print(
            f"   waits on job id {task.key} (its correlation key); the job request holds the id, not the token"
        )
        callback = json.dumps({"correlationKey": task.key, "status": "SUCCEED", "output": {"...": "..."}})
        self.console.print(f"   the job will publish to CallbackToUnpauseSfnTopic: {callback}")

    def _decide_by_link(self, arn: str, decision: str, started: float, outcome: Outcome) -> None:
        paused = self._wait(arn, started, lambda snapshot: snapshot.paused)
        if not paused.paused or paused.task_token is None:
            outcome.problems.append(f"expected it to pause for a person; it is {paused.status}")
            return
        try:
            link = Operations(stack=self.deployment.stack_name, conventions=DEMO).approval_link(paused.task_token)
            self.console.print(
                f"   approval link, expires {link.expires_at} (it holds no token; opening it decides nothing):"
            )
            self.console.print(f"   {link.url}", soft_wrap=True)
            answer = approval_form.decide(link.url, decision, name="demo", comment="decided by make demo")
        except (OperationError, approval_form.NoFormError, OSError) as error:  # OSError: URLError and its kin
            outcome.problems.append(f"the approval by link failed: {error}")
            return
        self.console.print(f"   POST of the page's form ({decision}) → HTTP {answer.status}")
        if answer.status != 200:
            outcome.problems.append(f"the approval page answered HTTP {answer.status}")

    def _let_time_pass(self, arn: str, amount: timedelta, started: float, outcome: Outcome) -> None:
        paused = self._wait(arn, started, lambda snapshot: snapshot.paused)
        if not paused.paused:
            outcome.problems.append(f"expected it to pause; it is {paused.status}")
            return
        clock = self.aws.clock
        before, wall = clock.now(), time.monotonic()
        self.console.print(f"   paused at {before:%Y-%m-%d %H:%M:%S} UTC; advancing the clock {_duration(amount)}")
        after = clock.advance(amount)
        took = (time.monotonic() - wall) * 1000
        self.console.print(f"   the clock reads {after:%Y-%m-%d %H:%M:%S} UTC, {took:.0f} ms of wall time later")

    def _wait(self, arn: str, started: float, until: Callable[[Snapshot], bool]) -> Snapshot:
        with self.console.status("starting") as status:

            def show(snapshot: Snapshot) -> None:
                where = "paused at Long job execution" if snapshot.paused else snapshot.status.lower()
                status.update(f"{where} · {time.monotonic() - started:.1f} s")

            return wait_for(self.sfn, arn, until, timeout=FLOW_TIMEOUT_SECONDS, on_poll=show)

    def _report(self, description: dict[str, Any], final: Snapshot, outcome: Outcome) -> None:
        table = Table(box=None, padding=(0, 2), header_style="dim", pad_edge=False)
        for column, justify in (("after", "right"), ("state", "left"), ("event", "left"), ("", "left")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for entry in timeline(final.events):
            if entry.event not in SHOWN_EVENTS:
                continue
            table.add_row(_elapsed(entry.elapsed_ms), entry.state, entry.event, entry.detail)
        self.console.print(table)
        colour = "green" if outcome.as_expected else "red"
        result = f"[{colour}]{outcome.status}[/] in {outcome.seconds:.1f} s"
        if outcome.error:
            result += f": {outcome.error}: {description.get('cause', '')}"
        elif "output" in description:
            callback_output = json.loads(description["output"]).get("CallAsyncServiceStep")
            result += f"; $.CallAsyncServiceStep = {json.dumps(callback_output)}"
        self.console.print(f"   {result}")
        for problem in outcome.problems:
            self.console.print(f"   [red]{problem}[/]")


def _elapsed(milliseconds: int) -> str:
    """Time since the execution started, as the history's timestamps say: in milliseconds, or in
    days and hours once the clock has been moved (the virtual timeline of the last flow)."""
    if milliseconds < 60_000:
        return f"+{milliseconds} ms"
    days, rest = divmod(milliseconds, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"+{days} d {hours:02d}:{minutes:02d}:{rest / 1000:06.3f}"


def _duration(amount: timedelta) -> str:
    """A whole number of days, hours or minutes as people say it ("7 d"), else in seconds."""
    seconds = amount.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size:.0f} {unit}"
    return f"{seconds:g} s"


def run(console: Console, assembly_dir: Path | None = None) -> bool:
    """Runs every flow; True when each ended as expected."""
    from .app.cdk_app import synthesize

    began = time.monotonic()
    console.print("[bold]pausable-sfn demo[/]: the app deployed into an embedded local AWS (moto, in this process)")
    with console.status("synthesizing the CDK app"):
        if assembly_dir is None:
            assembly_dir = synthesize(tempfile.mkdtemp(prefix="pausable-sfn-"))
    console.print(f"   synthesized the cloud assembly into {assembly_dir} ({time.monotonic() - began:.1f} s)")
    with EmbeddedAws() as aws:
        deploying = time.monotonic()
        deployment = aws.deploy(assembly_dir)
        console.print(
            f"   deployed {len(deployment.resources)} resources of {deployment.stack_name} "
            f"into the embedded AWS ({time.monotonic() - deploying:.1f} s)"
        )
        demo = Demo(aws, deployment, console)
        outcomes = [demo.run(number, flow) for number, flow in enumerate(FLOWS, start=1)]
        aws.wait_idle()
        billed = aws.runtime.billed_ms()
    console.print()
    for outcome in outcomes:
        mark = "[green]as expected[/]" if outcome.as_expected else "[red]NOT as expected[/]"
        console.print(f"   {outcome.flow.title:<20} {outcome.status:<10} {outcome.seconds:5.1f} s   {mark}")
    console.print(
        f"   total {time.monotonic() - began:.1f} s; Lambda time of all flows {billed:.0f} ms "
        "(no Lambda runs while a job does)"
    )
    return all(outcome.as_expected for outcome in outcomes)
