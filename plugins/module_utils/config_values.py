"""Validation of values that the roles write into configuration files.

A value from the inventory reaches nginx, sshd, Exim, PostgreSQL and systemd
files, paths and command lines. A newline, ``;``, ``{``, ``}``, a quote or ``$``
in such a value can add a directive, break out of a quoted string or expand
something; ``..`` or a leading ``-`` in a file name reaches other paths or
becomes a command option. Each kind below admits only what its target syntax
needs, and is checked before anything is written.

Pure functions with no Ansible dependency, so they can be imported both as
``ansible_collections.fedisec.hardening.plugins.module_utils.config_values``
and from a standalone script.

Kinds:

- ``dns_name``: LDH labels (letters, digits, inner hyphens, 1-63 characters
  each, 253 in all), optionally after ``*.``; a single label such as
  ``localhost`` is one.
- ``host``: a DNS name (no wildcard), an IPv4 address or an IPv6 address
  (without brackets).
- ``cidr``: an IPv4 or IPv6 address or network (``192.0.2.0/24``); host bits set are refused.
- ``host_port``: ``host:port``, ``[ipv6]:port`` or ``unix:/absolute/path``.
- ``identifier``: a PostgreSQL role or database name as it reaches pg_hba.conf
  unquoted: ``[a-z_][a-z0-9_]*``, at most 63 characters, not a pg_hba keyword.
- ``pg_hba_database``: an ``identifier``, or one of the pg_hba database
  keywords ``all``, ``sameuser``, ``samerole``, ``replication``.
- ``unix_name``: a user or group name: ``[A-Za-z_][A-Za-z0-9_.-]*``, optionally
  ending in ``$``, at most 32 characters.
- ``sshd_group_pattern``: a ``unix_name`` in which ``*`` and ``?`` may also
  appear (AllowGroups, DenyGroups).
- ``sshd_user_pattern``: an ``sshd_group_pattern``, optionally followed by
  ``@`` and a host pattern of letters, digits, ``.``, ``:``, ``/``, ``-``,
  ``*`` and ``?`` without ``..`` (AllowUsers, DenyUsers).
- ``abs_path``: an absolute path of printable ASCII without whitespace, without
  any of ``;{}"'$\\`#`` and without a ``..`` component.
- ``file_name``: one path component of letters, digits, ``.``, ``_`` and ``-``;
  not starting with ``-`` or ``.``, no ``..``, at most 255 characters.
- ``permissions_policy``: a mapping of feature names (``[a-z][a-z0-9-]*``) to
  lists of allowlist entries: ``self``, ``*``, ``src`` or a double-quoted
  https origin such as ``"https://example.org"``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_MAX_DNS_NAME = 253

_PORT = re.compile(r"[0-9]{1,5}")

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_MAX_IDENTIFIER = 63  # NAMEDATALEN - 1
# Unquoted, these words in pg_hba.conf are keywords, not names.
_PG_HBA_KEYWORDS = frozenset({"all", "sameuser", "samerole", "samegroup", "replication"})
_PG_HBA_DATABASE_KEYWORDS = ("all", "sameuser", "samerole", "replication")

_UNIX_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?")
_MAX_UNIX_NAME = 32
_NAME_PATTERN = re.compile(r"[A-Za-z_*?][A-Za-z0-9_.*?-]*\$?")
_HOST_PATTERN = re.compile(r"[A-Za-z0-9.:/*?-]+")

_PATH_FORBIDDEN = frozenset(";{}\"'$\\`#")
_MAX_PATH = 4095  # PATH_MAX - 1
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
_MAX_FILE_NAME = 255

_FEATURE = re.compile(r"[a-z][a-z0-9-]*")
_ORIGIN = re.compile(r'"https://([^"/:]+)(?::([0-9]{1,5}))?"')
_ALLOWLIST_KEYWORDS = ("self", "*", "src")


def _string(value: object, allowed: str) -> str:
    """Return ``value`` if it is a non-empty string, else raise ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string ({allowed}), got {type(value).__name__} {value!r}")
    if not value:
        raise ValueError(f"must not be empty ({allowed})")
    return value


def _refuse(value: str, allowed: str) -> ValueError:
    """The error for a string that is not of its kind."""
    return ValueError(f"{value!r} is not allowed: {allowed}")


def _check_length(value: str, maximum: int, allowed: str) -> None:
    """Refuse overlong values (quoting only their start)."""
    if len(value) > maximum:
        raise ValueError(
            f"{value[:40]!r}... is {len(value)} characters long, at most {maximum}: {allowed}"
        )


