#!/usr/bin/env bash
# The Docker image, end to end, on a machine with a Docker engine: build it, start the daemon, wait
# until `podkeeper status` answers (the health check's command), call the built-in echo recipe, then
# call a recipe with a dependency to see the system mode install it into the image's Python, and
# remove everything it made.
#
#   scripts/docker-smoke.sh                        # python:3.11-slim
#   BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime scripts/docker-smoke.sh
#   SKIP_BUILD=1 IMAGE=podkeeper:dev scripts/docker-smoke.sh
#
# Needs network access for the image build and for the dependency (six, from PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."

image=${IMAGE:-podkeeper:smoke}
name=podkeeper-smoke-$$
recipes=$(mktemp -d)
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker volume rm -f "$name-home" >/dev/null 2>&1 || true
  rm -rf "$recipes"
}
trap cleanup EXIT

if [[ -z "${SKIP_BUILD:-}" ]]; then
  docker build --build-arg "BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}" -t "$image" .
fi

mkdir -p "$recipes/with-six"
cat >"$recipes/with-six/recipe.json" <<'JSON'
{"name": "with-six", "capability": "six-version", "entry": "pod.py", "dependencies": ["six"]}
JSON
cat >"$recipes/with-six/pod.py" <<'PY'
import sys

import six


def process(payload, ctx):
    return {"six": six.__version__, "python": sys.executable}
PY
chmod -R a+rX "$recipes"

docker run -d --name "$name" -v "$name-home:/var/lib/podkeeper" -v "$recipes:/recipes:ro" \
  -e PODKEEPER_RECIPE_PATH=/recipes "$image" >/dev/null

echo "waiting for the daemon"
for _ in $(seq 60); do
  if docker exec "$name" podkeeper status >/dev/null 2>&1; then break; fi
  if [[ "$(docker inspect -f '{{.State.Running}}' "$name")" != true ]]; then
    docker logs "$name" >&2
    echo "FAIL: the container exited" >&2
    exit 1
  fi
  sleep 1
done
docker exec "$name" podkeeper status

echo "calling echo"
out=$(docker exec "$name" podkeeper call echo '{"text":"hi from docker"}' --json)
echo "$out"
if [[ "$out" != *'"hi from docker"'* ]]; then
  echo "FAIL: echo answered $out" >&2
  exit 1
fi

echo "calling a recipe with a dependency (system mode installs six into the image's Python)"
out=$(docker exec "$name" podkeeper call with-six '{}' --json --timeout 300)
echo "$out"
if [[ "$out" != *'"six"'* ]]; then
  echo "FAIL: with-six answered $out" >&2
  exit 1
fi

echo "stopping"
docker stop -t 20 "$name" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
echo "daemon exited with $code"
[[ "$code" == 0 || "$code" == 143 ]] || { docker logs "$name" >&2; exit 1; }
echo "OK"
