"""The explorer served to a browser on this machine: the page, and JSON for each drawing.

Standard library only (ThreadingHTTPServer). Every request body is capped at MAX_BODY bytes and
checked field by field; anything malformed gets a 4xx JSON answer saying what was wrong, and the
server carries on. Each request computes on a model copy of its own from a pool, in its own
thread (grad mode is per-thread state), so concurrent requests cannot disturb each other.
"""

from __future__ import annotations

import copy
import json
import queue
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


class ExplorerApp:
    """What the server answers, apart from HTTP: `handle` maps a request to (status, body)."""

    def __init__(self, model: nn.Module, test_images: np.ndarray | None = None,
                 test_labels: Sequence[int] | None = None,
                 epoch_kernels: list[np.ndarray] | None = None, graph_svg: str | None = None,
                 title: str = "tinygrad_cnn explorer") -> None:
        self.model = model
        self.tests = np.zeros((0, 28, 28), np.uint8) if test_images is None else test_images
        self.labels = [None] * len(self.tests) if test_labels is None else list(test_labels)
        self.info = model_info(model, epoch_kernels, graph_svg)
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

    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        """http.server's own errors (a garbled request line, huge headers) as JSON too."""
        self.close_connection = True
        self._send(code, json.dumps({"error": message or explain or "bad request"}).encode(),
                   "application/json")

    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length header")
        if not length.isdigit():
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Content-Length {length!r} is not a size")
        if int(length) > MAX_BODY:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"the body has {int(length)} bytes; at most {MAX_BODY} are read")
        kind = self.headers.get("Content-Type", "").split(";")[0].strip()
        if kind != "application/json":
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                               f"the body must be application/json, not {kind or 'untyped'}")
        return self.rfile.read(int(length))

    def _answer(self, read_body: Any) -> None:
        path = self.path.split("?", 1)[0]
        try:
            body = read_body() if read_body else None
            status, payload = self.app.handle(self.command, path, body)
        except RequestError as exc:
            status, payload = exc.status, {"error": exc.message}
            self.close_connection = True  # an unread or bad body must not be read as a request
        if isinstance(payload, bytes):
            self._send(status, payload, "text/html; charset=utf-8")
        else:
            self._send(status, json.dumps(payload).encode("utf-8"), "application/json")

    def _send(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a line per drawn stroke would bury the address the user needs


def make_server(app: ExplorerApp, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A server bound to host:port (port 0: any free one; read `server.server_address`)."""
    handler = type("ExplorerHandler", (Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve(model: nn.Module, test_images: np.ndarray | None = None,
          test_labels: Sequence[int] | None = None, epoch_kernels: list[np.ndarray] | None = None,
          host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the explorer until Ctrl+C; on this machine only unless `host` says otherwise."""
    from .page import graph_svg

    blank = np.zeros((28, 28), np.uint8)  # any image gives the graph's shape
    app = ExplorerApp(model, test_images, test_labels, epoch_kernels,
                      graph_svg(record_backprop(model, blank, 0)))
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
