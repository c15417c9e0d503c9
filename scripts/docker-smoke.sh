#!/usr/bin/env bash
# The Docker image, run: start the daemon, wait for the health check (`podkeeper status`), call the
# built-in echo recipe, call a recipe with a dependency and see system mode install it into the
# image's Python, then check the conflict rule (a recipe pinning another version of a package the
# image's Python already has gets a layered venv: the image's package is left as it is), stop the
# container and remove what it made. Each check says PASS or FAIL; the last line counts them.
#
#   scripts/docker-smoke.sh                              # builds from python:3.11-slim (needs a registry)
#   BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime scripts/docker-smoke.sh
#   SKIP_BUILD=1 IMAGE=podkeeper:dev scripts/docker-smoke.sh
#   CONFLICT_RULE=0 ...                                  # skip the conflict-rule checks
#
# npm run test:docker (scripts/docker-test.sh) builds the image without an image registry and runs this.
# The container uses the host's network (NETWORK=host): the dependency (six) comes from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/docker-lib.sh

image=${IMAGE:-podkeeper:smoke}
name=podkeeper-smoke-$$
label=podkeeper.test=${RUN_LABEL:-$name}
recipes=$(mktemp -d)
cleanup() {
  local code=$?
  trap - EXIT
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker volume rm -f "$name-home" >/dev/null 2>&1 || true
  rm -rf "$recipes"
  if [[ -n "${CHECKS_FILE:-}" ]]; then
    echo "$checks_passed $checks_failed" >"$CHECKS_FILE"
  else
    checks_summary || code=1
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that the EXIT trap cleans up after a signal too

if [[ -z "${SKIP_BUILD:-}" ]]; then
  docker build --build-arg "BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}" -t "$image" .
fi

# recipe NAME REQUIREMENT: a recipe that answers with the six it imported and the Python it runs on.
recipe() {
  mkdir -p "$recipes/$1"
  printf '{"name": "%s", "capability": "%s", "entry": "pod.py", "dependencies": ["%s"]}\n' "$1" "$1" "$2" \
    >"$recipes/$1/recipe.json"
  cat >"$recipes/$1/pod.py" <<'PY'
import sys

import six


def process(payload, ctx):
    return {"six": six.__version__, "six_file": six.__file__, "python": sys.executable}
PY
}
# The daemon reads the recipe path when it starts: both recipes are there from the start.
pin=1.16.0 # six's latest is newer: with-six gets that, six-pinned conflicts with it
recipe with-six six
recipe six-pinned "six==$pin"
chmod -R a+rX "$recipes"

# field KEY: the first value of KEY anywhere in the JSON on stdin ('' when absent or not JSON).
field() {
  python3 -c '
import json, sys
def find(value, key):
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = find(item, key)
            if found is not None:
                return found
    return None
try:
    found = find(json.load(sys.stdin), sys.argv[1])
except ValueError:
    found = None
print("" if found is None else found)' "$1"
}
in_image() { docker exec "$name" "$@"; }
call() { in_image podkeeper call "$@" --json --timeout 300 2>&1 || true; }

docker volume create --label "$label" "$name-home" >/dev/null
# The health check runs every 2 s here instead of every 30 s: the same command, found sooner.
docker run -d --name "$name" --label "$label" --network "${NETWORK:-host}" \
  --health-interval 2s --health-start-period 60s \
  -v "$name-home:/var/lib/podkeeper" -v "$recipes:/recipes:ro" -e PODKEEPER_RECIPE_PATH=/recipes \
  "$image" >/dev/null

healthy() {
  local state
  for _ in $(seq 90); do
    state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$name")
    [[ $state != "running healthy" ]] || return 0
    [[ $state == running* ]] || { echo "the container stopped: $state" >&2; return 1; }
    sleep 1
  done
  return 1
}
echo "waiting for the health check"
check "the health check (podkeeper status) turns healthy" healthy
if [[ $check_ok == 0 ]]; then
  docker logs "$name" 2>&1 | tail -n 30 >&2
  exit 1
fi

check "the home volume is private (0700): whoever reaches its socket can run code" \
  test "$(in_image stat -c %a /var/lib/podkeeper)" = 700

out=$(call echo '{"text":"hi from docker"}')
echo "echo: $out"
check "echo answers" test "$(field text <<<"$out")" = "hi from docker"

echo "calling with-six: system mode installs six into the image's Python"
out=$(call with-six '{}')
echo "with-six: $out"
six_version=$(field six <<<"$out")
check "with-six (a recipe with a dependency) answers" test -n "$six_version"
check "its pod runs on the image's own Python, not a venv" \
  in_image python3 -c 'import os, sys; sys.exit(os.path.realpath(sys.argv[1]) != os.path.realpath(sys.executable))' \
  "$(field python <<<"$out")"
system_six() { in_image python3 -c 'import six; print(six.__version__, six.__file__)' 2>&1 || true; }
before=$(system_six)
echo "the image's python3: six $before"
check "six is installed in the image's Python (its site-packages)" \
  in_image python3 -c 'import sys, sysconfig, six; sys.exit(not six.__file__.startswith(sysconfig.get_paths()["purelib"]))'

# The conflict rule (system mode): a recipe that pins another version of six than the image has
# gets a layered venv; the image's six, and with-six, stay as they are.
if [[ "${CONFLICT_RULE:-1}" == 1 ]]; then
  echo "calling six-pinned (six==$pin): the conflict rule gives it a layered venv"
  out=$(call six-pinned '{}')
  echo "six-pinned: $out"
  check "[conflict rule] six-pinned gets six $pin" test "$(field six <<<"$out")" = "$pin"
  check "[conflict rule] six-pinned's six is its layered venv's, not the image's site-packages" \
    in_image python3 -c 'import sys, sysconfig; sys.exit(sys.argv[1].startswith(sysconfig.get_paths()["purelib"]) or not sys.argv[1])' \
    "$(field six_file <<<"$out")"
  after=$(system_six)
  echo "the image's python3 now: six $after"
  check "[conflict rule] the image's six is untouched ($before)" test "$after" = "$before"
  in_image podkeeper stop with-six >/dev/null 2>&1 || true
  out=$(call with-six '{}')
  check "[conflict rule] with-six, restarted, still gets six $six_version" test "$(field six <<<"$out")" = "$six_version"
else
  echo "SKIP: the conflict-rule checks (CONFLICT_RULE=${CONFLICT_RULE:-1})"
fi

echo "stopping"
docker stop -t 20 "$name" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "$name")
echo "the daemon exited with $code"
check "docker stop: the daemon exits cleanly (0 or 143)" test "$code" = 0 -o "$code" = 143
if [[ $check_ok == 0 ]]; then
  docker logs "$name" 2>&1 | tail -n 30 >&2
fi
