"""Writes the wheelhouse the python-exec tests run offline from (stdlib only, deterministic).

Usage: python make_wheelhouse.py OUT_DIR

- `cloudpickle`, repacked from the copy installed in the interpreter running this script, so the
  pods' cloudpickle is the very version the test client pickles with;
- `pk-exec-dep` 1.0.0 and `pk-exec-other` 2.0.0, one-module wheels (`VALUE` 42 and 7): the
  per-request dependencies the tests install into a pod's env.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path

_DATE = (2020, 1, 1, 0, 0, 0)


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def write_wheel(out_dir: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = dict(files)
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: podkeeper-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    lines = [_record_line(path, data) for path, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(lines) + "\n").encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    wheel = out_dir / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(path, date_time=_DATE), data)
    return wheel


def cloudpickle_wheel(out_dir: Path) -> Path:
    import cloudpickle

    package = Path(cloudpickle.__file__).parent
    files = {
        f"cloudpickle/{path.relative_to(package).as_posix()}": path.read_bytes()
        for path in sorted(package.rglob("*.py"))
    }
    return write_wheel(out_dir, "cloudpickle", cloudpickle.__version__, files)


def dep_wheel(out_dir: Path, name: str, version: str, value: int) -> Path:
    code = f'"""A per-request dependency of the python-exec tests."""\nVALUE = {value}\n'.encode()
    return write_wheel(out_dir, name, version, {f"{name.replace('-', '_')}/__init__.py": code})


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for wheel in (
        cloudpickle_wheel(out),
        dep_wheel(out, "pk-exec-dep", "1.0.0", 42),
        dep_wheel(out, "pk-exec-other", "2.0.0", 7),
    ):
        print(wheel)
