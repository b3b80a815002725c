"""The operator commands of `pausable-sfn`: start, paused, resume, fail, heartbeat, approval-link, graph, history.

They work on any state machine whose steps pause at `.waitForTaskToken` tasks (--state-machine ARN),
or on the one a deployed stack names in its outputs (--stack), on AWS or on the embedded AWS, through
boto3. What they know of an app (its default stack, its outputs, the input fields of `start --manual`
and `--job-duration`, the manual flag of its payload) comes from the AppConventions the caller passes:
`pausable-sfn` passes the demo's; a flag that needs what the conventions leave out is not offered.
Exit codes: 0 done, 1 the operation failed (the message says why), 2 usage error, 130 interrupted.
Every failure a person can cause is one line on stderr, never a traceback. What a person copies
(ARNs, names, tokens, commands) is printed unwrapped, whatever the width of the terminal.
"""

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..contracts import MAX_CONCURRENCY, MAX_JOB_DURATION_SECONDS, MAX_TASK_WAIT_SECONDS
from ..durations import DurationError, parse_duration
from .conventions import NO_APP, AppConventions

if TYPE_CHECKING:  # imported when a command runs: boto3 is slow to import, and --help needs none of it
    from .operations import Operations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# An ARN for the examples: any state machine whose steps pause at .waitForTaskToken tasks.
EXAMPLE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:Orders"

# Each command's one-line description and examples, shown by `pausable-sfn COMMAND --help`.
HELP: dict[str, tuple[str, list[str]]] = {
    "start": (
        "Start an execution of the pausable workflow, or of any state machine; with --wait, follow it until it "
        "ends or pauses.",
        [
            "pausable-sfn start --manual --name order-42 --wait",
            """pausable-sfn start --job-duration 2.5 --input '{"ticket": "T-1"}' --json""",
            f"""pausable-sfn start --state-machine {EXAMPLE_ARN} --input '{{"order": 42}}' --wait""",
        ],
    ),
    "paused": (
        "List the executions waiting at a .waitForTaskToken task: name, state, start, time paused, mode, "
        "correlation key, token fingerprint.",
        [
            "pausable-sfn paused",
            "pausable-sfn paused --manual-only --json",
            f"pausable-sfn paused --state-machine {EXAMPLE_ARN}",
        ],
    ),
    "resume": (
        "Resume a paused execution (SendTaskSuccess) with the live task token read from its history, in whichever "
        "state it waits.",
        [
            """pausable-sfn resume order-42 --output '{"approved": true}'""",
            f"pausable-sfn resume order-42 --state-machine {EXAMPLE_ARN}",
            'pausable-sfn resume --token "$TASK_TOKEN" --via-lambda',
            f"pausable-sfn resume --key order-42 --state-machine {EXAMPLE_ARN}",
            "pausable-sfn resume --key 5f0c2a4e-job --via-lambda",
            "pausable-sfn resume --all-paused --manual-only",
        ],
    ),
    "fail": (
        "Fail a paused execution (SendTaskFailure) with an error name and a cause.",
        [
            'pausable-sfn fail order-43 --error Rejected --cause "out of stock"',
            f'pausable-sfn fail order-43 --state-machine {EXAMPLE_ARN} --error Rejected --cause "out of stock"',
            'pausable-sfn fail --token "$TASK_TOKEN" --error Rejected --cause "out of stock"',
            'pausable-sfn fail --key order-43 --error Rejected --cause "out of stock"',
        ],
    ),
    "heartbeat": (
        "Tell Step Functions that a paused task is alive (SendTaskHeartbeat), before its heartbeat timeout.",
        [
            "pausable-sfn heartbeat order-43",
            f"pausable-sfn heartbeat order-43 --state-machine {EXAMPLE_ARN}",
            'pausable-sfn heartbeat --token "$TASK_TOKEN"',
            "pausable-sfn heartbeat --key order-43",
        ],
    ),
    "approval-link": (
        "Print a fresh link to the approval page of an execution that waits for a person, to send through chat or "
        "mail: the page shows the request and decides only on its Approve or Reject button.",
        [
            "pausable-sfn approval-link order-42",
            "pausable-sfn approval-link order-42 --expires 2h --json",
            f"pausable-sfn approval-link order-42 --state-machine {EXAMPLE_ARN} --approval-function RequestApproval",
        ],
    ),
    "graph": (
        "Draw an execution on its state machine's graph, the path it took coloured as the AWS console colours it "
        "(a waiting task in violet), into an HTML or SVG file that opens offline.",
        [
            "pausable-sfn graph order-42",
            "pausable-sfn graph order-42 -o order-42.svg",
            f"pausable-sfn graph order-42 --state-machine {EXAMPLE_ARN} -o ticket-1234.html",
        ],
    ),
    "history": (
        "Show an execution's timeline: milliseconds since its start, state, event, error and cause.",
        [
            "pausable-sfn history order-42",
            "pausable-sfn history order-42 --json",
            f"pausable-sfn history order-42 --state-machine {EXAMPLE_ARN}",
        ],
    ),
}


