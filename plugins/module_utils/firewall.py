"""Host firewall policy: validation, and rendering to nftables (Linux) and pf (BSD).

Pure functions with no Ansible dependency (only netaddr), so they can be imported
both as ``ansible_collections.fedisec.hardening.plugins.module_utils.firewall`` and
from a standalone script.

``firewall_policy(policy, users)`` validates a policy and returns a normalized,
JSON-serializable dict; ``firewall_nft`` and ``firewall_pf`` render that dict, and
``firewall_ingress_allows`` answers whether it opens a port to every source. Error
messages use the role's variable names (``firewall_ingress``, ``firewall_egress``...).

Policy keys (all optional):

- ``table``: nft table and pf anchor name, default ``fedisec``.
- ``sets``: ``[{name, cidrs}]``, named CIDR sets (IPv4 and IPv6 mixed), referenced as
  ``"@name"`` in ``sources`` and ``destinations``. A set may be empty; a rule whose
  addresses are all in empty sets matches nothing and is left out.
- ``ingress``: ``[{name, proto, ports, sources}]``; ``proto`` is ``tcp``, ``udp`` or
  a list of them, ``ports`` a list of ints and ``"a-b"`` ranges (or one int), and
  empty ``sources`` accept every source.
- ``egress``: ``[{name, user, proto, ports, destinations, optional}]``; no ``user``
  applies to every user, empty ``ports`` / ``destinations`` mean any, and
  ``optional: true`` drops the rule when the user does not exist on the host.
- ``loopback_restricted``: ``[{name, proto, port, users, optional_users}]``; loopback
  is open except these ports, which only ``users`` may connect to (``proto`` defaults
  to tcp; ``users`` is required, ``[]`` closes the port to every user). With
  ``optional_users: true`` users missing on the host are left out (recorded in
  ``dropped``); a port whose users are all missing is then closed to every user,
  never opened to all. "Loopback" is the output interface ``lo``: 127.0.0.0/8, ::1
  and the host's own addresses alike.
- ``ingress_deny``: ``drop`` (default) or ``reject``.
- ``log``: ``{enabled: true, rate: "10/minute", prefix: "fedisec-fw"}``, logging of
  denied packets (nft rate-limits it; pf cannot).
- ``ping``: accept ICMP / ICMPv6 echo requests (rate-limited on nft), default true.

Both renderings always admit, whatever the policy: ICMP errors, IPv6 neighbour
discovery (on nft only with hop limit 255, RFC 4861) and MLD, and DHCPv6 on the link
(replies from ``fe80::/10`` port 547 to port 546, client messages from port 546 to
``ff02::1:2`` port 547).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping

import netaddr

FORMAT = "fedisec.hardening.firewall/1"
PROTOCOLS = ("tcp", "udp")
DEFAULT_TABLE = "fedisec"
DEFAULT_LOG = {"enabled": True, "rate": "10/minute", "prefix": "fedisec-fw"}
INGRESS_DENY = ("drop", "reject")
MAX_UID = 4294967294

# Policy key -> role variable, used in every error message.
_VARIABLES = {
    "ingress": "firewall_ingress",
    "egress": "firewall_egress",
    "sets": "firewall_sets",
    "loopback_restricted": "firewall_loopback_restricted",
}
_POLICY_KEYS = (
    "table",
    "sets",
    "ingress",
    "egress",
    "loopback_restricted",
    "ingress_deny",
    "log",
    "ping",
)
_SET_KEYS = ("name", "cidrs")
_INGRESS_KEYS = ("name", "proto", "ports", "sources")
_EGRESS_KEYS = ("name", "user", "proto", "ports", "destinations", "optional")
_LOOPBACK_KEYS = ("name", "proto", "port", "users", "optional_users")
_LOG_KEYS = ("enabled", "rate", "prefix")
_EVERY_USER_HINT = " (omit it or set it to null to apply the rule to every user)"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,40}")
_TABLE = re.compile(r"[a-z][a-z0-9_]{0,30}")
# POSIX portable names plus the trailing "$" of Samba machine accounts.
_USER_NAME = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,31}\$?")
_RATE = re.compile(r"[1-9][0-9]{0,5}/(?:second|minute|hour|day)")
# nft log prefixes are short and quoted; leave room for the " out: " suffix.
_LOG_PREFIX = re.compile(r"[A-Za-z0-9_.:/=+-][A-Za-z0-9 _.:/=+-]{0,19}")
_PORT = re.compile(r"[0-9]{1,5}")
_PORT_RANGE = re.compile(r"([0-9]{1,5})-([0-9]{1,5})")

# nft: rate limit of accepted echo requests, and the ICMP types that must pass.
_PING_RATE = "10/second"
_NFT_ICMP_ERRORS = "destination-unreachable, time-exceeded, parameter-problem"
_NFT_ICMPV6_ERRORS = "destination-unreachable, packet-too-big, time-exceeded, parameter-problem"
# Neighbour discovery is only valid with hop limit 255 (RFC 4861): a packet with
# another hop limit was forwarded by a router, so it does not come from the link.
# MLD messages carry hop limit 1 and are matched without it.
_NFT_ND_HOPLIMIT = "ip6 hoplimit 255"
_NFT_ICMPV6_ND_IN = "nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert"
_NFT_ICMPV6_ND_OUT = "nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert"
_NFT_ICMPV6_MLD_IN = "mld-listener-query"
_NFT_ICMPV6_MLD_OUT = "mld-listener-report, mld-listener-done, mld2-listener-report"
# DHCPv6 (RFC 8415): the client (port 546) sends to All_DHCP_Relay_Agents_and_Servers
# (ff02::1:2, port 547); servers and relays answer from their link-local address.
# Only privileged processes can bind port 546, so the egress rule needs no user.
_DHCPV6_SERVERS = "ff02::1:2"
_DHCPV6_SOURCES = "fe80::/10"
_NFT_DHCPV6_IN = f"ip6 saddr {_DHCPV6_SOURCES} udp sport 547 udp dport 546 accept"
_NFT_DHCPV6_OUT = f"ip6 daddr {_DHCPV6_SERVERS} udp sport 546 udp dport 547 accept"
_NFT_DENY = "reject with icmpx type admin-prohibited"
# pf: 143 is the MLDv2 listener report, which older pfctl versions cannot name.
_PF_ICMPV6_ND = "neighbrsol neighbradv routersol routeradv listqry listenrep listendone 143"
_PF_DHCPV6 = [
    f"pass in quick inet6 proto udp from {_DHCPV6_SOURCES} port 547 to port 546",
    f"pass out quick inet6 proto udp from port 546 to {_DHCPV6_SERVERS} port 547",
]
_PF_ICMP_ERRORS = "unreach timex paramprob"
_PF_ICMPV6_ERRORS = "unreach toobig timex paramprob"
# pf table names are limited to 31 characters (PF_TABLE_NAME_SIZE).
_PF_TABLE_NAME_MAX = 31
_NFT_NAME_MAX = 64


class _Where:
    """Where a value comes from, for error messages: a variable, or one of its entries."""

    def __init__(self, variable: str, index: int | None = None, name: str | None = None):
        self.variable = variable
        self.index = index
        self.name = name

    def __str__(self) -> str:
        if self.index is None:
            return self.variable
        if self.name is None:
            return f"{self.variable} entry at index {self.index}"
        return f"{self.variable} entry {self.name!r} (index {self.index})"

    def error(self, message: str) -> ValueError:
        """Return a ValueError prefixed with this location."""
        return ValueError(f"{self}: {message}")


def _variable(key: str) -> str:
    """Return the role variable that holds the policy key ``key``."""
    return _VARIABLES.get(key, f"firewall_{key}")


def _describe(value: object) -> str:
    """Return ``value`` with its type, for 'got ...' parts of error messages."""
    return f"{type(value).__name__} {value!r}"


def _is_list(value: object) -> bool:
    """Return whether ``value`` is a list or tuple (strings and mappings are not)."""
    return isinstance(value, (list, tuple))


def _check_keys(mapping: Mapping, allowed: tuple[str, ...], where: _Where) -> None:
    """Raise for keys of ``mapping`` not in ``allowed``, suggesting a close spelling."""
    for key in mapping:
        if key in allowed:
            continue
        hint = ""
        close = difflib.get_close_matches(str(key), allowed, n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
        raise where.error(f"unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}")


def _bool(value: object, key: str, where: _Where, default: bool) -> bool:
    """Return ``value`` as a bool; None means ``default``."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise where.error(f"{key} must be true or false, got {_describe(value)}")
    return value


