"""The explorer's server over real HTTP on 127.0.0.1: answers, a 4xx JSON error for each kind of
malformed request while it keeps serving, a bounded load test, and `models/mnist.py explore`."""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import statistics
import threading
import time

import numpy as np
import pytest
from explorer_digits import mnist, sample_digits
from PIL import Image

import tinygrad_cnn as tg
from tinygrad_cnn.explorer import ExplorerApp, make_server, trace
from tinygrad_cnn.explorer.server import MAX_BODY


@pytest.fixture(scope="module")
def digits():
    return sample_digits(10)


@pytest.fixture(scope="module")
def server(digits):
    tg.manual_seed(0)
    model = mnist.seed_model().eval()
    httpd = make_server(ExplorerApp(model, digits[0], digits[1]))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield model, httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


def _call(port: int, method: str, path: str, body: bytes | None = None,
          headers: dict | None = None) -> tuple[int, dict | bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body, {"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    kind = response.getheader("Content-Type", "")
    return response.status, json.loads(data) if kind == "application/json" else data


def _post(port: int, value) -> tuple[int, dict]:
    return _call(port, "POST", "/api/trace", json.dumps(value).encode())


def _png(array: np.ndarray, image_format: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_page_model_and_a_trace_for_pixels_a_test_image_and_a_drawing(server, digits):
    model, port = server
    status, page = _call(port, "GET", "/")
    assert status == 200 and b'"mode":"server"' in page and b"http" not in page.lower()
    status, info = _call(port, "GET", "/api/model")
    assert status == 200
    assert [layer["kind"] for layer in info["layers"]][:2] == ["Conv2d", "Sigmoid"]
    assert [t["label"] for t in info["tests"]] == [int(v) for v in digits[1]]
    image = digits[0][3]
    expected = trace(model, image)
    for request in ({"pixels": image.ravel().tolist()}, {"test": 3}):
        status, answer = _post(port, request)
        assert status == 200, answer
        assert answer["prediction"] == expected.prediction
        np.testing.assert_allclose(answer["probs"], expected.probs, rtol=1e-6)
        output = np.frombuffer(base64.b64decode(answer["layers"][0]["output"]), "<f4")
        np.testing.assert_array_equal(output, expected.layers[0].output.ravel())
    assert answer["steps"][0]["op"] == "CrossEntropy"
    big = np.asarray(Image.fromarray(image).resize((280, 280)))  # a drawing, mnistified
    status, answer = _post(port, {"png": _png(big), "target": 2})
    assert status == 200 and answer["target"] == 2 and list(answer["grads"]) == ["2"]


MALFORMED = {  # kind -> (method, path, body, headers, status, words in the error)
    "oversized body": ("POST", "/api/trace", b"x" * (MAX_BODY + 1), {}, 413, "at most 65536"),
    "bad JSON": ("POST", "/api/trace", b'{"pixels": [1, 2', {}, 400, "not valid JSON"),
    "not UTF-8": ("POST", "/api/trace", b'{"test": "\xff"}', {}, 400, "not UTF-8"),
    "not an object": ("POST", "/api/trace", b"[1, 2]", {}, 400, "must be a JSON object"),
    "wrong length": ("POST", "/api/trace", json.dumps({"pixels": [0] * 783}).encode(), {}, 400,
                     "784 values"),
    "NaN": ("POST", "/api/trace", b'{"pixels": [NaN' + b", 0" * 783 + b"]}", {}, 400,
            "NaN is not a number JSON allows"),
    "infinity": ("POST", "/api/trace", b'{"pixels": [1e999' + b", 0" * 783 + b"]}", {}, 400,
                 "outside 0..255"),
    "pixel out of range": ("POST", "/api/trace", json.dumps({"pixels": [300] + [0] * 783}).encode(),
                           {}, 400, "pixels[0] is 300"),
    "wrong type of pixels": ("POST", "/api/trace", b'{"pixels": "all black"}', {}, 400,
                             "must be a list of 784 numbers"),
    "wrong type of a pixel": ("POST", "/api/trace", json.dumps({"pixels": [0, "1"] + [0] * 782})
                              .encode(), {}, 400, "pixels[1] is '1', not a number"),
    "boolean target": ("POST", "/api/trace", b'{"test": 0, "target": true}', {}, 400,
                       "target must be an integer class"),
    "target not a class": ("POST", "/api/trace", b'{"test": 0, "target": 12}', {}, 422,
                           "target 12 is not a class"),
    "test index out of range": ("POST", "/api/trace", b'{"test": 10}', {}, 400,
                                "index 0..9 of the 10 test images"),
    "unknown field": ("POST", "/api/trace", b'{"test": 0, "colour": 1}', {}, 400,
                      "unknown field 'colour'"),
    "two images": ("POST", "/api/trace", b'{"test": 0, "pixels": []}', {}, 400,
                   "exactly one of png, pixels or test (got pixels, test)"),
    "no image": ("POST", "/api/trace", b"{}", {}, 400, "exactly one of png, pixels or test"),
    "png not base64": ("POST", "/api/trace", b'{"png": "data:image/png;base64,***"}', {}, 400,
                       "not valid base64"),
    "png not a data URL": ("POST", "/api/trace", b'{"png": "hello"}', {}, 400,
                           "must be a string starting"),
    "png holds a GIF": ("POST", "/api/trace",
                        json.dumps({"png": _png(np.zeros((28, 28), np.uint8), "GIF")}).encode(),
                        {}, 400, "holds a GIF image"),
    "png not an image": ("POST", "/api/trace", json.dumps(
        {"png": "data:image/png;base64," + base64.b64encode(b"not a png").decode()}).encode(),
        {}, 400, "not a readable PNG"),
    "png too big": ("POST", "/api/trace", json.dumps({"png": _png(np.zeros((4, 2000), np.uint8))})
                    .encode(), {}, 400, "each side must be 8..1024"),
    "blank drawing": ("POST", "/api/trace", json.dumps({"png": _png(np.zeros((280, 280),
                      np.uint8))}).encode(), {}, 422, "holds no ink"),
    "wrong content type": ("POST", "/api/trace", b'{"test": 0}', {"Content-Type": "text/plain"},
                           415, "must be application/json, not text/plain"),
    "unknown path": ("GET", "/etc/passwd", None, {}, 404, "no such path '/etc/passwd'"),
    "wrong method": ("GET", "/api/trace", None, {}, 405, "/api/trace takes POST, not GET"),
    "wrong method on the model": ("DELETE", "/api/model", None, {}, 405, "takes GET, not DELETE"),
    "PATCH": ("PATCH", "/api/trace", b"{}", {}, 405, "takes POST, not PATCH"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_each_malformed_request_gets_a_4xx_json_error_and_the_server_keeps_serving(server, kind):
    _, port = server
    method, path, body, headers, status, words = MALFORMED[kind]
    got, answer = _call(port, method, path, body, headers)
    assert (got, type(answer)) == (status, dict), answer
    assert words in answer["error"]
    assert _call(port, "GET", "/api/model")[0] == 200


def test_missing_or_lying_content_length_and_garbled_requests_get_a_4xx(server):
    _, port = server
    for head, status in ((b"POST /api/trace HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b" 411 "),
                         (b"POST /api/trace HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b" 400 "),
                         (b"GARBAGE\r\n\r\n", b" 400 "),
                         (b"GET /" + b"x" * 70000 + b" HTTP/1.1\r\n\r\n", b" 414 ")):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            raw.sendall(head)
            reply = b""
            while chunk := raw.recv(4096):  # the server closes after an error
                reply += chunk
        assert reply.startswith(b"HTTP/1.0" + status) or reply.startswith(b"HTTP/1.1" + status)
        assert b'"error"' in reply
    assert _call(port, "GET", "/api/model")[0] == 200


def test_load_8_clients_x_100_requests_ends_without_errors(server, digits, record_property):
    """Bounded: 800 requests on the loopback address with a 30 s timeout each; p50/p95 go to
    docs/benchmarks.md (measured, not asserted)."""
    _, port = server
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        for i in range(100):
            request = {"test": (k + i) % 10} if i % 2 else {"pixels": digits[0][i % 10].ravel()
                                                             .tolist()}
            start = time.perf_counter()
            try:
                status, answer = _post(port, request)
                ok = status == 200 and "probs" in answer
            except (OSError, http.client.HTTPException) as exc:
                ok, answer = False, repr(exc)
            with lock:
                latencies.append(time.perf_counter() - start)
                if not ok:
                    errors.append(str(answer)[:200])

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert errors == [] and len(latencies) == 800
    p50, p95 = np.percentile(latencies, [50, 95]) * 1000
    record_property("latency_ms", {"p50": round(p50, 1), "p95": round(p95, 1),
                                   "mean": round(1000 * statistics.mean(latencies), 1)})
    print(f"explorer load test: 800 requests, p50 {p50:.1f} ms, p95 {p95:.1f} ms")


def test_mnist_py_explore_serves_on_localhost_and_refuses_a_non_checkpoint(tmp_path, digits):
    import os
    import subprocess
    import sys

    from explorer_digits import ROOT

    from tinygrad_cnn.datasets import write_idx

    write_idx(tmp_path / "t10k-images-idx3-ubyte", digits[0])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", digits[1].astype(np.uint8))
    tg.manual_seed(0)
    checkpoint = tmp_path / "checkpoint.npz"
    tg.save({"model_name": "lenet", "model": mnist.lenet().state_dict(), "config": "{}",
             "kernels": {}}, checkpoint)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's package, not an installed one
    process = subprocess.Popen([sys.executable, str(ROOT / "models" / "mnist.py"), "explore",
                                str(checkpoint), "--port", "0", "--data", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                               env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith("explorer: http://127.0.0.1:"), line + process.stderr.read()
        port = int(line.split(":")[3].split("/")[0])
        status, info = _call(port, "GET", "/api/model")
        assert status == 200 and len(info["tests"]) == 10 and info["epochs"] == []
        assert [layer["name"] for layer in info["layers"] if "conv" in layer] == ["0", "3"]
        assert info["graph_svg"] is None or info["graph_svg"].startswith("<svg")
        status, answer = _post(port, {"test": 0})
        assert status == 200 and len(answer["layers"]) == 12
    finally:
        process.terminate()
        process.wait(timeout=30)
    (tmp_path / "bad.npz").write_bytes(b"not a checkpoint")
    result = subprocess.run([sys.executable, str(ROOT / "models" / "mnist.py"), "explore",
                             str(tmp_path / "bad.npz")], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, env=env)
    assert result.returncode != 0 and "bad.npz" in result.stderr
