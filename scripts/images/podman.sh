#!/usr/bin/env bash
# podman with podid's own container storage (CI-owned, outside the machine's default) and the runc runtime
# (crun cannot lower RLIMIT_NPROC on the CI machines). `scripts/images/podman.sh images` lists podid's images.
# PODID_IMAGE_CACHE moves the storage (default: .ci/cache/images in the repository, ignored by git).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${PODID_IMAGE_CACHE:-${repo}/.ci/cache/images}"
mkdir -p "${cache}/storage" "${cache}/run" "${cache}/tmp"
# Build scratch space and RUN --mount=type=cache directories (buildah keeps them under TMPDIR) stay in the cache too.
export TMPDIR="${cache}/tmp"
exec podman --root "${cache}/storage" --runroot "${cache}/run" --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
