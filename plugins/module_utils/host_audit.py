# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the read-only audit (playbooks/audit.yml) reads off a host, as pure functions.

The module fedisec.hardening.host_audit runs the commands (sshd -T, openssl s_client, ss,
psql, nft, apt) and hands their output to these parsers; the unit tests feed them the
output of real runs and broken variants. Each parser raises ValueError on output it cannot
read, so that a probe reports "could not read" instead of a wrong verdict.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

# sshd -T keys whose values the audit reports: (the audit's name, the algorithm kind).
SSHD_ALGORITHM_KEYS = {
    "kexalgorithms": ("kex", "kex"),
    "ciphers": ("ciphers", "cipher"),
    "macs": ("macs", "mac"),
    "hostkeyalgorithms": ("hostkeyalgorithms", "hostkey"),
}
# sshd -T key: the audit's name for it.
SSHD_SETTING_KEYS = {
    "passwordauthentication": "password_authentication",
    "permitrootlogin": "permit_root_login",
    "authenticationmethods": "authentication_methods",
    "kbdinteractiveauthentication": "kbd_interactive_authentication",
    "pubkeyauthentication": "pubkey_authentication",
}

# A TLS 1.2 suite is strong when it has forward secrecy (ECDHE) and an AEAD cipher.
_STRONG_TLS12 = re.compile(r"^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$")
TLS13_SUITES = ("TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256",
                "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256")
# TLS_AES_128_CCM_8_SHA256 has a truncated (64-bit) tag.
_WEAK_TLS13 = frozenset({"TLS_AES_128_CCM_8_SHA256"})


def parse_sshd_t(text: str) -> dict[str, str]:
    """``sshd -T`` output as {lower-case key: value}; the first line of a key wins (as sshd)."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key and key.lower() not in settings:
            settings[key.lower()] = value.strip()
    if "ciphers" not in settings or "kexalgorithms" not in settings:
        raise ValueError("not sshd -T output (no ciphers or kexalgorithms line)")
    return settings


def ssh_facts(settings: dict[str, str], weak_reasons) -> dict:
    """The audit's ssh section from parsed ``sshd -T``; ``weak_reasons(name, kind)`` says why
    an algorithm is weak (module_utils.ssh_hardening)."""
    facts: dict = {}
    weak = []
    for key, (field, kind) in SSHD_ALGORITHM_KEYS.items():
        names = [name for name in settings.get(key, "").split(",") if name]
        facts[field] = names
        weak += [f"{name} ({', '.join(reasons)})" for name in names if (reasons := weak_reasons(name, kind))]
    facts["weak"] = weak
    for key, name in SSHD_SETTING_KEYS.items():
        facts[name] = settings.get(key)
    return facts


def weak_tls_suites(protocol: str, suites: Iterable[str]) -> list[str]:
    """The suites of ``suites`` that the project's policy (Mozilla intermediate, 6.0) refuses."""
    if protocol == "TLSv1.3":
        return [suite for suite in suites if suite in _WEAK_TLS13 or suite not in TLS13_SUITES]
    return [suite for suite in suites if not _STRONG_TLS12.match(suite)]


def parse_s_client(text: str) -> dict:
    """The handshake facts of ``openssl s_client`` (OpenSSL 3) output: protocol, cipher,
    group, verification. ``{"connected": False}`` when no handshake completed."""
    protocol = re.search(r"^\s*Protocol\s*:\s*(\S+)", text, re.M) or re.search(
        r"^New, (TLSv[\d.]+|SSLv3), Cipher is", text, re.M)
    cipher = re.search(r"^New, \S+, Cipher is (\S+)", text, re.M)
    if not cipher or cipher.group(1) == "(NONE)":
        return {"connected": False}
    group = re.search(r"^(?:Negotiated TLS1\.3 group|Server Temp Key|Peer Temp Key): (?:ECDH, )?(\S+?)(?:,|$)", text, re.M)
    verify = re.search(r"^\s*Verify return code: (\d+) \(([^)]*)\)", text, re.M)
    return {
        "connected": True,
        "protocol": protocol.group(1) if protocol else None,
        "cipher": cipher.group(1),
        "group": group.group(1) if group else None,
        "verify_code": int(verify.group(1)) if verify else None,
        "verify_text": verify.group(2) if verify else None,
    }