def _is_dns_name(value: str, wildcard: bool) -> bool:
    """Whether ``value`` is LDH labels (after ``*.`` if ``wildcard``), 253 characters at most."""
    name = value[2:] if wildcard and value.startswith("*.") else value
    return len(value) <= _MAX_DNS_NAME and _DNS_NAME.fullmatch(name) is not None


def _is_ipv6(value: str) -> bool:
    """Whether ``value`` is an IPv6 address without brackets and without a zone."""
    if "%" in value:  # no zone index: it names an interface, not an address
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _is_port(value: str) -> bool:
    """Whether ``value`` is a TCP port number from 1 to 65535."""
    return _PORT.fullmatch(value) is not None and 1 <= int(value) <= 65535


_DNS_NAME_ALLOWED = (
    "a DNS name of letters, digits and inner hyphens in dot-separated labels of at most "
    "63 characters (253 in all), optionally after '*.'"
)


def check_dns_name(value: object) -> str:
    """A server or domain name: LDH labels, optionally after ``*.``."""
    name = _string(value, _DNS_NAME_ALLOWED)
    _check_length(name, _MAX_DNS_NAME, _DNS_NAME_ALLOWED)
    if not _is_dns_name(name, wildcard=True):
        raise _refuse(name, _DNS_NAME_ALLOWED)
    return name


_HOST_ALLOWED = "a DNS name (letters, digits, inner hyphens, dots), an IPv4 or an IPv6 address"


def check_host(value: object) -> str:
    """A DNS name without wildcard, an IPv4 address or an IPv6 address."""
    host = _string(value, _HOST_ALLOWED)
    _check_length(host, _MAX_DNS_NAME, _HOST_ALLOWED)
    if not (_is_dns_name(host, wildcard=False) or _is_ipv6(host)):
        raise _refuse(host, _HOST_ALLOWED)
    return host


_CIDR_ALLOWED = "an IPv4 or IPv6 address, or a network in CIDR notation (192.0.2.0/24, 2001:db8::/32)"


def check_cidr(value: object) -> str:
    """An IP address or network (host bits set are refused: they hide a typo)."""
    text = _string(value, _CIDR_ALLOWED)
    _check_length(text, 49, _CIDR_ALLOWED)
    try:
        ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise _refuse(text, _CIDR_ALLOWED) from None
    return text


_HOST_PORT_ALLOWED = (
    "host:port (a DNS name or IPv4 address), [IPv6]:port with a port from 1 to 65535, "
    "or unix:/absolute/path"
)


def check_host_port(value: object) -> str:
    """An upstream address: ``host:port``, ``[v6]:port`` or ``unix:/abs/path``."""
    address = _string(value, _HOST_PORT_ALLOWED)
    _check_length(address, _MAX_PATH, _HOST_PORT_ALLOWED)
    if address.startswith("unix:"):
        try:
            check_abs_path(address[len("unix:") :])
        except ValueError as exc:
            raise ValueError(f"{address!r} is not allowed: unix: needs {exc}") from None
        return address
    host, sep, port = address.rpartition(":")
    if not sep or not _is_port(port):
        raise _refuse(address, _HOST_PORT_ALLOWED)
    if host.startswith("[") and host.endswith("]"):
        valid = _is_ipv6(host[1:-1])
    else:
        valid = _is_dns_name(host, wildcard=False)
    if not valid:
        raise _refuse(address, _HOST_PORT_ALLOWED)
    return address


_PG_NAME = (
    "a lower-case name of letters, digits and '_' that does not start with a digit, "
    f"at most {_MAX_IDENTIFIER} characters"
)
_IDENTIFIER_ALLOWED = (
    f"{_PG_NAME}, and not one of the pg_hba keywords {', '.join(sorted(_PG_HBA_KEYWORDS))}"
)


def check_identifier(value: object) -> str:
    """A PostgreSQL role or database name that pg_hba.conf reads as a name."""
    name = _string(value, _IDENTIFIER_ALLOWED)
    _check_length(name, _MAX_IDENTIFIER, _IDENTIFIER_ALLOWED)
    if _IDENTIFIER.fullmatch(name) is None or name in _PG_HBA_KEYWORDS:
        raise _refuse(name, _IDENTIFIER_ALLOWED)
    return name