def _list(value: object, key: str, where: _Where, what: str) -> list:
    """Return ``value`` as a list; None means empty. Strings and mappings are refused."""
    if value is None:
        return []
    if not _is_list(value):
        raise where.error(f"{key} must be a list of {what}, got {_describe(value)}")
    return list(value)


# ---------------------------------------------------------------------------
# Entries, names, protocols and ports


def _entries(policy: Mapping, key: str, allowed: tuple[str, ...]) -> list[tuple[_Where, Mapping]]:
    """Return ``(where, entry)`` for each entry of the list ``policy[key]``.

    Checks that each entry is a mapping with known keys and a valid name that is
    unique within the list.
    """
    variable = _variable(key)
    value = policy.get(key)
    if value is None:
        return []
    if not _is_list(value):
        raise ValueError(f"{variable} must be a list of rules, got {_describe(value)}")
    entries = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(value):
        where = _Where(variable, index)
        if not isinstance(entry, Mapping):
            raise where.error(f"must be a mapping, got {_describe(entry)}")
        where.name = _entry_name(entry, where)
        _check_keys(entry, allowed, where)
        if where.name in seen:
            raise where.error(f"duplicate name, already used at index {seen[where.name]}")
        seen[where.name] = index
        entries.append((where, entry))
    return entries


def _entry_name(entry: Mapping, where: _Where) -> str:
    """Return the validated ``name`` of an entry."""
    name = entry.get("name")
    if name is None:
        raise where.error("name is missing")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise where.error(
            f"name {name!r} is invalid: use 1-41 letters, digits, '_', '.' or '-',"
            " starting with a letter or digit"
        )
    return name


def _protocols(value: object, where: _Where) -> list[str]:
    """Return the protocols of ``proto`` (a name or a list of names) in input order."""
    if value is None:
        raise where.error("proto is missing: use tcp, udp or [tcp, udp]")
    items = list(value) if _is_list(value) else [value]
    if not items:
        raise where.error("proto must not be empty: use tcp, udp or [tcp, udp]")
    protocols: list[str] = []
    for item in items:
        if item not in PROTOCOLS:
            raise where.error(f"unknown proto {item!r}; allowed: {', '.join(PROTOCOLS)}")
        if item in protocols:
            raise where.error(f"duplicate proto {item!r}")
        protocols.append(item)
    return protocols


def _port_number(value: object, where: _Where) -> int:
    """Return a port number from an int or a digit string, checking 1-65535."""
    if isinstance(value, bool):
        raise where.error(f"port {value!r} is not a port number (got a boolean)")
    if isinstance(value, str) and _PORT.fullmatch(value):
        value = int(value)
    if not isinstance(value, int):
        raise where.error(f"port {value!r} is not a port number ({type(value).__name__})")
    if not 1 <= value <= 65535:
        raise where.error(f"port {value} is out of range 1-65535")
    return value


