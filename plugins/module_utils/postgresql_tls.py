"""PostgreSQL client placement: which hosts get a client's certificate and settings, and
which addresses the server (pg_hba.conf, the firewall) admits for it.

A client runs on the database host itself (the single-host layout: it connects over
loopback) or on other hosts (the split layout: the application hosts). A client that
names no ``sources`` is admitted from the addresses of the hosts it runs on: loopback for
the database host itself, every global address of each other host (read from its facts).

The application hosts' firewall needs the other direction: egress from each client's
system user to the database hosts' addresses and port (``postgresql_client_egress``).

Pure functions with no Ansible dependency; bad input raises ValueError naming the
variable.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping, Sequence

LOOPBACK_SOURCES = ("127.0.0.1/32", "::1/128")
CLIENT_DEFAULTS = {"databases": [], "os_user": "root", "read_all_data": False}


def _host_list(value: object, what: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{what} must be a list of inventory host names, got {value!r}")
    hosts = []
    for host in value:
        if not isinstance(host, str) or not host.strip():
            raise ValueError(f"{what}: {host!r} is not an inventory host name")
        if host not in hosts:
            hosts.append(host)
    if not hosts:
        raise ValueError(f"{what} is empty: name at least one host the client runs on")
    return hosts


def host_addresses(facts: object, host: str, what: str) -> list[str]:
    """The global addresses in a host's facts, as /32 and /128 networks: what its
    connections to another host come from. Loopback and link-local addresses are left
    out (they never leave the host or the link)."""
    if not isinstance(facts, Mapping):
        facts = {}
    found = []
    for key in ("all_ipv4_addresses", "all_ipv6_addresses"):
        values = facts.get(key) or []
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise ValueError(f"{what}: the facts of {host} have a malformed {key}: {values!r}")
        for value in values:
            try:
                address = ipaddress.ip_address(str(value).split("%")[0])
            except ValueError as exc:
                raise ValueError(f"{what}: the facts of {host} list {value!r}, not an address") from exc
            if address.is_loopback or address.is_link_local or address.is_unspecified:
                continue
            found.append(f"{address}/{address.max_prefixlen}")
    if not found:
        raise ValueError(
            f"{what}: no address of {host} is known (gather its network facts first), "
            "or set the client's sources"
        )
    return found


def _client_hosts(client: Mapping, default_hosts: list[str], what: str) -> list[str]:
    if client.get("hosts") is None:
        return list(default_hosts)
    return _host_list(client["hosts"], f"{what}.hosts")


def _clients(clients: object) -> list[tuple[str, Mapping]]:
    if isinstance(clients, (str, Mapping)) or not isinstance(clients, Sequence):
        raise ValueError(f"postgresql_tls_clients must be a list, got {clients!r}")
    named = []
    for index, client in enumerate(clients):
        if not isinstance(client, Mapping):
            raise ValueError(f"postgresql_tls_clients[{index}] must be a dict, got {client!r}")
        named.append((f"postgresql_tls_clients[{client.get('name', index)}]", client))
    return named


def postgresql_clients(
    clients: object,
    local_host: str,
    client_hosts: object,
    hostvars: Mapping | None = None,
) -> list[dict]:
    """``postgresql_tls_clients`` with every default filled in: ``hosts`` (where the
    client's files go; ``client_hosts`` unless the client names its own) and ``sources``
    (the client's own, else loopback for ``local_host`` plus the addresses of every other
    host it runs on, from ``hostvars[host]['ansible_facts']``)."""
    default_hosts = _host_list(client_hosts, "postgresql_tls_client_hosts")
    hostvars = hostvars if isinstance(hostvars, Mapping) else {}
    result = []
    for what, client in _clients(clients):
        full = dict(CLIENT_DEFAULTS) | dict(client)
        full["hosts"] = hosts = _client_hosts(client, default_hosts, what)
        _check_sources(client.get("sources"), f"{what}.sources")
        if client.get("sources") is None:
            sources = list(LOOPBACK_SOURCES) if local_host in hosts else []
            for host in hosts:
                if host != local_host:
                    if host not in hostvars:
                        raise ValueError(f"{what}.hosts: {host} is not a host of the inventory")
                    found = host_addresses(hostvars[host].get("ansible_facts"), host, f"{what}.hosts")
                    sources += [s for s in found if s not in sources]
            full["sources"] = sources
        result.append(full)
    return result


def _check_sources(sources: object, what: str) -> None:
    """Each source is one pg_hba.conf token: a space or a line break would split it into
    more fields (or lines). Whether it is a network is checked by the role (ipaddr)."""
    if sources is None:
        return
    if isinstance(sources, str) or not isinstance(sources, Sequence):
        raise ValueError(f"{what} must be a list of CIDRs, got {sources!r}")
    for source in sources:
        if not isinstance(source, str) or not source or any(c.isspace() or not c.isprintable() for c in source):
            raise ValueError(f"{what}: {source!r} is not one CIDR (no spaces or control characters)")


def _port(value: object) -> int:
    try:
        port = int(str(value)) if not isinstance(value, bool) else -1
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise ValueError(f"postgresql_tls_port must be a port number, got {value!r}")
    return port


def postgresql_client_egress(servers: object, this_host: str, client_hosts: object) -> list[dict]:
    """Firewall egress entries for ``this_host``: the system user of each client that
    runs here may reach its database host's addresses on that server's port. ``servers``
    are the database hosts' variables (``hostvars``): ``postgresql_tls_clients``,
    ``postgresql_tls_port`` (default 5432), ``postgresql_tls_client_hosts`` (default
    ``client_hosts``) and ``ansible_facts`` (for the addresses). Nothing when no client
    runs here."""
    if isinstance(servers, (str, Mapping)) or not isinstance(servers, Sequence):
        raise ValueError(f"the database hosts must be a list of host variables, got {servers!r}")
    entries: dict[tuple[str, int], set[str]] = {}
    for server in servers:
        if not isinstance(server, Mapping):
            raise ValueError(f"a database host's variables must be a dict, got {server!r}")
        default_hosts = _host_list(server.get("postgresql_tls_client_hosts", client_hosts), "postgresql_tls_client_hosts")
        users = []
        for what, client in _clients(server.get("postgresql_tls_clients", [])):
            user = client.get("os_user") or CLIENT_DEFAULTS["os_user"]
            if this_host in _client_hosts(client, default_hosts, what) and user not in users:
                users.append(user)
        if not users:
            continue
        port = _port(server.get("postgresql_tls_port", 5432))
        name = server.get("inventory_hostname", "the database host")
        destinations = host_addresses(server.get("ansible_facts"), name, "postgresql_tls_clients")
        for user in users:
            entries.setdefault((user, port), set()).update(destinations)
    return [
        {"name": f"postgresql-{user}", "user": user, "proto": "tcp", "ports": [port],
         "destinations": sorted(destinations)}
        for (user, port), destinations in entries.items()
    ]


def hosts_addresses(hosts: object, hostvars: object, what: str) -> list[str]:
    """The global addresses of several inventory hosts (host_addresses of each, from
    ``hostvars[host].ansible_facts``), in order and without repeats: where connections
    from those hosts come from (for example the backup servers, for sshd's ``from=``)."""
    if not isinstance(hostvars, Mapping):
        raise ValueError(f"{what}: hostvars must be a mapping of host names to their variables")
    found: list[str] = []
    for host in _host_list(hosts, what):
        facts = (hostvars.get(host) or {}).get("ansible_facts") if host in hostvars else None
        for address in host_addresses(facts, host, what):
            if address not in found:
                found.append(address)
    return found


def postgresql_client_paths(clients: object, client_dir: object, ca_pem: object, client_pems: object,
                            envs: object) -> list[dict]:
    """The ``fedisec.hardening.file_set`` entries for the clients that run on one other host.

    ``clients``: those clients (``name``, ``os_user``); ``client_dir``: where each client's
    directory goes; ``ca_pem``: the CA certificate; ``client_pems``: the results of the
    slurp of each client's ``client.crt`` and ``client.key`` (``item`` is ``[client, file
    name]``); ``envs``: each client's rendered connection settings by name. The directories
    above the client directories are traversable (root 0755), each client's directory and
    files its user's (keys and settings 0600).
    """
    if not isinstance(client_dir, str) or not client_dir.startswith("/") or client_dir.rstrip("/") != client_dir:
        raise ValueError(f"postgresql_tls_client_dir: {client_dir!r} is not an absolute path")
    if not isinstance(ca_pem, str) or "-----BEGIN CERTIFICATE-----" not in ca_pem:
        raise ValueError("postgresql_client_paths: the CA certificate is not a PEM certificate")
    if not isinstance(client_pems, Sequence) or isinstance(client_pems, str):
        raise ValueError("postgresql_client_paths: client_pems must be the slurp results of the client files")
    if not isinstance(envs, Mapping):
        raise ValueError("postgresql_client_paths: envs must map client names to their settings")
    pems: dict[tuple[str, str], str] = {}
    for result in client_pems:
        try:
            client, file_name = result["item"]
            pems[(client["name"], file_name)] = base64.b64decode(result["content"], validate=True).decode()
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"postgresql_client_paths: a slurp result without item [client, file] and content ({err})") from None
    root = {"state": "directory", "owner": "root", "group": "root", "mode": "0755"}
    paths = [{"path": client_dir.rsplit("/", 1)[0] or "/", **root}, {"path": client_dir, **root}]
    if not isinstance(clients, Sequence) or isinstance(clients, str):
        raise ValueError("postgresql_client_paths: clients must be a list of clients")
    for client in clients:
        name, user = (client.get("name"), client.get("os_user")) if isinstance(client, Mapping) else (None, None)
        if not isinstance(name, str) or not name or "/" in name or not isinstance(user, str) or not user:
            raise ValueError(f"postgresql_client_paths: client {client!r} needs a name and an os_user")
        missing = [f for f in ("client.crt", "client.key") if (name, f) not in pems] + ([] if name in envs else ["env"])
        if missing:
            raise ValueError(f"postgresql_client_paths: nothing read for client {name}: {', '.join(missing)}")
        here = f"{client_dir}/{name}"
        mine = {"owner": user, "group": "root"}
        paths += [
            {"path": here, "state": "directory", **mine, "mode": "0700"},
            {"path": f"{here}/ca.crt", "content": ca_pem, **mine, "mode": "0644"},
            {"path": f"{here}/client.crt", "content": pems[(name, "client.crt")], **mine, "mode": "0644"},
            {"path": f"{here}/client.key", "content": pems[(name, "client.key")], **mine, "mode": "0600"},
            {"path": f"{here}/env", "content": envs[name], **mine, "mode": "0600"},
        ]
    return paths