_PG_HBA_DATABASE_ALLOWED = (
    f"one of the keywords {', '.join(_PG_HBA_DATABASE_KEYWORDS)}, or {_PG_NAME}"
)


def check_pg_hba_database(value: object) -> str:
    """A database in a pg_hba.conf line: a keyword or an identifier."""
    name = _string(value, _PG_HBA_DATABASE_ALLOWED)
    if name in _PG_HBA_DATABASE_KEYWORDS:
        return name
    try:
        return check_identifier(name)
    except ValueError:
        raise _refuse(name, _PG_HBA_DATABASE_ALLOWED) from None


_UNIX_NAME_ALLOWED = (
    "a user or group name of letters, digits, '_', '.' and '-' that starts with a letter "
    f"or '_', optionally ending in '$', at most {_MAX_UNIX_NAME} characters"
)


def check_unix_name(value: object) -> str:
    """A user or group name."""
    name = _string(value, _UNIX_NAME_ALLOWED)
    _check_length(name, _MAX_UNIX_NAME, _UNIX_NAME_ALLOWED)
    if _UNIX_NAME.fullmatch(name) is None:
        raise _refuse(name, _UNIX_NAME_ALLOWED)
    return name


_GROUP_PATTERN_ALLOWED = (
    "a group name or sshd pattern of letters, digits, '_', '.', '-', '*' and '?' that does "
    f"not start with '-' or '.', optionally ending in '$', at most {_MAX_UNIX_NAME} characters"
)


def check_sshd_group_pattern(value: object) -> str:
    """An AllowGroups/DenyGroups entry: a name with ``*``/``?`` wildcards."""
    pattern = _string(value, _GROUP_PATTERN_ALLOWED)
    _check_length(pattern, _MAX_UNIX_NAME, _GROUP_PATTERN_ALLOWED)
    if _NAME_PATTERN.fullmatch(pattern) is None:
        raise _refuse(pattern, _GROUP_PATTERN_ALLOWED)
    return pattern


_USER_PATTERN_ALLOWED = (
    "a user name or sshd pattern of letters, digits, '_', '.', '-', '*' and '?' that does "
    f"not start with '-' or '.' (at most {_MAX_UNIX_NAME} characters), optionally followed by "
    "'@' and a host pattern, address or CIDR of letters, digits, '.', ':', '/', '-', '*' and '?'"
)


def check_sshd_user_pattern(value: object) -> str:
    """An AllowUsers/DenyUsers entry: ``user-pattern`` or ``user-pattern@host-pattern``."""
    pattern = _string(value, _USER_PATTERN_ALLOWED)
    user, sep, host = pattern.partition("@")
    if (
        len(user) > _MAX_UNIX_NAME
        or len(host) > _MAX_DNS_NAME
        or _NAME_PATTERN.fullmatch(user) is None
        or (sep and (_HOST_PATTERN.fullmatch(host) is None or ".." in host))
    ):
        raise _refuse(pattern, _USER_PATTERN_ALLOWED)
    return pattern


_ABS_PATH_ALLOWED = (
    "an absolute path of printable ASCII characters without spaces, without any of "
    f"{' '.join(sorted(_PATH_FORBIDDEN))} and without a '..' component"
)


def check_abs_path(value: object) -> str:
    """An absolute path that every config syntax takes as one plain token."""
    path = _string(value, _ABS_PATH_ALLOWED)
    _check_length(path, _MAX_PATH, _ABS_PATH_ALLOWED)
    if (
        not path.startswith("/")
        or any(not "\x21" <= char <= "\x7e" or char in _PATH_FORBIDDEN for char in path)
        or ".." in path.split("/")
    ):
        raise _refuse(path, _ABS_PATH_ALLOWED)
    return path


_FILE_NAME_ALLOWED = (
    "a single file name of letters, digits, '.', '_' and '-' that does not start with '-' "
    f"or '.' and contains no '..', at most {_MAX_FILE_NAME} characters"
)


def check_file_name(value: object) -> str:
    """One safe path component, also safe as a command argument."""
    name = _string(value, _FILE_NAME_ALLOWED)
    _check_length(name, _MAX_FILE_NAME, _FILE_NAME_ALLOWED)
    if _FILE_NAME.fullmatch(name) is None or ".." in name:
        raise _refuse(name, _FILE_NAME_ALLOWED)
    return name


_ALLOWLIST_ALLOWED = (
    "self, *, src or a double-quoted https origin such as '\"https://example.org\"' "
    "(an empty list denies the feature)"
)
_FEATURE_ALLOWED = "a feature name of lower-case letters, digits and '-' that starts with a letter"


