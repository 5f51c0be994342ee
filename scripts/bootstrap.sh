#!/usr/bin/env bash
# Installs everything the lab and the tests need, idempotently and from scratch on a
# fresh Debian 12 machine (as root): host packages, the lab's own apt cache, a pinned
# Python venv, the internal podman network with the machine-side seal, and the locally
# built base images. Every step checks first and does nothing when its result is there.
set -euo pipefail
# shellcheck source=scripts/lab-env.sh
. "$(dirname "$0")/lab-env.sh"

[ "$(id -u)" = 0 ] || die "run as root (podman networks, nftables, debootstrap and apt need it)"
mkdir -p "$FEDISEC_CACHE"

# Every program the lab runs on this machine, and the Debian package that brings it.
# netavark gives the internal network a gateway address (CNI gives it none) and needs
# iptables, which Debian 12 only suggests; nft holds the machine-side seal; ssh drives the
# lock-out drill; chromium renders the audit's HTML report in its test.
REQUIRED=(
  podman:podman runc:runc /usr/lib/podman/netavark:netavark iptables:iptables nft:nftables
  debootstrap:debootstrap /usr/sbin/apt-cacher-ng:apt-cacher-ng ssh:openssh-client
  ssh-keygen:openssh-client python3:python3 tar:tar git:git ip:iproute2 ss:iproute2
  chromium:chromium
)
HOST_PACKAGES=(python3-venv ca-certificates)

install_host_packages() {
  local missing=() entry
  for entry in "${REQUIRED[@]}"; do HOST_PACKAGES+=("${entry#*:}"); done
  for p in $(printf '%s\n' "${HOST_PACKAGES[@]}" | sort -u); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing host packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Fails with a one-line cause when a program the lab needs is missing or does not run.
check_binaries() {
  local entry bin
  for entry in "${REQUIRED[@]}"; do
    bin=${entry%%:*}
    command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ] \
      || die "$bin is missing (Debian package ${entry#*:}); the lab cannot run without it"
  done
  iptables -w -L -n >/dev/null 2>&1 || die "iptables does not work here; netavark needs it for the lab network"
  nft list tables >/dev/null 2>&1 || die "nft cannot read the ruleset (nftables); the lab's seal needs it"
}

# The Debian mirrors this machine's own apt uses (archive, security); the lab's apt cache
# forwards to them and to nothing else.
host_debian_mirror() {
  local path=$1 uri
  uri=$(grep -rhoE "^(URIs:|deb) +(\[[^]]*\] +)?https?://[^ ]+/$path/?( |\$)" \
          /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
        | grep -oE "https?://[^ ]+/$path" | head -n1 || true)
  echo "${uri:-http://deb.debian.org/$path}/"
}

# A lab-only apt-cacher-ng with its own configuration: ForceManaged, so it fetches only
# from the two Debian backends below and refuses (403, no name lookup) any other host a
# lab container names. Restarted when its configuration changes.
setup_apt_cache() {
  local dir=$FEDISEC_CACHE/apt-cache conf pid
  mkdir -p "$dir/etc" "$dir/data" "$dir/log" "$dir/run"
  conf=$(cat <<CONF
# written by fedisec scripts/bootstrap.sh: the lab's apt cache, Debian only
CacheDir: $dir/data
LogDir: $dir/log
SupportDir: /usr/lib/apt-cacher-ng
Port: $FEDISEC_APT_CACHE_PORT
ForceManaged: 1
Remap-debrep: deb.debian.org/debian /debian ; file:backends_debian
Remap-secdeb: deb.debian.org/debian-security security.debian.org/debian-security /debian-security ; file:backends_security
ExThreshold: 4
CONF
)
  pid=$(cat "$dir/run/pid" 2>/dev/null || true)
  if [ "$conf" != "$(cat "$dir/etc/acng.conf" 2>/dev/null)" ] \
     || [ "$(host_debian_mirror debian)" != "$(cat "$dir/etc/backends_debian" 2>/dev/null)" ] \
     || [ "$(host_debian_mirror debian-security)" != "$(cat "$dir/etc/backends_security" 2>/dev/null)" ]; then
    log "apt cache: Debian backends $(host_debian_mirror debian) and $(host_debian_mirror debian-security)"
    printf '%s\n' "$conf" > "$dir/etc/acng.conf"
    host_debian_mirror debian > "$dir/etc/backends_debian"
    host_debian_mirror debian-security > "$dir/etc/backends_security"
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && sleep 1
    pid=
  fi
  if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
    log "starting the lab's apt cache on port $FEDISEC_APT_CACHE_PORT"
    /usr/sbin/apt-cacher-ng -c "$dir/etc" pidfile="$dir/run/pid" SocketPath="$dir/run/socket" foreground=0
    for _ in $(seq 20); do (exec 3<>"/dev/tcp/127.0.0.1/$FEDISEC_APT_CACHE_PORT") 2>/dev/null && return; sleep 0.5; done
    die "the lab's apt cache did not start, see $dir/log/apt-cacher.err"
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
  local want="true false $FEDISEC_LAB_SUBNET $FEDISEC_LAB_GATEWAY"
  if podman network exists "$FEDISEC_NETWORK" && [ "$(podman network inspect "$FEDISEC_NETWORK" \
       --format '{{.Internal}} {{.DNSEnabled}}{{range .Subnets}} {{.Subnet}} {{.Gateway}}{{end}}')" != "$want" ]; then
    log "recreating $FEDISEC_NETWORK: internal, $FEDISEC_LAB_SUBNET via $FEDISEC_LAB_GATEWAY, no podman DNS"
    podman network rm -f "$FEDISEC_NETWORK" >/dev/null
  fi
  if ! podman network exists "$FEDISEC_NETWORK"; then
    log "creating the internal lab network $FEDISEC_NETWORK ($FEDISEC_LAB_SUBNET)"
    podman network create --internal --disable-dns --subnet "$FEDISEC_LAB_SUBNET" \
      --gateway "$FEDISEC_LAB_GATEWAY" "$FEDISEC_NETWORK" >/dev/null
  fi
}

