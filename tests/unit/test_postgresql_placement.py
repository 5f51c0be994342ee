"""postgresql_tls: where each client's files go, which addresses the server admits for it,
and the application hosts' egress to the database hosts (plugins/module_utils/postgresql_tls.py)."""
from __future__ import annotations

import base64

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.fedisec.hardening.plugins.filter.postgresql_tls import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils.postgresql_tls import (
    postgresql_client_egress,
    postgresql_client_paths,
    postgresql_clients,
)

APP_FACTS = {
    "all_ipv4_addresses": ["10.0.0.5", "127.0.0.1"],
    "all_ipv6_addresses": ["fe80::1%eth0", "2001:db8::5", "::1"],
}
HOSTVARS = {
    "app1": {"ansible_facts": APP_FACTS},
    "app2": {"ansible_facts": {"all_ipv4_addresses": ["10.0.0.6"], "all_ipv6_addresses": []}},
    "peer": {"ansible_facts": {"all_ipv4_addresses": ["10.0.0.9"]}},
    "nofacts": {},
}


def test_single_host_defaults_are_loopback_and_this_host():
    (client,) = postgresql_clients([{"name": "mastodon", "password": "x" * 12}], "db", ["db"])
    assert client == {"name": "mastodon", "password": "x" * 12, "databases": [], "os_user": "root",
                      "read_all_data": False, "hosts": ["db"], "sources": ["127.0.0.1/32", "::1/128"]}


def test_split_layout_admits_the_app_hosts_global_addresses_only():
    (client,) = postgresql_clients([{"name": "mastodon"}], "db", ["app1", "app2"], HOSTVARS)
    assert client["hosts"] == ["app1", "app2"]
    # No loopback (the client is not on this host), no link-local address.
    assert client["sources"] == ["10.0.0.5/32", "2001:db8::5/128", "10.0.0.6/32"]


def test_a_client_on_this_host_and_another_gets_both():
    (client,) = postgresql_clients([{"name": "app", "hosts": ["db", "peer"]}], "db", ["app1"], HOSTVARS)
    assert client["sources"] == ["127.0.0.1/32", "::1/128", "10.0.0.9/32"]


def test_own_hosts_and_sources_win_over_the_defaults():
    clients = [{"name": "backup", "hosts": ["peer"]}, {"name": "ops", "sources": ["192.0.2.0/24"]}]
    backup, ops = postgresql_clients(clients, "db", ["app1"], HOSTVARS)
    assert (backup["hosts"], backup["sources"]) == (["peer"], ["10.0.0.9/32"])
    assert (ops["hosts"], ops["sources"]) == (["app1"], ["192.0.2.0/24"])


def test_duplicate_hosts_are_kept_once():
    (client,) = postgresql_clients([{"name": "a", "hosts": ["peer", "peer"]}], "db", ["db"], HOSTVARS)
    assert (client["hosts"], client["sources"]) == (["peer"], ["10.0.0.9/32"])


