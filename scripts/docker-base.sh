#!/usr/bin/env bash
# Makes, on a machine that reaches no image registry, the three images the Dockerfile starts from,
# out of the package registries only:
#   BASE_IMAGE  a minimal Debian of the machine's own release (debootstrap, then `docker import`),
#               with python3 and ca-certificates; it also trusts the CAs this machine adds to
#               Debian's set, so that a build behind a TLS-inspecting proxy reaches the registries;
#   NODE_IMAGE  BASE_IMAGE plus Node 24 (the npm registry's `node` package) and npm (`npm` package);
#   UV_IMAGE    the uv and uvx binaries alone (the `uv` wheel from PyPI), as the official uv image.
# Then: docker build --network host --build-arg BASE_IMAGE=... --build-arg NODE_IMAGE=... \
#         --build-arg UV_IMAGE=... .
#
#   scripts/docker-base.sh          # tags from the env below, or podkeeper-local/...
#
# The debootstrap (minutes) is cached as a tarball in $PODKEEPER_DOCKER_CACHE (default
# /var/cache/podkeeper-docker, or .cache/docker in the repo when /var/cache is not writable);
# delete it to start over. Needs root, debootstrap, python3 with pip, npm, and a Docker engine.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=$(. /etc/os-release && echo "${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}")
arch=$(dpkg --print-architecture)
uv_version=${UV_VERSION:-0.13.9}
node_major=${NODE_MAJOR:-24}
npm_major=${NPM_MAJOR:-11}
base_image=${BASE_IMAGE:-podkeeper-local/debian:$suite}
node_image=${NODE_IMAGE:-podkeeper-local/node:$node_major}
uv_image=${UV_IMAGE:-podkeeper-local/uv:$uv_version}

if [[ -z "${PODKEEPER_DOCKER_CACHE:-}" ]]; then
  if [[ -d /var/cache && -w /var/cache ]]; then
    PODKEEPER_DOCKER_CACHE=/var/cache/podkeeper-docker
  else
    PODKEEPER_DOCKER_CACHE=$PWD/.cache/docker
  fi
fi
cache=$PODKEEPER_DOCKER_CACHE
mkdir -p "$cache"
work=$(mktemp -d)
rootfs=$work/rootfs

# Unmounts whatever debootstrap left mounted in the rootfs (it mounts /proc and /sys there) before
# removing anything, and never crosses into another filesystem while removing.
cleanup() {
  if [[ -d $rootfs ]]; then
    awk -v root="$rootfs" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
      while read -r mount; do umount -l "$mount" || true; done
  fi
  rm -rf --one-file-system "$work"
  [[ -z ${tarball:-} ]] || rm -f "$tarball.part"
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so that the EXIT trap cleans up after a signal too

step() { printf '\n--- %s\n' "$*"; }

# ------------------------------------------------------------------ Debian rootfs (cached tarball)
packages=python3,ca-certificates,tini
tarball=$cache/debian-$suite-$arch-minbase.tar
if [[ -s $tarball ]]; then
  step "Debian $suite: cached rootfs $tarball"
else
  step "Debian $suite: debootstrap (--variant=minbase, $packages)"
  mkdir -p "$rootfs"
  # debootstrap's own default mirror: the machine's apt sources are not copied into the image.
  debootstrap --variant=minbase --arch="$arch" --include="$packages" "$suite" "$rootfs" >"$work/debootstrap.log" 2>&1 || {
    tail -n 40 "$work/debootstrap.log" >&2
    exit 1
  }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
fi

step "BASE_IMAGE $base_image"
raw=$base_image-rootfs
docker import "$tarball" "$raw" >/dev/null
# The CAs of this machine that Debian's bundle lacks go where Debian keeps local CAs, so that an
# update of ca-certificates inside the image keeps them.
ctx=$work/base
mkdir -p "$ctx/extra-ca"
tar -xOf "$tarball" ./etc/ssl/certs/ca-certificates.crt >"$work/debian-ca.crt"
python3 - /etc/ssl/certs/ca-certificates.crt "$work/debian-ca.crt" "$ctx/extra-ca" <<'PY'
import re, sys
from pathlib import Path

def certs(path):
    text = Path(path).read_text() if Path(path).exists() else ''
    return re.findall(r'-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----', text, re.S)

known = set(certs(sys.argv[2]))
extra = [cert for cert in certs(sys.argv[1]) if cert not in known]
for index, cert in enumerate(extra):
    Path(sys.argv[3], f'host-{index}.crt').write_text(cert + '\n')
print(f'{len(extra)} CA(s) of this machine added to the image')
PY
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $raw
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
# uv and Node carry their own CA lists: point them at the system bundle, which has the CAs above.
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \\
    LANG=C.UTF-8
CMD ["/bin/bash"]
DOCKERFILE
docker build -q --network host -t "$base_image" "$ctx" >/dev/null
docker rmi "$raw" >/dev/null

# ------------------------------------------------------------------ Node and npm from the npm registry
step "NODE_IMAGE $node_image (node@$node_major, npm@$npm_major from the npm registry)"
ctx=$work/node
mkdir -p "$ctx"
npm install --prefix "$cache/node" --no-save --no-audit --no-fund --loglevel=error "node@$node_major" >/dev/null
cp "$cache/node/node_modules/node/bin/node" "$ctx/node"
(cd "$work" && npm pack --silent "npm@$npm_major" >"$work/npm-tarball")
mkdir -p "$ctx/npm"
tar -xzf "$work/$(cat "$work/npm-tarball")" -C "$ctx/npm" --strip-components=1
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base_image
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
 && echo "node \$(node --version), npm \$(npm --version)"
DOCKERFILE
docker build -q --network host -t "$node_image" "$ctx" >/dev/null
docker run --rm --network none "$node_image" node --version

# ------------------------------------------------------------------ uv from PyPI
step "UV_IMAGE $uv_image (the uv $uv_version wheel from PyPI)"
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$cache/uv" "uv==$uv_version"
mkdir -p "$work/uv"
python3 - "$cache/uv" "$uv_version" "$work/uv" <<'PY'
import sys, zipfile
from pathlib import Path

wheel = next(Path(sys.argv[1]).glob(f'uv-{sys.argv[2]}-*.whl'))
with zipfile.ZipFile(wheel) as archive:
    for name in ('uv', 'uvx'):
        target = Path(sys.argv[3], name)
        target.write_bytes(archive.read(f'uv-{sys.argv[2]}.data/scripts/{name}'))
        target.chmod(0o755)
PY
tar -C "$work/uv" -c uv uvx | docker import - "$uv_image" >/dev/null
echo "uv $uv_version"
