"""The admins' accounts: their SSH keys, sudo, and whether they could log in at all.

- ``ssh_admin_problems(admins, config, sudo, login_user, login_keys)``: why
  ``ssh_hardening_admins`` cannot be applied, one line each, naming the entry and never a
  password hash. An entry is ``{name, keys, groups, password_hash, state}``:

  * ``name``: an account name (not root), once in the list;
  * ``keys``: one or more OpenSSH public keys, one per string, ``<type> <base64> [comment]``,
    optionally after ``from="<patterns>"`` (addresses, CIDRs, host patterns; no other
    option). The blob must decode and carry the same type; RSA keys need 3072 bits, sshd's
    ``RequiredRSASize``;
  * ``groups``: extra groups (the sshd AllowGroups group, a hardware-key group);
  * ``password_hash``: a crypt(3) hash (yescrypt, SHA-512/256 crypt or bcrypt). Required
    while the admin's sudo is ``password``: sudo asks for it, and an account without one
    could never become root;
  * ``sudo``: ``password`` or ``nopasswd``, this admin's own choice (default: ``sudo``, the
    role's ``ssh_hardening_admin_sudo``);
  * ``state``: ``present`` (default) or ``absent`` (keys removed, password locked, out of
    sudoers; the account and its home stay).

  Every present admin must be able to log in under the role's policy (``config`` is the
  lock-out guard's: AllowUsers/Groups, DenyUsers/Groups, the accepted key algorithms,
  hardware-key and TOTP groups), with one of the listed keys. ``login_user`` is the account
  Ansible connects as (empty: not over SSH) and ``login_keys`` its authorized_keys today:
  removing that account, or replacing all of its keys in one run, would cut the run's own
  connection, so both are refused.
- ``ssh_admin_entries(admins, sudo)``: the entries with their defaults filled in (``groups``
  [], ``password_hash`` None, ``state`` present, ``sudo`` the role's), for the tasks that apply them once
  ``ssh_admin_problems`` found nothing.

Pure functions with no Ansible dependency.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Mapping

from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_hardening import ssh_login_reasons

VARIABLE = "ssh_hardening_admins"
SUDO_MODES = ("password", "nopasswd")
STATES = ("present", "absent")
MIN_RSA_BITS = 3072
_FIELDS = {"name", "keys", "groups", "password_hash", "state", "sudo"}

_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_GROUP = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_KEY_TYPES = (
    "ssh-ed25519",
    "sk-ssh-ed25519@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-rsa",
)
_KEY = re.compile(r'(?:from="(?P<from>[A-Za-z0-9.:/*?!,%_\[\]-]+)" )?'
                  r"(?P<type>[a-z0-9@.-]+) (?P<blob>AAAA[0-9A-Za-z+/]+={0,2})(?: (?P<comment>[^\r\n]*))?")
# yescrypt, gost-yescrypt, scrypt, bcrypt, SHA-512 and SHA-256 crypt; never MD5 or DES.
_HASH = re.compile(r"\$(?:y|gy|7|2[aby]|6|5)\$[A-Za-z0-9./$,=+-]{20,}")


def _blob_fields(blob: str) -> list[bytes]:
    """The length-prefixed strings of an SSH public key blob (type first)."""
    data = base64.b64decode(blob, validate=True)
    fields, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        if offset + 4 + length > len(data):
            raise ValueError("truncated")
        fields.append(data[offset + 4:offset + 4 + length])
        offset += 4 + length
    return fields


def key_type(line: object) -> tuple[str | None, str | None]:
    """``(type, None)`` for a usable public key line, ``(None, why)`` otherwise; an RSA key
    below 3072 bits gives the lock-out guard's ``ssh-rsa:<bits>-bit``."""
    if not isinstance(line, str):
        return None, "must be a string (one public key)"
    match = _KEY.fullmatch(line.strip())
    if match is None:
        return None, ("is not one OpenSSH public key '[from=\"<patterns>\" ]<type> <base64> [comment]' on one line"
                      " (no option but from=)")
    kind = match["type"]
    if kind not in _KEY_TYPES:
        return None, f"has the key type {kind!r}; known: {', '.join(_KEY_TYPES)}"
    try:
        fields = _blob_fields(match["blob"])
    except (binascii.Error, struct.error, ValueError):
        return None, "has a key blob that does not decode"
    if not fields or fields[0] != kind.encode():
        return None, f"has a key blob that is not of its type {kind!r}"
    if kind == "ssh-rsa":
        bits = int.from_bytes(fields[2], "big").bit_length() if len(fields) >= 3 else 0
        if bits < MIN_RSA_BITS:
            return f"ssh-rsa:{bits}-bit", None
    return kind, None


def _blob(line: str) -> str | None:
    match = _KEY.search(line)
    return match["blob"] if match else None


