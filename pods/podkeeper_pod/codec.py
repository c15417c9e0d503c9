"""JSON encoding and decoding for the wire, without importing the `json` package at startup.

`import json` pulls in `re` and `enum`, which on a cold interpreter costs about as much as the whole
interpreter start-up (measured: +10 ms on a 12 ms `python -c "print(1)"`). The runner must reach
`ready` within 1.3x of a bare interpreter, so this module drives the C accelerator `_json` directly,
exactly as `json.JSONEncoder.encode` / `json.JSONDecoder.raw_decode` do, and falls back to the
`json` package when the accelerator is missing or its interface differs (checked once, at import).

Bytes (`bytes`, `bytearray`, `memoryview`, and arrays with `tobytes`, e.g. numpy's) are not JSON:
`encode_line` writes each as `{"$bytes": i}` and appends its raw bytes after the line, listed in a
top-level `"$frames": [length, ...]` (docs/architecture.md#protocols). A message without bytes is
encoded exactly as before, by the same fast encoder.

Both directions are strict JSON: no NaN/Infinity, no control characters inside strings. Decoding
refuses what Python cannot represent as sent (a number such as `1e400` that would become infinity)
and nesting deeper than the interpreter's recursion limit, always with a ValueError, never another
exception: the reader answers every line it cannot decode.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

_WHITESPACE = " \t\n\r"


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _no_default(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _finite_float(text: str) -> float:
    value = float(text)
    if value - value != 0:  # inf: the literal is beyond the largest double
        raise ValueError(f"the number {text[:40]} is too large to represent")
    return value


class _ScannerContext:
    """The attributes `_json.make_scanner` reads from a `json.JSONDecoder`."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = staticmethod(_finite_float)
    parse_int = int
    parse_constant = staticmethod(_reject_constant)


class _PlainFloats(_ScannerContext):
    """Floats parsed by the accelerator itself, with no call into Python per number: only for a text
    in which no number literal can overflow (see `_no_overflow`)."""

    parse_float = float


# `_no_overflow` sees digits as "0", `e`/`E` as "e", signs as nothing, everything else as a space.
_NUMBER_SHAPES = bytes(0x30 if 0x30 <= c <= 0x39 else 0x65 if c in (0x45, 0x65) else 0x20 for c in range(256))
# A float literal beyond the largest double (~1.8e308) has a 3-digit exponent, or a 2-digit one
# (at most 99) with an integer part of more than 308 - 99 digits.
_LONG_INTEGER_PART = b"0" * 200
# Lines at least this long skip the per-number check when `_no_overflow` allows (on shorter ones
# the check costs more than it saves).
_PLAIN_FLOATS_FROM = 64 * 1024


def _no_overflow(data: bytes) -> bool:
    """True when no number literal in `data` can be beyond the largest double: no `e` followed by
    three digits (a sign between them allowed) and no run of 200 digits. Strings are not told apart,
    so a string such as "e999" (or a hex id like "3e141f") sends the line down the checking path,
    which then costs this look more (~3.5 ms for 3 MB of JSON, where calling a Python function for
    each of its 65,536 floats cost ~8.5 ms)."""
    shapes = data.translate(_NUMBER_SHAPES, b"+-")
    return b"e000" not in shapes and _LONG_INTEGER_PART not in shapes


def _bytes_of(value: object) -> bytes | bytearray | memoryview | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    to_bytes = getattr(value, "tobytes", None)  # numpy arrays (and array.array): their raw data
    if to_bytes is not None and hasattr(value, "__array_interface__"):
        return to_bytes()
    return None


def _framing_default(frames: list) -> Callable[[object], object]:
    def default(value: object) -> object:
        data = _bytes_of(value)
        if data is None:
            return _no_default(value)
        frames.append(data)
        return {"$bytes": len(frames) - 1}

    return default


def _accelerated() -> tuple[Callable[[object], str], Callable[[str, int], tuple[object, int]]]:
    from _json import encode_basestring, make_encoder, make_scanner

    def checking() -> Callable[[object, int], object]:
        return make_encoder({}, _no_default, encode_basestring, None, ":", ",", False, False, False)

    fast = make_encoder(None, _no_default, encode_basestring, None, ":", ",", False, False, False)

    def encode(value: object) -> str:
        # One stateless encoder for every call (building one costs a third of an encode). It does not
        # look for cycles: a cycle recurses until RecursionError, and only then is the value encoded
        # again by an encoder that checks, to raise the usual "Circular reference detected".
        try:
            chunks = fast(value, 0)
        except RecursionError:
            chunks = checking()(value, 0)
        return chunks if isinstance(chunks, str) else "".join(chunks)

    scan = make_scanner(_ScannerContext())
    probe = {"a": [1, 2.5, "\u00e9\n", None, True], "b": {}}
    if encode(probe) != '{"a":[1,2.5,"\u00e9\\n",null,true],"b":{}}' or scan(encode(probe), 0)[0] != probe:
        raise ImportError("unexpected _json behaviour")
    global _scan_plain_floats
    _scan_plain_floats = make_scanner(_PlainFloats())

    def encode_framed(value: object, frames: list) -> str:
        default = _framing_default(frames)
        chunks = make_encoder({}, default, encode_basestring, None, ":", ",", False, False, False)(value, 0)
        return chunks if isinstance(chunks, str) else "".join(chunks)

    global _encode_framed
    _encode_framed = encode_framed
    return encode, scan