@pytest.mark.parametrize(
    ("clients", "client_hosts", "message"),
    [
        ("mastodon", ["db"], "postgresql_tls_clients must be a list"),
        ({"name": "x"}, ["db"], "postgresql_tls_clients must be a list"),
        (["x"], ["db"], r"postgresql_tls_clients\[0\] must be a dict"),
        ([{"name": "a"}], "db", "postgresql_tls_client_hosts must be a list"),
        ([{"name": "a"}], [], "postgresql_tls_client_hosts is empty"),
        ([{"name": "a"}], [""], "postgresql_tls_client_hosts: '' is not an inventory host name"),
        ([{"name": "a"}], [None], "postgresql_tls_client_hosts: None is not"),
        ([{"name": "a", "hosts": "peer"}], ["db"], r"postgresql_tls_clients\[a\]\.hosts must be a list"),
        ([{"name": "a", "hosts": []}], ["db"], r"postgresql_tls_clients\[a\]\.hosts is empty"),
        ([{"name": "a", "hosts": ["ghost"]}], ["db"], r"postgresql_tls_clients\[a\]\.hosts: ghost is not a host of the inventory"),
        ([{"name": "a", "hosts": ["nofacts"]}], ["db"], "no address of nofacts is known"),
        ([{"name": "a", "sources": "10.0.0.0/8"}], ["db"], r"postgresql_tls_clients\[a\]\.sources must be a list"),
        ([{"name": "a", "sources": ["10.0.0.0/ 24"]}], ["db"], r"'10.0.0.0/ 24' is not one CIDR"),
        ([{"name": "a", "sources": ["10.0.0.0/8\nhost all all 0.0.0.0/0 trust"]}], ["db"], "is not one CIDR"),
        ([{"name": "a", "sources": [""]}], ["db"], "is not one CIDR"),
        ([{"name": "a", "sources": [8]}], ["db"], "is not one CIDR"),
    ],
)
def test_bad_input_names_the_variable(clients, client_hosts, message):
    with pytest.raises(ValueError, match=message):
        postgresql_clients(clients, "db", client_hosts, HOSTVARS)


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ({"all_ipv4_addresses": "10.0.0.1"}, "malformed all_ipv4_addresses"),
        ({"all_ipv4_addresses": ["10.0.0.300"]}, "'10.0.0.300', not an address"),
        ({"all_ipv4_addresses": ["127.0.0.1"], "all_ipv6_addresses": ["fe80::1"]}, "no address of app1 is known"),
    ],
)
def test_bad_facts_are_refused(facts, message):
    with pytest.raises(ValueError, match=message):
        postgresql_clients([{"name": "a"}], "db", ["app1"], {"app1": {"ansible_facts": facts}})


DB = {
    "inventory_hostname": "db",
    "ansible_facts": {"all_ipv4_addresses": ["10.0.0.2"], "all_ipv6_addresses": ["2001:db8::2"]},
    "postgresql_tls_clients": [
        {"name": "mastodon", "os_user": "mastodon"},
        {"name": "streaming", "os_user": "mastodon"},
        {"name": "backup", "hosts": ["peer"]},
    ],
}


def test_egress_for_each_user_of_a_client_that_runs_here():
    assert postgresql_client_egress([DB], "app1", ["app1"]) == [
        {"name": "postgresql-mastodon", "user": "mastodon", "proto": "tcp", "ports": [5432],
         "destinations": ["10.0.0.2/32", "2001:db8::2/128"]},
    ]
    assert postgresql_client_egress([DB], "peer", ["app1"]) == [
        {"name": "postgresql-root", "user": "root", "proto": "tcp", "ports": [5432],
         "destinations": ["10.0.0.2/32", "2001:db8::2/128"]},
    ]


def test_no_egress_where_no_client_runs_or_without_database_hosts():
    assert postgresql_client_egress([DB], "elsewhere", ["app1"]) == []
    assert postgresql_client_egress([], "app1", ["app1"]) == []


def test_egress_reads_the_servers_port_and_own_client_hosts():
    db = DB | {"postgresql_tls_port": "6432", "postgresql_tls_client_hosts": ["app2"]}
    assert postgresql_client_egress([db], "app1", ["app1"]) == []
    (entry,) = postgresql_client_egress([db], "app2", ["app1"])
    assert entry["ports"] == [6432]


def test_two_database_hosts_merge_per_user():
    other = DB | {"inventory_hostname": "db2", "ansible_facts": {"all_ipv4_addresses": ["10.0.0.3"]}}
    (entry,) = postgresql_client_egress([DB, other], "app1", ["app1"])
    assert entry["destinations"] == ["10.0.0.2/32", "10.0.0.3/32", "2001:db8::2/128"]


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ({"db": DB}, "must be a list of host variables"),
        (["db"], "must be a dict"),
        ([DB | {"postgresql_tls_port": 0}], "postgresql_tls_port must be a port number"),
        ([DB | {"postgresql_tls_port": "5432;"}], "postgresql_tls_port must be a port number"),
        ([DB | {"postgresql_tls_port": True}], "postgresql_tls_port must be a port number"),
        ([DB | {"ansible_facts": {}}], "no address of db is known"),
        ([DB | {"postgresql_tls_clients": "x"}], "postgresql_tls_clients must be a list"),
    ],
)
def test_egress_bad_input(servers, message):
    with pytest.raises(ValueError, match=message):
        postgresql_client_egress(servers, "app1", ["app1"])


