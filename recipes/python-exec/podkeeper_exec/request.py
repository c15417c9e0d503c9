"""FunctionRequest: the `execute` payload, checked once where it enters (worker-tetra's fields).

    {"function_name": "f", "function_code": "def f(x): ...", "args": [...], "kwargs": {...},
     "dependencies": ["requests"], "system_dependencies": [], "execution_type": "function",
     "class_name": null, "class_code": null, "constructor_args": [], "constructor_kwargs": {},
     "method_name": "__call__", "instance_id": null, "create_new_instance": true,
     "modules": {"utils.py": "..."}, "serialization_format": "cloudpickle"}

As worker-tetra's model does, unknown fields are ignored: each one is named in a warning (the
response's `logs`), so a typo is visible but never refused. podkeeper additions: `serialization`
(the older spelling of `serialization_format`, accepted as an alias), `function_pickle` (the function
itself, base64 cloudpickle, for functions whose source is not available) and `cloudpickle_version`
(the client's, named when a value does not unpickle).
"""

from __future__ import annotations

from .errors import RequestError

SERIALIZATIONS = ("cloudpickle", "json")
EXECUTION_TYPES = ("function", "class")
_IGNORED = ("accelerate_downloads", "hf_models_to_cache")  # worker-tetra's, of no use here
_FORMAT_FIELDS = ("serialization_format", "serialization")
_MAX_NAME = 256


class FunctionRequest:
    __slots__ = (
        "args",
        "class_code",
        "class_name",
        "cloudpickle_version",
        "constructor_args",
        "constructor_kwargs",
        "create_new_instance",
        "dependencies",
        "execution_type",
        "function_code",
        "function_name",
        "function_pickle",
        "instance_id",
        "kwargs",
        "method_name",
        "modules",
        "serialization",
        "system_dependencies",
        "warnings",
    )

    def __init__(self, **fields: object) -> None:
        for name in self.__slots__:
            setattr(self, name, fields.get(name))

    @property
    def has_code(self) -> bool:
        if self.execution_type == "class":
            return self.class_code is not None
        return self.function_code is not None or self.function_pickle is not None

    @property
    def label(self) -> str:
        """What the request runs, for messages: `f` or `C.method`."""
        if self.execution_type == "class":
            return f"{self.class_name}.{self.method_name}"
        return str(self.function_name)


_FIELDS = tuple(sorted({*FunctionRequest.__slots__, *_FORMAT_FIELDS} - {"warnings"}))
_KNOWN = frozenset(_FIELDS) | frozenset(_IGNORED)


def parse_request(payload: object) -> FunctionRequest:
    """Check the payload's fields and fill in the defaults; raises RequestError naming the field."""
    if type(payload) is not dict:
        raise RequestError(f"the execute payload must be a JSON object (a FunctionRequest), got {_kind(payload)}")
    warnings = [
        f"ignored unknown field `{key}` (a FunctionRequest has: {', '.join(_FIELDS)})"
        for key in payload
        if key not in _KNOWN
    ]
    p = payload
    serialization = _serialization(p)
    class_name = _name(p, "class_name")
    execution_type = _choice(p, "execution_type", EXECUTION_TYPES, "function")
    request = FunctionRequest(
        function_name=_name(p, "function_name"),
        function_code=_text(p, "function_code"),
        function_pickle=_text(p, "function_pickle"),
        args=_list(p, "args"),
        kwargs=_dict(p, "kwargs"),
        dependencies=_strings(p, "dependencies"),
        system_dependencies=_strings(p, "system_dependencies"),
        execution_type=execution_type,
        class_name=class_name,
        class_code=_text(p, "class_code"),
        constructor_args=_list(p, "constructor_args"),
        constructor_kwargs=_dict(p, "constructor_kwargs"),
        method_name=_name(p, "method_name") or "__call__",
        instance_id=_name(p, "instance_id"),
        create_new_instance=_bool(p, "create_new_instance", True),
        serialization=serialization,
        modules=_modules(p),
        cloudpickle_version=_name(p, "cloudpickle_version"),
        warnings=warnings,
    )
    if execution_type == "class":
        if class_name is None:
            raise RequestError('`class_name` is required when `execution_type` is "class"')
    elif request.function_name is None:
        hint = ' (or set `execution_type` to "class")' if class_name is not None else ""
        raise RequestError(f"`function_name` is required{hint}")
    elif request.function_code is not None and request.function_pickle is not None:
        raise RequestError("give at most one of `function_code` and `function_pickle`")
    return request


def _kind(value: object) -> str:
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _choice(p: dict, field: str, allowed: tuple[str, ...], default: str) -> str:
    value = p.get(field)
    if value is None:
        return default
    if value not in allowed:
        raise RequestError(f"`{field}` must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _serialization(p: dict) -> str:
    """`serialization_format` (worker-tetra's), or `serialization` (podkeeper's alias); never both, differing."""
    given = {field: p[field] for field in _FORMAT_FIELDS if p.get(field) is not None}
    if len(set(map(repr, given.values()))) > 1:
        raise RequestError(
            f"`serialization_format` ({given['serialization_format']!r}) and its alias `serialization` "
            f"({given['serialization']!r}) disagree; send one of them"
        )
    field = next(iter(given), "serialization_format")
    return _choice(p, field, SERIALIZATIONS, "cloudpickle")


def _modules(p: dict) -> dict[str, str]:
    """`modules`: POSIX relative path -> source text (the paths themselves are checked by modules.py)."""
    value = _dict(p, "modules")
    for path, source in value.items():
        if type(source) is not str:
            raise RequestError(f"`modules.{path}` must be the module's source text, got {_kind(source)}")
    return value


def _name(p: dict, field: str) -> str | None:
    value = p.get(field)
    if value is None:
        return None
    if type(value) is not str or not value or len(value) > _MAX_NAME:
        raise RequestError(
            f"`{field}` must be a non-empty string of at most {_MAX_NAME} characters, got {_kind(value)}"
        )
    return value


def _text(p: dict, field: str) -> str | None:
    value = p.get(field)
    if value is None:
        return None
    if type(value) is not str:
        raise RequestError(f"`{field}` must be a string, got {_kind(value)}")
    return value


def _list(p: dict, field: str) -> list:
    value = p.get(field)
    if value is None:
        return []
    if type(value) is not list:
        raise RequestError(f"`{field}` must be an array, got {_kind(value)}")
    return value


def _dict(p: dict, field: str) -> dict:
    value = p.get(field)
    if value is None:
        return {}
    if type(value) is not dict:
        raise RequestError(f"`{field}` must be an object, got {_kind(value)}")
    return value


def _strings(p: dict, field: str) -> list[str]:
    value = _list(p, field)
    for index, item in enumerate(value):
        if type(item) is not str or not item.strip():
            raise RequestError(f"`{field}[{index}]` must be a non-empty string, got {_kind(item)}")
    return [item.strip() for item in value]


def _bool(p: dict, field: str, default: bool) -> bool:
    value = p.get(field)
    if value is None:
        return default
    if type(value) is not bool:
        raise RequestError(f"`{field}` must be a boolean, got {_kind(value)}")
    return value