def _encode_framed(value: object, frames: list) -> str:
    import json

    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    encoder.default = _framing_default(frames)
    return encoder.encode(value)


# The accelerator's scanner with `_PlainFloats` (set by `_accelerated`; None without it).
_scan_plain_floats: Callable[[str, int], tuple[object, int]] | None = None


def _portable() -> tuple[Callable[[object], str], Callable[[str, int], tuple[object, int]]]:
    import json

    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    decoder = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)

    def scan(text: str, index: int) -> tuple[object, int]:
        return decoder.raw_decode(text, index)

    return encoder.encode, scan


try:
    _encode, _scan = _accelerated()
except (ImportError, AttributeError, TypeError, ValueError):  # no compatible `_json` here
    _encode, _scan = _portable()


def dumps(value: object) -> str:
    """Compact JSON text; raises TypeError or ValueError for what JSON cannot carry."""
    return _encode(value)


def encode_line(value: object) -> bytes:
    """One protocol line: compact UTF-8 JSON terminated by `\\n`, then the frames of its bytes."""
    try:
        text = _encode(value)
    except TypeError:  # bytes inside (or something JSON cannot carry: raised again below)
        return _framed_line(value)
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return _utf8_line(text)  # raises the ValueError that says why


def _framed_line(value: object) -> bytes:
    frames: list = []
    text = _encode_framed(value, frames)
    if not frames:
        return _utf8_line(text)
    lengths = ",".join(str(memoryview(frame).nbytes) for frame in frames)
    return b"".join((_utf8_line(f'{text[:-1]},"$frames":[{lengths}]}}'), *frames))


def _utf8_line(text: str) -> bytes:
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError as error:  # lone surrogates: valid in Python str, not in UTF-8
        raise ValueError(f"string is not valid Unicode: {error.reason}") from None


def tail_frame_lengths(line: bytes) -> list[int]:
    """The frame lengths a line announces at its end (`,"$frames":[…]}`, where every writer of the
    protocol puts them), read without decoding the line: a line that does not decode still has its
    frames read and dropped, so they are never taken for request lines."""
    end = line.rstrip()
    if not end.endswith(b"]}"):
        return []
    at = end.rfind(b',"$frames":[')
    if at < 0:
        return []
    body = end[at + len(b',"$frames":[') : -2]
    parts = body.split(b",") if body else []
    # a length of 20 digits or more is no frame anyone sends (and int() refuses 4300 digits)
    return [int(part) for part in parts] if all(part.isdigit() and len(part) < 20 for part in parts) else []


def frame_lengths(value: dict) -> list[int]:
    """Removes and checks a decoded message's `$frames`; raises ValueError naming what is wrong."""
    lengths = value.pop("$frames")
    if type(lengths) is not list or not all(type(n) is int and n >= 0 for n in lengths):
        raise ValueError(f"`$frames` must be an array of byte lengths, got {str(lengths)[:40]}")
    return lengths


def attach_frames(value: object, frames: list[bytes]) -> object:
    """`value` with each `{"$bytes": i}` replaced by frame `i`; ValueError when `i` names no frame."""
    if type(value) is list:
        return [attach_frames(item, frames) for item in value]
    if type(value) is not dict:
        return value
    if len(value) == 1 and "$bytes" in value:
        index = value["$bytes"]
        if type(index) is not int or not 0 <= index < len(frames):
            raise ValueError(f'{{"$bytes": {str(index)[:20]}}} names no frame of {len(frames)}')
        return frames[index]
    return {key: attach_frames(item, frames) for key, item in value.items()}


def loads(data: bytes | str) -> object:
    """Parse one JSON document (surrounding whitespace allowed); raises ValueError (only)."""
    try:
        return _loads(data)
    except RecursionError:
        raise ValueError("the value nests deeper than the pod can decode") from None


def _loads(data: bytes | str) -> object:
    text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
    scan = _scan
    if _scan_plain_floats is not None and len(data) >= _PLAIN_FLOATS_FROM and isinstance(data, bytes):
        scan = _scan_plain_floats if _no_overflow(data) else _scan
    try:  # the usual line: a value from the first character, then at most its newline
        value, end = scan(text, 0)
        if end == len(text) or text[end:] == "\n":
            return value
    except (StopIteration, ValueError, SystemError):
        pass  # leading whitespace, or an error: the careful path below finds out which
    return _loads_careful(text)


def _loads_careful(text: str) -> object:
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration:
        raise ValueError(f"expected a JSON value at character {start}") from None
    except SystemError:
        # Before 3.12 the accelerator builds its error from `json.decoder.JSONDecodeError` only if
        # that module is already imported; import it (once, on this error path only) and rescan.
        import json.decoder  # noqa: F401

        value, end = _scan(text, start)
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"extra data after the JSON value at character {end}")
    return value
