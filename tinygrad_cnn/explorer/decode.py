"""Checking what a browser sends the explorer: one image (a drawing as PNG, 784 pixel values, or
a test image's index) and an optional class; each mistake becomes a RequestError saying what."""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
from dataclasses import dataclass
from http import HTTPStatus
from itertools import accumulate
from typing import Any

import numpy as np

FIELDS = ("png", "pixels", "test", "target")
PNG_PREFIX = "data:image/png;base64,"
MAX_SIDE = 1024  # a drawing's width and height, checked before its pixels are decoded
MAX_DEPTH = 8  # a request nests one list in one object; deeper JSON is refused before parsing
MAX_DIGITS = 40  # a number's length in the body: pixels and indices need a few digits
# escapes first, then strings without them: each pattern scans the text once (one pattern for
# strings with escapes inside backtracks over every unclosed quote: quadratic in the body)
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')


class RequestError(Exception):
    """A request the explorer will not answer: the HTTP status and why, for the JSON error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = int(status), message


@dataclass
class TraceRequest:
    image: np.ndarray | None
    test: int | None
    target: int | None


def _bad(message: str, status: int = HTTPStatus.BAD_REQUEST) -> RequestError:
    return RequestError(status, message)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _number(kind: type) -> Any:
    def parse(text: str) -> Any:
        if len(text) > MAX_DIGITS:
            raise ValueError(f"a number of {len(text)} characters (at most {MAX_DIGITS})")
        return kind(text)
    return parse


def _depth(text: str) -> int:
    """How deeply the JSON text nests lists and objects (strings skipped), without parsing it."""
    brackets = re.findall(r"[\[\]{}]", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def parse_trace_request(body: bytes, tests: int) -> TraceRequest:
    """The request in a /api/trace body, or RequestError naming the field that is wrong. The
    JSON's nesting and its numbers' lengths are limited before and while it is parsed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8 text") from None
    if _depth(text) > MAX_DEPTH:
        raise _bad(f"the body nests JSON {_depth(text)} levels deep; at most {MAX_DEPTH}")
    try:
        value = json.loads(text, parse_constant=_no_constants, parse_int=_number(int),
                           parse_float=_number(float))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, a NaN, a 400-digit number
        raise _bad(f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise _bad(f"the body must be a JSON object, not {type(value).__name__}")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise _bad(f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    given = [key for key in ("png", "pixels", "test") if key in value]
    if len(given) != 1:
        raise _bad("give exactly one of png, pixels or test" + (f" (got {', '.join(given)})"
                                                                 if given else ""))
    target = value.get("target")
    if target is not None and not _is_int(target):
        raise _bad(f"target must be an integer class, not {target!r}")
    if "test" in value:
        index = value["test"]
        if not _is_int(index) or not 0 <= index < tests:
            raise _bad(f"test must be an index 0..{tests - 1} of the {tests} test images, not "
                       f"{index!r}")
        return TraceRequest(None, int(index), target)
    image = _pixels(value["pixels"]) if "pixels" in value else _drawing(value["png"])
    return TraceRequest(image, None, target)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pixels(values: Any) -> np.ndarray:
    """784 numbers in 0..255, row by row: the 28x28 image as the model sees it."""
    if not isinstance(values, list):
        raise _bad(f"pixels must be a list of 784 numbers, not {type(values).__name__}")
    if len(values) != 28 * 28:
        raise _bad(f"pixels must hold 784 values (28x28, row by row), not {len(values)}")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _bad(f"pixels[{i}] is {v!r}, not a number")
        if not (math.isfinite(v) and 0 <= v <= 255):
            raise _bad(f"pixels[{i}] is {v}, outside 0..255")
    return np.round(np.array(values, dtype=np.float64)).astype(np.uint8).reshape(28, 28)


def _drawing(value: Any) -> np.ndarray:
    """A canvas drawing as a PNG data URL, made MNIST-like exactly as `models/mnist.py predict`
    does for an image file (mnistify: crop to the ink, scale into 20x20, centre by mass)."""
    from PIL import Image, UnidentifiedImageError

    from ..datasets.preprocess import mnistify

    if not isinstance(value, str) or not value.startswith(PNG_PREFIX):
        raise _bad(f"png must be a string starting {PNG_PREFIX!r} (canvas.toDataURL())")
    try:
        data = base64.b64decode(value[len(PNG_PREFIX):], validate=True)
    except binascii.Error:
        raise _bad("png is not valid base64") from None
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "PNG":
                raise _bad(f"png holds a {image.format} image, not a PNG")
            if max(image.size) > MAX_SIDE or min(image.size) < 8:
                raise _bad(f"png is {image.size[0]}x{image.size[1]}; each side must be "
                           f"8..{MAX_SIDE} pixels")
            gray = np.asarray(image.convert("L"), dtype=np.float32)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise _bad(f"png is not a readable PNG image of at most {MAX_SIDE}x{MAX_SIDE} pixels "
                   f"({exc})") from None
    try:
        return mnistify(gray)
    except ValueError as exc:
        raise _bad(f"the drawing cannot be read as a digit: {exc}",
                   HTTPStatus.UNPROCESSABLE_ENTITY) from None
