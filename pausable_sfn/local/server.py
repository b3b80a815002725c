"""`python -m pausable_sfn local serve`: a CDK app's stack deployed into the embedded AWS, served
over HTTP on 127.0.0.1 for the AWS CLI, boto3 and our own tools (AWS_ENDPOINT_URL=...).

It serves any synthesized assembly (`--assembly DIR --stack NAME`); without `--assembly` it
synthesizes this project's app first, into a temporary folder that is removed when it stops.
"""

import contextlib
import shlex
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .assembly import AssemblyError
from .deployer import DeployError
from .embedded import CREDENTIALS, EmbeddedAws
from .endpoint import PortInUseError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Mount:
    """A web application served beside the AWS APIs under `prefix` (a console, say): `build`
    makes it from the embedded AWS's client factory once the stack is deployed."""

    title: str
    prefix: str
    build: Callable[[Callable[[str], Any]], Any]


# Synthesizes the default app into a folder and returns the assembly's path (the CLI passes ours).
Synthesizer = Callable[[Path], Path]
Say = Callable[[str], None]  # prints one whole line


class LocalServer:
    """The embedded AWS in server mode with one stack deployed in it; a context manager."""

    def __init__(
        self,
        *,
        port: int = 0,
        assembly_dir: Path | None = None,
        stack_name: str | None = None,
        synthesize: Synthesizer | None = None,
        latency_ms: float = 0,
    ) -> None:
        if assembly_dir is None and synthesize is None:
            raise ValueError("LocalServer needs an assembly_dir or a synthesize function")
        self._assembly_dir = assembly_dir
        self._stack_name = stack_name
        self._synthesize = synthesize
        self._scratch: Path | None = None
        self.aws = EmbeddedAws(in_process=False, port=port, latency_ms=latency_ms)

    @property
    def endpoint_url(self) -> str:
        return self.aws.endpoint_url

    @property
    def synthesizes(self) -> bool:
        return self._assembly_dir is None

    def __enter__(self) -> "LocalServer":
        self.aws.__enter__()
        try:
            assembly_dir = self._assembly_dir
            if assembly_dir is None:
                assert self._synthesize is not None
                self._scratch = Path(tempfile.mkdtemp(prefix="pausable-sfn-"))
                try:
                    assembly_dir = self._synthesize(self._scratch)
                except Exception as error:  # the app's own error (jsii reports it as one)
                    raise AssemblyError(f"the app could not be synthesized: {error}") from None
            self.deployment = self.aws.deploy(assembly_dir, stack_name=self._stack_name)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.aws.__exit__()
        finally:
            if self._scratch is not None:
                shutil.rmtree(self._scratch, ignore_errors=True)

    def export_line(self) -> str:
        """The shell line that points the AWS CLI, boto3 and pausable-sfn at this server."""
        variables = {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": self.aws.region,
            "AWS_DEFAULT_REGION": self.aws.region,  # boto3 and the AWS CLI v1 read only this one
            "AWS_ACCESS_KEY_ID": CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }
        return "export " + " ".join(f"{key}={shlex.quote(value)}" for key, value in variables.items())


def serve(
    *,
    port: int,
    say: Say = lambda line: print(line, flush=True),
    complain: Say,
    assembly_dir: Path | None = None,
    stack_name: str | None = None,
    synthesize: Synthesizer | None = None,
    latency_ms: float = 0,
    stop: threading.Event | None = None,
    mounts: Sequence[Mount] = (),
) -> int:
    """Runs until Ctrl-C or SIGTERM (or `stop`). Lines go out whole (`say`), never wrapped: people
    copy the export line and the ARNs from them. A signal during the deploy stops it right after,
    with everything cleaned up."""
    server = LocalServer(
        port=port, assembly_dir=assembly_dir, stack_name=stack_name, synthesize=synthesize, latency_ms=latency_ms
    )
    stop = stop or threading.Event()
    previous = _stop_on_signals(stop)
    try:
        return _serve(stop, say, complain, server, mounts)
    finally:
        _set_handlers(previous)


def _serve(stop: threading.Event, say: Say, complain: Say, server: LocalServer, mounts: Sequence[Mount]) -> int:
    say("synthesizing and deploying…" if server.synthesizes else "deploying…")
    try:
        server.__enter__()
    except PortInUseError as error:
        complain(f"{error} (--port N picks another; --port 0 a free one)")
        return EXIT_USAGE
    except (AssemblyError, DeployError) as error:
        complain(f"cannot deploy: {error}")
        return EXIT_FAILED
    except OSError as error:
        complain(str(error))
        return EXIT_FAILED
    # Ctrl-C and SIGTERM set `stop` (no KeyboardInterrupt): a signal during the deploy ends here.
    try:
        if not stop.is_set():
            say(f"{server.deployment.stack_name} deployed into the embedded AWS at {server.endpoint_url}")
            for mount in mounts:
                server.aws.endpoint.mount(mount.prefix, mount.build(server.aws.client))
                say(f"{mount.title}: {server.endpoint_url}{mount.prefix}/")
            for key, value in server.deployment.outputs.items():
                say(f"   {key:<32} {value}")
            if server.aws.endpoint.latency_ms:
                say(f"   every API answer is delayed by {server.aws.endpoint.latency_ms:g} ms (--latency)")
            say("")
            say(f"   {server.export_line()}")
            say("   Ctrl-C (or SIGTERM) stops it.")
        # Not one endless wait: a signal the OS hands to another thread runs its Python handler
        # only when the main thread next runs, and a wait without a timeout would never return.
        while not stop.wait(0.2):
            pass
    finally:
        say("stopping")
        server.__exit__()
    return EXIT_OK


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop_on_signals(stop: threading.Event) -> dict[int, Any]:
    """Ctrl-C and SIGTERM stop the server the same way, even where the shell started it with
    SIGINT ignored (a background job): the previous handlers are returned, to be put back."""
    previous: dict[int, Any] = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    _set_handlers(dict.fromkeys(STOP_SIGNALS, lambda signum, frame: stop.set()))
    return previous


def _set_handlers(handlers: dict[int, Any]) -> None:
    # Outside the main thread (a test runs serve in a thread) the handlers stay as they were.
    with contextlib.suppress(ValueError):
        for number, handler in handlers.items():
            signal.signal(number, handler)
