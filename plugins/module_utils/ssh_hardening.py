"""OpenSSH server hardening helpers: algorithm lists, ``sshd -T`` parsing, lockout guard.

The lock-out guard also checks that the controller can still negotiate the key exchange
(``ssh_client_kex_problems``): the default list is post-quantum only.

Pure functions with no Ansible dependency, so they can be imported both as
``ansible_collections.fedisec.hardening.plugins.module_utils.ssh_hardening`` and from
a standalone script.

The default algorithm lists follow the ssh-audit hardening guides for Debian 12
(version 3) and Debian 13 (version 1), post-quantum key exchange first. They are
meant to be filtered through ``ssh_algorithms`` against what the installed OpenSSH
supports, so one list serves both releases (mlkem768x25519-sha256 only exists from
OpenSSH 9.9, the un-suffixed sntrup761x25519-sha512 only from Debian's
1:9.2p1-2+deb12u4).

Where the supported lists come from: ``sshd`` has no ``-Q`` option; the client
``ssh -Q`` (openssh-client, built from the same source package and pinned to the same
version as openssh-server on Debian) answers for the same code and crypto library.
See ``SSH_QUERY`` for the query to run per kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# --- Recommended algorithm lists, in order of preference -------------------------

# Post-quantum hybrids only, as in the Debian 13 guide: ssh-audit 3.9 warns on plain
# curve25519 ("does not provide protection against post-quantum attacks"), so a
# no-warning audit leaves them out. Clients need OpenSSH >= 8.5 (sntrup761) or a
# PuTTY/library with one of these. No classic finite-field Diffie-Hellman either
# (diffie-hellman-group16-sha512, -group18-sha512, -group-exchange-sha256), although
# the Debian 12 guide keeps them: they are what ssh-audit's DHEat rate test hits (an
# unauthenticated client makes the server do expensive modular exponentiations).
# The gss-* names of the Debian 12 guide are omitted: they belong in
# GSSAPIKexAlgorithms, not KexAlgorithms.
KEX = (
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
)
CIPHERS = (
    "chacha20-poly1305@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-ctr",
    "aes192-ctr",
    "aes128-ctr",
)
# Encrypt-then-MAC only; SHA-512 first as in the Debian 13 guide.
MACS = (
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "umac-128-etm@openssh.com",
)
HOSTKEY = (
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "ssh-ed25519",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
# HOSTKEY plus the FIDO2 ECDSA types: many hardware tokens only do P-256, and a
# user key on a token is a different threat model from a server host key.
PUBKEY = (
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519",
    "rsa-sha2-512",
    "rsa-sha2-256",
)
CASIG = (
    "sk-ssh-ed25519@openssh.com",
    "ssh-ed25519",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
# PubkeyAcceptedAlgorithms for members of hardware-key groups (FIDO2 keys only).
HARDWARE_KEY = (
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
)

DEFAULTS = {
    "kex": KEX,
    "cipher": CIPHERS,
    "mac": MACS,
    "hostkey": HOSTKEY,
    "pubkey": PUBKEY,
    "casig": CASIG,
    "hardware_key": HARDWARE_KEY,
}

# Role variable holding the wanted list, per kind.
VARIABLES = {
    "kex": "ssh_hardening_kex_algorithms",
    "cipher": "ssh_hardening_ciphers",
    "mac": "ssh_hardening_macs",
    "hostkey": "ssh_hardening_host_key_algorithms",
    "pubkey": "ssh_hardening_pubkey_algorithms",
    "casig": "ssh_hardening_ca_signature_algorithms",
}
KINDS = tuple(VARIABLES)

# ``ssh -Q <query>`` whose output is the ``supported`` argument, per kind.
# ``key-sig`` (= ``-Q HostKeyAlgorithms`` = ``-Q PubkeyAcceptedAlgorithms``) includes
# rsa-sha2-256/512; ``-Q key`` does not and would filter them out. OpenSSH 9.2 has no
# ``-Q CASignatureAlgorithms``; ``-Q sig`` is the same list.
SSH_QUERY = {
    "kex": "kex",
    "cipher": "cipher",
    "mac": "mac",
    "hostkey": "key-sig",
    "pubkey": "key-sig",
    "casig": "sig",
}

# --- Weak algorithms ---------------------------------------------------------------

_SHA1_SIGNATURES = "SHA-1 signatures"
_NIST_ECDH = "NIST P-curve ECDH, flagged by ssh-audit"
_NIST_ECDSA = "NIST P-curve ECDSA, flagged by ssh-audit"
_DSA = "DSA (1024-bit, SHA-1)"
_CBC = "CBC mode"
_NON_ETM = "encrypt-and-MAC (non-etm) MAC"
# MACs without the encrypt-then-MAC suffix are weak (ssh-audit warns on them).
_MAC_FAMILIES = ("hmac-", "umac-")
_ETM_SUFFIX = "-etm@openssh.com"

# (pattern, reason): a name gets every reason whose pattern matches (``*``, ``?``).
_WEAK_PATTERNS: dict[str, tuple[tuple[str, str], ...]] = {
    "kex": (
        ("gss-*", "GSSAPI key exchange, belongs in GSSAPIKexAlgorithms"),
        ("*sha1*", "SHA-1"),
        ("*-group1-*", "1024-bit group"),
        ("*-group14-*", "2048-bit group"),
        ("ecdh-sha2-nistp*", _NIST_ECDH),
        ("gss-nistp*", _NIST_ECDH),
    ),
    "cipher": (
        ("*-cbc", _CBC),
        ("*-cbc@*", _CBC),
        ("3des*", "3DES, 64-bit block"),
        ("des*", "single DES"),
        ("arcfour*", "RC4 (arcfour)"),
        ("blowfish*", "Blowfish, 64-bit block"),
        ("cast128*", "CAST-128, 64-bit block"),
        ("rijndael*", "pre-standard Rijndael name"),
        ("none", "no encryption"),
    ),
    "mac": (
        ("hmac-sha1*", "SHA-1"),
        ("hmac-md5*", "MD5"),
        ("hmac-ripemd160*", "RIPEMD-160"),
        ("umac-64*", "64-bit tag"),
        ("none", "no integrity protection"),
    ),
    "hostkey": (
        ("ssh-rsa", _SHA1_SIGNATURES),
        ("ssh-rsa-cert-v01@openssh.com", _SHA1_SIGNATURES),
        ("ssh-dss*", _DSA),
        ("ecdsa-sha2-nistp*", _NIST_ECDSA),
        ("*sk-ecdsa-*", _NIST_ECDSA),
    ),
    "pubkey": (
        ("ssh-rsa", _SHA1_SIGNATURES),
        ("ssh-rsa-cert-v01@openssh.com", _SHA1_SIGNATURES),
        ("ssh-dss*", _DSA),
    ),
    "casig": (
        ("ssh-rsa", _SHA1_SIGNATURES),
        ("ssh-rsa-cert-v01@openssh.com", _SHA1_SIGNATURES),
        ("ssh-dss*", _DSA),
    ),
}

# RFC 4251 section 6: printable ASCII without comma or whitespace, at most 64
# characters, optionally one ``@domain`` suffix. Names may end in "-" (gss-*).
_ALGORITHM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*(?:@[A-Za-z0-9][A-Za-z0-9.-]*)?")
_MAX_NAME_LENGTH = 64


def sshd_pattern_match(name: str, pattern: str) -> bool:
    """Return whether ``name`` matches an sshd pattern (``*`` any run, ``?`` one char).

    Case-sensitive and anchored, like OpenSSH's ``match_pattern``; ``[`` has no
    special meaning (unlike ``fnmatch``).
    """
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, name, re.DOTALL) is not None


def _check_kind(kind: object, kinds: tuple[str, ...] | list[str]) -> str:
    """Return ``kind`` if it is one of ``kinds``, else raise ValueError."""
    if not isinstance(kind, str) or kind not in kinds:
        raise ValueError(f"kind must be one of {', '.join(kinds)}, got {kind!r}")
    return kind


def ssh_default_algorithms(kind: str) -> list[str]:
    """Return a fresh list of the recommended algorithms for ``kind``.

    ``kind`` is one of kex, cipher, mac, hostkey, pubkey, casig or hardware_key
    (the FIDO2-only PubkeyAcceptedAlgorithms for hardware-key groups).
    """
    return list(DEFAULTS[_check_kind(kind, tuple(DEFAULTS))])


def weak_reasons(name: str, kind: str) -> list[str]:
    """Return why ``name`` is a weak ``kind`` algorithm (an empty list if it is not)."""
    _check_kind(kind, KINDS)
    reasons = [
        reason for pattern, reason in _WEAK_PATTERNS[kind] if sshd_pattern_match(name, pattern)
    ]
    if kind == "mac" and name.startswith(_MAC_FAMILIES) and not name.endswith(_ETM_SUFFIX):
        reasons.append(_NON_ETM)
    return list(dict.fromkeys(reasons))


def _check_algorithm_name(name: object, variable: str) -> str:
    """Return ``name`` if it is syntactically an SSH algorithm name, else raise ValueError."""
    if not isinstance(name, str):
        raise ValueError(f"{variable}: algorithm names must be strings, got {name!r}")
    if _ALGORITHM_NAME.fullmatch(name) and len(name) <= _MAX_NAME_LENGTH:
        return name
    hint = ""
    if "," in name:
        hint = " (one algorithm per list item, not a comma-separated string)"
    elif name[:1] in ("+", "-", "^"):
        hint = " (sshd_config's +/-/^ list modifiers are not supported: list every algorithm)"
    elif "*" in name or "?" in name:
        hint = " (wildcards are not supported: list every algorithm)"
    raise ValueError(f"{variable}: {name!r} is not an SSH algorithm name{hint}")


def _wanted_list(wanted: object, variable: str) -> list[str]:
    """Validate the wanted algorithms; return them without duplicates, order kept."""
    if isinstance(wanted, str):
        raise ValueError(
            f"{variable} must be a list of algorithm names, got the string {wanted!r};"
            " write a YAML list (one name per item), or split a comma-separated string"
            " with .split(',')"
        )
    if not isinstance(wanted, (list, tuple)):
        raise ValueError(f"{variable} must be a list of algorithm names, got {wanted!r}")
    if not wanted:
        raise ValueError(f"{variable} is empty: list at least one algorithm")
    return list(dict.fromkeys(_check_algorithm_name(name, variable) for name in wanted))


def _supported_set(supported: object, kind: str) -> list[str]:
    """Return the names in ``ssh -Q`` output (a string, one per line) or a list."""
    command = f"ssh -Q {SSH_QUERY[kind]}"
    if isinstance(supported, str):
        names = [name for name in re.split(r"[\s,]+", supported) if name]
    elif isinstance(supported, (list, tuple)):
        if not all(isinstance(name, str) for name in supported):
            raise ValueError(f"supported must be a list of strings (the lines of `{command}`)")
        names = [name.strip() for name in supported if name.strip()]
    else:
        raise ValueError(
            f"supported must be the output of `{command}` as a string or a list,"
            f" got {type(supported).__name__}"
        )
    if not names:
        raise ValueError(f"supported is empty: pass the stdout of `{command}`")
    return names


def _refuse_weak(names: list[str], kind: str) -> None:
    """Raise ValueError naming every weak algorithm in ``names`` and why it is weak."""
    weak = [(name, weak_reasons(name, kind)) for name in names]
    listed = [f"{name} ({', '.join(reasons)})" for name, reasons in weak if reasons]
    if listed:
        raise ValueError(
            f"{VARIABLES[kind]} contains weak algorithms: {'; '.join(listed)}."
            " Remove them, or set ssh_hardening_allow_weak: true (allow_weak=True) to keep them"
            " deliberately"
        )


def ssh_algorithms(
    wanted: list[str], supported: str | list[str], kind: str, allow_weak: bool = False
) -> list[str]:
    """Return the ``wanted`` algorithms the installed OpenSSH supports, order preserved.

    ``wanted`` is a list of names (the role default or the user's list); duplicates
    are dropped. ``supported`` is the output of ``ssh -Q`` (see ``SSH_QUERY``) as a
    string or a list. ``kind`` is one of kex, cipher, mac, hostkey
    (HostKeyAlgorithms), pubkey (PubkeyAcceptedAlgorithms) or casig
    (CASignatureAlgorithms).

    Names the server does not support are dropped silently, so one list serves
    several OpenSSH versions. Weak names (see ``weak_reasons``) raise ValueError,
    whether supported or not, unless ``allow_weak`` is true. An empty result raises
    ValueError listing what the server supports.
    """
    _check_kind(kind, KINDS)
    variable = VARIABLES[kind]
    if not isinstance(allow_weak, bool):
        raise ValueError(f"allow_weak must be a boolean, got {allow_weak!r}")
    names = _wanted_list(wanted, variable)
    available = _supported_set(supported, kind)
    if not allow_weak:
        _refuse_weak(names, kind)
    result = [name for name in names if name in available]
    if not result:
        raise ValueError(
            f"none of the {kind} algorithms in {variable} ({', '.join(names)}) is"
            f" supported by this OpenSSH, which supports: {', '.join(available)}"
        )
    return result


# --- Key exchange the controller can negotiate -------------------------------------------

# Appended after the post-quantum hybrids when ssh_hardening_kex_classic_fallback is on:
# plain X25519 ECDH (RFC 8731; the @libssh.org name since OpenSSH 6.5, the other since 7.4).
# Classic only: a recorded session that used it can be decrypted once a large enough
# quantum computer exists, and ssh-audit 3.9 warns on both ("does not provide protection
# against post-quantum attacks"). Names the server lacks are dropped by ``ssh_algorithms``.
KEX_CLASSIC_FALLBACK = ("curve25519-sha256", "curve25519-sha256@libssh.org")
KEX_FALLBACK_VARIABLE = "ssh_hardening_kex_classic_fallback"

# Connection plugins that reach the host with the controller's OpenSSH client, and the
# paramiko ones (a Python SSH library, not OpenSSH). Short names: a fully qualified name
# (ansible.builtin.paramiko_ssh) is reduced to its last part.
OPENSSH_CONNECTIONS = ("ssh", "smart")
PARAMIKO_CONNECTIONS = ("paramiko", "paramiko_ssh")
# The key exchange paramiko (2.7 to 3.x) implements: no post-quantum hybrid, and X25519
# only under its pre-RFC name.
PARAMIKO_KEX = (
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group1-sha1",
)
_MAX_SHOWN_LINE = 120


def ssh_kex_with_fallback(wanted: list[str], classic_fallback: bool = False) -> list[str]:
    """Return the wanted key exchange list, with the classic fallback appended if asked.

    ``wanted`` is ``ssh_hardening_kex_algorithms`` (validated like ``ssh_algorithms``
    does, duplicates dropped); with ``classic_fallback`` true, ``KEX_CLASSIC_FALLBACK``
    follows it (a name already in ``wanted`` keeps its place). The result is meant for
    ``ssh_algorithms``, which drops the names the server lacks.
    """
    if not isinstance(classic_fallback, bool):
        raise ValueError(f"{KEX_FALLBACK_VARIABLE} must be a boolean, got {classic_fallback!r}")
    names = _wanted_list(wanted, VARIABLES["kex"])
    if classic_fallback:
        names = list(dict.fromkeys([*names, *KEX_CLASSIC_FALLBACK]))
    return names


def _client_kex(output: object, command: str, error: str) -> list[str]:
    """Return the names ``ssh -Q kex`` printed; raise ValueError if it printed none or junk."""
    if isinstance(output, str):
        lines = output.splitlines()
    elif isinstance(output, (list, tuple)) and all(isinstance(line, str) for line in output):
        lines = list(output)
    else:
        raise ValueError(
            f"client_kex must be the output of `{command}` as a string or a list of lines,"
            f" got {type(output).__name__}"
        )
    names = [line.strip() for line in lines if line.strip()]
    if not names:
        first = next((line.strip() for line in error.splitlines() if line.strip()), "")
        detail = f" ({first[:_MAX_SHOWN_LINE]})" if first else ""
        raise ValueError(
            f"`{command}` on the controller printed no key exchange algorithms{detail}:"
            " the lock-out guard cannot tell whether Ansible could reconnect. Point"
            " ansible_ssh_executable at OpenSSH's ssh client on the controller (-Q needs"
            " OpenSSH >= 6.3)"
        )
    garbled = [
        name
        for name in names
        if not _ALGORITHM_NAME.fullmatch(name) or len(name) > _MAX_NAME_LENGTH
    ]
    if garbled:
        shown = garbled[0][:_MAX_SHOWN_LINE]
        raise ValueError(
            f"`{command}` on the controller did not print a list of key exchange algorithms"
            f" (unexpected line: {shown!r}): the lock-out guard cannot tell whether Ansible"
            " could reconnect. Point ansible_ssh_executable at OpenSSH's ssh client"
        )
    return names


def _paramiko_problem(offered: list[str], connection: str, classic_fallback: bool) -> str:
    """Explain why paramiko could not negotiate any of ``offered``."""
    if classic_fallback:
        way_out = (
            f" ({KEX_FALLBACK_VARIABLE} is on, but this sshd does not offer"
            " curve25519-sha256@libssh.org)"
        )
    else:
        way_out = (
            f", or set {KEX_FALLBACK_VARIABLE}: true (adds curve25519-sha256@libssh.org,"
            " which paramiko implements, without post-quantum protection)"
        )
    return (
        f"Ansible connects with paramiko (ansible_connection: {connection}), which implements"
        " no post-quantum key exchange and none of those sshd would offer"
        f" ({', '.join(offered)}): it could not reconnect after the reload. Connect with"
        " OpenSSH instead (set ansible_connection: ssh; OpenSSH >= 8.5 on the controller)"
        f"{way_out}"
    )


def ssh_client_kex_problems(
    kex: list[str],
    client_kex: str | list[str],
    connection: str = "ssh",
    classic_fallback: bool = False,
    client: str = "ssh",
    client_error: str = "",
) -> list[str]:
    """Return why Ansible could not reconnect once sshd offers ``kex`` ([] if it could).

    ``kex`` is the final KexAlgorithms list (``ssh_hardening_algorithms.kex``).
    ``connection`` is the connection plugin Ansible reaches the host with
    (``ansible_connection``). With paramiko the answer depends only on ``kex`` (see
    ``PARAMIKO_KEX``); with OpenSSH (ssh, smart) ``client_kex`` is what the
    controller's client ``client`` (``ansible_ssh_executable``) printed for
    ``-Q kex`` and ``client_error`` its error output, if any: at least one name must be
    in both lists. Any other connection (local, podman, docker...) does not use SSH: [].

    ``ssh -Q kex`` lists what the client can do, not a narrower KexAlgorithms set in
    its ssh_config or ssh_args. Empty or garbled ``client_kex`` raises ValueError.
    """
    offered = _wanted_list(kex, VARIABLES["kex"])
    for name, value in (("connection", connection), ("client", client)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if not isinstance(classic_fallback, bool):
        raise ValueError(f"{KEX_FALLBACK_VARIABLE} must be a boolean, got {classic_fallback!r}")
    if not isinstance(client_error, str):
        raise ValueError(f"client_error must be a string, got {client_error!r}")
    plugin = connection.rsplit(".", 1)[-1]
    if plugin in PARAMIKO_CONNECTIONS:
        if any(name in PARAMIKO_KEX for name in offered):
            return []
        return [_paramiko_problem(offered, connection, classic_fallback)]
    if plugin not in OPENSSH_CONNECTIONS:
        return []
    command = f"{client} -Q kex"
    supported = _client_kex(client_kex, command, client_error)
    if any(name in supported for name in offered):
        return []
    if classic_fallback:
        switch = f" ({KEX_FALLBACK_VARIABLE} is already on)"
    else:
        switch = (
            f", set {KEX_FALLBACK_VARIABLE}: true (adds curve25519-sha256 after the post-quantum"
            " ones: sessions of such clients get no post-quantum protection)"
        )
    return [
        f"the controller's OpenSSH client (`{command}`) supports none of the key exchange"
        f" algorithms sshd would offer ({', '.join(offered)}): Ansible could not reconnect"
        f" after the reload. The client supports: {', '.join(supported)}. Update OpenSSH on"
        " the controller (sntrup761x25519-sha512@openssh.com from 8.5, mlkem768x25519-sha256"
        f" from 9.9){switch}, or list one it supports in {VARIABLES['kex']}"
    ]


# --- sshd -T ---------------------------------------------------------------------------

# Keys ``sshd -T`` prints once per value; always returned as lists.
MULTI_VALUE_KEYS = frozenset(
    {
        "acceptenv",
        "allowgroups",
        "allowusers",
        "denygroups",
        "denyusers",
        "hostcertificate",
        "hostkey",
        "listenaddress",
        "port",
        "subsystem",
    }
)


def _add_value(config: dict[str, str | list[str]], key: str, value: str) -> None:
    """Store ``value`` under ``key``, turning repeated keys into lists."""
    if key in MULTI_VALUE_KEYS:
        config.setdefault(key, []).append(value)
    elif key not in config:
        config[key] = value
    elif isinstance(config[key], list):
        config[key].append(value)
    else:
        config[key] = [config[key], value]


def sshd_effective(text: str) -> dict[str, str | list[str]]:
    """Parse ``sshd -T`` output (``key value`` lines) into a dict.

    Keys are lowercased; the value is the rest of the line ("" if there is none).
    Keys in ``MULTI_VALUE_KEYS`` (hostkey, port, listenaddress, acceptenv,
    subsystem, allow/deny users/groups...) are always lists, any other key that
    appears more than once becomes a list. Comma-separated algorithm lists stay
    strings. Values are not normalised: depending on the OpenSSH version
    prohibit-password is printed as ``permitrootlogin without-password``.
    """
    if not isinstance(text, str):
        raise ValueError(f"sshd -T output must be a string, got {type(text).__name__}")
    config: dict[str, str | list[str]] = {}
    for line in text.splitlines():
        fields = line.strip().split(None, 1)
        if fields:
            _add_value(config, fields[0].lower(), fields[1].strip() if len(fields) > 1 else "")
    if not config:
        raise ValueError("sshd -T output is empty: pass the stdout of `sshd -T`")
    return config


# --- Lockout guard ---------------------------------------------------------------------

PERMIT_ROOT_LOGIN = ("no", "prohibit-password", "without-password", "yes", "forced-commands-only")
_LIST_OPTIONS = (
    "allow_users",
    "allow_groups",
    "deny_users",
    "deny_groups",
    "hardware_key_groups",
    "totp_users",
    "totp_groups",
    "totp_ready_users",
    "sftp_only_groups",
)
_CONFIG_KEYS = (*_LIST_OPTIONS, "permit_root_login", "pubkey_algorithms", "totp_nullok")
_RSA_SIGNATURES = {
    "ssh-rsa": ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512"),
    "ssh-rsa-cert-v01@openssh.com": (
        "ssh-rsa-cert-v01@openssh.com",
        "rsa-sha2-256-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com",
    ),
}
_MAX_LISTED_USERS = 10


def _string_list(value: object, argument: str) -> list[str]:
    """Return ``value`` as a list of strings, or raise ValueError naming ``argument``."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{argument} must be a list of strings, got {value!r}")
    return list(value)


