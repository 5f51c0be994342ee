"""The seal, proven in every lab scenario (each scenario's test_lab_seal.py imports these):
no lab host reaches anything but the lab's own hosts, the gateway's apt cache port, and
through that cache only the Debian mirror; no outside name resolves; nothing on the
machine running the lab decides what a lab name means.

Safety: every probe targets a lab host, the lab's gateway, or a documentation address
(RFC 5737 / RFC 3849) that the kernel has no route to. The one test that adds a route
first checks that the machine does not forward from the lab's bridge and that the seal
table that would drop such a packet is loaded.
"""
import ipaddress
import os
import socket
import subprocess
import threading
import time

import pytest
from lab import SUITE, inventory_hosts

GATEWAY = os.environ["FEDISEC_LAB_GATEWAY"]
CACHE_PORT = int(os.environ["FEDISEC_APT_CACHE_PORT"])
# TEST-NET-2: documentation only. (Some lab machines use TEST-NET-1 for their own uplink.)
OUTSIDE_V4 = "198.51.100.1"
OUTSIDE_V6 = "2001:db8::1"  # documentation prefix
NO_ROUTE = {"ENETUNREACH", "EADDRNOTAVAIL", "EAFNOSUPPORT"}  # refused by the kernel: no packet
# Probes run as `_apt` (on every Debian host): on a host with the collection's firewall it
# is the one user allowed to the package cache, so the positive controls hold there too.
PROBE_USER = "_apt"


def own_firewall(lab, name):
    """True when the lab host runs the collection's firewall (its egress rules then reject a
    probe before the machine-side seal sees it: EHOSTUNREACH instead of a timeout)."""
    return lab.host(name).run("nft list table inet fedisec").rc == 0


def blocked(lab, name):
    """What a probe to anything but the cache port may get from this lab host: the
    machine-side seal drops it (timeout); on a host with the collection's firewall its own
    egress rule may refuse it first (admin-prohibited: EHOSTUNREACH over IPv4, EACCES or
    nothing over IPv6 link-local). The hosts without one prove the machine side alone."""
    return {"EHOSTUNREACH", "EACCES", "timeout"} if own_firewall(lab, name) else {"timeout"}


def pytest_generate_tests(metafunc):
    if "lab_host" in metafunc.fixturenames:
        metafunc.parametrize("lab_host", inventory_hosts(os.environ["MOLECULE_INVENTORY_FILE"]))


def test_no_ipv4_route_out_of_the_lab(lab, lab_host):
    assert lab.connect(lab_host, OUTSIDE_V4, 443) == "ENETUNREACH"


def test_no_ipv6_route_out_of_the_lab(lab, lab_host):
    assert lab.connect(lab_host, OUTSIDE_V6, 443) in NO_ROUTE


def test_the_apt_cache_port_on_the_gateway_is_reachable(lab, lab_host):
    # The positive control for the probes around it: the same probe does connect here.
    assert lab.connect(lab_host, GATEWAY, CACHE_PORT, PROBE_USER) == "connected"


@pytest.fixture(scope="module")
def machine_listener():
    """A listener on every IPv4 and IPv6 address of the machine running the lab, as any
    service there (sshd, a database, the CI agent) would have."""
    server = socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True)
    accepted = []

    def serve():
        while True:
            try:
                conn, peer = server.accept()
            except OSError:
                return
            accepted.append(peer)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


def test_nothing_else_on_the_machine_is_reachable(lab, lab_host, machine_listener):
    port, accepted = machine_listener
    before = len(accepted)
    expected = blocked(lab, lab_host)
    # Reachable from the machine itself: the listener is real.
    with socket.create_connection((GATEWAY, port), timeout=3):
        pass
    for _ in range(20):
        if len(accepted) > before:
            break
        time.sleep(0.1)
    assert lab.connect(lab_host, GATEWAY, port, PROBE_USER) in expected
    # Every other port the machine listens on (on all addresses) is closed to the lab too.
    listening = subprocess.run(["ss", "-Htln"], capture_output=True, text=True, check=True).stdout
    ports = {int(line.split()[3].rsplit(":", 1)[1]) for line in listening.splitlines()
             if line.split()[3].rsplit(":", 1)[0] in ("0.0.0.0", "*", "[::]", GATEWAY)}
    for other in sorted(ports - {CACHE_PORT, port})[:10]:
        assert lab.connect(lab_host, GATEWAY, other, PROBE_USER, timeout=1) in expected, other
    assert len(accepted) == before + 1  # only the controller's own connection got through


def test_the_machine_is_not_reachable_over_ipv6_link_local(lab, lab_host, machine_listener):
    port, _ = machine_listener
    addresses = subprocess.run(["ip", "-6", "-o", "addr", "show", "dev", bridge_name(), "scope", "link"],
                               capture_output=True, text=True, check=True).stdout.split()
    link_local = [a.split("/")[0] for a in addresses if a.startswith("fe80:")]
    if not link_local:
        # No IPv6 address on the machine's side of the network: nothing to reach there.
        assert lab.connect(lab_host, "fe80::1%eth0", port, PROBE_USER, timeout=1) in NO_ROUTE | {"timeout"}
        return
    assert lab.connect(lab_host, f"{link_local[0]}%eth0", port, PROBE_USER) in blocked(lab, lab_host)


