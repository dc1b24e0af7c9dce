"""The explorer served to a browser on this machine: the page, and JSON for each drawing.

Standard library only (ThreadingHTTPServer). Every request body is capped at MAX_BODY bytes and
checked field by field; anything malformed gets a 4xx JSON answer saying what was wrong, and the
server carries on; a bug gets a 500 JSON answer. A connection has REQUEST_TIMEOUT seconds to send
its whole request, at most MAX_WORKERS are served at once (the next get a 503 at once), and only
requests naming this machine in `Host` are answered (a DNS-rebinding page names its own domain).
Each request computes on a model copy of its own from a pool, in its own thread (grad mode is
per-thread state), so concurrent requests cannot disturb each other.
"""

from __future__ import annotations

import copy
import io
import ipaddress
import json
import queue
import re
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from .. import nn
from .decode import RequestError, parse_trace_request
from .page import page_html
from .payload import model_info, trace_json
from .steps import record_backprop
from .trace import ExplorerError, trace

MAX_BODY = 64 * 1024
DISCARD_CAP = 16 * 2**20  # an oversized body is read and dropped up to this, so its sender
# (urllib sends the whole body before reading) receives the 413 instead of a reset connection
REQUEST_TIMEOUT = 10.0  # seconds a connection has to send its request line, headers and body
MAX_WORKERS = 16
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
_LENGTH = re.compile(r"[0-9]{1,12}")  # ASCII digits only: "²".isdigit() is True


class ExplorerApp:
    """What the server answers, apart from HTTP: `handle` maps a request to (status, body)."""

    def __init__(self, model: nn.Module, test_images: np.ndarray | None = None,
                 test_labels: Sequence[int] | None = None,
                 epoch_kernels: list[np.ndarray] | None = None, graph_svg: str | None = None,
                 title: str = "tinygrad_cnn explorer", grad_graph_svg: str | None = None) -> None:
        self.model = model
        self.tests = np.zeros((0, 28, 28), np.uint8) if test_images is None else test_images
        self.labels = [None] * len(self.tests) if test_labels is None else list(test_labels)
        self.info = model_info(model, epoch_kernels, graph_svg, grad_graph_svg)
        self.info["tests"] = [{"index": i, "name": f"test image #{i}", "label": _int(label)}
                              for i, label in enumerate(self.labels)]
        self.page = page_html({"mode": "server"}, title).encode("utf-8")
        self.models: queue.SimpleQueue[nn.Module] = queue.SimpleQueue()

    @contextmanager
    def borrowed(self) -> Iterator[nn.Module]:
        """A private copy of the model for one request (made once, then reused)."""
        try:
            model = self.models.get_nowait()
        except queue.Empty:
            model = copy.deepcopy(self.model)
        try:
            yield model
        finally:
            model.zero_grad()
            self.models.put(model)

    def handle(self, method: str, path: str, body: bytes | None) -> tuple[int, Any]:
        routes = {"/": ("GET",), "/index.html": ("GET",), "/api/model": ("GET",),
                  "/api/trace": ("POST",)}
        if path not in routes:
            raise RequestError(HTTPStatus.NOT_FOUND, f"no such path {path!r}; the explorer "
                               "serves /, /api/model (GET) and /api/trace (POST)")
        if method not in routes[path]:
            raise RequestError(HTTPStatus.METHOD_NOT_ALLOWED,
                               f"{path} takes {routes[path][0]}, not {method}")
        if path in ("/", "/index.html"):
            return HTTPStatus.OK, self.page
        if path == "/api/model":
            return HTTPStatus.OK, self.info
        request = parse_trace_request(body or b"", len(self.tests))
        image = self.tests[request.test] if request.test is not None else request.image
        label = self.labels[request.test] if request.test is not None else None
        with self.borrowed() as model:
            try:
                t = trace(model, image, request.target)
                backprop = record_backprop(model, image, t.target if label is None else label,
                                           copy_model=False)
            except ExplorerError as exc:
                raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, str(exc)) from None
        return HTTPStatus.OK, trace_json(t, backprop)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