def _check_allowlist_entry(entry: object) -> str:
    """One Permissions-Policy allowlist entry."""
    text = _string(entry, _ALLOWLIST_ALLOWED)
    if text in _ALLOWLIST_KEYWORDS:
        return text
    origin = _ORIGIN.fullmatch(text)
    if (
        origin is None
        or not _is_dns_name(origin.group(1), wildcard=True)
        or (origin.group(2) is not None and not _is_port(origin.group(2)))
    ):
        raise _refuse(text, _ALLOWLIST_ALLOWED)
    return text


def check_permissions_policy(value: object) -> Mapping:
    """A Permissions-Policy as feature -> allowlist (list of entries)."""
    if not isinstance(value, Mapping):
        raise ValueError(
            f"must be a mapping of feature names to lists of {_ALLOWLIST_ALLOWED}, "
            f"got {type(value).__name__} {value!r}"
        )
    for feature, allowlist in value.items():
        if not isinstance(feature, str) or _FEATURE.fullmatch(feature) is None:
            raise ValueError(f"feature {feature!r} is not allowed: {_FEATURE_ALLOWED}")
        if isinstance(allowlist, (str, bytes, Mapping)) or not isinstance(allowlist, Iterable):
            raise ValueError(
                f"{feature}: the allowlist must be a list of {_ALLOWLIST_ALLOWED}, "
                f"got {type(allowlist).__name__} {allowlist!r}"
            )
        for index, entry in enumerate(allowlist):
            try:
                _check_allowlist_entry(entry)
            except ValueError as exc:
                raise ValueError(f"{feature}[{index}]: {exc}") from None
    return value


# Kinds checked one string at a time: a list of them is checked item by item.
_STRING_KINDS: dict[str, Callable[[object], str]] = {
    "dns_name": check_dns_name,
    "host": check_host,
    "cidr": check_cidr,
    "host_port": check_host_port,
    "identifier": check_identifier,
    "pg_hba_database": check_pg_hba_database,
    "unix_name": check_unix_name,
    "sshd_group_pattern": check_sshd_group_pattern,
    "sshd_user_pattern": check_sshd_user_pattern,
    "abs_path": check_abs_path,
    "file_name": check_file_name,
}
# Kinds checked as a whole.
_WHOLE_KINDS: dict[str, Callable[[object], object]] = {
    "permissions_policy": check_permissions_policy,
}
KINDS = tuple(sorted([*_STRING_KINDS, *_WHOLE_KINDS]))


def _item_name(name: str, index: int) -> str:
    """``clients[].name`` -> ``clients[2].name``; ``names`` -> ``names[2]``."""
    if "[]" in name:
        return name.replace("[]", f"[{index}]", 1)
    return f"{name}[{index}]"


def _check_strings(value: object, check: Callable[[object], str], name: str) -> object:
    """Check a string, or each string of a (nested) list; return the value."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        try:
            return check(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    items = list(value)
    for index, item in enumerate(items):
        _check_strings(item, check, _item_name(name, index))
    return value if isinstance(value, (list, tuple)) else items


def config_value(value: object, kind: str, variable_name: str, allow_empty: bool = False) -> object:
    """Return ``value`` if it is valid for ``kind``, else raise ValueError naming the variable.

    ``value`` is a string or a (nested) list of strings for every kind except
    ``permissions_policy`` (a mapping). In ``variable_name``, each ``[]`` is
    replaced by the index of the bad item (``clients[].name`` ->
    ``clients[1].name``); without one, ``[index]`` is appended. With
    ``allow_empty``, an empty string (meaning "not set") is accepted too.
    """
    if not isinstance(variable_name, str) or not variable_name:
        raise ValueError(f"variable_name must be a non-empty string, got {variable_name!r}")
    if not isinstance(allow_empty, bool):
        raise ValueError(f"allow_empty must be a boolean, got {allow_empty!r}")
    if kind in _WHOLE_KINDS:
        try:
            return _WHOLE_KINDS[kind](value)
        except ValueError as exc:
            raise ValueError(f"{variable_name}: {exc}") from None
    if kind not in _STRING_KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    check = _STRING_KINDS[kind]
    if allow_empty:
        strict = check

        def check(item: object) -> str:
            return item if item == "" and isinstance(item, str) else strict(item)

    return _check_strings(value, check, variable_name)
