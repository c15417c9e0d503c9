# podkeeper in a container: the daemon runs on the image's own Python (system mode, DESIGN §4), so a
# base image that already carries PyTorch is reused as it is: a recipe's dependencies are installed
# only when missing (`uv pip install --system`), never re-downloaded.
#
#   docker build -t podkeeper .                                                  # python:3.11-slim
#   docker build -t podkeeper-torch --build-arg BASE_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime .
#   docker run -d --name podkeeper -v podkeeper-home:/var/lib/podkeeper podkeeper
#   docker exec podkeeper podkeeper call echo '{"text":"hi"}'
#
# The base image must be glibc-based with apt (Debian, Ubuntu) and have python3 on PATH.
# The three images it starts from are build args. Without an image registry, scripts/docker-base.sh
# makes them from the package registries alone (Debian by debootstrap, Node from the npm registry's
# `node` package, uv from PyPI); `npm run test:docker` does that, builds, runs and removes it all:
#
#   scripts/docker-base.sh
#   docker build --network host --build-arg BASE_IMAGE=podkeeper-local/debian:bookworm \
#     --build-arg NODE_IMAGE=podkeeper-local/node:24 --build-arg UV_IMAGE=podkeeper-local/uv:0.13.9 .

# The runtime's base; NODE_IMAGE has node and npm in /usr/local; UV_IMAGE has /uv and /uvx.
ARG BASE_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:24-bookworm-slim
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

# ---------------------------------------------------------------- build: compile, keep runtime deps
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# `npm ci` refuses this lockfile when Biome's per-platform optional binaries are absent (see .ci/run);
# `npm install` installs the locked versions all the same. --ignore-scripts: `prepare` needs src/.
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-page.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${UV_IMAGE} AS uv
FROM ${NODE_IMAGE} AS node

# ---------------------------------------------------------------- runtime
FROM ${BASE_IMAGE}
ARG PODKEEPER_PYTHON=python3

# tini reaps and forwards signals as PID 1: `docker stop` reaches the daemon, which stops its pods.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Node: NODE_IMAGE's binary (the official image's by default; no curl | bash of a repo script).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=uv /uv /uvx /usr/local/bin/

WORKDIR /opt/podkeeper
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY pods ./pods
COPY recipes ./recipes
RUN ln -s /opt/podkeeper/bin/podkeeper.js /usr/local/bin/podkeeper \
 && chmod +x /opt/podkeeper/bin/podkeeper.js /opt/podkeeper/pods/run-pod.sh \
 && "$PODKEEPER_PYTHON" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' \
 && podkeeper --help >/dev/null \
 && install -d -m 0700 /var/lib/podkeeper

# The home (socket, logs, installed recipes, uv cache) lives on a volume and survives the container.
# It is made 0700 above, before it becomes a volume: a new volume takes that mode, and the control
# socket in it must not be reachable by other users.
# Packages installed into the image's Python do not; the uv cache on the volume makes reinstalling
# them after a re-create a copy from disk. The cache and site-packages sit on different filesystems,
# so uv copies instead of hard-linking: say so, rather than have it warn on every install.
# A Debian or Ubuntu python3 is "externally managed" (PEP 668): uv and pip refuse `--system`
# installs so as not to fight apt over a machine's Python. Inside this image the Python is
# podkeeper's to manage (system mode exists for that), and uv installs into /usr/local, never over
# apt's packages in /usr/lib/python3: hence the BREAK_SYSTEM_PACKAGES here, and nowhere else.
# PODKEEPER_ENV_MODE=system is set here explicitly: `auto` means venv everywhere (being in some
# container is no permission to install into its Python); this image is the one place it is wanted.
ENV PODKEEPER_HOME=/var/lib/podkeeper \
    PODKEEPER_ENV_MODE=system \
    PODKEEPER_PYTHON=${PODKEEPER_PYTHON} \
    UV_CACHE_DIR=/var/lib/podkeeper/uv-cache \
    UV_LINK_MODE=copy \
    UV_BREAK_SYSTEM_PACKAGES=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/podkeeper"]

# Runs as root so that a recipe's systemDependencies can be installed with apt (only ever inside a
# container). Run with --user to forbid that; such recipes then fail with the list of what is missing.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["podkeeper", "status"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["podkeeper", "daemon"]
