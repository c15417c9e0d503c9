"""python-exec: runs Python functions and classes sent in the request (worker-tetra parity).

The recipe's entry (`exec_pod.py`) only wires these modules:
    request       FunctionRequest: parse and check the payload, naming the field
    codecs        `cloudpickle` (base64) and `json` values
    capture       per-request stdout, stderr and logging (contextvars, never process-global)
    sourcecode    compiling `function_code` / `class_code` (cached, with tracebacks showing the source)
    instances     class instances kept across requests, least recently used dropped first
    dependencies  per-request `dependencies` installed into the pod's env with uv (differential)
    system        per-request `system_dependencies` (the environments' system-package rules)
    manifest      deployed mode: `podkeeper.manifest.json` routes requests without code
    modules       per-request `modules` (local module sources) on sys.path while needed
    response      the FunctionResponse's keys, worker-tetra's first
    service       one request from payload to FunctionResponse
    errors        the failure kinds and how one becomes the response's error fields
"""