def _port_range(value: object, where: _Where) -> list[int]:
    """Return ``[first, last]`` for a port or an ``"a-b"`` range string."""
    match = _PORT_RANGE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        port = _port_number(value, where)
        return [port, port]
    first = _port_number(match.group(1), where)
    last = _port_number(match.group(2), where)
    if first > last:
        raise where.error(f"port range {value!r} is empty: write it as '{last}-{first}'")
    return [first, last]


def _port_label(port_range: list[int]) -> str:
    """Return ``22`` or ``6000-6010`` for error messages."""
    first, last = port_range
    return str(first) if first == last else f"{first}-{last}"


def _ports(value: object, where: _Where) -> list[list[int]]:
    """Return the ``[first, last]`` ranges of ``ports`` in input order; None means any.

    A single int is accepted in place of a list; list items may also be digit
    strings. Duplicate or overlapping ports are refused.
    """
    if value is None:
        return []
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    ranges = [_port_range(item, where) for item in _list(value, "ports", where, "ports")]
    for index, current in enumerate(ranges):
        for earlier in ranges[:index]:
            if current[0] <= earlier[1] and earlier[0] <= current[1]:
                raise where.error(
                    f"ports {_port_label(earlier)} and {_port_label(current)} overlap"
                )
    return ranges


# ---------------------------------------------------------------------------
# Addresses and sets


def _network(value: object, key: str, where: _Where) -> netaddr.IPNetwork:
    """Parse one CIDR (or plain address, taken as /32 or /128) of ``key``."""
    if not isinstance(value, str):
        raise where.error(f"{key}: {_describe(value)} is not a CIDR string")
    try:
        network = netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, ValueError, TypeError) as exc:
        raise where.error(f"{key}: {value!r} is not a valid IPv4 or IPv6 address or CIDR") from exc
    if network.ip != network.network:
        raise where.error(
            f"{key}: {value!r} has host bits set; write {str(network.cidr)!r} for the network"
        )
    return network.cidr


def _families(networks: list[netaddr.IPNetwork]) -> dict[str, list[str]]:
    """Split networks into sorted ``v4`` / ``v6`` string lists without redundant entries.

    Single hosts are written without prefix length. Duplicates and networks
    contained in another listed network are dropped, so the remaining networks
    never overlap.
    """
    result: dict[str, list[str]] = {"v4": [], "v6": []}
    for version, family in ((4, "v4"), (6, "v6")):
        candidates = [net for net in networks if net.version == version]
        # A supernet sorts before the networks it contains; CIDR blocks either nest
        # or are disjoint, so only the last kept block can contain the next one.
        candidates.sort(key=lambda net: (net.first, net.prefixlen))
        kept: list[netaddr.IPNetwork] = []
        for net in candidates:
            if not kept or net.first > kept[-1].last:
                kept.append(net)
        result[family] = [_network_text(net) for net in kept]
    return result


def _network_text(network: netaddr.IPNetwork) -> str:
    """Return ``192.0.2.0/24``, or the plain address for a single host (/32, /128)."""
    if network.size == 1:
        return str(network.ip)
    return str(network)


def _sets(policy: Mapping) -> dict[str, dict[str, list[str]]]:
    """Return the named sets as ``{name: {"v4": [...], "v6": [...]}}`` in input order.

    A set may be empty (e.g. no resolvers known): rules referencing it then match
    nothing through it, and a rule whose addresses are all in empty sets is left out.
    """
    sets: dict[str, dict[str, list[str]]] = {}
    for where, entry in _entries(policy, "sets", _SET_KEYS):
        if "cidrs" not in entry:
            raise where.error("cidrs is missing (use [] for an empty set)")
        cidrs = _list(entry["cidrs"], "cidrs", where, "CIDRs")
        for cidr in cidrs:
            if isinstance(cidr, str) and cidr.startswith("@"):
                raise where.error(f"cidrs: {cidr!r}: sets cannot reference other sets")
        sets[where.name] = _families([_network(cidr, "cidrs", where) for cidr in cidrs])
    return sets


def _addresses(value: object, key: str, where: _Where, sets: Mapping) -> dict:
    """Return ``{"any", "v4", "v6", "sets"}`` for ``sources`` / ``destinations``.

    ``any`` is true only when the list is empty or absent; ``sets`` holds the
    referenced set names in input order (without the ``@``).
    """
    items = _list(value, key, where, "CIDRs or @set references")
    networks = []
    references: list[str] = []
    for item in items:
        if isinstance(item, str) and item.startswith("@"):
            name = item[1:]
            if name not in sets:
                defined = ", ".join(sets) or "none"
                raise where.error(
                    f"{key}: unknown set {item!r} (define it in firewall_sets;"
                    f" defined sets: {defined})"
                )
            if name not in references:
                references.append(name)
        else:
            networks.append(_network(item, key, where))
    result = {"any": not items}
    result.update(_families(networks))
    result["sets"] = references
    return result


# ---------------------------------------------------------------------------
# Users


def _uid(users: Mapping, name: str, where: _Where) -> int:
    """Return the numeric uid of ``users[name]``: an int, digit string or getent row."""
    value = users[name]
    if _is_list(value):
        value = value[1] if len(value) > 1 else None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_UID:
        raise where.error(
            f"user {name!r} has no valid uid in the users mapping: expected an int, a digit"
            f" string or a getent passwd row with the uid at index 1, got {users[name]!r}"
        )
    return value


def _user_name(value: object, key: str, where: _Where, empty_hint: str = "") -> str:
    """Return a validated user name; ``empty_hint`` explains what to do instead of ''."""
    if isinstance(value, str) and value == "":
        raise where.error(f"{key} must not be empty{empty_hint}")
    if not isinstance(value, str) or not _USER_NAME.fullmatch(value):
        raise where.error(f"{key} {value!r} is not a valid user name")
    return value


