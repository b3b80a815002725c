"""An in-process Lambda runtime: runs a deployed function's handler from its asset.

Each call gets that function's environment variables, a context like Lambda's, and boto3 aimed at
the embedded AWS. An exception becomes Lambda's error payload with FunctionError "Unhandled".
What the handler logs is collected per invocation and written to the function's log group.
"""

import importlib
import io
import json
import os
import sys
import threading
import time
import traceback
import types
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class FunctionNotFoundError(LookupError):
    pass


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


@dataclass(frozen=True)
class Invocation:
    function: str
    request_id: str
    started_at: float
    duration_ms: float
    payload: bytes
    error_type: str | None = None
    log_lines: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.error_type is not None

    def result(self) -> Any:
        return json.loads(self.payload) if self.payload else None


@dataclass
class LambdaContext:
    """What a handler receives as `context`: the fields of the Python runtime's LambdaContext."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class _OutputRouter(io.TextIOBase):
    """The stream the handlers' loggers write to: what an invocation logs is kept for its log
    stream (per thread); anything else goes to the process's real stdout."""

    def __init__(self) -> None:
        self._local = threading.local()

    @property
    def passthrough(self) -> Any:
        return sys.__stdout__

    @contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        buffer = io.StringIO()
        self._local.buffer = buffer
        try:
            yield buffer
        finally:
            self._local.buffer = None

    def write(self, text: str) -> int:
        buffer = getattr(self._local, "buffer", None)
        return (buffer or self.passthrough).write(text)

    def flush(self) -> None:
        if getattr(self._local, "buffer", None) is None:
            self.passthrough.flush()


# One for the process: a Powertools Logger keeps the stream it found when it was first created,
# and later runtimes (a second embedded AWS in the same process) reuse that logger.
_ROUTER = _OutputRouter()

# (function, log stream, lines): where an invocation's log lines go, in the stream its context names.
LogSink = Callable[[FunctionConfig, str, list[str]], None]


@dataclass
class LambdaRuntime:
    region: str
    account_id: str
    # AWS settings every handler sees: credentials, region, and the endpoint in server mode.
    aws_environment: dict[str, str]
    log_sink: LogSink | None = None
    functions: dict[str, FunctionConfig] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)

    def __post_init__(self) -> None:
        # One invocation at a time: handlers share this process's os.environ.
        self._lock = threading.RLock()
        self._packages: dict[Path, str] = {}
        self._handlers: dict[str, Callable[[Any, Any], Any]] = {}
        self._instance = uuid.uuid4().hex[:8]

    def register(self, config: FunctionConfig) -> None:
        """Registers a function and imports its handler now, as Lambda's init phase would."""
        self.functions[config.name] = config
        with self._lock, self._environment(config), self._stdout_routed():
            self._handler(config)

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

    def invoke(self, name_or_arn: str, event: Any) -> Invocation:
        config = self.find(name_or_arn)
        request_id = str(uuid.uuid4())
        log_stream = _log_stream_name(request_id)
        with self._lock, self._environment(config), _ROUTER.capture() as output:
            started = time.monotonic()
            context = LambdaContext(
                function_name=config.name,
                invoked_function_arn=config.arn,
                memory_limit_in_mb=config.memory_mb,
                aws_request_id=request_id,
                log_group_name=config.log_group,
                log_stream_name=log_stream,
                deadline=started + config.timeout_seconds,
            )
            error_type: str | None = None
            try:
                result = self._handler(config)(event, context)
                payload = json.dumps(result).encode()
            except Exception as error:
                error_type = type(error).__name__
                payload = _error_payload(error, request_id)
                print(f"[ERROR] {error_type}: {error}", file=output)
            duration_ms = (time.monotonic() - started) * 1000
            if error_type is None and duration_ms > config.timeout_seconds * 1000:
                # A thread cannot be stopped as Lambda stops a sandbox: the overrun is reported after the fact.
                error_type = "Sandbox.Timedout"
                message = f"{request_id} Task timed out after {config.timeout_seconds:.2f} seconds"
                payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        invocation = Invocation(
            function=config.name,
            request_id=request_id,
            started_at=time.time() - duration_ms / 1000,
            duration_ms=duration_ms,
            payload=payload,
            error_type=error_type,
            log_lines=tuple(output.getvalue().splitlines()),
        )
        self.invocations.append(invocation)
        if self.log_sink is not None:
            self.log_sink(config, log_stream, _platform_lines(invocation, config))
        return invocation

    def billed_ms(self, function: str | None = None) -> float:
        return sum(i.duration_ms for i in self.invocations if function is None or i.function == function)

    def _handler(self, config: FunctionConfig) -> Callable[[Any, Any], Any]:
        if config.name not in self._handlers:
            module_path, _, attribute = config.handler.rpartition(".")
            module = importlib.import_module(f"{self._package_for(config.asset_dir)}.{module_path}")
            self._handlers[config.name] = getattr(module, attribute)
        return self._handlers[config.name]

    def _package_for(self, asset_dir: Path) -> str:
        """A synthetic package whose path is the asset folder, so that each asset's modules are
        imported from the asset itself (not from the source tree) and once per runtime."""
        if asset_dir not in self._packages:
            name = f"_pausable_local_{self._instance}_{len(self._packages)}"
            package = types.ModuleType(name)
            package.__path__ = [str(asset_dir)]
            sys.modules[name] = package
            self._packages[asset_dir] = name
        return self._packages[asset_dir]

    @contextmanager
    def _environment(self, config: FunctionConfig) -> Iterator[None]:
        variables = {
            "AWS_LAMBDA_FUNCTION_NAME": config.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python_embedded",
            "_HANDLER": config.handler,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **self.aws_environment,
            **config.environment,
        }
        saved = {key: os.environ.get(key) for key in variables}
        os.environ.update(variables)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @contextmanager
    def _stdout_routed(self) -> Iterator[None]:
        """While a handler module is imported: a logger created now binds to the router. Only at
        registration, in the deploying thread, so that no other thread's output is rerouted."""
        previous, sys.stdout = sys.stdout, _ROUTER
        try:
            yield
        finally:
            sys.stdout = previous


def _log_stream_name(request_id: str) -> str:
    return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{request_id.replace('-', '')}"


def _error_payload(error: Exception, request_id: str) -> bytes:
    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "requestId": request_id,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
    ).encode()


def _platform_lines(invocation: Invocation, config: FunctionConfig) -> list[str]:
    billed = max(1, round(invocation.duration_ms))
    return [
        f"START RequestId: {invocation.request_id} Version: $LATEST",
        *invocation.log_lines,
        f"END RequestId: {invocation.request_id}",
        f"REPORT RequestId: {invocation.request_id}\tDuration: {invocation.duration_ms:.2f} ms\t"
        f"Billed Duration: {billed} ms\tMemory Size: {config.memory_mb} MB",
    ]
