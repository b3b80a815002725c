"""The embedded Lambda runtime: each function's invocations run in execution environments of their
own, as on Lambda.

An execution environment is a process (lambda_worker.py) that imports the handler from the
function's asset once (a cold start) and then serves one invocation at a time while it stays warm.
Invocations of a function run concurrently, each in an idle environment or a new one, up to
`max_environments` per function (beyond that they wait for one to be free: see the known
differences in docs/embedded-aws.md). A function with reserved concurrency is throttled beyond
it, as on Lambda: the invocation is refused (ThrottledError) rather than kept waiting. Each
environment sees only its function's environment variables. An invocation that outlives its
function's timeout is ended, its environment discarded, and it is reported as Lambda reports it
(Sandbox.Timedout). What the code writes to stdout and stderr goes, with Lambda's
START/END/REPORT lines, to the environment's log stream in the function's log group.

A function registered again (its code or configuration changed) or unregistered (deleted) no
longer gets the environments it had: the idle ones end at once, the busy ones when their
invocation does. Code that came as a zip (`unpack`) is extracted into the runtime's scratch
folder, once per content, and removed with it by stop().
"""

import hashlib
import io
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from .clock import active as active_clock
from .clock import current_time

WORKER = Path(__file__).with_name("lambda_worker.py")
# Lambda gives a function's init phase 10 seconds; a process start and its imports fit in that.
INIT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_ENVIRONMENTS = 10
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
# The error types Lambda gives an invocation that its environment did not finish.
TIMED_OUT, EXITED = "Sandbox.Timedout", "Runtime.ExitError"
LOGGER = logging.getLogger("pausable_sfn.local")


class FunctionNotFoundError(LookupError):
    pass


class ThrottledError(RuntimeError):
    """Lambda refused the invocation: as many as the function's reserved concurrency already run."""

    reason = "ReservedFunctionConcurrentInvocationLimitExceeded"

    def __init__(self, function: str, reserved: int) -> None:
        super().__init__(f"Rate Exceeded. ({function} has a reserved concurrency of {reserved}, all in use)")
        self.function = function
        self.reserved = reserved


@dataclass
class FunctionConfig:
    name: str
    arn: str
    handler: str
    asset_dir: Path
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    log_group: str
    # Asynchronous invocation (SNS → Lambda): attempts after the first, and where a failed event goes.
    max_retry_attempts: int = 2
    dead_letter_arn: str | None = None
    on_failure_arn: str | None = None
    # ReservedConcurrentExecutions: invocations beyond it are throttled (None: the account's pool).
    reserved_concurrency: int | None = None
    # Why this runtime cannot run the function's code (a runtime that is not Python, a container
    # image): each invocation fails with it, as Lambda fails one whose init failed (None: it can).
    unsupported: str | None = None


@dataclass(frozen=True)
class Invocation:
    function: str
    request_id: str
    started_at: float
    duration_ms: float
    payload: bytes
    error_type: str | None = None
    log_lines: tuple[str, ...] = ()
    log_stream: str = ""
    cold_start: bool = False

    @property
    def failed(self) -> bool:
        return self.error_type is not None

    def result(self) -> Any:
        return json.loads(self.payload) if self.payload else None


# (function, log stream, lines): where an invocation's log lines go.
LogSink = Callable[[FunctionConfig, str, list[str]], None]


class RuntimeStoppedError(RuntimeError):
    pass


def clock_offset() -> float:
    clock = active_clock()
    return 0.0 if clock is None else clock.offset


class _EndedError(Exception):
    """The environment's process ended (crashed, or was killed) before it answered."""


