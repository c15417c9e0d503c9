#!/usr/bin/env bash
# `npm run test:docker`: the Docker image, built and run for real on a machine that reaches no image
# registry, only the package registries. As root, it
#   1. installs Debian's docker.io and debootstrap when they are missing;
#   2. uses the Docker engine that answers, or starts its own dockerd (--bridge=none
#      --iptables=false: the machine's networking is left alone) with its data, exec root, pidfile
#      and socket in a temp dir, and stops it at the end;
#   3. makes the base images with scripts/docker-base.sh (Debian by debootstrap, Node from the npm
#      registry, uv from PyPI) and builds the Dockerfile on them (--network host);
#   4. runs scripts/docker-smoke.sh on the image (health check, echo, system mode, conflict rule);
#   5. removes every container, volume and image it made, and checks that none is left.
# Prints `N passed, N failed` last. CONFLICT_RULE=0 skips the conflict-rule checks (see docker-smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/docker-lib.sh
started=$SECONDS

[[ $(id -u) -eq 0 ]] || { echo "docker-test: run as root (it may install packages and start dockerd)" >&2; exit 1; }
export DOCKER_BUILDKIT=0 # the classic builder: BuildKit needs the buildx plugin, not in Debian's docker.io

# ------------------------------------------------------------------ 1. tools
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [[ ${#need[@]} -gt 0 ]]; then
  echo "installing ${need[*]} (Debian packages)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ------------------------------------------------------------------ 2. engine
run_id=podkeeper-docker-$$
engine_dir=
dockerd_pid=
dangling_before=
scratch=$(mktemp -d) # the build log, the smoke test's counts
image=podkeeper:$run_id
tag_suffix=$run_id
export BASE_IMAGE=podkeeper-local/debian:$tag_suffix
export NODE_IMAGE=podkeeper-local/node:$tag_suffix
export UV_IMAGE=podkeeper-local/uv:$tag_suffix

stop_engine() {
  [[ -n $dockerd_pid ]] || return 0
  kill -TERM "$dockerd_pid" 2>/dev/null || true
  until_true 60 bash -c "! kill -0 $dockerd_pid 2>/dev/null" || kill -KILL "$dockerd_pid" 2>/dev/null || true
  # dockerd unmounts its layers on the way out; whatever it left mounted goes before the directory.
  awk -v root="$engine_dir" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount; do umount -l "$mount" || true; done
  rm -rf --one-file-system "$engine_dir"
  dockerd_pid=
}

remove_made() {
  docker ps -aq --filter "label=podkeeper.test=$run_id" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker volume ls -q --filter "label=podkeeper.test=$run_id" | xargs -r docker volume rm -f >/dev/null 2>&1 || true
  docker rmi -f "$image" "$BASE_IMAGE" "$BASE_IMAGE-rootfs" "$NODE_IMAGE" "$UV_IMAGE" >/dev/null 2>&1 || true
  # The classic builder keeps each stage as an untagged image: remove those that appeared meanwhile.
  comm -13 <(sort <<<"$dangling_before") <(docker images -q --no-trunc --filter dangling=true | sort) |
    xargs -r docker rmi -f >/dev/null 2>&1 || true
}

cleanup() {
  local code=$?
  trap - EXIT
  if docker info >/dev/null 2>&1; then remove_made; fi
  stop_engine
  rm -rf "$scratch"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that the EXIT trap cleans up after a signal too

if docker info >/dev/null 2>&1; then
  echo "using the Docker engine that answers ($(docker version -f '{{.Server.Version}}'))"
else
  engine_dir=$(mktemp -d /tmp/podkeeper-dockerd.XXXXXX)
  export DOCKER_HOST=unix://$engine_dir/docker.sock
  echo "starting dockerd in $engine_dir"
  dockerd --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
    --data-root "$engine_dir/data" --exec-root "$engine_dir/exec" --pidfile "$engine_dir/docker.pid" \
    --host "$DOCKER_HOST" >"$engine_dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  if ! until_true 60 docker info >/dev/null 2>&1; then
    tail -n 30 "$engine_dir/dockerd.log" >&2
    echo "docker-test: dockerd did not answer within 60 s" >&2
    exit 1
  fi
  echo "dockerd $(docker version -f '{{.Server.Version}}') answers"
fi
dangling_before=$(docker images -q --no-trunc --filter dangling=true)

# ------------------------------------------------------------------ 3. base images, then the image
build_log=$scratch/build.log
build_image() {
  printf '\n--- building %s\n' "$image"
  local build_started=$SECONDS
  docker build --network host --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "NODE_IMAGE=$NODE_IMAGE" \
    --build-arg "UV_IMAGE=$UV_IMAGE" --label "podkeeper.test=$run_id" -t "$image" . >"$build_log" 2>&1 ||
    { tail -n 40 "$build_log" >&2; return 1; }
  echo "built in $((SECONDS - build_started)) s"
}
check "the base images are made from the package registries alone" scripts/docker-base.sh
[[ $check_ok == 0 ]] || check "the image builds on them, with no image registry" build_image

# ------------------------------------------------------------------ 4. the image, run
if docker image inspect "$image" >/dev/null 2>&1; then
  results=$scratch/smoke-counts
  SKIP_BUILD=1 IMAGE=$image RUN_LABEL=$run_id CHECKS_FILE=$results scripts/docker-smoke.sh || true
  read -r smoke_passed smoke_failed <"$results" || { smoke_passed=0; smoke_failed=1; }
  checks_passed=$((checks_passed + smoke_passed))
  checks_failed=$((checks_failed + smoke_failed))
fi

# ------------------------------------------------------------------ 5. nothing left
printf '\n--- removing what it made\n'
remove_made
none_left() {
  [[ -z $(docker ps -aq --filter "label=podkeeper.test=$run_id") ]] &&
    [[ -z $(docker volume ls -q --filter "label=podkeeper.test=$run_id") ]] &&
    ! docker image inspect "$image" >/dev/null 2>&1 && ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 &&
    ! docker image inspect "$NODE_IMAGE" >/dev/null 2>&1 && ! docker image inspect "$UV_IMAGE" >/dev/null 2>&1
}
check "no container, volume or image of this run is left" none_left
if [[ -n $dockerd_pid ]]; then
  pid=$dockerd_pid
  stop_engine
  engine_gone() { ! kill -0 "$pid" 2>/dev/null && [[ ! -e $engine_dir ]]; }
  check "the dockerd it started is stopped and its directory removed" engine_gone
fi
echo "took $((SECONDS - started)) s"
checks_summary