def _check_config(config: object) -> dict[str, object]:
    """Validate the guard's ``config`` argument; return it with defaults filled in."""
    if not isinstance(config, Mapping):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    unknown = sorted(set(config) - set(_CONFIG_KEYS))
    if unknown:
        raise ValueError(
            f"config has unknown keys {', '.join(map(str, unknown))};"
            f" known: {', '.join(_CONFIG_KEYS)}"
        )
    checked: dict[str, object] = {
        key: _string_list(config.get(key, []), f"config.{key}") for key in _LIST_OPTIONS
    }
    root = config.get("permit_root_login")
    if root not in PERMIT_ROOT_LOGIN:
        raise ValueError(
            f"config.permit_root_login must be one of {', '.join(PERMIT_ROOT_LOGIN)}, got {root!r}"
        )
    checked["permit_root_login"] = root
    if "pubkey_algorithms" not in config:
        raise ValueError("config.pubkey_algorithms is required (the accepted key algorithms)")
    checked["pubkey_algorithms"] = _string_list(
        config["pubkey_algorithms"], "config.pubkey_algorithms"
    )
    nullok = config.get("totp_nullok", False)
    if not isinstance(nullok, bool):
        raise ValueError(f"config.totp_nullok must be a boolean, got {nullok!r}")
    checked["totp_nullok"] = nullok
    return checked


