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
    # A port no restriction names: every user reaches it on loopback.
    assert lab.connect("fedi", "127.0.0.1", 8081, "www-data") == "open 8081"


# The data services on loopback (firewall_loopback_restricted's defaults): a user not
# listed gets a reset (LOOPBACK_REJECTED), which a closed port gives too. So each test
# first proves that something listens: a listed user connects in the same test.
REDIS_PORT = 6379
REDIS_STANDIN = "fedisec-lab-redis-standin"


@pytest.fixture
def redis_addresses(lab):
    """The addresses where something answers on fedi's Redis port during the test: Redis
    if the lab runs one (127.0.0.1), else a throw-away lab listener on every address
    (127.0.0.1, ::1 when loopback has it, fedi's own address), stopped afterwards."""
    fedi = lab.host("fedi")
    if fedi.run("ss -Hltn 'sport = :%s'", str(REDIS_PORT)).stdout.strip():
        yield ["127.0.0.1"]
        return
    ipv6 = "::1" in fedi.check_output("ip -6 -o addr show dev lo 2>/dev/null || true")
    fedi.run("systemctl stop %s; systemctl reset-failed %s", REDIS_STANDIN, REDIS_STANDIN)
    fedi.check_output(
        "systemd-run --unit=%s --collect -p User=nobody /usr/local/bin/lab-listener %s",
        REDIS_STANDIN, f"{'::' if ipv6 else '0.0.0.0'}:{REDIS_PORT}")
    try:
        fedi.check_output(
            "for i in $(seq 50); do ss -Hltn 'sport = :%s' | grep -q . && exit 0; sleep 0.1; done; exit 1",
            str(REDIS_PORT))
        own = fedi.check_output("hostname -I").split()[0]
        yield ["127.0.0.1"] + (["::1"] if ipv6 else []) + [own]
    finally:
        fedi.run("systemctl stop %s", REDIS_STANDIN)


def test_redis_port_only_for_the_app_user_and_root(lab, redis_addresses):
    # Redis has no password by default: www-data (nginx) or any other daemon reaching it
    # could read and rewrite the app's queues and sessions.
    for address in redis_addresses:
        # Something listens: the app user and an admin's root shell get through...
        for user in ("mastodon", "root"):
            answer = lab.connect("fedi", address, REDIS_PORT, user)
            assert answer in {f"open {REDIS_PORT}", "connected"}, (user, address, answer)
        # ...so the reset the others get is the firewall's, on every loopback address and
        # on the host's own address (which goes out on lo too).
        for user in ("www-data", "nobody", "Debian-exim"):
            assert lab.connect("fedi", address, REDIS_PORT, user) == LOOPBACK_REJECTED, (user, address)


@pytest.mark.parametrize("port", [3000, 4000])
def test_app_ports_only_for_nginx_and_the_app_user(lab, port):
    # The stub app (prepare.yml) listens on 127.0.0.1:3000 (web) and 4000 (streaming);
    # nginx proxies to both as www-data.
    for user in ("www-data", "mastodon", "root"):
        assert lab.connect("fedi", "127.0.0.1", port, user) == "connected", user
    for user in ("nobody", "Debian-exim", "_apt"):
        assert lab.connect("fedi", "127.0.0.1", port, user) == LOOPBACK_REJECTED, user


def test_postgresql_port_only_for_its_users(lab):
    # On the PostgreSQL host: a database host of its own when the lab has one, else fedi.
    name = (lab.names("databases") or ["fedi"])[0]
    host = lab.host(name)
    allowed = ["postgres", "root"] + (["mastodon"] if host.user("mastodon").exists else [])
    for user in allowed:
        assert lab.connect(name, "127.0.0.1", 5432, user) == "connected", (name, user)
    for user in ("www-data", "nobody"):
        assert lab.connect(name, "127.0.0.1", 5432, user) == LOOPBACK_REJECTED, (name, user)


@pytest.mark.parametrize("port", [22, 25, 80, 443, 587])
def test_ingress_services_are_open(lab, port):
    assert lab.connect("backup", "fedi", port) == "connected"


def test_the_database_host_admits_ssh_from_anywhere(lab):
    # Its own firewall (site.yml's databases play): SSH from every host, PostgreSQL from its
    # clients' hosts only (test_postgresql.py).
    assert lab.connect("acme", "db", 22) == "connected"


def test_ingress_other_ports_are_dropped(lab):
    # 8081 listens on every address of fedi (reachable on loopback above), but from
    # backup the SYN is dropped.
    assert lab.connect("backup", "fedi", 8081) == "timeout"


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
        assert lab.connect("backup", "fedi", 8081) == "timeout"
        assert lab.connect("backup", "fedi", 443) == "connected"
    finally:
        # The flush took the lab's foreign table too (Debian's behaviour, not ours): put it back.
        fedi.run("nft list table inet lab_other >/dev/null 2>&1 || nft -f - <<'EOF'\n"
                 "table inet lab_other {\n"
                 "  chain input { type filter hook input priority 10; policy accept; counter comment \"lab-other\"; }\n"
                 "}\nEOF")
