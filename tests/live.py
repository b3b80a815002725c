"""`make test-live`: the end-to-end suite against a real AWS deployment, then clean-up.

It deploys the app twice with the pinned CDK CLI (as is, and a copy with short timeouts for
the timeout and heartbeat scenarios), runs `tests/e2e` with PAUSABLE_SFN_TARGET=aws, and destroys
both stacks afterwards, even when tests fail (`--keep` leaves them up). Executions are named after
a run id.

The copy exists for AWS alone: there the scenarios wait in real time, and nobody waits the app's
7 days for a timeout. On the embedded AWS (`make test`) the same scenarios run on the app's real
timeouts, its clock skipping the wait.
"""

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pausable_sfn import PROJECT_ROOT
from pausable_sfn.app.names import STACK_NAME

SHORT_STACK = f"{STACK_NAME}ShortTimeouts"
# Short enough that the timeout scenarios take seconds on AWS, long enough that they hold when one
# API call takes 2 s (a heartbeat sent every second keeps well inside 5 s).
SHORT_TIMEOUTS = {"longJobTimeoutSeconds": 12, "manualResumeTimeoutSeconds": 12, "longJobHeartbeatSeconds": 5}
STACKS = {STACK_NAME: {}, SHORT_STACK: SHORT_TIMEOUTS}
BIN = Path(sys.executable).parent

Runner = Callable[[Sequence[str], dict[str, str]], int]


def credentials_problem() -> str | None:
    """Why no AWS call can be made, or None. Asks STS who we are: fast, free, and needs no permission."""
    try:
        boto3.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        return (
            f"make test-live needs AWS credentials and a region ({error}). Set AWS_PROFILE (or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION, and bootstrap the account once "
            "with `make bootstrap`. `make test` never needs AWS."
        )
    return None


def _context_arguments(stack: str, context: dict[str, int]) -> list[str]:
    arguments = ["-c", f"stackName={stack}"]
    for key, value in context.items():
        arguments += ["-c", f"{key}={value}"]
    return arguments


def _run(command: Sequence[str], environment: dict[str, str]) -> int:
    return subprocess.run(command, cwd=PROJECT_ROOT, env=environment, check=False).returncode


def run_live(*, keep: bool, run_id: str, runner: Runner = _run) -> int:
    environment = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    cdk = str(PROJECT_ROOT / "node_modules" / ".bin" / "cdk")
    deployed: list[str] = []
    try:
        for stack, context in STACKS.items():
            deployed.append(stack)
            command = [cdk, "deploy", stack, "--require-approval", "never", *_context_arguments(stack, context)]
            if runner(command, environment) != 0:
                print(f"test-live: deploying {stack} failed", file=sys.stderr)
                return 1
        test_environment = {
            **environment,
            "PAUSABLE_SFN_TARGET": "aws",
            "PAUSABLE_SFN_RUN_ID": run_id,
            "PAUSABLE_SFN_SHORT_STACK": SHORT_STACK,
        }
        return runner([str(BIN / "python"), "-m", "pytest", "tests/e2e", "-p", "no:cacheprovider"], test_environment)
    finally:
        if keep:
            print(f"test-live: left up (--keep): {', '.join(deployed)}; `make destroy` removes them", file=sys.stderr)
        else:
            for stack in reversed(deployed):
                command = [cdk, "destroy", stack, "--force", *_context_arguments(stack, STACKS[stack])]
                if runner(command, environment) != 0:
                    print(f"test-live: destroying {stack} failed: delete it by hand", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make test-live", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the stacks deployed after the tests")
    args = parser.parse_args(argv)
    problem = credentials_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    run_id = f"live-{datetime.now(UTC):%Y%m%d%H%M%S}"
    print(f"test-live: run {run_id}", file=sys.stderr)
    return run_live(keep=args.keep, run_id=run_id)


if __name__ == "__main__":
    sys.exit(main())
