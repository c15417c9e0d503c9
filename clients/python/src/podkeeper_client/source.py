"""The source text `@remote` sends: the function or class alone, dedented, without its decorators
(the pod must not run `@remote` again, nor need its import)."""

from __future__ import annotations

import ast
import inspect
import textwrap


def source_of(obj: object) -> str | None:
    """The definition of `obj` as source text, or None when Python cannot find it (REPL, lambda,
    built dynamically)."""
    if getattr(obj, "__name__", "") == "<lambda>":
        return None
    try:
        text = textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return None
    lines = text.splitlines(keepends=True)
    # `node.lineno` is the `def`/`class` line itself; the decorators sit on the lines above it.
    return "".join(lines[node.lineno - 1 : node.end_lineno])