def test_filters_raise_ansible_errors():
    filters = FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match="postgresql_tls_client_hosts is empty"):
        filters["postgresql_clients"]([{"name": "a"}], "db", [])
    with pytest.raises(AnsibleFilterError, match="must be a list of host variables"):
        filters["postgresql_client_egress"]("db", "app1", ["app1"])


def test_hosts_addresses_unites_the_global_addresses_of_each_host():
    result = FilterModule().filters()["hosts_addresses"](["app1", "app2", "app1"], HOSTVARS, "backup_pull_server_addresses")
    assert result == ["10.0.0.5/32", "2001:db8::5/128", "10.0.0.6/32"]


@pytest.mark.parametrize(("hosts", "message"), [
    (["nofacts"], "no address of nofacts is known"),
    (["unknown"], "no address of unknown is known"),
    ("app1", "must be a list of inventory host names"),
])
def test_hosts_addresses_bad_input_names_the_variable(hosts, message):
    with pytest.raises(AnsibleFilterError, match=f"backup_pull_server_addresses: .*{message}|{message}"):
        FilterModule().filters()["hosts_addresses"](hosts, HOSTVARS, "backup_pull_server_addresses")


# --------------------------------------------------------------------------- client files on other hosts

CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"


def _slurp(client: dict, name: str, text: str) -> dict:
    return {"item": [client, name], "content": base64.b64encode(text.encode()).decode()}


def test_client_paths_put_each_clients_files_under_its_own_directory():
    app = {"name": "mastodon", "os_user": "mastodon"}
    slurps = [_slurp(app, "client.crt", "CRT"), _slurp(app, "client.key", "KEY")]
    paths = postgresql_client_paths([app], "/etc/fedisec/postgresql-clients", CA, slurps, {"mastodon": "ENV"})
    assert [(p["path"], p.get("state", "file"), p["owner"], p["mode"], p.get("content")) for p in paths] == [
        ("/etc/fedisec", "directory", "root", "0755", None),
        ("/etc/fedisec/postgresql-clients", "directory", "root", "0755", None),
        ("/etc/fedisec/postgresql-clients/mastodon", "directory", "mastodon", "0700", None),
        ("/etc/fedisec/postgresql-clients/mastodon/ca.crt", "file", "mastodon", "0644", CA),
        ("/etc/fedisec/postgresql-clients/mastodon/client.crt", "file", "mastodon", "0644", "CRT"),
        ("/etc/fedisec/postgresql-clients/mastodon/client.key", "file", "mastodon", "0600", "KEY"),
        ("/etc/fedisec/postgresql-clients/mastodon/env", "file", "mastodon", "0600", "ENV"),
    ]
    assert {p["group"] for p in paths} == {"root"}


@pytest.mark.parametrize(("args", "message"), [
    (([], "relative/dir", CA, [], {}), r"postgresql_tls_client_dir: 'relative/dir' is not an absolute path"),
    (([], "/etc/x", "not a pem", [], {}), r"the CA certificate is not a PEM certificate"),
    (([], "/etc/x", CA, "slurps", {}), r"client_pems must be the slurp results"),
    (([], "/etc/x", CA, [{"item": "x"}], {}), r"a slurp result without item"),
    (([], "/etc/x", CA, [{"item": [{"name": "a"}, "client.crt"], "content": "!!"}], {}), r"a slurp result without item"),
    (([], "/etc/x", CA, [], []), r"envs must map client names"),
    (("mastodon", "/etc/x", CA, [], {}), r"clients must be a list of clients"),
    (([{"name": "a/b", "os_user": "u"}], "/etc/x", CA, [], {}), r"needs a name and an os_user"),
    (([{"name": "a", "os_user": "u"}], "/etc/x", CA, [], {"a": ""}), r"nothing read for client a: client.crt, client.key"),
])
def test_client_paths_refuse_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        postgresql_client_paths(*args)
