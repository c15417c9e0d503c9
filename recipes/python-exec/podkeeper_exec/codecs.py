"""How argument, result and chunk values travel: `cloudpickle` or `json` (the request's `serialization`).

- `cloudpickle` (default; Python clients): each value is a base64 string of a pickle. Results are
  written with cloudpickle, so functions, classes and instances defined in the request's own code
  travel by value. Reading needs only `pickle`. Without cloudpickle in the env (a recipe built on
  this one without the dependency), results are written with plain `pickle`. A function pickled by
  one cloudpickle version often does not unpickle under another (3.x's lambdas under 2.x:
  `Can't get attribute '_function_setstate'`): such a failure names the pod's version, the client's
  when the request says it (`cloudpickle_version`), and the fix.
- `json` (hosts in other languages): values are plain JSON. A result JSON cannot carry is a
  SerializationError that says so, rather than a broken protocol line.
"""

from __future__ import annotations

import base64
import binascii
import pickle

from .errors import SerializationError

_JSON_KINDS = {bool: "a boolean", int: "a number", float: "a number", list: "an array", dict: "an object"}


class CloudpickleCodec:
    name = "cloudpickle"

    def __init__(self) -> None:
        self._dumps = None  # cloudpickle is imported on first use: it is not needed to reach `ready`

    def _load_dumps(self):
        try:
            import cloudpickle
        except ImportError:  # the env has no cloudpickle: plain pickle (no functions by value)
            self._dumps = pickle.dumps
        else:
            self._dumps = cloudpickle.dumps
        return self._dumps

    def decode(self, value: object, where: str, client_version: str | None = None) -> object:
        if type(value) is not str:
            raise SerializationError(
                f'{where} must be a base64 cloudpickle string with serialization "cloudpickle", got '
                f'{_JSON_KINDS.get(type(value), "null")} (send plain JSON values with "serialization": "json")'
            )
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise SerializationError(f"{where} is not valid base64: {error}") from None
        try:
            return pickle.loads(data)
        except Exception as error:  # noqa: BLE001 - any unpickling failure, named with its place
            message = f"{where} could not be unpickled: {type(error).__name__}: {error}"
            raise SerializationError(message + _version_hint(str(error), client_version)) from None

    def encode(self, value: object, what: str = "the result") -> str:
        try:
            return base64.b64encode((self._dumps or self._load_dumps())(value)).decode("ascii")
        except Exception as error:  # noqa: BLE001 - pickling can raise almost anything
            raise SerializationError(f"{what} ({type(value).__name__}) cannot be pickled: {error}") from None


class JsonCodec:
    name = "json"

    def __init__(self, dumps) -> None:
        self._dumps = dumps

    def decode(self, value: object, where: str, client_version: str | None = None) -> object:
        return value

    def encode(self, value: object, what: str = "the result") -> object:
        try:
            self._dumps(value)
        except (TypeError, ValueError, RecursionError) as error:
            raise SerializationError(
                f'{what} ({type(value).__name__}) is not JSON serialisable with serialization "json": {error}; '
                'return plain JSON values, or use serialization "cloudpickle"'
            ) from None
        return value


def make_codecs() -> dict[str, CloudpickleCodec | JsonCodec]:
    try:
        from podkeeper_pod.codec import dumps  # the runner's own encoder: exactly what the wire accepts
    except ImportError:  # used outside a pod (unit tests)
        import json

        def dumps(value: object) -> str:
            return json.dumps(value, allow_nan=False)

    return {"cloudpickle": CloudpickleCodec(), "json": JsonCodec(dumps)}


def decode_args(
    codec, args: list, kwargs: dict, client_version: str | None = None, prefix: str = ""
) -> tuple[list, dict]:
    decode = codec.decode
    return (
        [decode(value, f"`{prefix}args[{index}]`", client_version) for index, value in enumerate(args)],
        {key: decode(value, f"`{prefix}kwargs.{key}`", client_version) for key, value in kwargs.items()},
    )


def pod_cloudpickle_version() -> str | None:
    try:
        import cloudpickle
    except ImportError:
        return None
    return getattr(cloudpickle, "__version__", None)


def _version_hint(error: str, client: str | None) -> str:
    """Why a pickle may not load here: the two cloudpickle versions, and what makes them one."""
    pod = pod_cloudpickle_version()
    if client is not None and client == pod:
        return ""
    if client is None and "cloudpickle" not in error:
        return ""  # nothing points at a version mismatch
    here = f"this pod has cloudpickle {pod}" if pod else "this pod has no cloudpickle"
    if client is None:
        return (
            f"; {here} and the value was likely pickled by another version (the request does not say "
            "which: podkeeper's client sends `cloudpickle_version`; runpod-flash 1.21 uses cloudpickle >= "
            f"3.1.1). Use one version on both sides: cloudpickle=={pod} where the client runs, or the "
            "client's version in the pod's env"
        )
    return (
        f"; it was pickled with cloudpickle {client} (the client's) and {here}. Use one version on both "
        f"sides: cloudpickle=={pod} where the client runs, or cloudpickle=={client} in the pod's env"
    )
