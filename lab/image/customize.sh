#!/usr/bin/env bash
# Turns a debootstrap tree into a lab base image: Debian sources reached through the
# lab's apt cache (the proxy address is set per run by the prepare playbook), no
# units that make no sense in a container, a fresh machine-id per container.
set -euo pipefail
root=$1 suite=$2
security_suite="$suite-security"
cat > "$root/etc/apt/sources.list" <<SOURCES
deb http://deb.debian.org/debian $suite main
deb http://deb.debian.org/debian $suite-updates main
deb http://deb.debian.org/debian-security $security_suite main
SOURCES
# Keep downloaded .debs out of the image and out of the containers.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
  > "$root/etc/apt/apt.conf.d/90fedisec-lab"
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
for unit in getty@tty1.service systemd-logind.service systemd-timesyncd.service \
            apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
chroot "$root" apt-get clean