def _user_ref(name: str, users: Mapping, where: _Where) -> dict | None:
    """Return ``{"name", "uid"}`` for an existing user, None when it does not exist."""
    if name not in users:
        return None
    return {"name": name, "uid": _uid(users, name, where)}


def _host_user(
    name: str, users: Mapping, where: _Where, optional: bool, option: str, dropped: list
) -> dict | None:
    """Return ``{"name", "uid"}`` for an existing user. A missing one is recorded in
    ``dropped`` (None is returned) when ``optional``, and an error otherwise."""
    user = _user_ref(name, users, where)
    if user is not None:
        return user
    if optional:
        dropped.append({"variable": where.variable, "entry": where.name, "user": name})
        return None
    raise where.error(f"user {name!r} does not exist on this host ({option})")


# ---------------------------------------------------------------------------
# Rule kinds


def _ingress(policy: Mapping, sets: Mapping) -> list[dict]:
    """Return the normalized ``ingress`` rules in input order."""
    rules = []
    for where, entry in _entries(policy, "ingress", _INGRESS_KEYS):
        ports = _ports(entry.get("ports"), where)
        if not ports:
            raise where.error("ports must list the ports to open (use '1-65535' for every port)")
        rules.append(
            {
                "name": where.name,
                "protos": _protocols(entry.get("proto"), where),
                "ports": ports,
                "sources": _addresses(entry.get("sources"), "sources", where, sets),
            }
        )
    return rules


def _egress(policy: Mapping, sets: Mapping, users: Mapping, dropped: list) -> list[dict]:
    """Return the normalized ``egress`` rules; optional rules of missing users go to ``dropped``."""
    rules = []
    for where, entry in _entries(policy, "egress", _EGRESS_KEYS):
        optional = _bool(entry.get("optional"), "optional", where, False)
        rule = {
            "name": where.name,
            "user": None,
            "uid": None,
            "protos": _protocols(entry.get("proto"), where),
            "ports": _ports(entry.get("ports"), where),
            "destinations": _addresses(entry.get("destinations"), "destinations", where, sets),
        }
        if entry.get("user") is not None:
            name = _user_name(entry["user"], "user", where, _EVERY_USER_HINT)
            hint = "set optional: true to skip the rule when the user is missing"
            user = _host_user(name, users, where, optional, hint, dropped)
            if user is None:
                continue
            rule["user"] = user["name"]
            rule["uid"] = user["uid"]
        rules.append(rule)
    return rules


def _loopback(policy: Mapping, users: Mapping, dropped: list) -> list[dict]:
    """Return the normalized ``loopback_restricted`` entries in input order."""
    restrictions = []
    seen: dict[tuple[str, int], str] = {}
    for where, entry in _entries(policy, "loopback_restricted", _LOOPBACK_KEYS):
        proto = entry.get("proto", "tcp")
        protos = _protocols("tcp" if proto is None else proto, where)
        if entry.get("port") is None:
            raise where.error("port is missing")
        port = _port_number(entry["port"], where)
        for protocol in protos:
            if (protocol, port) in seen:
                raise where.error(
                    f"port {port}/{protocol} is already restricted by entry"
                    f" {seen[(protocol, port)]!r}"
                )
            seen[(protocol, port)] = where.name
        restrictions.append(
            {
                "name": where.name,
                "protos": protos,
                "port": port,
                "users": _loopback_users(entry, users, where, dropped),
            }
        )
    return restrictions


def _loopback_users(entry: Mapping, users: Mapping, where: _Where, dropped: list) -> list[dict]:
    """Return ``[{"name", "uid"}]`` of the users allowed to reach a restricted port."""
    optional = _bool(entry.get("optional_users"), "optional_users", where, False)
    if entry.get("users") is None:
        # A forgotten or misspelt key must not silently close the port to every user.
        raise where.error(
            "users is missing: list the users allowed to connect ([] closes the port to every user)"
        )
    allowed: list[dict] = []
    seen: list[str] = []
    for value in _list(entry["users"], "users", where, "user names"):
        name = _user_name(value, "users entry", where)
        if name in seen:
            raise where.error(f"duplicate user {name!r} in users")
        seen.append(name)
        hint = "set optional_users: true to drop missing users"
        user = _host_user(name, users, where, optional, hint, dropped)
        if user is not None:
            allowed.append(user)
    return allowed


# ---------------------------------------------------------------------------
# Scalar settings


def _table(policy: Mapping) -> str:
    """Return the validated table name."""
    table = policy.get("table")
    if table is None:
        return DEFAULT_TABLE
    if not isinstance(table, str) or not _TABLE.fullmatch(table):
        raise ValueError(
            f"firewall_table: {table!r} must be 1-31 lowercase letters, digits or '_',"
            " starting with a letter"
        )
    return table


def _ingress_deny(policy: Mapping) -> str:
    """Return ``drop`` or ``reject``."""
    value = policy.get("ingress_deny")
    if value is None:
        return "drop"
    if value not in INGRESS_DENY:
        raise ValueError(f"firewall_ingress_deny: {value!r} must be 'drop' or 'reject'")
    return value


def _ping(policy: Mapping) -> bool:
    """Return whether echo requests are accepted."""
    value = policy.get("ping")
    if value is None:
        return True
    if not isinstance(value, bool):
        raise ValueError(f"firewall_ping: must be true or false, got {_describe(value)}")
    return value