def _check_account(account: object, argument: str) -> dict[str, list[str]]:
    """Validate a ``{"groups": [...], "key_types": [...]}`` dict (both optional)."""
    if not isinstance(account, Mapping):
        raise ValueError(f"{argument} must be a dict with groups and key_types, got {account!r}")
    return {
        "groups": _string_list(account.get("groups", []), f"{argument}.groups"),
        "key_types": _string_list(account.get("key_types", []), f"{argument}.key_types"),
    }


def _check_login(login: object) -> tuple[str, dict[str, list[str]]] | None:
    """Validate the ``login`` argument; return ``(user, account)`` or None."""
    if login is None:
        return None
    if not isinstance(login, Mapping):
        raise ValueError(
            f"login must be None or a dict with user, groups, key_types, got {login!r}"
        )
    user = login.get("user")
    if not isinstance(user, str) or not user:
        raise ValueError(f"login.user must be a user name, got {user!r}")
    return user, _check_account(login, "login")


def _check_keyed_users(keyed_users: object) -> dict[str, dict[str, list[str]]]:
    """Validate the ``keyed_users`` argument (user name -> account dict)."""
    if not isinstance(keyed_users, Mapping):
        raise ValueError(
            f"keyed_users must be a dict of user name -> {{groups, key_types}},"
            f" got {type(keyed_users).__name__}"
        )
    checked = {}
    for user, account in keyed_users.items():
        if not isinstance(user, str) or not user:
            raise ValueError(f"keyed_users keys must be user names, got {user!r}")
        checked[user] = _check_account(account, f"keyed_users[{user!r}]")
    return checked