def leaf_pem(text: str) -> str:
    """The first certificate (the server's own) in ``openssl s_client -showcerts`` output."""
    match = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    if not match:
        raise ValueError("the server sent no certificate")
    return match.group(0) + "\n"


def parse_x509_text(text: str) -> dict:
    """Key type, curve, bits, issuer, subject, names and expiry from ``openssl x509 -noout
    -text`` (the dates as OpenSSL prints them, e.g. ``Mar  1 00:00:00 2027 GMT``)."""
    algorithm = re.search(r"Public Key Algorithm: (\S+)", text)
    bits = re.search(r"Public-Key: \((\d+) bit\)", text)
    curve = re.search(r"NIST CURVE: (\S+)", text) or re.search(r"ASN1 OID: (\S+)", text)
    not_after = re.search(r"Not After\s*: (.+)", text)
    issuer = re.search(r"^\s*Issuer: (.+)$", text, re.M)
    subject = re.search(r"^\s*Subject: (.*)$", text, re.M)
    if not (algorithm and not_after and issuer):
        raise ValueError("not openssl x509 -text output")
    names = re.findall(r"DNS:([^,\s]+)", text)
    key_type = {"id-ecPublicKey": "EC", "rsaEncryption": "RSA", "ED25519": "Ed25519"}.get(
        algorithm.group(1), algorithm.group(1))
    return {
        "key_type": key_type,
        "curve": curve.group(1) if curve and key_type == "EC" else None,
        "bits": int(bits.group(1)) if bits else None,
        "not_after_text": not_after.group(1).strip(),
        "issuer": issuer.group(1).strip(),
        "subject": subject.group(1).strip() if subject else "",
        "names": names,
    }


def tlsa_311(spki_der: bytes) -> str:
    """The TLSA 3 1 1 value (SHA-256 of the SubjectPublicKeyInfo) of a DER public key."""
    if not isinstance(spki_der, bytes) or not spki_der:
        raise ValueError("the public key is empty")
    return "3 1 1 " + hashlib.sha256(spki_der).hexdigest()


