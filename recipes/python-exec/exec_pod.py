"""The python-exec recipe: runs Python functions and classes sent in the request
(docs/architecture.md#recipes).

Actions:
- `execute`: a FunctionRequest (worker-tetra's fields) in, a FunctionResponse out; see
  podkeeper_exec/service.py. A failure of the user's code is a FunctionResponse with
  `success: false`, not a protocol error: the pod keeps serving.
- `process`: what this pod holds: its Python, kept instances, deployed names, installed extras.
- `release`: `{"instance_id": "..."}` drops a kept instance; answers `{"released": true|false}`.

Config (`recipe.json` `config`): `maxInstances` (64), `maxOutputChars` per request (1,000,000),
`installTimeout` seconds (600), `logLevel` captured from `logging` (INFO), `manifest` (the deployed
functions file, default `podkeeper.manifest.json`).
"""

from __future__ import annotations

from podkeeper_exec import capture
from podkeeper_exec.service import ExecService

ACTIONS = ("execute", "release")

_service: ExecService | None = None


def setup(ctx) -> None:
    global _service
    capture.install(ctx.config.get("logLevel", "INFO"))
    _service = ExecService(ctx.recipe_dir, ctx.config, ctx.log)
    ctx.state["exec"] = _service


def execute(payload, ctx):
    return _service.execute(payload, ctx)


def process(payload, ctx) -> dict:
    return _service.info()


def release(payload, ctx) -> dict:
    instance_id = payload.get("instance_id") if type(payload) is dict else None
    if type(instance_id) is not str or not instance_id:
        raise ValueError('release needs {"instance_id": "<id>"}')
    return {"released": _service.instances.remove(instance_id)}
