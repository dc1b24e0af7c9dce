"""Misuse corpus, the explorer server (issue 20): inputs that made the handler raise (so the client
got no reply), requests naming another Host, oversized and slow requests. Loopback only, each
client with a timeout; the slow-request case shows others answered while slow connections are
held, and the slow ones closed after the server's request timeout."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import struct
import threading
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn.explorer import ExplorerApp, make_server
from tinygrad_cnn.explorer.decode import MAX_DEPTH, RequestError, parse_trace_request


def tiny_model() -> nn.Module:
    tg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 26 * 26, 10))


class Broken(ExplorerApp):
    def handle(self, method, path, body):
        if path == "/api/broken":
            raise ZeroDivisionError("a bug in a handler")
        return super().handle(method, path, body)


def serving(app: ExplorerApp, **options):
    server = make_server(app, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def port():
    images = np.zeros((2, 28, 28), np.uint8)
    server, thread = serving(Broken(tiny_model(), images, [1, 2]), request_timeout=1.0,
                             workers=6)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def raw(port: int, request: bytes, timeout: float = 10) -> bytes:
    """The whole reply to `request` sent on a fresh connection (the server closes after it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    return reply


def post(port: int, body: bytes, host: str = "127.0.0.1", length: str | None = None) -> bytes:
    head = (f"POST /api/trace HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n\r\n")
    return raw(port, head.encode() + body)


def status_and_error(reply: bytes) -> tuple[int, str]:
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)["error"]


def png_claiming(width: int, height: int) -> str:
    """A PNG whose header claims width x height (its one IDAT is tiny)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0,
                                                             0, 0))
           + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.mark.parametrize("body, length, status, words", [
    (b"{}", "\u00b2", 400, "is not one size in digits"),
    (b"{}", "2, 2", 400, "is not one size in digits"),
    (b"[" * 32000, None, 400, f"32000 levels deep; at most {MAX_DEPTH}"),
    (b'{"test": 1' + b"0" * 400 + b"}", None, 400, "a number of 401 characters"),
    # an unclosed string of escaped quotes: the depth check once backtracked over each quote
    (b'"' + b'\\"' * 32000, None, 400, "the body is not valid JSON"),
    (b'{"pixels": [1e400]}', None, 400, "pixels must hold 784"),
    (json.dumps({"png": png_claiming(60000, 60000)}).encode(), None, 400,
     "png is not a readable PNG image of at most 1024x1024"),
])
def test_inputs_that_crashed_the_handler_get_a_json_4xx(port, body, length, status, words):
    reply = post(port, body, length=length.encode("utf-8").decode("latin-1") if length else None)
    assert status_and_error(reply)[0] == status, reply[:300]
    assert words in status_and_error(reply)[1]


def test_brackets_and_escaped_quotes_inside_strings_are_no_nesting():
    body = json.dumps({"png": '\\"' + "[" * 3 * MAX_DEPTH, "test": [[[0]]]}).encode()
    with pytest.raises(RequestError, match="give exactly one of") as error:
        parse_trace_request(body, 0)
    assert "levels deep" not in str(error.value)


def test_a_handler_bug_is_a_json_500_and_the_server_keeps_serving(port, capsys):
    reply = raw(port, b"GET /api/broken HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status_and_error(reply) == (500, "internal error (ZeroDivisionError): a bug in a "
                                            "handler")
    assert b" 200 " in raw(port, b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")[:20]


@pytest.mark.parametrize("host, status", [
    ("evil.example", 403), ("evil.example:80", 403), ("127.0.0.1.evil.example", 403),
    ("localhost", 200), ("127.0.0.1", 200), ("[::1]", 200), ("LOCALHOST:{port}", 200),
])
def test_only_requests_naming_this_machine_are_answered(port, host, status):
    host = host.format(port=port)
    reply = raw(port, f"GET /api/model HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    assert int(reply.split()[1]) == status, reply[:200]
    if status == 403:
        assert "is not this explorer's address" in status_and_error(reply)[1]


def test_an_oversized_body_gets_an_orderly_413_that_urllib_receives(port):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/trace", data=b"x" * 2**20,
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 413
    assert "at most 65536 are read" in json.loads(error.value.read())["error"]


def test_slow_requests_neither_block_others_nor_stay_open(port):
    slow = []
    for _ in range(4):  # half-sent requests, as a slowloris client leaves them
        connection = socket.create_connection(("127.0.0.1", port), timeout=10)
        connection.sendall(b"POST /api/trace HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                           b"application/json\r\nContent-Length: 100\r\n\r\n{")
        slow.append(connection)
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)  # answered within 1 s
        client.request("GET", "/api/model")
        assert client.getresponse().status == 200
        client.close()
        for connection in slow:  # after the 1 s request timeout: a 408, then closed
            reply = b""
            while chunk := connection.recv(4096):
                reply += chunk
            assert status_and_error(reply)[0] == 408
    finally:
        for connection in slow:
            connection.close()


def test_more_connections_than_workers_get_a_503_not_a_thread_each():
    server, thread = serving(ExplorerApp(tiny_model()), request_timeout=5.0, workers=2)
    port = server.server_address[1]
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        for connection in held:
            connection.sendall(b"GET /api/model HTTP/1.1\r\n")  # never finished
        reply = raw(port, b"GET /api/model HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status_and_error(reply) == (503, "the explorer is serving as many requests as it "
                                                "takes; try again")
    finally:
        for connection in held:
            connection.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_port_out_of_range_is_refused_naming_it():
    with pytest.raises(ValueError, match="port 70000 is not a TCP port"):
        make_server(ExplorerApp(tiny_model()), port=70000)


