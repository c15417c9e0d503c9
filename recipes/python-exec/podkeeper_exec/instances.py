"""Class instances kept in the pod across requests, under their `instance_id`.

worker-tetra builds a new executor per request and so loses its instances; here one registry lives as
long as the pod. It is bounded: past `limit` instances, the least recently used is dropped (the
object's own `close()` is not called: it may be in use by a request still running; the `modules`
its creating request sent are removed with it). Methods of one instance may
run at the same time when the recipe's concurrency is above 1, as with any object shared by threads.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .modules import ModuleDir


def _now() -> str:
    """The pod's local time, naive, as worker-tetra sends it (`datetime.now().isoformat()`): Python
    3.10's `fromisoformat` reads it, and it subtracts from `datetime.now()`."""
    from datetime import datetime  # not needed to reach `ready`

    return datetime.now().isoformat()


class Instance:
    __slots__ = ("class_name", "created_at", "instance_id", "last_used", "method_calls", "modules", "obj")

    def __init__(self, instance_id: str, class_name: str, obj: object, modules: ModuleDir | None = None) -> None:
        self.instance_id = instance_id
        self.class_name = class_name
        self.obj = obj
        self.modules = modules  # the `modules` of the request that created it: kept as long as it is
        self.created_at = self.last_used = _now()
        self.method_calls = 0

    def close(self) -> None:
        if self.modules is not None:
            self.modules.close()

    def info(self) -> dict:
        """`instance_info` of the response (worker-tetra's fields)."""
        return {
            "class_name": self.class_name,
            "created_at": self.created_at,
            "method_calls": self.method_calls,
            "last_used": self.last_used,
        }


class InstanceRegistry:
    def __init__(self, limit: int, on_drop: Callable[[Instance], None] = lambda _: None) -> None:
        if type(limit) is not int or limit < 1:
            raise ValueError(f"config `maxInstances` must be an integer >= 1, got {limit!r}")
        self.limit = limit
        self._items: OrderedDict[str, Instance] = OrderedDict()
        self._lock = threading.Lock()
        self._on_drop = on_drop

    @staticmethod
    def new_id(class_name: str) -> str:
        return f"{class_name}_{uuid.uuid4().hex[:8]}"

    def get(self, instance_id: str) -> Instance | None:
        with self._lock:
            instance = self._items.get(instance_id)
            if instance is not None:
                self._items.move_to_end(instance_id)
            return instance

    def add(self, instance_id: str, class_name: str, obj: object, modules: ModuleDir | None = None) -> Instance:
        """Keep a new instance (replacing one of the same id); drops the least recently used past the bound."""
        instance = Instance(instance_id, class_name, obj, modules)
        with self._lock:
            replaced = self._items.pop(instance_id, None)
            self._items[instance_id] = instance
            dropped = [self._items.popitem(last=False)[1] for _ in range(len(self._items) - self.limit)]
        if replaced is not None:
            replaced.close()
        for old in dropped:
            old.close()
            self._on_drop(old)
        return instance

    def touch(self, instance: Instance) -> None:
        """One more method call finished on this instance."""
        with self._lock:
            instance.method_calls += 1
            instance.last_used = _now()

    def remove(self, instance_id: str) -> bool:
        with self._lock:
            instance = self._items.pop(instance_id, None)
        if instance is None:
            return False
        instance.close()
        return True

    def list(self) -> list[dict]:
        with self._lock:
            items = list(self._items.values())
        return [{"instance_id": item.instance_id, **item.info()} for item in items]

    def __len__(self) -> int:
        return len(self._items)