class ExecutionEnvironment:
    """One warm (or starting) process of one function."""

    def __init__(self, config: FunctionConfig, environment: dict[str, str], scratch: Path) -> None:
        self.config = config
        self.id = uuid.uuid4().hex
        self.log_stream = f"{datetime.fromtimestamp(current_time(), UTC):%Y/%m/%d}/[$LATEST]{self.id}"
        self._log_path = scratch / f"{self.id}.log"
        self._log = self._log_path.open("a+b")
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        # -B: the deployed asset is read-only on Lambda (/var/task); here it is a folder of the cloud
        # assembly, shared by every deployment of it, which must stay as synthesized.
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-B", "-P", str(WORKER), *([config.unsupported] if config.unsupported else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=config.asset_dir,
            env={**environment, "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream},
        )
        assert self._process.stdout is not None
        threading.Thread(target=self._read_answers, args=(self._process.stdout,), daemon=True).start()

    def _read_answers(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._answers.put(json.loads(line))
        self._answers.put(None)

    def _answer(self, timeout: float) -> dict[str, Any]:
        try:
            answer = self._answers.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise TimeoutError from None
        if answer is None:
            raise _EndedError
        return answer

    def wait_ready(self, timeout: float) -> None:
        self._answer(timeout)

    def invoke(self, request_id: str, event_json: str, deadline: float) -> dict[str, Any]:
        """The worker's answer; TimeoutError past the deadline, _EndedError if the process died."""
        request = {
            "requestId": request_id,
            "event": event_json,
            "remainingMs": int((deadline - time.monotonic()) * 1000),
            "invokedFunctionArn": self.config.arn,
            # How far the embedded AWS's clock is ahead of the wall clock: the handler's time.time()
            # and datetime.now() follow it (its timeout, like remainingMs, stays real time).
            "clockOffset": clock_offset(),
        }
        assert self._process.stdin is not None
        try:
            self._process.stdin.write((json.dumps(request) + "\n").encode())
            self._process.stdin.flush()
        except OSError:
            raise _EndedError from None
        return self._answer(deadline - time.monotonic())

    def take_log_lines(self) -> list[str]:
        """What the process wrote since the last call (it is idle or gone: nothing writes meanwhile)."""
        self._log.seek(0)
        text = self._log.read().decode("utf-8", errors="replace")
        self._log.truncate(0)
        return text.splitlines()

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()

    def stop(self) -> None:
        self.kill()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        self._log.close()
        self._log_path.unlink(missing_ok=True)


class _Environments:
    """A function's environments: warm ones are reused, newest first, as Lambda tends to."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.idle: list[ExecutionEnvironment] = []
        self.all: set[ExecutionEnvironment] = set()  # idle, busy and starting
        self.changed = threading.Condition()

    def take(self, *, busy_too: bool) -> tuple[list[ExecutionEnvironment], list[ExecutionEnvironment]]:
        """Takes the idle environments (and the busy ones) out of the pool: (idle, busy)."""
        with self.changed:
            idle = list(self.idle)
            busy = list(self.all.difference(idle)) if busy_too else []
            self.idle.clear()
            self.all.difference_update(idle, busy)
            self.changed.notify_all()
        return idle, busy


@dataclass
class LambdaRuntime:
    region: str
    # AWS settings every handler sees: credentials, region, and the embedded AWS's endpoint.
    aws_environment: dict[str, str]
    log_sink: LogSink | None = None
    max_environments: int = DEFAULT_MAX_ENVIRONMENTS
    functions: dict[str, FunctionConfig] = field(default_factory=dict)
    # The newest invocations, for tests to look at: a long session keeps no more than about
    # `kept_invocations` of them (their payloads and log lines), so its memory stays bounded. Once
    # it is trimmed, positions in it move: past that many, find an invocation by its request id.
    invocations: list[Invocation] = field(default_factory=list)
    kept_invocations: int = 10_000

    def __post_init__(self) -> None:
        self._pools: dict[str, _Environments] = {}
        self._lock = threading.Lock()
        # Invocations under way per function, those waiting for an environment included: what
        # Lambda counts against a reserved concurrency.
        self._running: dict[str, int] = {}
        self._throttles: dict[str, int] = {}
        self._billed_ms: dict[str, float] = {}
        # The environments' log files; made with the first environment, removed by stop().
        self.scratch: Path | None = None
        self._stopped = False

    def register(self, config: FunctionConfig) -> None:
        """Makes a function invokable; its first invocation starts its first environment (a cold start).
        A function registered again runs in new environments from then on, as after an update on Lambda."""
        with self._lock:
            replaced = self.functions.get(config.name)
            self.functions[config.name] = config
            pool = self._pools.setdefault(config.name, _Environments(self.max_environments))
        if replaced is not None and replaced is not config:
            self._end_idle(pool)

    def unregister(self, name: str) -> None:
        """The function is no longer invokable (FunctionNotFoundError); an invocation under way ends as it would."""
        with self._lock:
            self.functions.pop(name, None)
            pool = self._pools.get(name)
        if pool is not None:
            self._end_idle(pool)

    def unpack(self, code: bytes) -> Path:
        """A function's code (a zip) extracted into this runtime's scratch folder, once per content
        (functions with the same code share it): the folder to give as its `asset_dir`.
        zipfile.BadZipFile if it is not a zip (zlib.error, EOFError, ... if it is a damaged one)."""
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            folder = self._scratch_folder() / "code" / hashlib.sha256(code).hexdigest()
            if folder.is_dir():
                return folder
            folder.parent.mkdir(exist_ok=True)
            # Extracted beside it, then renamed: an environment never sees a half-written folder.
            partial = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".partial-"))
            try:
                archive.extractall(partial)  # names leading out of the folder are cut back into it
                partial.rename(folder)
            except OSError:
                if not folder.is_dir():
                    raise
                # Extracted meanwhile by another thread: that copy stays.
            finally:
                shutil.rmtree(partial, ignore_errors=True)
        return folder

    def find(self, name_or_arn: str) -> FunctionConfig:
        # Accepts a name, a full or partial ARN, with or without a qualifier.
        parts = name_or_arn.split(":")
        name = parts[6] if len(parts) >= 7 and parts[5] == "function" else parts[0]
        if len(parts) == 3 and parts[1] == "function":
            name = parts[2]
        try:
            return self.functions[name]
        except KeyError:
            raise FunctionNotFoundError(f"Function not found: {name_or_arn}") from None

    def invoke(self, name_or_arn: str, event: Any, *, request_id: str | None = None) -> Invocation:
        """Runs one invocation and returns it; ThrottledError if the function's reserved
        concurrency is in use. `request_id`: one the caller has already announced (a function URL's)."""
        clock = active_clock()
        if clock is None:
            return self._invoke_counted(name_or_arn, event, request_id)
        with clock.busy():  # the clock does not move while code runs
            return self._invoke_counted(name_or_arn, event, request_id)

    def _invoke_counted(self, name_or_arn: str, event: Any, request_id: str | None) -> Invocation:
        config = self.find(name_or_arn)
        with self._lock:
            running = self._running.get(config.name, 0)
            if config.reserved_concurrency is not None and running >= config.reserved_concurrency:
                self._throttles[config.name] = self._throttles.get(config.name, 0) + 1
                raise ThrottledError(config.name, config.reserved_concurrency)
            self._running[config.name] = running + 1
        try:
            return self._invoke(config, event, request_id or str(uuid.uuid4()))
        finally:
            with self._lock:
                self._running[config.name] -= 1

    def _invoke(self, config: FunctionConfig, event: Any, request_id: str) -> Invocation:
        started_at = current_time()
        started = time.monotonic()
        environment, cold = self._acquire(config)
        healthy = False
        try:
            payload, error_type, extra = self._run(config, environment, request_id, event, cold=cold)
            healthy = error_type not in (TIMED_OUT, EXITED)
            if not healthy:
                environment.kill()  # before its log is read: nothing may write to it afterwards
            duration_ms = (time.monotonic() - started) * 1000
            lines = environment.take_log_lines() + extra
        finally:
            self._release(config, environment, healthy=healthy)
        invocation = Invocation(
            function=config.name,
            request_id=request_id,
            started_at=started_at,
            duration_ms=duration_ms,
            payload=payload,
            error_type=error_type,
            log_lines=tuple(lines),
            log_stream=environment.log_stream,
            cold_start=cold,
        )
        with self._lock:
            self.invocations.append(invocation)
            self._billed_ms[config.name] = self._billed_ms.get(config.name, 0.0) + duration_ms
            if len(self.invocations) > self.kept_invocations * 1.1:  # trimmed now and then, not at every call
                del self.invocations[: len(self.invocations) - self.kept_invocations]
        if self.log_sink is not None:
            try:
                self.log_sink(config, environment.log_stream, platform_lines(invocation, config))
            except Exception:  # the invocation happened: a log that cannot be written must not undo it
                LOGGER.exception("the log lines of %s could not be written", request_id)
        return invocation

    def _run(
        self, config: FunctionConfig, environment: ExecutionEnvironment, request_id: str, event: Any, *, cold: bool
    ) -> tuple[bytes, str | None, list[str]]:
        """The payload, the error type (None: it succeeded) and lines the platform adds to the log."""
        try:
            if cold:
                # Lambda's init phase: the process starts and imports the handler (Lambda allows
                # 10 s, then tries again within the invocation's own time).
                environment.wait_ready(INIT_TIMEOUT_SECONDS + config.timeout_seconds)
            answer = environment.invoke(request_id, json.dumps(event), time.monotonic() + config.timeout_seconds)
            return answer["payload"].encode(), answer["errorType"], []
        except TimeoutError:
            # Lambda stops the sandbox at the timeout; the next invocation gets a fresh one.
            message = f"{request_id} Task timed out after {config.timeout_seconds:.2f} seconds"
            stamp = datetime.fromtimestamp(current_time(), UTC).isoformat(timespec="milliseconds")
            return _error(TIMED_OUT, message), TIMED_OUT, [f"{stamp} {message}"]
        except _EndedError:
            message = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
            return _error(EXITED, message), EXITED, [message]

    def billed_ms(self, function: str | None = None) -> float:
        """Every invocation's duration since the start, the forgotten ones too."""
        with self._lock:
            return sum(ms for name, ms in self._billed_ms.items() if function is None or name == function)

    def environments(self, function: str) -> int:
        """How many environments the function has now (warm or busy)."""
        pool = self._pools[self.find(function).name]
        with pool.changed:
            return len(pool.all)

    def throttles(self, function: str) -> int:
        """How many invocations of the function were throttled (Lambda's Throttles metric)."""
        name = self.find(function).name
        with self._lock:
            return self._throttles.get(name, 0)

    def stop_idle(self) -> None:
        """Ends the environments no invocation uses now, as Lambda reclaims idle ones: the next
        invocation of their function starts cold."""
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            self._end_idle(pool)

    @staticmethod
    def _end_idle(pool: _Environments) -> None:
        idle, _ = pool.take(busy_too=False)
        for environment in idle:
            environment.stop()

    def stop(self) -> None:
        """Ends every environment and removes their files; an invocation still running ends as
        its environment does (Runtime.ExitError)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            pools = list(self._pools.values())
        for pool in pools:
            idle, busy = pool.take(busy_too=True)
            for environment in idle:
                environment.stop()
            for environment in busy:
                environment.kill()  # its invocation reads what it logged, then stops it
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _scratch_folder(self) -> Path:
        with self._lock:
            if self._stopped:
                raise RuntimeStoppedError("the embedded Lambda runtime has stopped")
            if self.scratch is None:
                self.scratch = Path(tempfile.mkdtemp(prefix="pausable-sfn-lambda-"))
            return self.scratch

    def _acquire(self, config: FunctionConfig) -> tuple[ExecutionEnvironment, bool]:
        """An idle warm environment, or a new one (cold: not ready yet), once the limit allows."""
        pool = self._pools[config.name]
        with pool.changed:
            while not pool.idle and len(pool.all) >= pool.limit and not self._stopped:
                pool.changed.wait()
            if self._stopped:
                raise RuntimeStoppedError("the embedded Lambda runtime has stopped")
            if pool.idle:
                return pool.idle.pop(), False
            environment = ExecutionEnvironment(config, self._environment_of(config), self._scratch_folder())
            pool.all.add(environment)
            return environment, True

    def _release(self, config: FunctionConfig, environment: ExecutionEnvironment, *, healthy: bool) -> None:
        pool = self._pools[config.name]
        with pool.changed:
            # An environment of a function since updated or deleted is not used again.
            keep = healthy and not self._stopped and self.functions.get(config.name) is environment.config
            if keep:
                pool.idle.append(environment)
            else:
                pool.all.discard(environment)
            pool.changed.notify()
        if not keep:
            environment.stop()

    def _environment_of(self, config: FunctionConfig) -> dict[str, str]:
        """What Lambda sets in a function's environment, its own variables, and the embedded AWS's settings;
        nothing of this process's environment (the user's AWS profile and files included)."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(config.asset_dir),
            "LAMBDA_RUNTIME_DIR": str(WORKER.parent),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{PYTHON_VERSION}",
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "_HANDLER": config.handler,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            **self.aws_environment,
            **config.environment,
        }


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def platform_lines(invocation: Invocation, config: FunctionConfig) -> list[str]:
    """The invocation's log as Lambda writes it: what the code wrote, between START/END/REPORT."""
    billed = max(1, round(invocation.duration_ms))
    status = "\tStatus: timeout" if invocation.error_type == TIMED_OUT else ""
    return [
        f"START RequestId: {invocation.request_id} Version: $LATEST",
        *invocation.log_lines,
        f"END RequestId: {invocation.request_id}",
        f"REPORT RequestId: {invocation.request_id}\tDuration: {invocation.duration_ms:.2f} ms\t"
        f"Billed Duration: {billed} ms\tMemory Size: {config.memory_mb} MB{status}",
    ]
