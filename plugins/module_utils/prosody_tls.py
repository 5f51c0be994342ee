"""Values of the prosody_tls role as Lua literals for Prosody's configuration file.

Prosody's configuration is a Lua program (core/configmanager.lua runs it in a sandboxed
environment). A value from the inventory that reached it unquoted, or with a ``"``, a
backslash or a line break inside a string, could end the string and add any option, or
call ``Include``/``RunScript``. So the role's template never writes a value itself: each
goes through :func:`lua_value`, which checks it against its kind and returns the Lua
literal (a double-quoted string, a table of them, a boolean) or raises ValueError naming
the variable and what is allowed.

Kinds:

- ``string``: printable ASCII without ``"``, backslash or control characters.
- ``dns_name`` / ``dns_names``: an XMPP domain (LDH labels, no wildcard), or a list of them.
- ``abs_path``: an absolute path (``config_values.check_abs_path``).
- ``jids``: bare JIDs ``local@domain`` (admins): a local part of letters, digits and
  ``. _ -`` and a DNS name.
- ``modules``: module names ``[a-z0-9_]+``; never ``admin_telnet`` (a TCP console),
  ``legacyauth`` (XEP-0078: passwords outside SASL), ``auth_*`` or ``storage_*`` (those are
  chosen by ``authentication`` and ``storage``, as ``prosodyctl check config`` says).
- ``period``: archive retention that Prosody 0.12 and 13 read alike: ``<n>d``, ``<n>w``,
  ``<n>y`` or ``never`` (0.12's mod_mam reads ``m`` as months, 13 reads it as ambiguous).
- ``ciphers``: an OpenSSL TLS 1.2 cipher list of ECDHE suites with AEAD (GCM or
  CHACHA20-POLY1305), colon-separated; empty for TLS 1.3 only.
- ``groups``: TLS groups LuaSec passes to OpenSSL (``curveslist``).
- ``bool``: a boolean.

Also :func:`prosody_branch`, the release line of an installed Debian prosody package.
Pure functions, no Ansible dependency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from ansible_collections.fedisec.hardening.plugins.module_utils.config_values import (
    check_abs_path,
    check_host,
)

_MAX_STRING = 1024
_LOCALPART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MODULE = re.compile(r"[a-z0-9][a-z0-9_]{0,63}")
# Modules that must not be loaded by a role whose point is to refuse them.
FORBIDDEN_MODULES = {
    "admin_telnet": "a console on TCP port 5582; use the admin shell (prosody_tls_admin_shell) over the Unix socket",
    "legacyauth": "XEP-0078 authentication, outside SASL and its mechanism policy",
    "auth_internal_plain": "passwords stored in plain text; authentication is internal_hashed",
}
_PERIOD = re.compile(r"[1-9][0-9]{0,4}[dwy]")
# Mozilla 6.0 lists only ECDHE suites with AEAD; names as OpenSSL spells them.
_CIPHER = re.compile(r"ECDHE-(?:ECDSA|RSA)-(?:AES(?:128|256)-GCM-SHA(?:256|384)|CHACHA20-POLY1305)")
# Groups that LuaSec's curveslist takes on Debian 12 and 13 (OpenSSL 3.0 and 3.5).
# X25519MLKEM768 is left out: OpenSSL 3.5 knows it, but it is not proven through LuaSec.
KNOWN_GROUPS = ("X25519", "X448", "prime256v1", "secp384r1", "secp521r1")
# "0.12.3-1+deb12u1" (bookworm), "13.0.1-1+deb131u" (trixie); an epoch may come first.
_DEBIAN_VERSION = re.compile(r"(?:[0-9]+:)?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(?:[.~+-].*)?")

_STRING_ALLOWED = "printable ASCII without '\"', backslash, line breaks or other control characters"


def _fail(name: str, message: str) -> ValueError:
    return ValueError(f"{name}: {message}")


def _quote(text: str) -> str:
    """A Lua double-quoted string of text already checked to need no escape."""
    return f'"{text}"'


def _list(values: object, name: str) -> list:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise _fail(name, f"must be a list, got {type(values).__name__} {values!r}")
    return list(values)


def _table(items: list[str]) -> str:
    return "{ " + "; ".join(items) + (" }" if items else "}")


def lua_string(value: object, name: str) -> str:
    """A quoted Lua string; refuses anything that could leave the quotes."""
    if not isinstance(value, str):
        raise _fail(name, f"must be a string ({_STRING_ALLOWED}), got {type(value).__name__} {value!r}")
    if not value:
        raise _fail(name, f"must not be empty ({_STRING_ALLOWED})")
    if len(value) > _MAX_STRING:
        raise _fail(name, f"is {len(value)} characters long, at most {_MAX_STRING}")
    if any(not " " <= char <= "~" or char in '"\\' for char in value):
        raise _fail(name, f"{value!r} is not allowed: {_STRING_ALLOWED}")
    return _quote(value)


def _dns_name(value: object, name: str) -> str:
    try:
        host = check_host(value)
    except ValueError as exc:
        raise _fail(name, str(exc)) from None
    if ":" in host:
        raise _fail(name, f"{host!r} is an IPv6 address; an XMPP domain is a DNS name")
    return host


def _jid(value: object, name: str) -> str:
    allowed = "a bare JID such as admin@example.org (a local part of letters, digits, '.', '_' and '-', then a DNS name)"
    if not isinstance(value, str) or value.count("@") != 1:
        raise _fail(name, f"{value!r} is not allowed: {allowed}")
    local, domain = value.split("@")
    if _LOCALPART.fullmatch(local) is None:
        raise _fail(name, f"{value!r} is not allowed: {allowed}")
    _dns_name(domain, name)
    return value


def _module(value: object, name: str) -> str:
    if not isinstance(value, str) or _MODULE.fullmatch(value) is None:
        raise _fail(name, f"{value!r} is not a module name: lower-case letters, digits and '_', without the 'mod_' prefix")
    if value.startswith("mod_"):
        raise _fail(name, f"{value!r}: give module names without the 'mod_' prefix ({value[4:]!r})")
    if value in FORBIDDEN_MODULES:
        raise _fail(name, f"{value!r} is refused: {FORBIDDEN_MODULES[value]}")
    if value.startswith(("auth_", "storage_")):
        raise _fail(name, f"{value!r} is chosen by the 'authentication' or 'storage' option, not loaded as a module")
    return value


def _period(value: object, name: str) -> str:
    if value == "never" or (isinstance(value, str) and _PERIOD.fullmatch(value)):
        return value
    raise _fail(name, f"{value!r} is not allowed: a number of days, weeks or years such as 1w, 30d or 1y "
                      "(read alike by Prosody 0.12 and 13), or never")


def _ciphers(value: object, name: str) -> str:
    if value == "":
        return value
    if not isinstance(value, str):
        raise _fail(name, f"must be a string of OpenSSL cipher names separated by ':', got {value!r}")
    suites = value.split(":")
    for suite in suites:
        if _CIPHER.fullmatch(suite) is None:
            raise _fail(name, f"{suite!r} is refused: only ECDHE suites with AEAD (AES-GCM or CHACHA20-POLY1305), "
                              "as in Mozilla's guideline 6.0, such as ECDHE-ECDSA-AES128-GCM-SHA256")
    if len(set(suites)) != len(suites):
        raise _fail(name, f"{value!r} names a suite twice")
    return value


def _groups(values: object, name: str) -> list[str]:
    groups = _list(values, name)
    if not groups:
        raise _fail(name, f"must name at least one group of {', '.join(KNOWN_GROUPS)}")
    for index, group in enumerate(groups):
        if group not in KNOWN_GROUPS:
            raise _fail(f"{name}[{index}]", f"{group!r} is not one of {', '.join(KNOWN_GROUPS)}")
    if len(set(groups)) != len(groups):
        raise _fail(name, f"{groups!r} names a group twice")
    return groups


def lua_value(value: object, kind: str, name: str) -> str:
    """The Lua literal of ``value`` checked as ``kind``; ValueError names ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"the variable name must be a non-empty string, got {name!r}")
    if kind == "bool":
        if not isinstance(value, bool):
            raise _fail(name, f"must be true or false, got {value!r}")
        return "true" if value else "false"
    if kind == "string":
        return lua_string(value, name)
    if kind == "dns_name":
        return _quote(_dns_name(value, name))
    if kind == "abs_path":
        try:
            return _quote(check_abs_path(value))
        except ValueError as exc:
            raise _fail(name, str(exc)) from None
    if kind == "period":
        return _quote(_period(value, name))
    if kind == "ciphers":
        return _quote(_ciphers(value, name))
    per_item = {"dns_names": _dns_name, "jids": _jid, "modules": _module}
    if kind in per_item:
        items = _list(value, name)
        checked = [per_item[kind](item, f"{name}[{index}]") for index, item in enumerate(items)]
        if len(set(checked)) != len(checked):
            raise _fail(name, f"{checked!r} names an entry twice")
        return _table([_quote(item) for item in checked])
    if kind == "groups":
        return _table([_quote(group) for group in _groups(value, name)])
    raise ValueError(f"kind must be one of abs_path, bool, ciphers, dns_name, dns_names, groups, jids, modules, "
                     f"period, string; got {kind!r}")


def prosody_branch(version: object) -> str:
    """``"0.12"`` or ``"13"`` (the release line) from a Debian package version of prosody.

    Prosody numbered its releases 0.x up to 0.12 and then 13.0: the line is major.minor
    below 1, the major number from 13 on.
    """
    if not isinstance(version, str):
        raise ValueError(f"the prosody package version must be a string, got {version!r}")
    match = _DEBIAN_VERSION.fullmatch(version.strip())
    if match is None:
        raise ValueError(f"{version!r} is not a Debian version of prosody such as 0.12.3-1 or 13.0.1-1")
    major, minor = int(match.group("major")), int(match.group("minor"))
    if major == 0:
        if minor < 12:
            raise ValueError(f"prosody {version} is older than 0.12, which this role needs (Debian 12 has 0.12.3)")
        return f"0.{minor}"
    if major < 13:
        raise ValueError(f"{version!r} is not a prosody release (0.x up to 0.12, then 13 and later)")
    return str(major)
