"""Drives a python-exec pod the way a runpod-flash user does: its own models in, its own models out.

Usage: PYTHON flash_client.py SOCKET SCENARIO...   (PYTHON: a venv with runpod-flash installed)

Each request is built as runpod-flash builds it (`FunctionRequest(...).model_dump(exclude_none=True)`,
arguments pickled by its own `serialize_args`), sent through the podkeeper client's connection, and
each answer is read as runpod-flash reads it (`FunctionResponse.model_validate`, then its live stub's
`handle_response`). Prints one JSON object: per scenario, what was seen (or the error it raised), and
`fields`, the FunctionResponse's fields. Used by test/python-exec-flash.test.ts.
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "clients" / "python" / "src"))

from podkeeper_client import Podkeeper
from runpod_flash.protos.remote_execution import FunctionRequest, FunctionResponse
from runpod_flash.runtime.serialization import serialize_args, serialize_kwargs
from runpod_flash.stubs.live_serverless import LiveServerlessStub

COUNTER = """\
class Counter:
    def __init__(self, start, step=1):
        self.value = start
        self.step = step

    def increment(self):
        self.value += self.step
        return self.value
"""

MODULES = {
    "utils.py": "PREFIX = '>> '\n",
    "helpers/__init__.py": "",
    "helpers/text.py": "from utils import PREFIX\n\ndef shout(text):\n    return PREFIX + text.upper() + '!'\n",
}


class Session:
    def __init__(self, socket: str) -> None:
        self.pk = Podkeeper(socket=socket)
        self.stub = LiveServerlessStub(SimpleNamespace(name="podkeeper"))
        self.raw: list[dict] = []

    def send(self, request: FunctionRequest | dict) -> FunctionResponse:
        payload = request.model_dump(exclude_none=True) if isinstance(request, FunctionRequest) else request
        raw = self.pk.call("python-exec", payload, action="execute", timeout=60)
        self.raw.append(raw)
        return FunctionResponse.model_validate(raw)

    def value(self, response: FunctionResponse) -> object:
        """What runpod-flash's caller gets: the decoded result, or the exception it raises."""
        try:
            return self.stub.handle_response(response)
        except Exception as error:  # noqa: BLE001 - what the user would see
            return f"raised: {error}"

    def call(self, name: str, code: str, *args: object, json_format: bool = False, **fields: object) -> object:
        request = FunctionRequest(
            function_name=name,
            function_code=code,
            args=list(args) if json_format else serialize_args(args),
            serialization_format="json" if json_format else "cloudpickle",
            **fields,
        )
        return self.send(request)


def function_cloudpickle(s: Session) -> dict:
    response = s.call("add", "def add(a, b):\n    return a + b\n", 2, 3)
    return {"value": s.value(response), "result_type": type(response.result).__name__}


def function_json(s: Session) -> dict:
    response = s.call("add", "def add(a, b):\n    return {'sum': a + b}\n", 2, 3, json_format=True)
    return {"value": s.value(response), "result": response.result, "json_result": response.json_result}


def _class(s: Session, json_format: bool) -> dict:
    encode = list if json_format else serialize_args
    common = {
        "execution_type": "class",
        "class_name": "Counter",
        "class_code": COUNTER,
        "method_name": "increment",
        "serialization_format": "json" if json_format else "cloudpickle",
    }
    first = s.send(
        FunctionRequest(
            **common,
            constructor_args=encode((10,)),
            constructor_kwargs={"step": 5} if json_format else serialize_kwargs({"step": 5}),
        )
    )
    second = s.send(FunctionRequest(**common, instance_id=first.instance_id, create_new_instance=False))
    return {
        "values": [s.value(first), s.value(second)],
        "same_instance": first.instance_id == second.instance_id,
        "instance_info": second.instance_info,
    }


def class_cloudpickle(s: Session) -> dict:
    return _class(s, json_format=False)


def class_json(s: Session) -> dict:
    return _class(s, json_format=True)