def add_operator_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]", conventions: AppConventions = NO_APP
) -> None:
    """Adds start, paused, resume, fail, heartbeat, approval-link, graph and history to the `pausable-sfn`
    parser, with the flags that `conventions` make possible."""
    common = argparse.ArgumentParser(add_help=False)
    which = common.add_mutually_exclusive_group()
    # No default here: argparse could not tell `--stack X --state-machine Y` from --state-machine alone.
    default_stack = f" (default {conventions.stack})" if conventions.stack else ""
    which.add_argument("--stack", help=f"the deployed stack whose outputs name the state machine{default_stack}")
    which.add_argument(
        "--state-machine",
        metavar="ARN",
        help="the state machine's ARN, instead of a stack: any state machine that pauses at .waitForTaskToken tasks",
    )
    common.add_argument(
        "--region", help="AWS region (default: that of the --state-machine ARN, or AWS_REGION, or your profile's)"
    )
    common.add_argument("--profile", help="AWS profile (default: AWS_PROFILE)")
    common.add_argument("--json", action="store_true", help="machine-readable output")

    outputs = conventions.outputs
    start = commands.add_parser("start", parents=[common], help="start an execution")
    start.set_defaults(manual=False, job_duration=None)
    if conventions.manual_input:
        start.add_argument("--manual", action="store_true", help="wait for a person to resume it")
    if conventions.job_duration_input:
        start.add_argument(
            "--job-duration",
            type=_duration,
            metavar="S",
            help=f"seconds the emulated job takes (0 to {MAX_JOB_DURATION_SECONDS}, e.g. 2.5)",
        )
    start.add_argument(
        "--input", type=_json_object, metavar="JSON", help="the execution input (options above add to it)"
    )
    start.add_argument("--name", help="the execution name (default: a UUID)")
    start.add_argument("--wait", action="store_true", help="show progress until it ends or pauses")

    paused = commands.add_parser("paused", parents=[common], help="list executions waiting for a task token callback")
    paused.set_defaults(manual_only=False)
    if conventions.manual_flag:
        paused.add_argument(
            "--manual-only",
            action="store_true",
            help=f"only those waiting for a person ({conventions.manual_flag} in the payload)",
        )
    paused.add_argument("--show-token", action="store_true", help="print each full task token (a credential!)")

    resume = commands.add_parser("resume", parents=[common], help="resume a paused execution (SendTaskSuccess)")
    _target(resume).add_argument("--all-paused", action="store_true", help="every paused execution")
    resume.add_argument("--output", metavar="JSON", help='the task output (default {"resumed": true})')
    resume.set_defaults(via_lambda=False, manual_only=False)
    if outputs and outputs.resume_function:
        resume.add_argument(
            "--via-lambda", action="store_true", help="invoke ResumeStepFunctionLambda, as a person would"
        )
    if conventions.manual_flag:
        resume.add_argument("--manual-only", action="store_true", help="with --all-paused: only manual executions")
    resume.add_argument(
        "--concurrency",
        type=_concurrency,
        default=8,
        metavar="N",
        help=f"with --all-paused: calls at once (default 8, at most {MAX_CONCURRENCY})",
    )

    fail = commands.add_parser("fail", parents=[common], help="fail a paused execution (SendTaskFailure)")
    _target(fail)
    fail.add_argument("--error", required=True, help="the error name the execution fails with")
    fail.add_argument("--cause", required=True, help="why")

    heartbeat = commands.add_parser("heartbeat", parents=[common], help="send a heartbeat for a paused execution")
    _target(heartbeat)

    link = commands.add_parser(
        "approval-link", parents=[common], help="a fresh link to the approval page of an execution waiting for a person"
    )
    _target(link, by_key=False)
    link.add_argument(
        "--expires",
        type=_lifetime,
        metavar="DURATION",
        help="how long the link works, e.g. 30m, 2h, 1d (default, and at most: until the task times out)",
    )
    link.add_argument(
        "--approval-function",
        metavar="NAME",
        help=f"the approval function (default: the stack's {outputs.approval_function} output; needed with "
        "--state-machine)"
        if outputs and outputs.approval_function
        else "the approval function (HumanApproval's request_function)",
    )

    graph = commands.add_parser("graph", parents=[common], help="an execution drawn on its state machine's graph")
    graph.add_argument("execution", help="execution ARN or name")
    graph.add_argument(
        "-o", "--output", metavar="FILE", help="the file to write, .html or .svg (default: <execution name>.html)"
    )

    history = commands.add_parser("history", parents=[common], help="an execution's timeline")
    history.add_argument("execution", help="execution ARN or name")

    for name in HELP:
        document(commands.choices[name], *HELP[name])