def _log(policy: Mapping) -> dict:
    """Return the validated ``{"enabled", "rate", "prefix"}`` log settings."""
    value = policy.get("log")
    where = _Where("firewall_log")
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise where.error(
            f"must be a mapping with enabled, rate and prefix, got {_describe(value)}"
        )
    _check_keys(value, _LOG_KEYS, where)
    rate = value.get("rate", DEFAULT_LOG["rate"])
    if not isinstance(rate, str) or not _RATE.fullmatch(rate):
        raise where.error(f"rate {rate!r} must look like '10/minute' (per second|minute|hour|day)")
    prefix = value.get("prefix", DEFAULT_LOG["prefix"])
    if not isinstance(prefix, str) or not _LOG_PREFIX.fullmatch(prefix):
        raise where.error(
            f"prefix {prefix!r} must be 1-20 letters, digits, spaces or '_.:/=+-'"
            " (no quotes; nft limits the log prefix length)"
        )
    return {
        "enabled": _bool(value.get("enabled"), "enabled", where, True),
        "rate": rate,
        "prefix": prefix,
    }


def firewall_policy(policy: Mapping, users: Mapping) -> dict:
    """Validate a firewall policy and return it normalized for the renderers.

    ``users`` maps the names of the users existing on the target to their uid: an
    int, a digit string or a getent passwd row (``["x", "998", "998", "", "/home/m",
    "/bin/sh"]``, as in Ansible's ``getent_passwd`` fact).

    The result holds ``format``, ``table``, ``ingress_deny``, ``ping``, ``log``,
    ``sets`` (``{name: {"v4": [...], "v6": [...]}}``), ``ingress``, ``egress``,
    ``loopback_restricted`` and ``dropped`` (the optional users and rules that were
    dropped because the user does not exist). Ports are ``[first, last]`` ranges,
    addresses ``{"any", "v4", "v6", "sets"}`` and users carry name and numeric uid.
    """
    if policy is None:
        policy = {}
    if not isinstance(policy, Mapping):
        raise ValueError(f"the firewall policy must be a mapping, got {_describe(policy)}")
    if not isinstance(users, Mapping):
        raise ValueError(
            "users must map user names to uids (e.g. the getent_passwd fact),"
            f" got {_describe(users)}"
        )
    _check_keys(policy, _POLICY_KEYS, _Where("firewall policy"))
    sets = _sets(policy)
    dropped: list[dict] = []
    return {
        "format": FORMAT,
        "table": _table(policy),
        "ingress_deny": _ingress_deny(policy),
        "ping": _ping(policy),
        "log": _log(policy),
        "sets": sets,
        "ingress": _ingress(policy, sets),
        "egress": _egress(policy, sets, users, dropped),
        "loopback_restricted": _loopback(policy, users, dropped),
        "dropped": dropped,
    }


def _check_normalized(policy: object, function: str) -> Mapping:
    """Refuse anything but the output of ``firewall_policy``."""
    if not isinstance(policy, Mapping) or policy.get("format") != FORMAT:
        raise ValueError(
            f"{function} expects the policy returned by firewall_policy"
            f" (format {FORMAT!r}); validate the policy with firewall_policy first"
        )
    return policy


def firewall_ingress_allows(policy: Mapping, proto: str, port: int | str) -> bool:
    """Return whether an ingress rule accepts ``proto``/``port`` from every source.

    Rules restricted to sources do not count. ``port`` may be an int or a digit
    string (inventory values such as ``ansible_port`` are often strings).
    """
    policy = _check_normalized(policy, "firewall_ingress_allows")
    where = _Where("firewall_ingress_allows")
    if proto not in PROTOCOLS:
        raise where.error(f"unknown proto {proto!r}; allowed: {', '.join(PROTOCOLS)}")
    port = _port_number(port, where)
    for rule in policy["ingress"]:
        if not rule["sources"]["any"] or proto not in rule["protos"]:
            continue
        if any(first <= port <= last for first, last in rule["ports"]):
            return True
    return False


# ---------------------------------------------------------------------------
# Identifiers shared by the renderers


