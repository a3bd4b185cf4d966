#!/usr/bin/env bash
# What the container test (tests/test_container.py) needs on a Debian machine that reaches Debian's packages and
# PyPI but no container registry. `./kit test` runs it as root where apt-get exists; it is idempotent and does
# nothing that is already done:
#   1. podman, runc and debootstrap from Debian's packages;
#   2. podman's settings for such a machine (/etc/containers/containers.conf, written only where none exists):
#      open-file and process limits within the machine's own (podman's default asks for more than it may), runc;
#   3. the base image the Dockerfile names, python:3.11-slim, where none is present: a minimal Debian bookworm
#      made with debootstrap and imported, plus its Python 3.11 (scripts/local-base.Containerfile). It stays in
#      podman's storage, so this runs once per machine (about 2 minutes).
# Where a registry can be reached, `podman pull python:3.11-slim` first and step 3 leaves the real image alone.
set -euo pipefail
cd "$(dirname "$0")"

BASE=python:3.11-slim
DEBIAN=localhost/debian:bookworm
log() { echo "container-setup: $*" >&2; }

if ! command -v podman >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  log "installing podman, runc and debootstrap"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq podman runc debootstrap >/dev/null
fi

if [ ! -e /etc/containers/containers.conf ]; then
  log "writing /etc/containers/containers.conf"
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'EOF'
# Written by callback-contract-kit's scripts/container-setup.sh: podman's default open-file limit for a
# container is above what this machine allows (runc: "error setting rlimits"), and crun fails on its cgroups.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
EOF
fi

if podman image exists "$BASE"; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! podman image exists "$DEBIAN"; then
  # The Debian mirror apt already uses (the first one serving a plain "<suite>/main"), else Debian's own.
  mirror=$(apt-cache policy | awk '$2 ~ /^https?:/ && $3 ~ /^[a-z]+\/main$/ { print $2; exit }')
  mirror=${mirror:-http://deb.debian.org/debian}
  log "making $DEBIAN with debootstrap from $mirror"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  tar -C "$work/rootfs" -c . | podman import --quiet - "$DEBIAN" >/dev/null
  rm -rf "$work/rootfs"
fi

log "building $BASE on $DEBIAN (Debian's Python 3.11)"
mkdir "$work/context"
cp local-base.Containerfile "$work/context/Containerfile"
# PyPI is reached through a proxy whose authority only the host trusts: the builds here trust it too.
cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$work/context/host-ca-certificates.crt"
podman build --quiet --pull=never --tag "localhost/$BASE" "$work/context" >/dev/null
log "ready: $(podman image inspect --format '{{.Id}}' "$BASE" | cut -c1-12) localhost/$BASE"
