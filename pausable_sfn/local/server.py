"""`python -m pausable_sfn local serve`: the app deployed into a moto server on 127.0.0.1.

The server runs in this process, so the in-process Lambda runtime and event delivery serve it
as they serve the embedded mode; the AWS CLI, boto3 and our own tools reach it through
AWS_ENDPOINT_URL=http://127.0.0.1:PORT.
"""

import logging
import signal
import socket
import tempfile
import threading
from pathlib import Path

from moto.server import ThreadedMotoServer
from rich.console import Console

from .embedded import EmbeddedAws

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class LocalServer:
    """A moto server with the app deployed in it; a context manager."""

    def __init__(self, *, port: int = 0, assembly_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.endpoint_url = f"http://{HOST}:{self.port}"
        self._assembly_dir = assembly_dir
        self._server = ThreadedMotoServer(ip_address=HOST, port=self.port, verbose=False)
        self.aws = EmbeddedAws(endpoint_url=self.endpoint_url)

    def __enter__(self) -> "LocalServer":
        # The server's access log would print a line per API call over the demo's own output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            self._server.start()
        except OSError as error:
            raise OSError(f"cannot listen on {self.endpoint_url}: {error.strerror}") from None
        try:
            self.aws.__enter__()
            assembly_dir = self._assembly_dir
            if assembly_dir is None:
                from ..cdk_app import synthesize

                assembly_dir = synthesize(tempfile.mkdtemp(prefix="pausable-sfn-"))
            self.deployment = self.aws.deploy(assembly_dir)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.aws.__exit__()
        self._server.stop()


def serve(*, port: int, console: Console, assembly_dir: Path | None = None, stop: threading.Event | None = None) -> int:
    with console.status("deploying" if assembly_dir else "synthesizing and deploying"):
        server = LocalServer(port=port, assembly_dir=assembly_dir).__enter__()
    try:
        console.print(f"[bold]pausable-sfn[/] deployed into a local moto server at [bold]{server.endpoint_url}[/]")
        for key, value in server.deployment.outputs.items():
            console.print(f"   {key:<32} {value}")
        console.print(
            f"\n   export AWS_ENDPOINT_URL={server.endpoint_url} AWS_REGION={server.aws.region} "
            "AWS_ACCESS_KEY_ID=embedded AWS_SECRET_ACCESS_KEY=embedded"
        )
        stop = stop or threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        console.print("   Ctrl-C (or SIGTERM) stops it.")
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping")
        server.__exit__()
    return 0
