"""The inputs that playbooks/site.yml cannot do without, checked before it changes anything.

Everything else has a safe default. ``site_inputs_missing`` lists, for the hosts of a run, each
required input that is missing or unusable, one line per host and variable, so that a new
inventory fails at once with the whole list instead of one error per run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

_MISSING = object()


def _names(value: object) -> str | None:
    if not isinstance(value, (list, tuple)):
        return "must be a list of names"
    if not value:
        return "is empty"
    if not all(isinstance(item, str) and item.strip() for item in value):
        return "must list non-empty names"
    return None


def _true(value: object) -> str | None:
    if value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes", "1")):
        return None
    return "must be true"


def _secret(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    return None


def _admins(value: object) -> str | None:
    if not isinstance(value, (list, tuple)):
        return "must be a list of {name, keys} entries"
    problems, entries = [], []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            continue
        fields = {}
        for field in entry:  # a vault value inside an entry is rendered only here
            try:
                fields[field] = entry[field]
            except Exception as exc:  # noqa: BLE001 (Ansible's template errors: the message is the report)
                problems.append(f"[{index}].{field} cannot be worked out: {_first_line(str(exc), type(exc).__name__)}")
                continue
            why = _undefined(fields[field])
            if why is not None:
                problems.append(f"[{index}].{field} cannot be worked out: {why}")
        entries.append(fields)
    present = [entry for entry in entries if entry.get("state", "present") == "present"]
    if not any(isinstance(entry.get("name"), str) and entry.get("keys") for entry in present):
        problems.append("lists no admin with a name and keys")
    return "; ".join(problems) or None


_ADMINS = "the admins' accounts and SSH keys, e.g. [{name: alice, keys: ['ssh-ed25519 AAAA...'], password_hash: ...}]"

# group, variable, its check, what to put there
REQUIRED: tuple[tuple[str, str, Callable[[object], str | None], str], ...] = (
    ("fediverse", "ecdsa_cert_domains", _names, "the site's names, e.g. [social.example.org]"),
    ("fediverse", "ecdsa_cert_acme_contact", _names, "the ACME account's e-mail addresses, e.g. [admin@example.org]"),
    ("fediverse", "ecdsa_cert_acme_terms_agreed", _true, "true: you accept the CA's terms of service"),
    ("fediverse", "ssh_hardening_admins", _admins, _ADMINS),
    ("databases", "ssh_hardening_admins", _admins, _ADMINS),
    ("backup_servers", "backup_pull_passphrase", _secret, "the backup repository's passphrase, from a vault"),
    ("backup_servers", "ssh_hardening_admins", _admins, _ADMINS),
)


def _first_line(text: str, fallback: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else fallback


def _undefined(value: object) -> str | None:
    """Why a value is undefined (Ansible gives a template it cannot render as an undefined
    marker, e.g. a vault variable that no file sets), or None for a real value."""
    try:
        from jinja2 import Undefined
    except ImportError:  # pragma: no cover (Ansible's controller always has Jinja2)
        return None
    if not isinstance(value, Undefined):
        return None
    try:
        message = str(value._undefined_message)  # pylint: disable=protected-access
    except Exception:  # noqa: BLE001 (any failure to explain it still means: undefined)
        message = ""
    return _first_line(message, "undefined")


def site_inputs_missing(hosts: Iterable[str], groups: Mapping, hostvars: Mapping) -> list[str]:
    """One line per required input that a host of ``hosts`` lacks (empty: nothing is missing).

    ``groups`` and ``hostvars`` are Ansible's; a value that cannot be templated (an undefined
    vault variable) is reported with the reason's first line, never with the value.
    """
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, Iterable):
        raise ValueError("site_inputs_missing: the hosts must be a list of inventory names")
    if not isinstance(groups, Mapping):
        raise ValueError("site_inputs_missing: groups must be Ansible's groups mapping")
    wanted = list(hosts)
    lines = []
    for group, name, check, what in REQUIRED:
        members = groups.get(group) or []
        for host in (host for host in wanted if host in members):
            try:
                value = hostvars[host][name]
            except KeyError:
                value = _MISSING
            except Exception as exc:  # noqa: BLE001 (Ansible's template errors: the message is the report)
                lines.append(f"{host} (group {group}): {name} cannot be worked out: "
                             f"{_first_line(str(exc), type(exc).__name__)} ({what})")
                continue
            why = _undefined(value)
            if why is not None:
                lines.append(f"{host} (group {group}): {name} cannot be worked out: {why} ({what})")
                continue
            problem = "is not set" if value is _MISSING or value is None else check(value)
            if problem:
                lines.append(f"{host} (group {group}): {name} {problem} ({what})")
    return lines