def _user_entry_matches(user: str, entry: str) -> bool | None:
    """Match an AllowUsers/DenyUsers entry: True, False, or None for "depends on the host".

    A ``user@host`` entry whose host part is not ``*`` depends on the client
    address, which the guard does not know.
    """
    name, at, host = entry.partition("@")
    if not sshd_pattern_match(user, name):
        return False
    return True if not at or host == "*" else None


def _first_group_match(groups: list[str], patterns: list[str]) -> tuple[str, str] | None:
    """Return ``(group, pattern)`` for the first group matching a pattern, or None."""
    for pattern in patterns:
        for group in groups:
            if sshd_pattern_match(group, pattern):
                return group, pattern
    return None


def _access_list_reasons(user: str, groups: list[str], config: dict) -> list[str]:
    """Why DenyUsers, AllowUsers, DenyGroups or AllowGroups would refuse ``user``."""
    reasons = []
    for entry in config["deny_users"]:
        matched = _user_entry_matches(user, entry)
        if matched is not False:
            maybe = "" if matched else " (may match: the guard does not know the client address)"
            reasons.append(f"matched by ssh_hardening_deny_users entry {entry!r}{maybe}")
            break
    allow_users = config["allow_users"]
    if allow_users and not any(_user_entry_matches(user, entry) for entry in allow_users):
        reasons.append(
            f"not matched by ssh_hardening_allow_users ({', '.join(allow_users)}; user@host"
            " entries with a host other than '*' are not counted)"
        )
    denied = _first_group_match(groups, config["deny_groups"])
    if denied:
        reasons.append(
            f"its group {denied[0]!r} matches ssh_hardening_deny_groups entry {denied[1]!r}"
        )
    allow_groups = config["allow_groups"]
    if allow_groups and not _first_group_match(groups, allow_groups):
        reasons.append(
            f"none of its groups ({', '.join(groups) or 'none known'}) matches"
            f" ssh_hardening_allow_groups ({', '.join(allow_groups)})"
        )
    return reasons


