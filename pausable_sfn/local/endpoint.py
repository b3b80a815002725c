"""The embedded AWS's HTTP endpoint on 127.0.0.1: moto's server application in a thread of this
process, so it serves the same backends as the in-process mock.

The Lambda execution environments (processes) call AWS through it, and so do the AWS CLI, boto3
and our tools in server mode; what is not an API call is mounted on a path of it (function URLs).
moto's own ThreadedMotoServer binds in its thread, where a port in use exits that thread and
leaves the caller waiting forever: here the socket is bound first, in the caller's thread, so a
taken port is an error the caller sees at once.
"""

import contextlib
import errno
import io
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from .clock import active as active_clock

HOST = "127.0.0.1"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class PortInUseError(OSError):
    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} on {HOST} is in use by another program: stop it, or choose another port")
        self.port = port


class _Delayed:
    """A WSGI application that answers each request `seconds` later, as a network round trip would."""

    def __init__(self, app: WsgiApp, seconds: float) -> None:
        self._app = app
        self._seconds = seconds

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        time.sleep(self._seconds)
        return self._app(environ, start_response)


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, which finds each request's service anew (issue 22): it lists moto's
    package folders on disk (some 200 `isdir` calls) and tries every service's URL patterns, a
    fifth of an API call's CPU, under one lock that every request takes. What it finds for a host
    depends on the host only (the folders and the patterns are fixed once moto is imported), so
    each host is looked up once."""

    def __init__(self, create_app: Callable[[Any], Any]) -> None:
        super().__init__(create_app)
        self._backend_of: dict[str, Any] = {}  # read and written under self.lock, as moto calls it

    def get_backend_for_host(self, host: str | None) -> Any:
        if host is None:
            return None
        backend = self._backend_of.get(host)
        if backend is None:
            backend = super().get_backend_for_host(host)
            # A host no service serves is looked up again (moto prints a hint for it each time),
            # and the hosts kept are the few the clients of one embedded AWS use.
            if backend is not None and len(self._backend_of) < _HOSTS_KEPT:
                self._backend_of[host] = backend
        return backend


# Far more than the distinct hosts (service, region) one embedded AWS is called at.
_HOSTS_KEPT = 4096


class _Routes:
    """Requests under a mounted path go to its application (a function URL is no API call);
    every other request is an AWS API call, for moto."""

    def __init__(self, default: WsgiApp) -> None:
        self.default = default
        self.mounted: dict[str, WsgiApp] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        clock = active_clock()
        if clock is None:
            return self._route(environ, start_response)
        with clock.busy():  # a call in flight is work the clock waits for before it moves
            return list(self._route(environ, start_response))

    def _route(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, app in self.mounted.items():
            if path.startswith(prefix):
                return app(environ, start_response)
        return self.default(environ, start_response)


class _KeepAliveHandler(MotoRequestHandler):
    """Keeps a client's connection open between its calls, as AWS's endpoints do (HTTP/1.1).

    werkzeug's development server closes every connection after one answer (a request body the
    application left unread would be taken for the next request line), so every API call opened
    a TCP connection and the server a thread to serve it: a third of the server's CPU for
    200 executions started over HTTP, and a fourth of the client's (issue 22). Here the body is
    read whole before the application runs, so the next request starts where this one ended; a
    chunked body, whose end is known only once it is read, still closes the connection, and so
    does a client that asks to close it (http.server reads its Connection header)."""

    # The headers and the body go out in two writes: with Nagle's algorithm the body would wait
    # for the client's delayed ACK (40 ms) on a connection that stays open.
    disable_nagle_algorithm = True
    _whole_body_read = False

    def setup(self) -> None:
        super().setup()
        _open_connections(self.server).add(self.connection)

    def finish(self) -> None:
        _open_connections(self.server).discard(self.connection)
        super().finish()

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        self._whole_body_read = not environ.get("wsgi.input_terminated")  # not chunked
        if self._whole_body_read:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length > 0 else b"")
        return environ

    def run_wsgi(self) -> None:
        rfile = self.rfile
        try:
            super().run_wsgi()
        finally:
            self.rfile = rfile

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "connection" and value.lower() == "close" and self._whole_body_read:
            # werkzeug's close, and the drain that follows the answer (which reads what is left
            # of the connection's input) finds nothing: the next request is the client's.
            self.rfile = io.BytesIO()
            return
        super().send_header(keyword, value)


class _Connections:
    """A server's open connections; once closed, a connection accepted late (a thread that was
    about to serve it when the server stopped) is shut at once rather than left serving."""

    def __init__(self) -> None:
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False

    def add(self, connection: socket.socket) -> None:
        with self._lock:
            if not self._closed:
                self._open.add(connection)
                return
        _shut(connection)

    def discard(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def close_all(self) -> None:
        with self._lock:
            self._closed = True
            connections = list(self._open)
        for connection in connections:
            _shut(connection)


def _shut(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


_CONNECTIONS = "pausable_sfn_connections"  # the server's attribute, set once when it is made


def _open_connections(server: Any) -> _Connections:
    connections: _Connections = getattr(server, _CONNECTIONS)
    return connections


class Endpoint:
    def __init__(self, *, port: int = 0, latency_ms: float = 0) -> None:
        self._requested_port = port
        self.latency_ms = latency_ms
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = _Routes(_Dispatcher(create_backend_app))

    def mount(self, prefix: str, app: WsgiApp) -> None:
        """Serves the requests whose path starts with `prefix` with `app` (before or after start)."""
        self._routes.mounted[prefix] = app

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        # The server's access log would print a line per API call over everything else.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # As werkzeug does: a port left in TIME_WAIT by a server that just stopped may be taken
        # again at once (Linux still refuses a port on which another program listens).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((HOST, self._requested_port))
        except OSError as error:
            listener.close()
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(self._requested_port) from None
            raise OSError(f"cannot listen on {HOST}:{self._requested_port}: {error.strerror}") from None
        listener.listen(128)
        app: Any = self._routes
        if self.latency_ms:
            app = _Delayed(app, self.latency_ms / 1000)
        port = listener.getsockname()[1]
        try:
            self._server = make_server(
                HOST, port, app, threaded=True, request_handler=_KeepAliveHandler, fd=listener.fileno()
            )
            setattr(self._server, _CONNECTIONS, _Connections())  # before serve_forever hands out a request
        finally:
            listener.close()  # the server holds its own duplicate of the socket
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"endpoint-{port}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # A client's idle connection would otherwise still reach moto after the stop.
            _open_connections(self._server).close_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