def _uncommented(line: str) -> str:
    """A zone-file line without its comment (``;`` outside double quotes)."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            return line[:index].strip()
    return line.strip()


def records_for(text: str, rtype: str, name: str) -> list[str]:
    """The data of the ``rtype`` records for ``name`` (owner ``name.`` or ``_port._tcp.name.``
    for TLSA) in a zone-file fragment such as /etc/fedisec/dns-records/*.txt."""
    found: list[str] = []
    for line in text.splitlines():
        fields = _uncommented(line).split(None, 3)
        if len(fields) < 4 or fields[1] != "IN" or fields[2] != rtype:
            continue
        owner = fields[0].rstrip(".").lower()
        if owner == name.lower() or (rtype == "TLSA" and re.fullmatch(rf"_\d+\._tcp\.{re.escape(name.lower())}", owner)):
            data = " ".join(fields[3].split())
            if data not in found:
                found.append(data)
    return found


def listening_addresses(ss_output: str, own_addresses: Iterable[str] = ()) -> list[str]:
    """The addresses a probe from the host itself reaches a listener on, from ``ss -Hltn``
    output: each bound address (IPv6 without brackets or zone); a wildcard stands for
    loopback and every one of the host's own addresses of that family (``own_addresses``)."""
    own = list(own_addresses)
    addresses: list[str] = []
    for line in ss_output.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        address = fields[3].rsplit(":", 1)[0].strip("[]").split("%", 1)[0]
        if address in ("0.0.0.0", "*"):
            found = ["127.0.0.1"] + [item for item in own if ":" not in item]
        elif address == "::":
            found = ["::1"] + [item for item in own if ":" in item]
        else:
            found = [address]
        addresses += [item for item in found if item not in addresses]
    return addresses


def interface_addresses(ip_output: str) -> list[str]:
    """The addresses in ``ip -o addr show`` output (without prefix lengths)."""
    return [match.group(2) for match in re.finditer(r"^\d+:\s+\S+\s+(inet6?)\s+([0-9a-fA-F.:]+)/\d+", ip_output, re.M)]


def psql_error(stderr: str) -> str:
    """The server's or libpq's message in psql's stderr, without the ``psql: error:`` prefix
    and the connection preamble (one line)."""
    text = " ".join(stderr.split())
    fatal = re.search(r"(FATAL: .*)$", text)
    if fatal:
        return fatal.group(1)
    return re.sub(r"^psql: error: ", "", text)


def postgresql_verdict(plain_error: str, tls_error: str, tls_rc: int) -> tuple[bool, bool]:
    """(plaintext refused, TLS accepted) from psql's answers to the same login attempt with
    sslmode=disable and sslmode=require (the audit's user does not exist: both fail)."""
    plain_refused = "no encryption" in plain_error and "SSL encryption" not in plain_error
    tls_accepted = tls_rc == 0 or any(marker in tls_error for marker in (
        "SSL encryption", "password authentication failed", "no password supplied",
        "does not exist", "certificate"))
    return plain_refused, tls_accepted


def upgradable_security(apt_list: str) -> list[str]:
    """Package names from ``apt list --upgradable`` that come from a ``-security`` suite."""
    return sorted({line.split("/", 1)[0] for line in apt_list.splitlines()
                   if re.search(r"^[^/\s]+/\S*-security[ ,]", line)})


def kept_back(dry_run: str) -> list[str]:
    """The packages ``apt-get -s upgrade`` keeps back."""
    match = re.search(r"The following packages have been kept back:\n((?:  .*\n?)+)", dry_run)
    return sorted(match.group(1).split()) if match else []


def nft_drop_counters(listing: str) -> dict[str, int]:
    """Packets and bytes of every counter on a drop/reject rule in ``nft list table`` output."""
    packets = byte_count = 0
    for match in re.finditer(r"counter packets (\d+) bytes (\d+)[^\n]*\b(drop|reject)\b", listing):
        packets += int(match.group(1))
        byte_count += int(match.group(2))
    return {"packets": packets, "bytes": byte_count}


def differing_lines(expected: str, actual: str, limit: int = 20) -> list[str]:
    """Lines only in ``expected`` (``- ``) or only in ``actual`` (``+ ``), at most ``limit``."""
    want = [line.strip() for line in expected.splitlines() if line.strip()]
    have = [line.strip() for line in actual.splitlines() if line.strip()]
    lines = [f"- {line}" for line in want if line not in have] + [f"+ {line}" for line in have if line not in want]
    return lines[:limit]


SECTIONS = ("web", "ssh", "postgresql", "smtp", "firewall", "onion", "backup", "updates")


def audit_facts(hosts: Iterable[str], hostvars: Mapping, name: str) -> dict[str, dict]:
    """{host: facts} for the report, from each host's registered host_audit result ``name``.

    A host that was not reached, or whose probe failed as a whole, gets that reason in every
    section: the report shows it red instead of leaving it out.
    """
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, Iterable):
        raise ValueError("audit_facts: the hosts must be a list of inventory names")
    if not isinstance(name, str) or not name:
        raise ValueError("audit_facts: name must be the registered variable's name")
    facts: dict[str, dict] = {}
    for host in hosts:
        try:
            result = hostvars[host].get(name)
        except KeyError:
            result = None
        if isinstance(result, Mapping) and isinstance(result.get("audit"), Mapping):
            facts[host] = dict(result["audit"])
            continue
        why = "not probed: the host was not reached or the play stopped before the audit"
        # failed_when: false in audit.yml keeps the module's failure as a result with a msg.
        if isinstance(result, Mapping) and (result.get("unreachable") or result.get("failed") or result.get("msg")):
            why = ("unreachable: " if result.get("unreachable") else "the probe failed: ") + \
                str(result.get("msg") or "no message")[:300]
        facts[host] = {"host": host, "collected": None, **{section: {"error": why} for section in SECTIONS}}
    return facts
