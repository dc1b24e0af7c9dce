"""How many entries an ONNX file's protobuf would build, counted on its bytes before it is parsed.

Parsing builds one object per message and per repeated entry (about 150 bytes each for an empty
node), so a small crafted file of millions of empty nodes, attributes or value_infos would take
gigabytes while protobuf parses it. `count_entries` walks the wire format through the message
fields of the schema (the onnx library's own descriptors: graphs, nodes, attributes, tensors,
types, functions, ...) without building anything; a length-delimited field that is not a
message (raw_data, names, packed numbers) is skipped by its length, so a large model with few
nodes scans quickly. It stops once it passes `limit`.
"""

from __future__ import annotations

from typing import Any


class WireError(ValueError):
    """The bytes are not a protobuf message (a truncated field, an unknown wire type)."""


def count_entries(data: bytes, descriptor: Any, limit: int) -> int:
    """The number of fields the message `descriptor` describes (onnx.ModelProto.DESCRIPTOR)
    holds in `data`, every nested message's included; stops once past `limit`."""
    count = 0
    stack = [(descriptor, 0, len(data))]  # (message type, start, end) still to walk
    while stack:
        message, pos, end = stack.pop()
        nested = _message_fields(message)
        while pos < end:
            tag, pos = _varint(data, pos, end)
            number, wire = tag >> 3, tag & 7
            count += 1
            if count > limit:
                return count
            if wire == 0:
                _, pos = _varint(data, pos, end)
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
            elif wire == 2:
                size, pos = _varint(data, pos, end)
                if number in nested:
                    stack.append((nested[number], pos, pos + size))
                pos += size
            else:
                raise WireError(f"wire type {wire} of field {number} at byte {pos}")
            if pos > end:
                raise WireError(f"field {number} runs past its message's end (byte {end})")
    return count


_FIELDS: dict[str, dict[int, Any]] = {}


def _message_fields(message: Any) -> dict[int, Any]:
    """Field number -> the message type it holds, for the fields of `message` that are
    messages (one dict per type, built once)."""
    if message.full_name not in _FIELDS:
        _FIELDS[message.full_name] = {field.number: field.message_type
                                      for field in message.fields
                                      if field.message_type is not None}
    return _FIELDS[message.full_name]


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise WireError(f"a truncated number at byte {pos}")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