def _identifier(name: str) -> str:
    """Return ``name`` lowercased with every character outside ``[a-z0-9_]`` as ``_``."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def _set_identifier(name: str) -> str:
    """Return an identifier for a set name that starts with a letter."""
    identifier = _identifier(name)
    if not identifier[0].isalpha():
        identifier = "set_" + identifier
    return identifier


def _unique_identifiers(bases: list[str], max_length: int) -> list[str]:
    """Return ``bases`` shortened to ``max_length`` and suffixed (``_2``...) to be unique."""
    taken: set[str] = set()
    identifiers: list[str] = []
    for base in bases:
        shortened = base[:max_length]
        candidate = shortened
        counter = 2
        while candidate in taken:
            suffix = f"_{counter}"
            candidate = shortened[: max_length - len(suffix)] + suffix
            counter += 1
        taken.add(candidate)
        identifiers.append(candidate)
    return identifiers


def _set_identifiers(sets: Mapping, max_length: int) -> dict[str, str]:
    """Map each set name to a unique identifier valid in nft and pf."""
    names = list(sets)
    bases = [_set_identifier(name) for name in names]
    return dict(zip(names, _unique_identifiers(bases, max_length)))


def _user_groups(egress: list[dict]) -> list[dict]:
    """Group the per-user egress rules by uid, in order of first appearance.

    Returns ``[{"uid", "names", "chain", "rules"}]``; users sharing a uid (root and
    toor) share one nft chain, named after the first of them.
    """
    groups: dict[int, dict] = {}
    for rule in egress:
        if rule["uid"] is None:
            continue
        group = groups.setdefault(rule["uid"], {"uid": rule["uid"], "names": [], "rules": []})
        if rule["user"] not in group["names"]:
            group["names"].append(rule["user"])
        group["rules"].append(rule)
    ordered = list(groups.values())
    bases = ["eg_" + _identifier(group["names"][0]) for group in ordered]
    for group, chain in zip(ordered, _unique_identifiers(bases, _NFT_NAME_MAX)):
        group["chain"] = chain
    return ordered


def _unique_uids(users: list[dict]) -> list[int]:
    """Return the uids of ``users`` without duplicates, in input order."""
    uids: list[int] = []
    for user in users:
        if user["uid"] not in uids:
            uids.append(user["uid"])
    return uids


def _matches_nothing(addresses: Mapping, sets: Mapping) -> bool:
    """Return whether an address list only references empty sets."""
    if addresses["any"] or addresses["v4"] or addresses["v6"]:
        return False
    return not any(sets[name]["v4"] or sets[name]["v6"] for name in addresses["sets"])


def _left_out(name: str) -> str:
    """Return the comment that replaces a rule whose address sets are all empty."""
    return f"# {name}: left out, its address sets are empty"


def _user_label(users: list[dict]) -> str:
    """Return ``mastodon=998, _apt=42`` for comments."""
    return ", ".join(f"{user['name']}={user['uid']}" for user in users) or "no user"


# ---------------------------------------------------------------------------
# nftables


def _nft_values(values: list[str]) -> str:
    """Return one value as is, several as an anonymous set ``{ a, b }``."""
    if len(values) == 1:
        return values[0]
    return "{ " + ", ".join(values) + " }"


def _nft_ports(ports: list[list[int]]) -> str:
    """Return ``22`` or ``{ 80, 6000-6010 }``."""
    return _nft_values([_port_label(port_range) for port_range in ports])


def _nft_l4(protos: list[str], ports: list[list[int]]) -> str:
    """Return the protocol and destination port match of a rule."""
    if len(protos) == 1 and ports:
        return f"{protos[0]} dport {_nft_ports(ports)}"
    match = f"meta l4proto {_nft_values(protos)}"
    if ports:
        match += f" th dport {_nft_ports(ports)}"
    return match


def _nft_addresses(addresses: Mapping, field: str, set_ids: Mapping, sets: Mapping) -> list[str]:
    """Return the address match of each rule to render for an address list.

    ``[""]`` (one rule without address match, both families) for any address;
    otherwise one match per family for the literal CIDRs and one per set reference
    and family in which the set has elements.
    """
    if addresses["any"]:
        return [""]
    matches = []
    for family, keyword in (("v4", "ip"), ("v6", "ip6")):
        if addresses[family]:
            matches.append(f"{keyword} {field} {_nft_values(addresses[family])}")
        for name in addresses["sets"]:
            if sets[name][family]:
                matches.append(f"{keyword} {field} @{set_ids[name]}_{family}")
    return matches


def _nft_rules(addresses: list[str], l4: str, action: str, name: str) -> list[str]:
    """Return one rule line per address match, or a comment when there is none."""
    if not addresses:
        return [_left_out(name)]
    rules = []
    for address in addresses:
        parts = [address, l4, action, f'comment "{name}"']
        rules.append(" ".join(part for part in parts if part))
    return rules


def _nft_sets(policy: Mapping, set_ids: Mapping) -> list[list[str]]:
    """Return one block per non-empty set family: ``<id>_v4`` and ``<id>_v6``."""
    blocks = []
    for name, families in policy["sets"].items():
        for family, address_type in (("v4", "ipv4_addr"), ("v6", "ipv6_addr")):
            if not families[family]:
                continue
            blocks.append(
                [
                    f"\tset {set_ids[name]}_{family} {{",
                    f"\t\t# firewall_sets {name!r}",
                    f"\t\ttype {address_type}",
                    "\t\tflags interval",
                    "\t\tauto-merge",
                    f"\t\telements = {{ {', '.join(families[family])} }}",
                    "\t}",
                ]
            )
    return blocks


def _nft_log(log: Mapping, direction: str, flags: str = "") -> list[str]:
    """Return the rate-limited log rule for denied packets, if logging is enabled."""
    if not log["enabled"]:
        return []
    rule = f'limit rate {log["rate"]} log prefix "{log["prefix"]} {direction}: "'
    if flags:
        rule += f" flags {flags}"
    return [rule]


def _nft_input(policy: Mapping, set_ids: Mapping) -> list[str]:
    """Return the input chain."""
    rules = [
        "type filter hook input priority filter; policy drop;",
        "ct state established,related accept",
        "ct state invalid drop",
        'iif "lo" accept',
        f"icmpv6 type {{ {_NFT_ICMPV6_ERRORS} }} accept",
        f"icmpv6 type {{ {_NFT_ICMPV6_ND_IN} }} {_NFT_ND_HOPLIMIT} accept",
        f"icmpv6 type {_NFT_ICMPV6_MLD_IN} accept",
        f"icmp type {{ {_NFT_ICMP_ERRORS} }} accept",
    ]
    if policy["ping"]:
        rules.append(f"icmp type echo-request limit rate {_PING_RATE} accept")
        rules.append(f"icmpv6 type echo-request limit rate {_PING_RATE} accept")
    rules += ["# DHCPv6 replies from the servers and relays on the link", _NFT_DHCPV6_IN]
    for rule in policy["ingress"]:
        addresses = _nft_addresses(rule["sources"], "saddr", set_ids, policy["sets"])
        l4 = _nft_l4(rule["protos"], rule["ports"])
        rules.extend(_nft_rules(addresses, l4, "ct state new accept", rule["name"]))
    rules.extend(_nft_log(policy["log"], "in"))
    # Counted: the audit reports what the policy turned away.
    rules.append("counter " + (_NFT_DENY if policy["ingress_deny"] == "reject" else "drop"))
    return _nft_chain("input", rules)


def _nft_loopback(restriction: Mapping) -> list[str]:
    """Return the comment and rule of one loopback restriction."""
    protos = restriction["protos"]
    port = restriction["port"]
    match = f'oif "lo" {_nft_l4(protos, [[port, port]])}'
    uids = [str(uid) for uid in _unique_uids(restriction["users"])]
    if uids:
        match += f" meta skuid != {{ {', '.join(uids)} }}"
    action = "reject with tcp reset" if protos == ["tcp"] else _NFT_DENY
    return [
        f"# loopback port {port}: only {_user_label(restriction['users'])}",
        f'{match} {action} comment "{restriction["name"]}"',
    ]


def _nft_egress_rules(rule: Mapping, set_ids: Mapping, sets: Mapping) -> list[str]:
    """Return the lines of one egress rule."""
    addresses = _nft_addresses(rule["destinations"], "daddr", set_ids, sets)
    l4 = _nft_l4(rule["protos"], rule["ports"])
    return _nft_rules(addresses, l4, "accept", rule["name"])


def _nft_output(policy: Mapping, set_ids: Mapping, groups: list[dict]) -> list[str]:
    """Return the output chain."""
    rules = [
        "type filter hook output priority filter; policy drop;",
        "ct state established,related accept",
        "ct state invalid drop",
    ]
    for restriction in policy["loopback_restricted"]:
        rules.extend(_nft_loopback(restriction))
    rules += [
        'oif "lo" accept',
        "# kernel-generated packets without a socket (no uid) pass before the user rules",
        f"icmpv6 type {{ {_NFT_ICMPV6_ERRORS} }} accept",
        f"icmpv6 type {{ {_NFT_ICMPV6_ND_OUT} }} {_NFT_ND_HOPLIMIT} accept",
        f"icmpv6 type {{ {_NFT_ICMPV6_MLD_OUT} }} accept",
        f"icmp type {{ {_NFT_ICMP_ERRORS} }} accept",
        "# DHCPv6 client messages to the link's servers and relays (port 546: privileged only)",
        _NFT_DHCPV6_OUT,
    ]
    for rule in policy["egress"]:
        if rule["uid"] is None:
            rules.extend(_nft_egress_rules(rule, set_ids, policy["sets"]))
    if groups:
        rules.append("meta skuid vmap {")
        entries = [f"\t{group['uid']} : jump {group['chain']}" for group in groups]
        rules.append(",\n".join(entries))
        rules.append("}")
    rules.extend(_nft_log(policy["log"], "out", flags="skuid"))
    rules.append("counter " + _NFT_DENY)
    return _nft_chain("output", rules)


def _nft_user_chain(group: Mapping, set_ids: Mapping, sets: Mapping) -> list[str]:
    """Return the egress chain of one uid."""
    names = ", ".join(group["names"])
    rules = [f"# user {names} (uid {group['uid']})"]
    for rule in group["rules"]:
        rules.extend(_nft_egress_rules(rule, set_ids, sets))
    return _nft_chain(group["chain"], rules)


def _nft_chain(name: str, rules: list[str]) -> list[str]:
    """Return a chain block; rule strings may hold several lines."""
    lines = [f"\tchain {name} {{"]
    for rule in rules:
        lines.extend("\t\t" + line for line in rule.split("\n"))
    lines.append("\t}")
    return lines


def firewall_nft(policy: Mapping) -> str:
    """Render a normalized policy as an nftables file that replaces only its own table.

    The file declares, deletes and recreates ``table inet <table>`` in one
    transaction, so loading it twice is idempotent and other tables (docker,
    fail2ban) are left alone. Users are matched by numeric uid.
    """
    policy = _check_normalized(policy, "firewall_nft")
    table = policy["table"]
    set_ids = _set_identifiers(policy["sets"], _NFT_NAME_MAX)
    groups = _user_groups(policy["egress"])
    blocks = _nft_sets(policy, set_ids)
    blocks.append(_nft_input(policy, set_ids))
    blocks.append(_nft_output(policy, set_ids, groups))
    blocks.extend(_nft_user_chain(group, set_ids, policy["sets"]) for group in groups)
    lines = [
        "# Generated by fedisec.hardening firewall. Do not edit: this file is replaced as a whole.",
        f"# Loading it (nft -f) replaces only table inet {table}, atomically in one transaction;",
        "# the tables of other tools (docker, fail2ban...) are left alone.",
        "# Users are matched by numeric uid, as resolved on the host when the file was rendered.",
        f"table inet {table}",
        f"delete table inet {table}",
        "",
        f"table inet {table} {{",
    ]
    for index, block in enumerate(blocks):
        if index:
            lines.append("")
        lines.extend(block)
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# pf


def _pf_list(values: list[str]) -> str:
    """Return one value as is, several as a pf list ``{ a b }``."""
    if len(values) == 1:
        return values[0]
    return "{ " + " ".join(values) + " }"


def _pf_ports(ports: list[list[int]]) -> str:
    """Return ``port 22`` / ``port { 80 6000:6010 }``, empty for any port."""
    if not ports:
        return ""
    labels = []
    for first, last in ports:
        labels.append(str(first) if first == last else f"{first}:{last}")
    return f"port {_pf_list(labels)}"


def _pf_hosts(addresses: Mapping, table_ids: Mapping, sets: Mapping) -> str:
    """Return the host list of an address match, empty for any address.

    Empty sets have no pf table and are left out of the list.
    """
    if addresses["any"]:
        return ""
    hosts = addresses["v4"] + addresses["v6"]
    for name in addresses["sets"]:
        if sets[name]["v4"] or sets[name]["v6"]:
            hosts.append(f"<{table_ids[name]}>")
    return _pf_list(hosts)


def _pf_rule(parts: list[str], name: str) -> str:
    """Join the non-empty parts of a rule and append the entry name as a comment."""
    return " ".join(part for part in parts if part) + f" # {name}"


def _pf_tables(policy: Mapping, table_ids: Mapping) -> list[str]:
    """Return the ``table <name> const { ... }`` lines, IPv4 and IPv6 together.

    Empty sets get no table.
    """
    lines = []
    for name, families in policy["sets"].items():
        if not families["v4"] and not families["v6"]:
            continue
        cidrs = " ".join(families["v4"] + families["v6"])
        lines.append(f"table <{table_ids[name]}> const {{ {cidrs} }} # firewall_sets {name!r}")
    return lines


def _pf_loopback(policy: Mapping) -> list[str]:
    """Return the loopback rules: restricted ports first, then everything else on lo."""
    lines = ["# Loopback is open except the restricted ports below."]
    for restriction in policy["loopback_restricted"]:
        proto = _pf_list(restriction["protos"])
        port = restriction["port"]
        uids = [str(uid) for uid in _unique_uids(restriction["users"])]
        label = f"{restriction['name']}: only {_user_label(restriction['users'])}"
        if uids:
            lines.append(
                f"pass out quick on lo proto {proto} to port {port} user {_pf_list(uids)}"
                f" # {label}"
            )
        lines.append(f"block return out quick on lo proto {proto} to port {port} # {label}")
    lines.append("pass quick on lo")
    return lines


def _pf_icmp(policy: Mapping) -> list[str]:
    """Return the ICMP rules: IPv6 neighbour discovery / MLD, errors, and ping."""
    lines = [
        "# pf cannot match the hop limit: the kernel itself discards neighbour discovery",
        "# with a hop limit other than 255 (RFC 4861).",
        f"pass quick inet6 proto icmp6 icmp6-type {{ {_PF_ICMPV6_ND} }}",
        f"pass out quick inet proto icmp icmp-type {{ {_PF_ICMP_ERRORS} }}",
        f"pass out quick inet6 proto icmp6 icmp6-type {{ {_PF_ICMPV6_ERRORS} }}",
    ]
    if policy["ping"]:
        lines.append("# echo requests are not rate-limited on pf")
        lines.append("pass in quick inet proto icmp icmp-type echoreq")
        lines.append("pass in quick inet6 proto icmp6 icmp6-type echoreq")
    return lines


def _pf_ingress(policy: Mapping, table_ids: Mapping) -> list[str]:
    """Return one ``pass in quick`` rule per ingress entry."""
    lines = []
    for rule in policy["ingress"]:
        if _matches_nothing(rule["sources"], policy["sets"]):
            lines.append(_left_out(rule["name"]))
            continue
        hosts = _pf_hosts(rule["sources"], table_ids, policy["sets"])
        parts = [
            "pass in quick proto",
            _pf_list(rule["protos"]),
            f"from {hosts}" if hosts else "",
            "to",
            _pf_ports(rule["ports"]),
        ]
        lines.append(_pf_rule(parts, rule["name"]))
    return lines


def _pf_egress(policy: Mapping, table_ids: Mapping) -> list[str]:
    """Return one ``pass out quick`` rule per egress entry, with ``user <uid>`` if any."""
    lines = []
    for rule in policy["egress"]:
        name = rule["name"]
        if rule["user"] is not None:
            name += f" (user {rule['user']})"
        if _matches_nothing(rule["destinations"], policy["sets"]):
            lines.append(_left_out(name))
            continue
        hosts = _pf_hosts(rule["destinations"], table_ids, policy["sets"])
        ports = _pf_ports(rule["ports"])
        target = " ".join(part for part in (hosts, ports) if part)
        parts = [
            "pass out quick proto",
            _pf_list(rule["protos"]),
            f"to {target}" if target else "all",
            f"user {rule['uid']}" if rule["uid"] is not None else "",
        ]
        lines.append(_pf_rule(parts, name))
    return lines


def firewall_pf(policy: Mapping) -> str:
    """Render a normalized policy as a complete pf.conf (filter rules only).

    For OpenBSD and FreeBSD: no NAT and no scrub. Every rule is ``quick``; users
    are matched by numeric uid. Ends with ``anchor "<table>/*"`` so other tools can
    load their own rules under it.
    """
    policy = _check_normalized(policy, "firewall_pf")
    table = policy["table"]
    table_ids = _set_identifiers(policy["sets"], _PF_TABLE_NAME_MAX)
    deny = "return" if policy["ingress_deny"] == "reject" else "drop"
    log = " log" if policy["log"]["enabled"] else ""
    lines = [
        "# Generated by fedisec.hardening firewall. Do not edit: this file is replaced as a whole.",
        "# pf.conf for OpenBSD and FreeBSD, filter rules only (no NAT, no scrub).",
        "# Check before loading: pfctl -nf <file>",
        "# pf cannot rate-limit logging: denied packets go to pflog0 without a limit",
        "# (no log prefix either; read them with tcpdump -n -e -ttt -i pflog0).",
        "# pf matches users only on TCP and UDP sockets: user rules never match other protocols.",
        "# Users are matched by numeric uid, as resolved on the host when the file was rendered.",
        "",
        f"set block-policy {deny}",
    ]
    if not policy["loopback_restricted"]:
        lines.append("set skip on lo")
    tables = _pf_tables(policy, table_ids)
    if tables:
        lines.append("")
        lines.extend(tables)
    if policy["loopback_restricted"]:
        lines.append("")
        lines.extend(_pf_loopback(policy))
    lines += ["", f"block {deny} in{log} all", f"block return out{log} all", ""]
    lines.extend(_pf_icmp(policy))
    lines += ["", "# DHCPv6: replies from the link's servers and relays, client messages to them"]
    lines.extend(_PF_DHCPV6)
    for title, rules in (
        ("Ingress", _pf_ingress(policy, table_ids)),
        ("Egress", _pf_egress(policy, table_ids)),
    ):
        if rules:
            lines += ["", f"# {title}"]
            lines.extend(rules)
    lines += [
        "",
        f"# Other tools: pfctl -a {table}/<name> -f <file>",
        f'anchor "{table}/*"',
    ]
    return "\n".join(lines) + "\n"