# The machine's side of the seal, in its own nftables table (nothing else is touched):
# lab hosts reach this machine only at the apt cache port on the gateway, no packet is
# forwarded between the lab network and any other interface (a route a container adds
# itself ends here), and the apt cache answers only loopback and the lab. Reloaded
# atomically on every run.
setup_host_seal() {
  local bridge
  bridge=$(podman network inspect "$FEDISEC_NETWORK" --format '{{.NetworkInterface}}')
  [ -n "$bridge" ] || die "podman network $FEDISEC_NETWORK has no bridge interface name"
  nft -f - <<RULES || die "could not load the lab's seal table (nft)"
table inet fedisec_lab
delete table inet fedisec_lab
table inet fedisec_lab {
  chain input {
    type filter hook input priority filter - 10; policy accept;
    iifname "$bridge" ct state established,related accept
    iifname "$bridge" ip daddr $FEDISEC_LAB_GATEWAY tcp dport $FEDISEC_APT_CACHE_PORT accept
    iifname "$bridge" counter drop comment "fedisec lab: nothing else on this machine"
    iifname != { "lo", "$bridge" } tcp dport $FEDISEC_APT_CACHE_PORT counter drop comment "fedisec lab: cache for the lab only"
  }
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    iifname "$bridge" oifname != "$bridge" counter drop comment "fedisec lab: nothing leaves"
    oifname "$bridge" iifname != "$bridge" counter drop comment "fedisec lab: nothing enters"
  }
}
RULES
}

build_image() {
  local suite=$1 image="$FEDISEC_IMAGE_PREFIX:$1" tarball="$FEDISEC_CACHE/rootfs-$1.tar"
  podman image exists "$image" && return
  if [ ! -s "$tarball" ]; then
    # debootstrap checks the release's signature with this machine's keyring: a Debian 12
    # machine from before the keys of a newer release were added needs its keyring updated.
    if [ ! -s "/usr/share/keyrings/debian-archive-$suite-automatic.gpg" ]; then
      log "updating debian-archive-keyring (no key for $suite yet)"
      apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --only-upgrade debian-archive-keyring
      [ -s "/usr/share/keyrings/debian-archive-$suite-automatic.gpg" ] \
        || die "this machine's debian-archive-keyring has no key for $suite; debootstrap cannot check it"
    fi
    log "debootstrap $suite (about a minute, cached in $tarball)"
    local dir="$FEDISEC_CACHE/rootfs-$suite"
    rm -rf "$dir"
    debootstrap --variant=minbase \
      --include=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,ca-certificates \
      "$suite" "$dir" "$(host_debian_mirror debian)" >"$FEDISEC_CACHE/debootstrap-$suite.log" 2>&1 \
      || die "debootstrap failed, see $FEDISEC_CACHE/debootstrap-$suite.log"
    "$FEDISEC_ROOT/lab/image/customize.sh" "$dir" "$suite"
    tar -C "$dir" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  log "importing $image"
  podman import --change 'CMD ["/sbin/init"]' "$tarball" "$image" >/dev/null
}

install_host_packages
check_binaries
setup_apt_cache
setup_venv
setup_network
setup_host_seal
for suite in $FEDISEC_SUITES; do build_image "$suite"; done
log "bootstrap complete (venv $FEDISEC_VENV, network $FEDISEC_NETWORK, gateway $FEDISEC_LAB_GATEWAY)"
