# shellcheck shell=bash
# Common settings for the lab scripts; sourced, never executed.
FEDISEC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Everything cached across runs on the same machine lives here (venv, rootfs tarballs,
# the lab's apt cache).
FEDISEC_CACHE=${FEDISEC_CACHE:-/var/cache/fedisec-lab}
FEDISEC_NETWORK=${FEDISEC_NETWORK:-fedisec-lab}
# Its subnet (the lab's clients connect from there; bootstrap makes the network match it).
# Set another one if this machine already uses it. The gateway is its first address: the
# machine's side of the network, where the lab's apt cache answers.
FEDISEC_LAB_SUBNET=${FEDISEC_LAB_SUBNET:-10.89.0.0/24}
# Plain bash: this is read before bootstrap has installed anything (python3 included).
first_host_address() {
  local a b c d bits n mask
  local octet='(0|[1-9][0-9]{0,2})'
  [[ $1 =~ ^$octet\.$octet\.$octet\.$octet/(0|[1-9][0-9]?)$ ]] || return 1
  a=${BASH_REMATCH[1]} b=${BASH_REMATCH[2]} c=${BASH_REMATCH[3]} d=${BASH_REMATCH[4]} bits=${BASH_REMATCH[5]}
  (( a < 256 && b < 256 && c < 256 && d < 256 && bits < 32 )) || return 1
  n=$(( a << 24 | b << 16 | c << 8 | d ))
  mask=$(( (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF ))
  (( (n & mask) == n )) || return 1  # host bits set: not a network address
  (( bits < 31 )) && n=$(( n + 1 ))
  echo "$(( n >> 24 & 255 )).$(( n >> 16 & 255 )).$(( n >> 8 & 255 )).$(( n & 255 ))"
}
FEDISEC_LAB_GATEWAY=$(first_host_address "$FEDISEC_LAB_SUBNET") || {
  printf 'error: FEDISEC_LAB_SUBNET=%s is not a network (e.g. 10.89.0.0/24)\n' "$FEDISEC_LAB_SUBNET" >&2; exit 1; }
# The lab's own apt cache (not the machine's apt-cacher-ng, if it runs one): Debian only.
FEDISEC_APT_CACHE_PORT=${FEDISEC_APT_CACHE_PORT:-3143}
FEDISEC_IMAGE_PREFIX=localhost/fedisec-debian
# The Debian release a lab run uses (scenario default and the demo; Debian 13:
# FEDISEC_SUITE=trixie ./scripts/demo.sh) and the releases bootstrap builds images of.
FEDISEC_SUITE=${FEDISEC_SUITE:-bookworm}
FEDISEC_SUITES=${FEDISEC_SUITES:-$(printf '%s\n' bookworm "$FEDISEC_SUITE" | sort -u | xargs)}
FEDISEC_REQS_HASH=$(sha256sum "$FEDISEC_ROOT/requirements-dev.txt" | cut -c1-12)
FEDISEC_VENV=$FEDISEC_CACHE/venv-$FEDISEC_REQS_HASH
CONTAINERS_CONF=$FEDISEC_ROOT/lab/containers.conf
# The scenarios reach their containers through lab_podman: podman exec with pipelining.
ANSIBLE_CONNECTION_PLUGINS=$FEDISEC_ROOT/lab/connection_plugins
# lab_prewarm: the filter plugins imported once, before Ansible forks its workers.
ANSIBLE_CALLBACK_PLUGINS=$FEDISEC_ROOT/lab/callback_plugins
ANSIBLE_CONFIG=$FEDISEC_ROOT/ansible.cfg
PATH=$FEDISEC_VENV/bin:$PATH
export FEDISEC_ROOT FEDISEC_CACHE FEDISEC_NETWORK FEDISEC_LAB_SUBNET FEDISEC_LAB_GATEWAY FEDISEC_APT_CACHE_PORT \
  FEDISEC_IMAGE_PREFIX FEDISEC_SUITES FEDISEC_SUITE FEDISEC_VENV CONTAINERS_CONF ANSIBLE_CONNECTION_PLUGINS ANSIBLE_CALLBACK_PLUGINS ANSIBLE_CONFIG PATH

# The read-only proofs run side by side (pytest-xdist, a file per worker, each file's tests in
# order: they mostly wait on the lab). demo.sh and test.sh add it to PYTEST_ADDOPTS.
lab_parallel_tests="-n 4 --dist loadfile"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Collections: the built tarball of this checkout, installed where ansible.cfg looks, so
# that every lab run uses the collection exactly as a user installs it. Built once per
# content of the collection's files: a rerun with nothing changed skips both steps.
ANSIBLE_COLLECTIONS_PATH=$FEDISEC_ROOT/.cache/collections
export ANSIBLE_COLLECTIONS_PATH

# Where molecule keeps the default scenario's inventory and secrets (its own naming), for
# the scripts that run a playbook on the lab themselves.
lab_ephemeral_dir() {
  local dir
  dir=$HOME/.ansible/tmp/molecule.$(cd "$FEDISEC_ROOT" && python3 -c \
    'import os; from molecule.text import checksum; print(checksum(os.path.basename(os.getcwd()), 4))').default
  [ -d "$dir/inventory" ] || die "no lab inventory in $dir (is the lab up? ./scripts/demo.sh)"
  echo "$dir"
}

install_collection() {
  local build=$FEDISEC_ROOT/.cache/build stamp digest
  stamp=$ANSIBLE_COLLECTIONS_PATH/ansible_collections/fedisec/hardening/.fedisec-source
  # What the built tarball holds: the checkout less galaxy.yml's build_ignore.
  # A file deleted but not yet committed is still listed: sha256sum skips it (no digest line).
  digest=$(cd "$FEDISEC_ROOT" && git ls-files -co --exclude-standard -- . ':!molecule' ':!tests/lab' ':!scripts' \
             ':!lab' ':!.ci' | sort | { xargs -r sha256sum 2>/dev/null || true; } | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    log "collection unchanged since it was installed ($digest)"
    return
  fi
  rm -rf "$build" && mkdir -p "$build"
  ansible-galaxy collection build --force --output-path "$build" "$FEDISEC_ROOT" >/dev/null
  ansible-galaxy collection install --offline --no-deps --force \
    -p "$ANSIBLE_COLLECTIONS_PATH" "$build"/fedisec-hardening-*.tar.gz >/dev/null
  echo "$digest" > "$stamp"
  log "installed $(basename "$build"/fedisec-hardening-*.tar.gz) into $ANSIBLE_COLLECTIONS_PATH"
}