def _root_reasons(user: str, config: dict) -> list[str]:
    """Why PermitRootLogin would refuse an interactive root login."""
    setting = config["permit_root_login"]
    if user != "root" or setting not in ("no", "forced-commands-only"):
        return []
    if setting == "no":
        return ["root login is off (ssh_hardening_permit_root_login: no)"]
    return [
        "root may only run forced commands (ssh_hardening_permit_root_login:"
        " forced-commands-only), but an interactive shell is needed"
    ]


def key_type_accepted(key_type: str, accepted: list[str]) -> bool:
    """Return whether an authorized key of ``key_type`` can sign with an accepted algorithm.

    An ``ssh-rsa`` key signs with rsa-sha2-256/512 (RFC 8332), an
    ``ssh-rsa-cert-v01@openssh.com`` certificate with rsa-sha2-*-cert-v01; any other
    type must itself match an entry of ``accepted`` (sshd patterns allowed).
    """
    algorithms = _RSA_SIGNATURES.get(key_type, (key_type,))
    return any(sshd_pattern_match(alg, entry) for alg in algorithms for entry in accepted)


def _key_reasons(groups: list[str], key_types: list[str], config: dict) -> list[str]:
    """Why none of the user's authorized keys would be accepted ([] if unknown)."""
    if not key_types:
        return []
    usable = [kt for kt in key_types if key_type_accepted(kt, config["pubkey_algorithms"])]
    if not usable:
        return [
            f"none of its key types ({', '.join(key_types)}) is accepted by"
            " ssh_hardening_pubkey_algorithms"
        ]
    hardware = _first_group_match(groups, config["hardware_key_groups"])
    if hardware and not any(kt.startswith("sk-") for kt in usable):
        return [
            f"its group {hardware[0]!r} is in ssh_hardening_hardware_key_groups, which only"
            f" allows FIDO2 (sk-*) keys, but it has only {', '.join(usable)}"
        ]
    return []