def cache_status(lab, host, url):
    """The status line the lab's apt cache answers for a proxied GET of `url`."""
    request = f"GET {url} HTTP/1.1\\r\\nHost: {url.split('/')[2]}\\r\\nConnection: close\\r\\n\\r\\n"
    script = (f"runuser -u {PROBE_USER} -- python3 -c 'import socket; s = socket.create_connection((\"{GATEWAY}\", {CACHE_PORT}), 20); "
              f"s.sendall(b\"{request}\"); print(s.makefile(\"rb\").readline().decode().strip())'")
    return lab.host(host).check_output(script)


def test_the_apt_cache_fetches_from_the_debian_mirror_only(lab, lab_host):
    # The Debian archive, by the name the lab's sources use: served.
    assert cache_status(lab, lab_host, f"http://deb.debian.org/debian/dists/{SUITE}/InRelease").split()[1] == "200"
    # Any other host, even with a Debian-like path: refused by the cache itself (ForceManaged),
    # before it would look the name up or connect anywhere.
    for url in ("http://example.org/debian/pool/x.deb", f"http://198.51.100.1/debian/dists/{SUITE}/InRelease"):
        assert cache_status(lab, lab_host, url).split(None, 1)[1] == "403 Forbidden file type or location", url


def test_no_name_outside_the_lab_resolves(lab, lab_host):
    # The lab's name server knows the lab hosts only: a lookup of an outside name is never
    # forwarded to a resolver of the machine running the lab.
    host = lab.host(lab_host)
    assert host.run("getent hosts deb.debian.org").rc != 0
    for name in lab.names():
        assert host.run("getent hosts %s", name).rc == 0, name


def test_hosts_file_holds_lab_names_only(lab, lab_host):
    # Not copied from the machine's /etc/hosts: only localhost, the lab hosts and podman's
    # own line for the gateway.
    allowed = {"localhost", "host.containers.internal", *lab.names()}
    lines = lab.host(lab_host).file("/etc/hosts").content_string.splitlines()
    container_id = lab.host(lab_host).check_output("cat /etc/hostname")
    for line in lines:
        names = line.split("#")[0].split()[1:]
        assert set(names) - {container_id} <= allowed, line


@pytest.mark.changes
def test_a_route_added_inside_the_lab_gets_no_packet_out(lab, lab_host):
    host = lab.host(lab_host)
    # Two guards on the machine, both checked before anything is sent: the kernel does not
    # forward from the lab's bridge (netavark turns forwarding off for an internal network),
    # and were it on, the seal table drops what would be forwarded.
    bridge = bridge_name()
    with open(f"/proc/sys/net/ipv4/conf/{bridge}/forwarding", encoding="ascii") as fh:
        assert fh.read().strip() == "0", f"the machine forwards from {bridge}: not probing"
    seal = subprocess.run(["nft", "list", "chain", "inet", "fedisec_lab", "forward"],
                          capture_output=True, text=True, check=True).stdout
    assert 'comment "fedisec lab: nothing leaves"' in seal
    added = host.run("ip route add %s/32 via %s", OUTSIDE_V4, GATEWAY)
    if added.rc != 0:
        # Without CAP_NET_ADMIN the host cannot change its routes at all.
        assert "Operation not permitted" in added.stderr
        return
    # A host that can add routes can also drop its own firewall: take it away for the probe
    # (and load it again after), so that only the machine stands in the way.
    firewall = own_firewall(lab, lab_host)
    try:
        if firewall:
            host.check_output("nft delete table inet fedisec")
        assert lab.connect(lab_host, OUTSIDE_V4, 443, timeout=2) in {"timeout", "EHOSTUNREACH"}
    finally:
        host.run("ip route del %s/32 via %s", OUTSIDE_V4, GATEWAY)
        if firewall:
            host.check_output("systemctl restart fedisec-firewall")
            assert own_firewall(lab, lab_host)


def bridge_name() -> str:
    return subprocess.run(["podman", "network", "inspect", os.environ["FEDISEC_NETWORK"], "--format",
                           "{{.NetworkInterface}}"], capture_output=True, text=True, check=True).stdout.strip()


def test_tor_is_offline_and_talks_to_no_one(lab, lab_host):
    # Never bend: a lab tor has the network off (lab-base puts DisableNetwork 1 on the
    # service's command line, the lab's inventory sets it in the role too) and no socket
    # of a tor process has a peer outside the lab. (With the network off tor opens no
    # listener, not even its control socket: its own log of this start says so.)
    host = lab.host(lab_host)
    # /proc itself: not every lab host has procps (pgrep would be missing, not empty).
    comms = host.check_output("grep -Hx tor /proc/[0-9]*/comm || true").splitlines()
    pids = [line.split("/")[2] for line in comms]
    if not pids:
        return  # no tor on this host: nothing can reach out
    invocation = host.check_output("systemctl show -P InvocationID tor@default.service")
    log = host.check_output("journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID=%s", invocation)
    assert "DisableNetwork is set. Tor will not make or accept non-control network connections." in log
    lab_subnet = ipaddress.ip_network(os.environ["FEDISEC_LAB_SUBNET"])
    for pid in pids:
        # The lab's own guard, whatever the role wrote: on tor's command line.
        argv = host.check_output("xargs -0 printf '%%s\\n' < /proc/%s/cmdline", pid).splitlines()
        assert "--DisableNetwork" in argv and argv[argv.index("--DisableNetwork") + 1] == "1", argv
        for line in host.check_output("ss -Htunap").splitlines():
            if f"pid={pid}," not in line:
                continue
            peer = line.split()[5].rsplit(":", 1)[0].strip("[]")
            if peer in {"*", "0.0.0.0", "::"}:
                continue  # a listener
            address = ipaddress.ip_address(peer.split("%")[0])
            assert address.is_loopback or address in lab_subnet, line
