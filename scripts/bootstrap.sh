#!/usr/bin/env bash
# Installs everything the lab and the tests need, idempotently and from scratch on a
# fresh Debian 12 machine (as root): host packages, the apt cache the sealed lab uses,
# a pinned Python venv, the internal podman network and the locally built base images.
# Every step checks first and does nothing when its result is already there.
set -euo pipefail
# shellcheck source=scripts/lab-env.sh
. "$(dirname "$0")/lab-env.sh"

[ "$(id -u)" = 0 ] || die "run as root (podman networks, debootstrap and apt need it)"
mkdir -p "$FEDISEC_CACHE"

# netavark: the internal network gets a gateway address on the host, where the apt cache
# listens; podman's older CNI backend gives an internal network none.
HOST_PACKAGES=(podman runc netavark debootstrap apt-cacher-ng python3-venv ca-certificates openssh-client nftables)

install_host_packages() {
  local missing=()
  for p in "${HOST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing host packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The Debian mirror this machine's own apt uses; the lab's apt cache forwards to it.
host_debian_mirror() {
  local uri
  uri=$(grep -rhoE '^(URIs:|deb) +(\[[^]]*\] +)?https?://[^ ]+/debian/?( |$)' \
          /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -oE 'https?://[^ ]+/debian' | head -n1 || true)
  echo "${uri:-http://deb.debian.org/debian}/"
}

setup_apt_cache() {
  local backend want
  backend=/etc/apt-cacher-ng/backends_debian
  want=$(host_debian_mirror)
  if [ "$(grep -v '^#' "$backend" 2>/dev/null | grep -v '^$' || true)" != "$want" ]; then
    log "apt cache: Debian backend -> $want"
    printf '# written by fedisec scripts/bootstrap.sh: the mirror this host uses\n%s\n' "$want" > "$backend"
    service apt-cacher-ng restart >/dev/null 2>&1 || true
  fi
  if ! (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null; then
    log "starting apt-cacher-ng"
    service apt-cacher-ng start >/dev/null 2>&1 || /usr/sbin/apt-cacher-ng -c /etc/apt-cacher-ng
    for _ in $(seq 20); do (exec 3<>/dev/tcp/127.0.0.1/3142) 2>/dev/null && break; sleep 0.5; done
  fi
}

setup_venv() {
  [ -f "$FEDISEC_VENV/.complete" ] && return
  log "creating the tooling venv in $FEDISEC_VENV"
  rm -rf "$FEDISEC_VENV"
  /usr/bin/python3 -m venv "$FEDISEC_VENV"
  "$FEDISEC_VENV/bin/pip" install -q --upgrade pip
  "$FEDISEC_VENV/bin/pip" install -q -r "$FEDISEC_ROOT/requirements-dev.txt"
  touch "$FEDISEC_VENV/.complete"
  # Venvs of earlier requirement sets are not used any more.
  find "$FEDISEC_CACHE" -maxdepth 1 -name 'venv-*' ! -path "$FEDISEC_VENV" -exec rm -rf {} +
}

# The lab network: internal (no route out), its gateway address on this machine (the apt
# cache listens there; netavark sets it only when the gateway is given), and no podman DNS:
# aardvark-dns would forward every name it does not know to this machine's resolvers. The
# lab runs its own name server on acme, which knows the lab hosts and nothing else.
setup_network() {
  local gateway want
  gateway=$(python3 -c 'import ipaddress, sys; print(next(ipaddress.ip_network(sys.argv[1]).hosts()))' \
    "$FEDISEC_LAB_SUBNET") || die "FEDISEC_LAB_SUBNET=$FEDISEC_LAB_SUBNET is not a network (e.g. 10.89.0.0/24)"
  want="true false $FEDISEC_LAB_SUBNET $gateway"
  if podman network exists "$FEDISEC_NETWORK" && [ "$(podman network inspect "$FEDISEC_NETWORK" \
       --format '{{.Internal}} {{.DNSEnabled}}{{range .Subnets}} {{.Subnet}} {{.Gateway}}{{end}}')" != "$want" ]; then
    log "recreating $FEDISEC_NETWORK: internal, $FEDISEC_LAB_SUBNET via $gateway, no podman DNS"
    podman network rm -f "$FEDISEC_NETWORK" >/dev/null
  fi
  if ! podman network exists "$FEDISEC_NETWORK"; then
    log "creating the internal lab network $FEDISEC_NETWORK ($FEDISEC_LAB_SUBNET)"
    podman network create --internal --disable-dns --subnet "$FEDISEC_LAB_SUBNET" --gateway "$gateway" \
      "$FEDISEC_NETWORK" >/dev/null
  fi
}

build_image() {
  local suite=$1 image="$FEDISEC_IMAGE_PREFIX:$1" tarball="$FEDISEC_CACHE/rootfs-$1.tar"
  podman image exists "$image" && return
  if [ ! -s "$tarball" ]; then
    log "debootstrap $suite (about a minute, cached in $tarball)"
    local dir="$FEDISEC_CACHE/rootfs-$suite"
    rm -rf "$dir"
    debootstrap --variant=minbase \
      --include=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,ca-certificates \
      "$suite" "$dir" "$(host_debian_mirror)" >"$FEDISEC_CACHE/debootstrap-$suite.log" 2>&1 \
      || die "debootstrap failed, see $FEDISEC_CACHE/debootstrap-$suite.log"
    "$FEDISEC_ROOT/lab/image/customize.sh" "$dir" "$suite"
    tar -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  log "importing $image"
  podman import --change 'CMD ["/sbin/init"]' "$tarball" "$image" >/dev/null
}

install_host_packages
setup_apt_cache
setup_venv
setup_network
for suite in $FEDISEC_SUITES; do build_image "$suite"; done
log "bootstrap complete (venv $FEDISEC_VENV, network $FEDISEC_NETWORK, gateway $(lab_gateway))"
