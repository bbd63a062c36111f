#!/usr/bin/env bash
# Builds podid's two images (podid/mic, podid/nmi) from packages/*/Dockerfile with podman + runc, where no
# registry is reachable: the Dockerfiles' base images are stand-ins made here with debootstrap (Debian 12
# minbase from the mirror apt uses) and tagged with the FROM names; the Node base adds the Node binary and npm
# that `npm ci` installed. Bases are kept in the image cache, so a second run only rebuilds what changed.
# Prints each image's size and build time and fails when an image is over its target (MIC 150 MB, NMI 200 MB).
# Needs root, podman, runc, debootstrap, and `npm ci` done (for the Node binary). Used by `npm run images`, .ci/run
# and harness/src/images (docs/adr/0012-container-images.md).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${repo}"
cache="${PODID_IMAGE_CACHE:-${repo}/.ci/cache/images}"
# The build context: this checkout, or PODID_IMAGE_CONTEXT (another checkout or an exported tree of one).
context="${PODID_IMAGE_CONTEXT:-${repo}}"
podman_() { "${repo}/scripts/images/podman.sh" "$@"; }
limits=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network=host)

[ "$(id -u)" -eq 0 ] || { echo "build-images: needs root (podman with its own storage, debootstrap)" >&2; exit 1; }
for tool in podman runc debootstrap; do
  command -v "${tool}" >/dev/null 2>&1 || { echo "build-images: ${tool} is missing (apt-get install podman runc debootstrap)" >&2; exit 1; }
done
mkdir -p "${cache}/bases"
# One build at a time per cache: test workers and a manual run may start together.
exec 9>"${cache}/build.lock"
flock 9

# The base images both Dockerfiles name: one node:<version>-bookworm-slim and one debian:<version>-slim.
bases="$(sed -n 's/^FROM \([a-z]*:[^ ]*\).*/\1/p' "${context}"/packages/{mic-runner,nmi-server}/Dockerfile | sort -u)"
node_tag="$(grep '^node:' <<<"${bases}" || true)"
debian_tag="$(grep '^debian:' <<<"${bases}" || true)"
if [ "$(wc -l <<<"${bases}")" -ne 2 ] || [ -z "${node_tag}" ] || [ -z "${debian_tag}" ]; then
  echo "build-images: expected one node: and one debian: base across both Dockerfiles, found: ${bases//$'\n'/ }" >&2
  exit 1
fi
# The Node binary of the `node` devDependency (npm ci puts the platform binary at node_modules/node/bin/node).
node_bin="$(readlink -f node_modules/.bin/node 2>/dev/null || true)"
if [ ! -x "${node_bin}" ] || [ "$(head -c 4 "${node_bin}" | od -An -c | tr -d ' ')" != '177ELF' ]; then
  echo "build-images: node_modules/.bin/node is not the Node binary of the node devDependency; run npm ci first" >&2
  exit 1
fi
node_version="$("${node_bin}" --version)"
[[ "${node_tag}" == "node:${node_version#v}-"* ]] || { echo "build-images: ${node_tag} does not match the node devDependency ${node_version}" >&2; exit 1; }

# Debian 12 minbase, made once and kept as a tarball.
minbase="${cache}/bases/bookworm-minbase.tar"
if [ ! -s "${minbase}" ]; then
  mirror="$(grep -hoE '(URIs:|^deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -oE 'https?://[^ ]+' | head -n 1 || true)"
  mirror="${mirror:-http://deb.debian.org/debian}"
  echo "build-images: debootstrap bookworm minbase from ${mirror}"
  started=$(date +%s)
  dir="$(mktemp -d "${cache}/bases/rootfs.XXXXXX")"
  trap 'rm -rf "${dir}"' EXIT
  debootstrap --variant=minbase bookworm "${dir}" "${mirror}" >"${cache}/bases/debootstrap.log" 2>&1 \
    || { tail -n 20 "${cache}/bases/debootstrap.log" >&2; exit 1; }
  rm -rf "${dir}"/var/cache/apt/archives/*.deb "${dir}"/var/lib/apt/lists/*
  tar -C "${dir}" -cf "${minbase}.partial" . && mv "${minbase}.partial" "${minbase}"
  rm -rf "${dir}"
  trap - EXIT
  echo "build-images: minbase in $(( $(date +%s) - started )) s"
fi

env_path='ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
if ! podman_ image exists "${debian_tag}"; then
  podman_ import --quiet --change "${env_path}" --change 'CMD=["bash"]' "${minbase}" "${debian_tag}" >/dev/null
  echo "build-images: imported stand-in ${debian_tag}"
fi
if ! podman_ image exists "${node_tag}"; then
  # Node as in the official image: /usr/local/bin/node, npm under /usr/local/lib/node_modules (the host's npm).
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  layer="$(mktemp -d)"
  mkdir -p "${layer}/usr/local/bin" "${layer}/usr/local/lib/node_modules"
  cp "${node_bin}" "${layer}/usr/local/bin/node"
  cp -a "${npm_dir}" "${layer}/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "${layer}/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "${layer}/usr/local/bin/npx"
  printf 'FROM %s\nCOPY usr/local /usr/local\nCMD ["node"]\n' "${debian_tag}" >"${layer}/Containerfile"
  podman_ build "${limits[@]}" -t "${node_tag}" "${layer}" >/dev/null
  rm -rf "${layer}"
  echo "build-images: imported stand-in ${node_tag} (${node_version}, npm $(npm --version))"
fi

status=0
for spec in mic:mic-runner:150 nmi:nmi-server:200; do
  IFS=: read -r name pkg target <<<"${spec}"
  started=$(date +%s)
  podman_ build "${limits[@]}" --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt \
    -f "${context}/packages/${pkg}/Dockerfile" -t "podid/${name}:latest" "${context}" >"${cache}/build-${name}.log" 2>&1 \
    || { tail -n 40 "${cache}/build-${name}.log" >&2; echo "build-images: podid/${name} failed (log: ${cache}/build-${name}.log)" >&2; exit 1; }
  seconds=$(( $(date +%s) - started ))
  # Also tag the image with the name and tag deploy/ pulls, so what CI builds is what the manifests run.
  deploy_name="$(sed -n 's/^ *newName: *//p' "${context}/deploy/base/${name}/kustomization.yaml")"
  deploy_tag="$(sed -n 's/^ *newTag: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "${context}/deploy/base/${name}/kustomization.yaml")"
  if [ -z "${deploy_name}" ] || [ -z "${deploy_tag}" ]; then
    echo "build-images: deploy/base/${name}/kustomization.yaml names no image (newName/newTag)" >&2; exit 1
  fi
  podman_ tag "podid/${name}:latest" "${deploy_name}:${deploy_tag}"
  bytes="$(podman_ image inspect --format '{{.Size}}' "podid/${name}:latest")"
  mb=$(( (bytes + 999999) / 1000000 ))
  verdict="ok"
  if [ "${mb}" -gt "${target}" ]; then verdict="OVER TARGET"; status=1; fi
  echo "image podid/${name} (${deploy_name}:${deploy_tag}): ${mb} MB (target ${target} MB, ${verdict}), built in ${seconds} s"
done
exit "${status}"