def _entry(index: int, entry: object, sudo: str, seen: set[str]) -> tuple[dict | None, list[str]]:
    """The checked entry (or None) and its problems."""
    where = f"{VARIABLE}[{index}]"
    if not isinstance(entry, Mapping):
        return None, [f"{where} must be a dict with name and keys"]
    name = entry.get("name")
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        return None, [f"{where}.name must be an account name (a-z, 0-9, _ and -, at most 32)"]
    where = f"{where} ({name})"
    problems = []
    unknown = sorted(str(key) for key in set(entry) - _FIELDS)
    if unknown:
        problems.append(f"{where}: unknown keys {', '.join(unknown)} (known: {', '.join(sorted(_FIELDS))})")
    if name == "root":
        problems.append(f"{where}: root is not an admin account (ssh_hardening_permit_root_login governs it)")
    if name in seen:
        problems.append(f"{where}: listed more than once")
    seen.add(name)
    state = entry.get("state", "present")
    if state not in STATES:
        problems.append(f"{where}.state must be one of {', '.join(STATES)}")
    sudo = entry.get("sudo", sudo)
    if sudo not in SUDO_MODES:
        problems.append(f"{where}.sudo must be one of {', '.join(SUDO_MODES)}")
    groups = entry.get("groups", [])
    if not isinstance(groups, (list, tuple)) or not all(isinstance(g, str) and _GROUP.fullmatch(g) for g in groups):
        problems.append(f"{where}.groups must be a list of group names")
        groups = []
    keys = entry.get("keys")
    types = []
    if state == "present":
        if not isinstance(keys, (list, tuple)) or not keys:
            problems.append(f"{where}.keys must list one or more public keys")
            keys = []
        for number, line in enumerate(keys):
            kind, why = key_type(line)
            if why:
                problems.append(f"{where}.keys[{number}] {why}")
            else:
                types.append(kind)
    password_hash = entry.get("password_hash")
    if password_hash is not None and (not isinstance(password_hash, str) or not _HASH.fullmatch(password_hash)):
        problems.append(f"{where}.password_hash is not a yescrypt, SHA-512/256 crypt or bcrypt hash"
                        " (mkpasswd -m yescrypt); the value is not shown")
    if state == "present" and sudo == "password" and password_hash is None:
        problems.append(f"{where}.password_hash is required while its sudo is 'password'"
                        " (ssh_hardening_admin_sudo or its own sudo: sudo asks for it;"
                        " without one the account could never become root)")
    checked = {"name": name, "state": state, "groups": list(groups), "types": types,
               "blobs": [_blob(line) for line in keys or [] if isinstance(line, str)]}
    return checked, problems


def ssh_admin_problems(admins: object, config: Mapping, sudo: object = "password",
                       login_user: object = "", login_keys: object = "") -> list[str]:
    """Why ``admins`` cannot be applied under ``config`` (an empty list: it can)."""
    if not isinstance(admins, (list, tuple)):
        return [f"{VARIABLE} must be a list of {{name, keys}} entries"]
    if sudo not in SUDO_MODES:
        return [f"ssh_hardening_admin_sudo must be one of {', '.join(SUDO_MODES)}, got {sudo!r}"]
    if not isinstance(login_user, str) or not isinstance(login_keys, str):
        raise ValueError("ssh_admin_problems: login_user and login_keys must be strings")
    problems: list[str] = []
    seen: set[str] = set()
    for index, raw in enumerate(admins):
        entry, found = _entry(index, raw, sudo, seen)
        problems.extend(found)
        if entry is None or found:
            continue
        where = f"{VARIABLE}[{index}] ({entry['name']})"
        if entry["state"] == "present":
            reasons = ssh_login_reasons(entry["name"], [entry["name"], *entry["groups"]], entry["types"], config)
            if reasons:
                problems.append(f"{where} could not log in: {'; '.join(reasons)}")
        if login_user and entry["name"] == login_user:
            problems.extend(_own_connection(where, entry, login_keys))
    return problems


def _own_connection(where: str, entry: dict, login_keys: str) -> list[str]:
    """Why changing the account Ansible connects as would cut this run's connection."""
    if entry["state"] == "absent":
        return [f"{where} is the account Ansible connects as: removing it would cut this run"
                " (connect as another admin first)"]
    current = {_blob(line) for line in login_keys.splitlines() if _blob(line)}
    if current and not current & set(entry["blobs"]):
        return [f"{where} is the account Ansible connects as, and none of its keys today is in the new list:"
                " the run would lose its own login (add the new key next to the old one, run, then drop the old)"]
    return []


def ssh_admin_entries(admins: object, sudo: str = "password") -> list[dict]:
    """``admins`` with every field present: name, keys, groups, password_hash, state and sudo
    (``sudo`` is the role's default for those that do not set their own)."""
    if not isinstance(admins, (list, tuple)) or not all(isinstance(entry, Mapping) for entry in admins):
        raise ValueError(f"{VARIABLE} must be a list of {{name, keys}} entries")
    return [{"name": entry.get("name"), "keys": list(entry.get("keys") or []),
             "groups": list(entry.get("groups") or []), "password_hash": entry.get("password_hash"),
             "state": entry.get("state", "present"), "sudo": entry.get("sudo", sudo)} for entry in admins]