def _target(parser: argparse.ArgumentParser, *, by_key: bool = True) -> argparse._MutuallyExclusiveGroup:
    """Which task: an execution's (its token is read from its history), the task of a token, or
    (`by_key`) the task that waits on a correlation key."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("execution", nargs="?", help="execution ARN or name")
    target.add_argument("--token", help="the task token itself (a credential: it is never printed)")
    if by_key:
        target.add_argument(
            "--key",
            metavar="KEY",
            help="the correlation key (a business id) the paused task waits on, as `paused` lists it",
        )
    else:
        parser.set_defaults(key=None)
    return target


def document(parser: argparse.ArgumentParser, description: str, examples: list[str]) -> None:
    """Its description and those of `examples` whose options it has (an app's conventions may leave
    out `--manual`, say)."""
    # Set here rather than at each add_parser, so that one table holds the help text of every command.
    parser.description = description
    offered = [
        example
        for example in examples
        if all(word in parser._option_string_actions for word in example.split() if word.startswith("--"))
    ]
    parser.epilog = "examples:\n" + "\n".join(f"  {example}" for example in offered)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter


def _duration(text: str) -> int | float:
    """Seconds as the state machine takes them (any number in range); an integer stays one."""
    try:
        seconds: int | float = int(text)
    except ValueError:
        try:
            seconds = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_JOB_DURATION_SECONDS):
        raise argparse.ArgumentTypeError(f"a job takes 0 to {MAX_JOB_DURATION_SECONDS} seconds, not {text}")
    return seconds


def _lifetime(text: str) -> int:
    """A duration as people write it (90s, 15m, 2h, 1d; a bare number is seconds), in whole seconds."""
    try:
        seconds = parse_duration(text)
    except DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not 60 <= seconds <= MAX_TASK_WAIT_SECONDS:
        raise argparse.ArgumentTypeError(f"a link lasts from a minute to a year, not {text}")
    return seconds


def _concurrency(text: str) -> int:
    number = _integer(text, "a whole number")
    if not 1 <= number <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"from 1 to {MAX_CONCURRENCY}, not {number}")
    return number


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON: {error.msg} at character {error.pos}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("the execution input must be a JSON object")
    return value


def operate(args: argparse.Namespace, conventions: AppConventions = NO_APP) -> int:
    """Runs an operator command, for the app the conventions describe (those its parser was built
    with). Whatever a person can get wrong ends here as one line on stderr."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .operations import OperationError, Operations, UsageError, describe_client_error

    # Progress and spinners go to stderr, so that stdout holds the result alone, for a script or a pipe.
    progress = Console(stderr=True, quiet=args.json)
    try:
        operations = Operations(
            stack=args.stack,
            state_machine=args.state_machine,
            region=args.region,
            profile=args.profile,
            conventions=conventions,
        )
        code = COMMANDS[args.command](operations, args, progress)
        sys.stdout.flush()  # here, where a closed pipe can still be caught
        return code
    except UsageError as error:
        return _failed(error, EXIT_USAGE)
    except OperationError as error:
        return _failed(error, EXIT_FAILED)
    except ClientError as error:  # one no operation classified: what AWS said, rather than a traceback
        return _failed(describe_client_error(error), EXIT_FAILED)
    except BotoCoreError as error:
        return _failed(error, EXIT_FAILED)
    except KeyboardInterrupt:
        return _failed("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader has gone (`| head`): nothing to say, and the flush at exit must not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def _failed(reason: object, code: int) -> int:
    # Plain print, one line: an ARN in it stays whole, and a log reader gets one record.
    print(f"pausable-sfn: {' '.join(str(reason).split())}", file=sys.stderr)
    return code


def timestamp(moment: datetime) -> str:
    """The one date format of every output, human or JSON: ISO 8601 in UTC, with its zone."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _emit(args: argparse.Namespace, data: Any, human: str) -> None:
    # Plain print, not rich: an ARN must not be wrapped where a script or a person copies it.
    print(json.dumps(data, default=_jsonable) if args.json else human)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> str:
    """Columns aligned with spaces, one line per row, never wrapped (unlike a rich Table, which folds
    an ARN or a token to the terminal's width): whole to copy, and to grep or cut in a pipe."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = []
    for row in (headers, *rows):
        cells = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _start(operations: "Operations", args: argparse.Namespace, progress: Console) -> int:
    execution_input = dict(args.input or {})
    conventions = operations.conventions
    if args.manual and conventions.manual_input:
        execution_input.update(conventions.manual_input)
    if args.job_duration is not None and conventions.job_duration_input:
        execution_input[conventions.job_duration_input] = args.job_duration
    started = operations.start(execution_input, args.name)
    arn = started["executionArn"]
    if not args.wait:
        _emit(args, {"executionArn": arn, "startDate": started["startDate"]}, arn)
        return EXIT_OK
    try:
        status = _wait(operations, arn, progress)
    except KeyboardInterrupt:
        return _failed(f"stopped waiting; the execution goes on: {arn}", EXIT_INTERRUPTED)
    _emit(args, {"executionArn": arn, "status": status}, f"{arn}\n{status}")
    return EXIT_OK if status in ("SUCCEEDED", "PAUSED") else EXIT_FAILED


def _wait(operations: "Operations", arn: str, progress: Console) -> str:
    """Polls until the execution ends or pauses; 'PAUSED' or its final status. Paused means its
    task has handed its token off (TaskSubmitted): a task only scheduled may still fail and be
    retried (a PausableTask's registrar that could not reach AWS), with no task waiting meanwhile."""
    began = time.monotonic()
    with progress.status("starting", spinner="dots") as spinner:
        while True:
            status = operations.describe(arn)["status"]
            if status != "RUNNING":
                return status
            task = operations.scheduled_task(arn)
            if task is not None and task.submitted:
                return "PAUSED"
            spinner.update(f"running · {time.monotonic() - began:.1f} s")
            time.sleep(0.2)


def _paused(operations: "Operations", args: argparse.Namespace, progress: Console) -> int:
    from ..contracts import fingerprint
    from .operations import LINE_PLACES, in_line

    now = datetime.now(UTC)
    executions = list(operations.paused(manual_only=args.manual_only))
    tokens = [None if e.token is None else e.token if args.show_token else fingerprint(e.token) for e in executions]
    # The mode is meaningful only where the payload has the conventions' manual flag.
    modes = [None if e.manual is None else "manual" if e.manual else "automatic" for e in executions]
    paused_for = [round((now - e.scheduled_at).total_seconds()) for e in executions]
    places = in_line(executions)
    if args.json:
        rows = [
            {
                "name": e.name,
                "executionArn": e.arn,
                "state": e.state,
                "startedAt": timestamp(e.started_at),
                "pausedForSeconds": seconds,
                "mode": mode,
                "correlationKey": e.key,
                # true: behind the task that holds the key; null: put in line, may hold it now
                "inLine": places[e.arn],
                "taskToken": token,
                **({"tokenProblem": e.token_problem} if e.token_problem else {}),
            }
            for e, token, mode, seconds in zip(executions, tokens, modes, paused_for, strict=True)
        ]
        print(json.dumps(rows))
        return EXIT_OK
    if not executions:
        print("no execution is paused at a .waitForTaskToken task")
        return EXIT_OK
    cells = [
        (
            e.name,
            e.state,
            timestamp(e.started_at),
            f"{seconds} s",
            mode or "-",
            "-" if e.key is None else f"{e.key}{LINE_PLACES[places[e.arn]]}",
            token or "? (see --json)",
        )
        for e, token, mode, seconds in zip(executions, tokens, modes, paused_for, strict=True)
    ]
    print(f"{len(executions)} paused at a .waitForTaskToken task")
    headers = ("NAME", "STATE", "STARTED AT", "PAUSED FOR", "MODE", "KEY", "TASK TOKEN")
    print(_table(headers, cells, right=(3,)))
    return EXIT_OK


@dataclass(frozen=True)
class Task:
    """The task a command names, found."""

    token: str = field(repr=False)  # a credential: never printed
    # How the output names it: the execution given, the token's fingerprint, or the key and the
    # execution found waiting on it; never the token.
    named: str
    facts: dict[str, Any] = field(default_factory=dict)  # for --json: the key, the execution found by it


def _task(operations: "Operations", args: argparse.Namespace) -> Task:
    """The task named by the execution, by --token or by --key."""
    from ..contracts import fingerprint

    # `is None`, not `or`: an empty --token is a token of the wrong length, not a missing one.
    if args.token is not None:
        return Task(args.token, f"the task of token {fingerprint(args.token)}")
    if args.key is not None:
        found = operations.paused_on_key(args.key)
        return Task(found.token or "", *_by_key(args.key, found.arn, found.name))
    return Task(operations.token_of(args.execution), args.execution)


def _by_key(key: str, execution_arn: str | None, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """How the output names the task found waiting on `key`, and its --json facts."""
    waiting = f"waiting on key '{key}'"
    if execution_arn is None:
        return f"the task {waiting}", {"correlationKey": key}
    name = name or execution_arn.rsplit(":", 1)[-1]
    return f"{name} ({waiting})", {"correlationKey": key, "executionArn": execution_arn}


def _resume(operations: "Operations", args: argparse.Namespace, progress: Console) -> int:
    from .operations import UsageError, parse_output

    output = parse_output(args.output)
    if args.via_lambda and args.state_machine is not None:  # said before the token is looked for
        raise UsageError("--via-lambda invokes the stack's ResumeStepFunctionLambda: pass --stack, not --state-machine")
    if args.all_paused:
        return _resume_all(operations, args, progress, output)
    if args.via_lambda and args.key is not None:
        # The resume function finds the token in its channel's registry: none is read here.
        task = Task("", *_by_key(args.key, operations.resume_key_via_lambda(args.key, output)))
    else:
        task = _task(operations, args)
        if args.via_lambda:
            operations.resume_via_lambda(task.token, output)
        else:
            operations.resume(task.token, output)
    _emit(args, {"resumed": task.named, **task.facts, "viaLambda": args.via_lambda}, f"resumed {task.named}")
    return EXIT_OK


def _resume_all(operations: "Operations", args: argparse.Namespace, progress: Console, output: str | None) -> int:
    columns = (TextColumn("resuming"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=progress) as bar:
        task = bar.add_task("resume", total=0)
        report = operations.resume_all(
            manual_only=args.manual_only,
            concurrency=args.concurrency,
            output=output,
            on_found=lambda found: bar.update(task, total=found),
            on_done=lambda: bar.advance(task),
        )
    data = {
        "resumed": report.resumed,
        "alreadyDone": report.already_done,
        "failed": report.failed,
        "apiCalls": operations.calls,
    }
    human = f"resumed {report.resumed}, already done {report.already_done}, failed {len(report.failed)}"
    _emit(args, data, "\n".join([human, *report.failed]))
    return EXIT_FAILED if report.failed else EXIT_OK


def _fail(operations: "Operations", args: argparse.Namespace, progress: Console) -> int:
    task = _task(operations, args)
    operations.fail(task.token, args.error, args.cause)
    _emit(args, {"failed": task.named, **task.facts, "error": args.error}, f"failed {task.named}: {args.error}")
    return EXIT_OK


def _heartbeat(operations: "Operations", args: argparse.Namespace, progress: Console) -> int:
    task = _task(operations, args)
    operations.heartbeat(task.token)
    _emit(args, {"heartbeat": task.named, **task.facts}, f"heartbeat sent for {task.named}")
    return EXIT_OK


def _approval_link(operations: "Operations", args: argparse.Namespace, progress: Console) -> int:
    task = _task(operations, args)
    link = operations.approval_link(task.token, function=args.approval_function, expires_in=args.expires)
    # The URL alone on its line: people copy it whole.
    _emit(
        args,
        {"url": link.url, "expiresAt": link.expires_at},
        f"approval link for {task.named}, expires {link.expires_at}:\n{link.url}",
    )
    return EXIT_OK


def _graph(operations: "Operations", args: argparse.Namespace, progress: Console) -> int:
    from pathlib import Path

    from .operations import UsageError

    name = args.execution.rsplit(":", 1)[-1]
    target = Path(args.output) if args.output else Path(f"{name}.html")
    if target.suffix.lower() not in (".html", ".svg"):
        raise UsageError(f"-o names an .html or .svg file, not {target.name}")
    drawing = operations.graph(args.execution, svg_only=target.suffix.lower() == ".svg")
    try:
        target.write_text(drawing, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror}") from None
    _emit(args, {"file": str(target)}, f"wrote {target} ({len(drawing) // 1024 + 1} KB): open it in a browser, offline")
    return EXIT_OK


def _history(operations: "Operations", args: argparse.Namespace, progress: Console) -> int:
    description, entries = operations.history(args.execution)
    dates = {key: description[key] for key in ("startDate", "stopDate") if description.get(key)}
    ending = {key: description.get(key) for key in ("status", "error", "cause") if description.get(key)}
    if args.json:
        events = [entry.__dict__ for entry in entries]
        data = {"executionArn": description["executionArn"], **dates, **ending, "events": events}
        print(json.dumps(data, default=_jsonable))
        return EXIT_OK
    print(description["executionArn"])
    labels = {"startDate": "started", "stopDate": "stopped"}
    print("  ".join(f"{labels[key]} {timestamp(value)}" for key, value in dates.items()))
    rows = [(f"+{entry.elapsed_ms}", entry.state, entry.event, entry.detail) for entry in entries]
    print(_table(("MS", "STATE", "EVENT", "ERROR / DETAIL"), rows, right=(0,)))
    print(" ".join(str(value) for value in ending.values()))
    return EXIT_OK


COMMANDS = {
    "start": _start,
    "paused": _paused,
    "resume": _resume,
    "fail": _fail,
    "heartbeat": _heartbeat,
    "approval-link": _approval_link,
    "graph": _graph,
    "history": _history,
}