def _totp_variable(user: str, groups: list[str], config: dict) -> str | None:
    """Return the variable that makes ``user`` need a TOTP code, or None."""
    if any(sshd_pattern_match(user, pattern) for pattern in config["totp_users"]):
        return "ssh_hardening_totp_users"
    if _first_group_match(groups, config["totp_groups"]):
        return "ssh_hardening_totp_groups"
    return None


def _totp_reasons(user: str, groups: list[str], config: dict) -> list[str]:
    """Why a required TOTP code could not be given (no secret and no nullok)."""
    variable = _totp_variable(user, groups, config)
    if variable is None or user in config["totp_ready_users"] or config["totp_nullok"]:
        return []
    return [
        f"it needs a TOTP code ({variable}) but has no TOTP secret yet"
        f" (enrol one first, or take it out of {variable})"
    ]


def _unattended_reasons(user: str, account: dict[str, list[str]], config: dict) -> list[str]:
    """Why Ansible itself could not work as ``user``, although a person could log in.

    Ansible cannot type a TOTP code or touch a token, needs a shell (not SFTP only),
    and must have a key sshd sees: with password login off, an account without an
    authorized key (in ~/.ssh/authorized_keys or authorized_keys2) is shut out.
    """
    groups = account["groups"]
    reasons = []
    variable = _totp_variable(user, groups, config)
    if variable is not None:
        reasons.append(
            f"it needs a TOTP code ({variable}), which Ansible cannot type"
            f" (connect as an account outside {variable})"
        )
    hardware = _first_group_match(groups, config["hardware_key_groups"])
    if hardware:
        reasons.append(
            f"its group {hardware[0]!r} is in ssh_hardening_hardware_key_groups: a FIDO2 key"
            " needs a touch or PIN, which Ansible cannot give (connect as an account outside it)"
        )
    sftp = _first_group_match(groups, config["sftp_only_groups"])
    if sftp:
        reasons.append(
            f"its group {sftp[0]!r} is ssh_hardening_sftp_chroot_group: SFTP only, no shell"
        )
    if not account["key_types"]:
        reasons.append(
            "no authorized key was found for it (~/.ssh/authorized_keys, authorized_keys2),"
            " and password login is off (add its key first, or set"
            " ssh_hardening_lockout_guard: false if sshd finds keys elsewhere)"
        )
    return reasons


