"""The firewall on fedi, tested for real: connections as each daemon user from fedi,
connections from backup into fedi, loopback, and the tables it must leave alone."""
import os

import pytest

GATEWAY = os.environ["FEDISEC_LAB_GATEWAY"]
# Prints "open <port>" (the lab listener's answer), "connected" or the errno name.
PROBE = """python3 -c '
import errno, socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except socket.timeout:
    sys.exit(print("timeout"))
except OSError as exc:
    sys.exit(print(errno.errorcode.get(exc.errno, exc.errno)))
s.settimeout(1)
try:
    answer = s.recv(64).decode(errors="replace").strip()
except OSError:
    answer = ""
print(answer if answer.startswith("open ") else "connected")
' %s %s"""
DENIED = {"EHOSTUNREACH", "EACCES", "EPERM", "ECONNREFUSED"}


def connect(lab, host, user, address, port):
    """What `user` on `host` gets when connecting to address:port."""
    return lab.host(host).check_output("runuser -u %s -- " + PROBE, user, address, str(port))


@pytest.mark.parametrize(("user", "address", "port"), [
    ("mastodon", "backup", 443),       # the app federates over HTTPS
    ("Debian-exim", "backup", 25),     # the MTA delivers to the smarthost
    ("_apt", GATEWAY, 3142),           # apt reaches the package proxy
    ("root", "acme", 14000),           # certificate renewal reaches the ACME server
    ("root", "backup", 443),
])
def test_egress_allowed(lab, user, address, port):
    assert connect(lab, "fedi", user, address, port) in {f"open {port}", "connected"}


@pytest.mark.parametrize(("user", "address", "port"), [
    ("mastodon", "backup", 8443),      # listening, but not a port the app may use
    ("Debian-exim", "backup", 443),
    ("_apt", "backup", 443),           # only the package proxy
    ("root", "backup", 8443),
    ("nobody", "backup", 443),         # a user without rules gets nothing
    ("www-data", "backup", 443),
    ("postgres", "backup", 443),
])
def test_egress_denied(lab, user, address, port):
    # The same listener answers the allowed probes above and from backup itself.
    assert lab.host("backup").check_output(PROBE, "127.0.0.1", str(port)) == f"open {port}"
    assert connect(lab, "fedi", user, address, port) in DENIED


def test_every_user_may_resolve_names(lab):
    assert lab.host("fedi").run("runuser -u nobody -- getent hosts backup").rc == 0


@pytest.mark.parametrize(("user", "allowed"), [
    ("mastodon", True), ("nobody", False), ("www-data", False), ("root", False),
])
def test_tor_socks_port_only_for_listed_users(lab, user, allowed):
    result = connect(lab, "fedi", user, "127.0.0.1", 9050)
    if allowed:
        assert result == "open 9050"
    else:
        assert result in DENIED


def test_other_loopback_ports_stay_open(lab):
    # nginx (www-data) reaches the app on loopback.
    assert connect(lab, "fedi", "www-data", "127.0.0.1", 8080) == "open 8080"


@pytest.mark.parametrize("port", [22, 25, 80, 443, 587, 5432])
def test_ingress_services_are_open(lab, port):
    assert lab.host("backup").check_output(PROBE, "fedi", str(port)) == "connected"


def test_ingress_other_ports_are_dropped(lab):
    # 8080 listens on every address of fedi (reachable on loopback above), but from
    # backup the SYN is dropped.
    assert lab.host("backup").check_output(PROBE, "fedi", "8080") == "timeout"


def test_foreign_tables_are_left_alone(lab):
    tables = lab.host("fedi").check_output("nft list tables")
    assert "table inet lab_other" in tables
    assert 'comment "lab-other"' in lab.host("fedi").check_output("nft list table inet lab_other")


def test_the_confirmed_ruleset_is_the_boot_ruleset(lab):
    fedi = lab.host("fedi")
    assert fedi.service("fedisec-firewall").is_enabled
    assert fedi.run("cmp /etc/fedisec/firewall/candidate.nft /etc/fedisec/firewall/active.nft").rc == 0
    # No rollback is pending after a confirmed run.
    assert fedi.run("systemctl is-active fedisec-firewall-rollback.timer").stdout.strip() != "active"
    # As at boot: without our table, the unit loads the confirmed ruleset again, unchanged.
    before = fedi.check_output("nft -s list table inet fedisec")
    fedi.check_output("nft delete table inet fedisec && systemctl restart fedisec-firewall")
    assert fedi.check_output("nft -s list table inet fedisec") == before
