#!/usr/bin/env bash
# Runs one recipe's pod by hand, for recipe authors: builds (or reuses) the recipe's venv with uv,
# then execs the runner. Type JSON lines at it; close stdin (Ctrl-D) to stop it.
#
#   pods/run-pod.sh recipes/echo
#   {"id":"1","action":"process","payload":{"text":"hi"}}
#
# The venv is a development env of its own: `<recipe-dir>/.venv`, rebuilt whenever the recipe's
# `dependencies` or `python` change (a stamp file holds their hash). It is not the daemon's
# content-addressed env under $PODKEEPER_HOME/envs, so a hand run never races a daemon's build.
# A recipe without dependencies runs on the base interpreter, as in the daemon.
#
# Environment: PODKEEPER_PYTHON (base interpreter, default python3), PODKEEPER_UV (default uv on
# PATH), PODKEEPER_WHEELHOUSE (passed as --find-links); uv's own variables (UV_OFFLINE,
# UV_INDEX_URL...) pass through. uv's output goes to stderr: stdout carries the protocol only.
set -euo pipefail

if [[ $# -ne 1 || ! -f "${1:-}/recipe.json" ]]; then
  echo "usage: $0 <recipe-dir>   (a folder holding recipe.json)" >&2
  exit 2
fi
recipe_dir=$(cd "$1" && pwd)
pods_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${PODKEEPER_PYTHON:-python3}

# A first line holding the stamp, a second the python request, then one line per requirement.
spec_text=$("$python" - "$recipe_dir/recipe.json" <<'PY'
import hashlib, json, sys
recipe = json.load(open(sys.argv[1]))
deps = [str(d).strip() for d in recipe.get("dependencies", [])]
request = recipe.get("python") or ""
print(hashlib.sha256(json.dumps([sorted(deps), request, sys.version]).encode()).hexdigest()[:16])
print("python=" + request)
for dep in deps:
    if dep.startswith("-"):
        sys.exit(f"dependency {dep!r} starts with '-': dependencies are requirement specifiers")
    print(dep)
PY
)
mapfile -t spec <<<"$spec_text"
stamp=${spec[0]}
request=${spec[1]#python=}
deps=("${spec[@]:2}")

export PYTHONPATH="$pods_dir${PYTHONPATH:+:$PYTHONPATH}"
cd "$recipe_dir"
if [[ ${#deps[@]} -eq 0 && -z "$request" ]]; then
  exec "$python" -u -m podkeeper_pod "$recipe_dir"
fi

uv=${PODKEEPER_UV:-$(command -v uv || true)}
if [[ -z "$uv" ]]; then
  echo "run-pod.sh: uv not found. Install it (python3 -m pip install uv) or set PODKEEPER_UV." >&2
  exit 1
fi
venv="$recipe_dir/.venv"
if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.podkeeper-stamp" 2>/dev/null || true)" != "$stamp" ]]; then
  echo "run-pod.sh: building $venv" >&2
  "$uv" venv --clear --no-project --python "${request:-$python}" "$venv" >&2
  links=()
  if [[ -n "${PODKEEPER_WHEELHOUSE:-}" ]]; then links=(--find-links "$PODKEEPER_WHEELHOUSE"); fi
  if [[ ${#deps[@]} -gt 0 ]]; then
    "$uv" pip install --python "$venv/bin/python" "${links[@]}" -- "${deps[@]}" >&2
  fi
  echo "$stamp" >"$venv/.podkeeper-stamp"
fi
export VIRTUAL_ENV="$venv"
exec "$venv/bin/python" -u -m podkeeper_pod "$recipe_dir"