def _login_reasons(user: str, account: dict[str, list[str]], config: dict) -> list[str]:
    """Return every reason why ``user`` could not log in with ``config`` ([] = can)."""
    groups = account["groups"]
    return [
        *_access_list_reasons(user, groups, config),
        *_root_reasons(user, config),
        *_key_reasons(groups, account["key_types"], config),
        *_totp_reasons(user, groups, config),
    ]


def ssh_login_reasons(user: str, groups: list[str], key_types: list[str], config: Mapping) -> list[str]:
    """Every reason why ``user`` (member of ``groups``, primary group included, with keys of
    ``key_types``) could not log in under the guard's ``config``; [] means it could."""
    return _login_reasons(user, {"groups": list(groups), "key_types": list(key_types)}, _check_config(config))


def _nobody_keyed(keyed_users: dict[str, dict[str, list[str]]], config: dict) -> str | None:
    """Return the problem if no keyed user could log in, else None."""
    refused = {}
    for user, account in keyed_users.items():
        reasons = _login_reasons(user, account, config)
        if not reasons:
            return None
        refused[user] = reasons
    listed = [f"{user}: {', '.join(reasons)}" for user, reasons in refused.items()]
    if len(listed) > _MAX_LISTED_USERS:
        more = len(listed) - _MAX_LISTED_USERS
        listed = [*listed[:_MAX_LISTED_USERS], f"... and {more} more"]
    return "no user with an authorized key could log in: " + "; ".join(listed)


