"""The firewall on fedi, tested for real: connections as each daemon user from fedi,
connections from backup into fedi, loopback, and the tables it must leave alone."""
import os

import pytest

GATEWAY = os.environ["FEDISEC_LAB_GATEWAY"]
CACHE_PORT = int(os.environ["FEDISEC_APT_CACHE_PORT"])
# What the README promises: denied egress is rejected with ICMP admin-prohibited, so a
# local program fails at once with "no route to host" (not a drop: EPERM, not a reset:
# ECONNREFUSED); denied ingress from outside is dropped (the client times out).
REJECTED = "EHOSTUNREACH"
# A restricted loopback port answers others with a TCP reset: it looks closed.
LOOPBACK_REJECTED = "ECONNREFUSED"


@pytest.mark.parametrize(("user", "address", "port"), [
    ("mastodon", "backup", 443),       # the app federates over HTTPS
    ("Debian-exim", "backup", 25),     # the MTA delivers to the smarthost
    ("_apt", GATEWAY, CACHE_PORT),           # apt reaches the package proxy
    ("root", "acme", 14000),           # certificate renewal reaches the ACME server
    ("root", "backup", 443),
])
def test_egress_allowed(lab, user, address, port):
    assert lab.connect("fedi", address, port, user) in {f"open {port}", "connected"}


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
    assert lab.connect("backup", "127.0.0.1", port) == f"open {port}"
    assert lab.connect("fedi", address, port, user) == REJECTED


def test_every_user_may_resolve_names(lab):
    assert lab.host("fedi").run("runuser -u nobody -- getent hosts backup").rc == 0


@pytest.mark.parametrize(("user", "allowed"), [
    ("mastodon", True), ("nobody", False), ("www-data", False), ("root", False),
])
def test_tor_socks_port_only_for_listed_users(lab, user, allowed):
    result = lab.connect("fedi", "127.0.0.1", 9050, user)
    if allowed:
        assert result == "open 9050"
    else:
        assert result == LOOPBACK_REJECTED


def test_other_loopback_ports_stay_open(lab):
    # nginx (www-data) reaches the app on loopback.
    assert lab.connect("fedi", "127.0.0.1", 8080, "www-data") == "open 8080"


@pytest.mark.parametrize("port", [22, 25, 80, 443, 587, 5432])
def test_ingress_services_are_open(lab, port):
    assert lab.connect("backup", "fedi", port) == "connected"


def test_ingress_other_ports_are_dropped(lab):
    # 8080 listens on every address of fedi (reachable on loopback above), but from
    # backup the SYN is dropped.
    assert lab.connect("backup", "fedi", 8080) == "timeout"


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


@pytest.mark.changes
@pytest.mark.parametrize("action", [
    "systemctl restart nftables",
    "systemctl stop nftables && systemctl start nftables",
    "systemctl reload nftables",
    "nft -f /etc/nftables.conf",
])
def test_the_table_survives_what_is_done_to_nftables_service(lab, action):
    # Each of these starts with Debian's `flush ruleset`.
    fedi = lab.host("fedi")
    confirmed = fedi.check_output("nft -s list table inet fedisec")
    try:
        fedi.check_output(action)
        assert fedi.check_output("nft -s list table inet fedisec") == confirmed
        # And it filters: a sample of the matrix above still holds.
        assert lab.connect("fedi", "backup", 443, "mastodon") == "open 443"
        assert lab.connect("fedi", "backup", 443, "nobody") == REJECTED
        assert lab.connect("backup", "fedi", 8080) == "timeout"
        assert lab.connect("backup", "fedi", 443) == "connected"
    finally:
        # The flush took the lab's foreign table too (Debian's behaviour, not ours): put it back.
        fedi.run("nft list table inet lab_other >/dev/null 2>&1 || nft -f - <<'EOF'\n"
                 "table inet lab_other {\n"
                 "  chain input { type filter hook input priority 10; policy accept; counter comment \"lab-other\"; }\n"
                 "}\nEOF")