def modules_function(s: Session) -> dict:
    code = "import utils\n\ndef announce(text):\n    from helpers.text import shout\n    return [shout(text), utils.__file__]\n"
    response = s.call("announce", code, "hi", modules=MODULES)
    value = s.value(response)
    where = str(Path(value[1]).parent) if isinstance(value, list) else None
    gone = s.call("exists", "import os\n\ndef exists(path):\n    return os.path.exists(path)\n", where)
    again = s.call("again", "def again():\n    import utils\n    return utils.PREFIX\n")
    return {"value": value, "dir_left": s.value(gone), "import_later": again.success, "later_error": again.error}


def modules_class(s: Session) -> dict:
    code = (
        "class Speaker:\n"
        "    def __init__(self, name):\n"
        "        self.name = name\n"
        "    def speak(self):\n"
        "        from helpers.text import shout\n"
        "        import utils\n"
        "        return [shout(self.name), utils.__file__]\n"
    )
    common = {"execution_type": "class", "class_name": "Speaker", "class_code": code, "method_name": "speak"}
    first = s.send(FunctionRequest(**common, constructor_args=serialize_args(("ada",)), modules=MODULES))
    later = s.send(FunctionRequest(**common, instance_id=first.instance_id, create_new_instance=False))
    value = s.value(later)
    where = str(Path(value[1]).parent) if isinstance(value, list) else None
    released = s.pk.call("python-exec", {"instance_id": first.instance_id}, action="release")
    gone = s.call("exists", "import os\n\ndef exists(path):\n    return os.path.exists(path)\n", where)
    return {"values": [s.value(first), value], "released": released, "dir_left": s.value(gone)}


def unknown_field(s: Session) -> dict:
    payload = FunctionRequest(function_name="one", function_code="def one():\n    return 1\n").model_dump(
        exclude_none=True
    )
    payload["a_field_from_the_future"] = {"x": 1}
    response = s.send(payload)
    return {"value": s.value(response), "logs": s.raw[-1].get("logs")}


def not_found(s: Session) -> dict:
    function = s.call("absent", "def present():\n    return 1\n")
    klass = s.send(FunctionRequest(execution_type="class", class_name="Absent", class_code=COUNTER))
    method = s.send(
        FunctionRequest(
            execution_type="class",
            class_name="Counter",
            class_code=COUNTER,
            constructor_args=serialize_args((1,)),
            method_name="absent_method",
        )
    )
    return {"errors": [function.error, klass.error, method.error], "success": [function.success, klass.success]}


def lambda_argument(s: Session) -> dict:
    response = s.call("apply", "def apply(fn, x):\n    return fn(x)\n", lambda x: x * 2, 21)
    return {"value": s.value(response), "error_type": s.raw[-1].get("error_type")}


def lambda_argument_versioned(s: Session) -> dict:
    """As podkeeper's client sends it: with `cloudpickle_version`, the client's cloudpickle."""
    import cloudpickle

    payload = FunctionRequest(
        function_name="apply",
        function_code="def apply(fn, x):\n    return fn(x)\n",
        args=serialize_args((lambda x: x * 2, 21)),
    ).model_dump(exclude_none=True)
    payload["cloudpickle_version"] = cloudpickle.__version__
    response = s.send(payload)
    return {"value": s.value(response), "error_type": s.raw[-1].get("error_type"), "client": cloudpickle.__version__}


def main() -> None:
    session = Session(sys.argv[1])
    out: dict = {"fields": sorted(FunctionResponse.model_fields)}
    for name in sys.argv[2:]:
        try:
            with contextlib.redirect_stdout(sys.stderr):  # runpod-flash prints the remote stdout
                out[name] = globals()[name](session)
        except Exception:  # noqa: BLE001 - reported to the test, which names the scenario
            out[name] = {"failed": traceback.format_exc()}
    out["responses"] = session.raw
    session.pk.close()
    print(json.dumps(out, default=repr))


if __name__ == "__main__":
    main()