class Handler(BaseHTTPRequestHandler):
    """HTTP around ExplorerApp: body cap, content type, JSON errors, no per-request log lines."""

    app: ExplorerApp
    server_version = "tinygrad_cnn-explorer"
    default_request_version = "HTTP/1.0"  # a garbled request line still gets status and headers

    def do_GET(self) -> None:  # noqa: N802 (BaseHTTPRequestHandler's naming)
        self._answer(None)

    def do_POST(self) -> None:  # noqa: N802
        self._answer(self._body)

    def do_PUT(self) -> None:  # noqa: N802
        self._answer(self._body)

    def do_DELETE(self) -> None:  # noqa: N802
        self._answer(None)

    do_PATCH = do_OPTIONS = do_PUT  # noqa: N815 (each gets "takes GET/POST" as a JSON 405)

    def setup(self) -> None:
        """The socket's reads share one deadline: a request trickled a byte at a time still has
        REQUEST_TIMEOUT seconds in all (http.server closes the connection on TimeoutError)."""
        super().setup()
        deadline = time.monotonic() + self.server.request_timeout
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, deadline))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        """http.server's own errors (a garbled request line, huge headers) as JSON too."""
        self.close_connection = True
        self._send(code, json.dumps({"error": message or explain or "bad request"}).encode(),
                   "application/json")

    def _body(self) -> bytes:
        lengths = self.headers.get_all("Content-Length") or []
        if self.headers.get("Transfer-Encoding") is not None:
            raise RequestError(HTTPStatus.NOT_IMPLEMENTED, "a body sent with Transfer-Encoding "
                               "is not read; send it with a Content-Length")
        if not lengths:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length header")
        if len(lengths) > 1 or not _LENGTH.fullmatch(lengths[0]):
            raise RequestError(HTTPStatus.BAD_REQUEST,
                               f"Content-Length {', '.join(lengths)!r} is not one size in digits")
        length = int(lengths[0])
        if length > MAX_BODY:
            self.unread = length
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"the body has {length} bytes; at most {MAX_BODY} are read")
        kind = self.headers.get("Content-Type", "").split(";")[0].strip()
        if kind != "application/json":
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                               f"the body must be application/json, not {kind or 'untyped'}")
        body = self.rfile.read(length)
        if len(body) < length:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"the body ended after {len(body)} of "
                               f"its {length} bytes")
        return body

    def _answer(self, read_body: Any) -> None:
        path, self.unread = self.path.split("?", 1)[0], 0
        try:
            self._check_host()
            body = read_body() if read_body else None
            status, payload = self.app.handle(self.command, path, body)
        except RequestError as exc:
            status, payload = exc.status, {"error": exc.message}
            self.close_connection = True  # an unread or bad body must not be read as a request
        except TimeoutError:
            status, payload = HTTPStatus.REQUEST_TIMEOUT, {
                "error": f"the request was not sent within {self.server.request_timeout:g} s"}
            self.close_connection = True
        except Exception as exc:  # a bug: the client still gets an answer, the console the trace
            traceback.print_exc(file=sys.stderr)
            status, payload = HTTPStatus.INTERNAL_SERVER_ERROR, {
                "error": f"internal error ({type(exc).__name__}): {exc}"[:500]}
            self.close_connection = True
        if isinstance(payload, bytes):
            self._send(status, payload, "text/html; charset=utf-8")
        else:
            self._send(status, json.dumps(payload).encode("utf-8"), "application/json")
        self._discard(self.unread)

    def _check_host(self) -> None:
        """Only requests naming this machine: a DNS-rebinding page sends its own domain."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            raise RequestError(HTTPStatus.BAD_REQUEST, "more than one Host header")
        if hosts and not self.server.allows_host(hosts[0]):
            raise RequestError(HTTPStatus.FORBIDDEN, f"Host {hosts[0]!r:.80} is not this "
                               f"explorer's address; use http://127.0.0.1:"
                               f"{self.server.server_address[1]}/")

    def _discard(self, length: int) -> None:
        """Read and drop up to DISCARD_CAP bytes of a refused body (until the deadline)."""
        left = min(length, DISCARD_CAP)
        try:
            while left > 0:
                chunk = self.rfile.read1(min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # TimeoutError, or the client went away: nothing more to read
            pass

    def _send(self, status: int, data: bytes, kind: str) -> None:
        # the reply gets a fresh timeout of its own (reads may have left a few ms): a client
        # that stops reading holds its worker that long at most
        self.connection.settimeout(self.server.request_timeout)
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a line per drawn stroke would bury the address the user needs


class _DeadlineReader(io.RawIOBase):
    """A socket's reads, each given only the time left until the connection's deadline."""

    def __init__(self, connection: socket.socket, deadline: float) -> None:
        self.connection, self.deadline = connection, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request took longer than its deadline")
        self.connection.settimeout(left)
        return self.connection.recv_into(buffer)


BUSY = (b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\n\r\n"
        b'{"error": "the explorer is serving as many requests as it takes; try again"}')


class ExplorerServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with at most `workers` requests in flight (the next get a 503 at
    once, from the accepting thread), a request deadline and a Host allow-list."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, workers: int,
                 request_timeout: float) -> None:
        super().__init__(address, handler)
        self.slots = threading.BoundedSemaphore(workers)
        self.request_timeout = request_timeout
        self.hosts = {*LOCAL_HOSTS, address[0].lower(), str(self.server_address[0]).lower()}

    def allows_host(self, header: str) -> bool:
        """`header` names the bound address, localhost, 127.0.0.1 or [::1] (any port); on a
        wildcard address (0.0.0.0) also any IP address literal, which no DNS name can rebind."""
        match = re.fullmatch(r"\[([0-9a-fA-F:.]+)\](?::[0-9]{1,5})?|([^:\[\]]+)(?::[0-9]{1,5})?",
                             header.strip())
        name = (match.group(1) or match.group(2)).lower() if match else None
        if name in self.hosts:
            return True
        try:
            literal = name is not None and bool(ipaddress.ip_address(name))
        except ValueError:
            literal = False
        return literal and self.server_address[0] in ("0.0.0.0", "::")

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away or stopped reading is no error of ours: no traceback."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.settimeout(1.0)
                request.sendall(BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


def make_server(app: ExplorerApp, host: str = "127.0.0.1", port: int = 0,
                workers: int = MAX_WORKERS,
                request_timeout: float = REQUEST_TIMEOUT) -> ExplorerServer:
    """A server bound to host:port (port 0: any free one; read `server.server_address`).
    OSError with the address when the port is taken or not a port."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is not a TCP port (0..65535)")
    handler = type("ExplorerHandler", (Handler,), {"app": app})
    return ExplorerServer((host, port), handler, workers, request_timeout)


def serve(model: nn.Module, test_images: np.ndarray | None = None,
          test_labels: Sequence[int] | None = None, epoch_kernels: list[np.ndarray] | None = None,
          host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the explorer until Ctrl+C; on this machine only unless `host` says otherwise."""
    from .page import grad_graph_svg, graph_svg

    blank = np.zeros((28, 28), np.uint8)  # any image gives the graph's shape
    backprop = record_backprop(model, blank, 0)
    app = ExplorerApp(model, test_images, test_labels, epoch_kernels, graph_svg(backprop),
                      grad_graph_svg=grad_graph_svg(backprop))
    server = make_server(app, host, port)
    address, bound = server.server_address[:2]
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {host}: other machines can reach this explorer")
    print(f"explorer: http://{'127.0.0.1' if host == '0.0.0.0' else address}:{bound}/ "
          "(Ctrl+C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
