"""The FunctionResponse's shape: every key worker-tetra sends, then podkeeper's.

Always, in this order: worker-tetra's `success`, `result`, `json_result`, `error`, `stdout`,
`instance_id`, `instance_info` (null where they do not apply, so the answer validates as
runpod-flash's `FunctionResponse` and `response["error"] is None` holds on success), then podkeeper's
`error_type`, `traceback`, `stderr`, `logs`. As they apply: `exception`, `instance_created`,
`chunks`, and the install reports (`dependencies`, `system_dependencies`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .capture import Capture
    from .instances import Instance


def build(
    outcome: dict, capture: Capture, instance: Instance | None, created: bool, chunks: int | None, reports: dict
) -> dict:
    """`outcome`: `success`, `result`, `json_result`, and for a failure `error`, `error_type`,
    `traceback` and perhaps `exception`."""
    response = {
        "success": outcome["success"],
        "result": outcome["result"],
        "json_result": outcome["json_result"],
        "error": outcome.get("error"),
        "stdout": capture.text(),
        "instance_id": instance.instance_id if instance is not None else None,
        "instance_info": instance.info() if instance is not None else None,
        "error_type": outcome.get("error_type"),
        "traceback": outcome.get("traceback"),
        "stderr": capture.text("stderr"),
        "logs": capture.text("logs"),
    }
    if "exception" in outcome:
        response["exception"] = outcome["exception"]
    if instance is not None:
        response["instance_created"] = created
    if chunks is not None:
        response["chunks"] = chunks
    response.update(reports)
    return response
