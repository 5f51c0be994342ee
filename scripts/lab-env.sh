# shellcheck shell=bash
# Common settings for the lab scripts; sourced, never executed.
FEDISEC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything cached across runs on the same machine lives here (venv, rootfs tarballs).
FEDISEC_CACHE=${FEDISEC_CACHE:-/var/cache/fedisec-lab}
FEDISEC_NETWORK=${FEDISEC_NETWORK:-fedisec-lab}
# Its subnet (the lab's clients connect from there; bootstrap makes the network match it).
# Set another one if this machine already uses it.
FEDISEC_LAB_SUBNET=${FEDISEC_LAB_SUBNET:-10.89.0.0/24}
FEDISEC_IMAGE_PREFIX=localhost/fedisec-debian
FEDISEC_SUITES=${FEDISEC_SUITES:-bookworm}
FEDISEC_REQS_HASH=$(sha256sum "$FEDISEC_ROOT/requirements-dev.txt" | cut -c1-12)
FEDISEC_VENV=$FEDISEC_CACHE/venv-$FEDISEC_REQS_HASH
CONTAINERS_CONF=$FEDISEC_ROOT/lab/containers.conf
ANSIBLE_CONFIG=$FEDISEC_ROOT/ansible.cfg
PATH=$FEDISEC_VENV/bin:$PATH
export FEDISEC_ROOT FEDISEC_CACHE FEDISEC_NETWORK FEDISEC_LAB_SUBNET FEDISEC_IMAGE_PREFIX FEDISEC_SUITES FEDISEC_VENV \
  CONTAINERS_CONF ANSIBLE_CONFIG PATH

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Gateway address of the internal lab network: the apt cache listens there.
lab_gateway() {
  podman network inspect "$FEDISEC_NETWORK" \
    --format '{{range .Subnets}}{{.Gateway}}{{end}}' 2>/dev/null
}

# Collections: the built tarball of this checkout, installed where ansible.cfg looks, so
# that every lab run uses the collection exactly as a user installs it.
ANSIBLE_COLLECTIONS_PATH=$FEDISEC_ROOT/.cache/collections
export ANSIBLE_COLLECTIONS_PATH

install_collection() {
  local build=$FEDISEC_ROOT/.cache/build
  rm -rf "$build" && mkdir -p "$build"
  ansible-galaxy collection build --force --output-path "$build" "$FEDISEC_ROOT" >/dev/null
  ansible-galaxy collection install --offline --no-deps --force \
    -p "$ANSIBLE_COLLECTIONS_PATH" "$build"/fedisec-hardening-*.tar.gz >/dev/null
  log "installed $(basename "$build"/fedisec-hardening-*.tar.gz) into $ANSIBLE_COLLECTIONS_PATH"
}
