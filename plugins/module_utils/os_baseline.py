"""Checks and renderings of the os_baseline role that are more than a few Jinja lines.

Pure functions with no Ansible dependency (the filter plugin ``os_baseline`` wraps them;
the unit tests call them directly). Each raises ValueError naming the variable.

- ``kernel_modules(base, extra, ...)``: the module names to disable (``extra`` added,
  duplicates dropped), each ``[a-z0-9_-]+``.
- ``chrony_sources(servers, variable_name)``: ``server <host> iburst [nts] [options]``
  lines for ``os_baseline_time_servers`` entries ``{host, nts=true, options=''}``.
- ``chrony_allow(cidrs, variable_name)``: the networks as chrony ``allow`` arguments.
- ``chrony_conf_without_sources(text)``: Debian's chrony.conf with its ``pool``,
  ``server`` and ``peer`` lines and the DHCP ``sourcedir`` commented out, after checking
  that it still reads ``/etc/chrony/conf.d`` and ``/etc/chrony/sources.d``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping

from ansible_collections.fedisec.hardening.plugins.module_utils.config_values import check_host

_MODULE = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")
_MODULE_ALLOWED = "a kernel module name of lower-case letters, digits, '_' and '-' (at most 64 characters)"

# chrony source options after the host: words and numbers, no line breaks or comments.
_OPTIONS = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .:_-]*")
_OPTIONS_ALLOWED = (
    "chrony source options of letters, digits, spaces, '.', ':', '_' and '-', such as "
    "'minpoll 6 maxpoll 10' (iburst and nts are added by the role)"
)

CHRONY_MARK = "# os_baseline (sources are in /etc/chrony/sources.d): "
_CHRONY_SOURCE_LINE = re.compile(r"^([ \t]*)(pool|server|peer|sourcedir[ \t]+/run/chrony-dhcp)\b", re.MULTILINE)
CHRONY_REQUIRED = ("confdir /etc/chrony/conf.d", "sourcedir /etc/chrony/sources.d")


def _list(value: object, name: str, what: str) -> list:
    """``value`` as a list (not a string or mapping), else ValueError."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of {what}, got {type(value).__name__} {value!r}")
    return list(value)


def kernel_modules(
    base: object,
    extra: object = None,
    base_name: str = "os_baseline_disabled_modules",
    extra_name: str = "os_baseline_disabled_modules_extra",
) -> list[str]:
    """``base`` then the new names of ``extra``, each a valid module name."""
    names: list[str] = []
    for value, name in ((base, base_name), ([] if extra is None else extra, extra_name)):
        for index, item in enumerate(_list(value, name, "kernel module names")):
            if not isinstance(item, str) or _MODULE.fullmatch(item) is None:
                raise ValueError(f"{name}[{index}]: {item!r} is not allowed: {_MODULE_ALLOWED}")
            if item not in names:
                names.append(item)
    return names


def chrony_sources(servers: object, variable_name: str = "os_baseline_time_servers") -> list[str]:
    """``server`` lines for chrony; NTS unless an entry says ``nts: false``."""
    lines: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(_list(servers, variable_name, "mappings {host, nts, options}")):
        where = f"{variable_name}[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} must be a mapping {{host, nts, options}}, got {entry!r}")
        unknown = sorted(set(entry) - {"host", "nts", "options"})
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown} (allowed: host, nts, options)")
        try:
            host = check_host(entry.get("host"))
        except ValueError as exc:
            raise ValueError(f"{where}.host: {exc}") from None
        nts = entry.get("nts", True)
        if not isinstance(nts, bool):
            raise ValueError(f"{where}.nts must be true or false, got {nts!r}")
        options = entry.get("options", "")
        if options is None:
            options = ""
        if not isinstance(options, str) or (options and _OPTIONS.fullmatch(options) is None):
            raise ValueError(f"{where}.options: {options!r} is not allowed: {_OPTIONS_ALLOWED}")
        words = options.split()
        if "nts" in words or "iburst" in words:
            raise ValueError(f"{where}.options: {options!r}: iburst and nts are set by the role (use nts: false)")
        if host in seen:
            raise ValueError(f"{where}.host: {host} is listed twice")
        seen.add(host)
        lines.append(" ".join(["server", host, "iburst"] + (["nts"] if nts else []) + words))
    return lines


def chrony_allow(cidrs: object, variable_name: str = "os_baseline_chrony_serve") -> list[str]:
    """Networks (CIDR or address) as chrony ``allow`` takes them."""
    networks: list[str] = []
    for index, item in enumerate(_list(cidrs, variable_name, "networks such as 10.0.0.0/8")):
        if not isinstance(item, str):
            raise ValueError(f"{variable_name}[{index}]: {item!r} is not a network such as 10.0.0.0/8")
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(
                f"{variable_name}[{index}]: {item!r} is not a network such as 10.0.0.0/8 or 2001:db8::/32"
            ) from None
        networks.append(str(network))
    return networks


def chrony_conf_without_sources(text: object, path: str = "/etc/chrony/chrony.conf") -> str:
    """Comment out the sources of chrony.conf (the role's are in sources.d)."""
    if not isinstance(text, str):
        raise ValueError(f"{path}: expected the file's text, got {type(text).__name__}")
    directives = {" ".join(line.split()) for line in text.splitlines()}
    missing = [line for line in CHRONY_REQUIRED if line not in directives]
    if missing:
        raise ValueError(
            f"{path} lacks {' and '.join(repr(m) for m in missing)} (Debian's chrony.conf has them): "
            "chronyd would not read the role's files. Restore the package's file "
            "(/usr/share/chrony/chrony.conf) or add the lines."
        )
    return _CHRONY_SOURCE_LINE.sub(lambda m: m.group(1) + CHRONY_MARK + m.group(2), text)


_LOGIN_DEFS_KEY = re.compile(r"[A-Z][A-Z0-9_]*")


def login_defs(text: object, values: object, variable_name: str = "os_baseline_login_defs") -> str:
    """login.defs with one ``KEY<TAB>value`` line per key: the last line that sets the key is
    replaced, else the line goes after the key's last commented example (``# KEY ...``), else
    at the end. Everything else stays byte for byte (what a lineinfile per key would do)."""
    if not isinstance(text, str):
        raise ValueError(f"/etc/login.defs: expected the file's text, got {type(text).__name__}")
    if not isinstance(values, Mapping):
        raise ValueError(f"{variable_name}: must be a mapping of login.defs keys to values")
    lines = text.splitlines()
    for key, value in values.items():
        if not isinstance(key, str) or not _LOGIN_DEFS_KEY.fullmatch(key):
            raise ValueError(f"{variable_name}: {key!r} is not a login.defs key (capitals, digits, _)")
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip() \
                or any(c in str(value) for c in "\n\r\t #"):
            raise ValueError(f"{variable_name}.{key}: {value!r} is not a single login.defs value")
        line = f"{key}\t{value}"
        set_at = [i for i, current in enumerate(lines) if re.match(rf"{key}\s", current)]
        if set_at:
            lines[set_at[-1]] = line
            continue
        example_at = [i for i, current in enumerate(lines) if re.match(rf"#\s*{key}\s", current)]
        lines.insert(example_at[-1] + 1 if example_at else len(lines), line)
    return "\n".join(lines) + "\n"