def ssh_lockout_problems(config: dict, login: dict | None, keyed_users: dict) -> list[str]:
    """Return why applying ``config`` would lock people out (an empty list if it would not).

    ``config`` holds allow_users, allow_groups, deny_users, deny_groups,
    hardware_key_groups, totp_users, totp_groups, totp_ready_users (lists, default
    empty; totp_ready_users are exact names, the others sshd patterns),
    permit_root_login and pubkey_algorithms (required) and totp_nullok (default
    False). ``login`` is None when Ansible does not connect over SSH, else
    ``{"user", "groups", "key_types"}`` for the connection user; ``keyed_users``
    maps every user with a non-empty authorized_keys file to
    ``{"groups", "key_types"}``. Groups must include the primary group; empty
    key_types means "unknown" and skips the key check for that user.

    sshd applies DenyUsers, AllowUsers, DenyGroups and AllowGroups in turn (empty =
    no restriction) with ``*``/``?`` patterns. The guard is conservative about
    ``user@host`` entries, because it cannot know the client address: in
    AllowUsers an entry with a host other than ``*`` does not count as allowing,
    in DenyUsers it counts as (possibly) denying. PermitRootLogin ``no`` and
    ``forced-commands-only`` (no shell) both refuse root.

    Problems reported: the login user could not log in; none of the keyed users
    could log in; or, without an SSH login, nobody has an authorized key.
    """
    checked = _check_config(config)
    connection = _check_login(login)
    keyed = _check_keyed_users(keyed_users)
    problems = []
    if connection is not None:
        user, account = connection
        reasons = _login_reasons(user, account, checked) + _unattended_reasons(
            user, account, checked
        )
        if reasons:
            problems.append(
                f"the user Ansible connects as ({user!r}) would be locked out: {'; '.join(reasons)}"
            )
    if keyed:
        nobody = _nobody_keyed(keyed, checked)
        if nobody:
            problems.append(nobody)
    elif connection is None:
        problems.append(
            "no user has an authorized key: with password login off nobody could log in"
        )
    return problems
