#!/usr/bin/python
# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fedisec.hardening.host_audit: read what a host's services offer, from the host itself,
for playbooks/audit.yml. Read-only; the parsing is in module_utils/host_audit.py."""

from __future__ import annotations

DOCUMENTATION = r"""
module: host_audit
short_description: Read a hardened host's effective security state, changing nothing
version_added: 0.1.0
description:
  - Probes the services of the host it runs on, from the host itself (loopback or the
    service's own listening addresses), and returns the raw facts that
    C(playbooks/audit.yml) grades on the controller.
  - "Each section is probed only when its option asks for it; a section that was not asked
    for is V(null), one whose probe failed is C({\"error\": \"...\"})."
  - Never writes a file, restarts a service or changes the kernel's state. The probes are
    ordinary client connections (HTTPS, SMTP EHLO/STARTTLS, a PostgreSQL login attempt as
    a user that does not exist) and read-only commands (C(sshd -T), C(nft -s list table),
    C(apt list), C(apt-get -s upgrade)).
author:
  - fedisec.hardening contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: debian
options:
  web_name:
    description:
      - The site's name. The HTTPS and plain-HTTP requests, the TLS probes and the
        certificate checks connect to O(web_address) and send this name (SNI, Host).
      - Empty - no web section.
    type: str
    default: ""
  web_address:
    description: Where the probes connect (this host's nginx).
    type: str
    default: 127.0.0.1
  records_dir:
    description:
      - The DNS records the roles wrote for publishing (TLSA, CAA); the served key is
        compared with the TLSA values there.
    type: path
    default: /etc/fedisec/dns-records
  ssh:
    description: Read sshd's effective settings (C(sshd -T)).
    type: bool
    default: true
  postgresql_port:
    description:
      - Probe PostgreSQL on every address it listens on at this port - a login without TLS
        must be refused, the same login with TLS must reach authentication.
      - 0 - no postgresql section.
    type: int
    default: 0
  smtp_port:
    description:
      - Probe the SMTP server on this port (loopback) - STARTTLS offered, no AUTH before
        TLS. 0 - no smtp section.
    type: int
    default: 0
  firewall_table:
    description:
      - The nftables table (family inet) of the firewall role; compared (stateless) with
        the listing recorded when it was last confirmed. Empty - no firewall section.
    type: str
    default: ""
  firewall_state_dir:
    description: Where the firewall role keeps the confirmed listing.
    type: path
    default: /var/lib/fedisec-firewall
  onion_dir:
    description: The onion service's directory (its C(hostname) file). Empty - no onion section.
    type: path
    default: ""
  backup_state_file:
    description: The backup runner's state file (backup servers). Empty - no backup section.
    type: path
    default: ""
  timeout:
    description: Seconds each connection may take.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Read the web host's state
  fedisec.hardening.host_audit:
    web_name: social.example.org
    smtp_port: 25
    firewall_table: fedisec
    onion_dir: /var/lib/tor/fediverse
  register: audit
"""

RETURN = r"""
audit:
  description: The facts, one section per service (see docs/audit.md for every field).
  returned: always
  type: dict
"""

import base64
import datetime
import http.client
import json
import os
import shutil
import smtplib
import socket
import ssl
import subprocess

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fedisec.hardening.plugins.module_utils import host_audit as parse
from ansible_collections.fedisec.hardening.plugins.module_utils.observatory import score
from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_hardening import weak_reasons

ARGUMENT_SPEC = {
    "web_name": {"type": "str", "default": ""},
    "web_address": {"type": "str", "default": "127.0.0.1"},
    "records_dir": {"type": "path", "default": "/etc/fedisec/dns-records"},
    "ssh": {"type": "bool", "default": True},
    "postgresql_port": {"type": "int", "default": 0},
    "smtp_port": {"type": "int", "default": 0},
    "firewall_table": {"type": "str", "default": ""},
    "firewall_state_dir": {"type": "path", "default": "/var/lib/fedisec-firewall"},
    "onion_dir": {"type": "path", "default": ""},
    "backup_state_file": {"type": "path", "default": ""},
    "timeout": {"type": "int", "default": 10},
}
PROTOCOL_FLAGS = {"TLSv1": "-tls1", "TLSv1.1": "-tls1_1", "TLSv1.2": "-tls1_2", "TLSv1.3": "-tls1_3"}
GROUPS = ("X25519MLKEM768", "X25519", "P-256", "P-384", "P-521", "X448", "ffdhe2048")
# Everything an OpenSSL client can offer for TLS 1.2 and lower, weak suites included.
ALL_TLS12 = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run(argv: list[str], timeout: int, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False,
                          env=dict(os.environ, LC_ALL="C", **(env or {})))


def section(probe, *args):
    """A section's facts, or {"error": why} when its probe failed (never an exception)."""
    try:
        return probe(*args)
    except Exception as exc:  # noqa: BLE001 (any failure is the section's finding)
        return {"error": f"{type(exc).__name__}: {exc}"}


# ---------------------------------------------------------------- web
def s_client(params: dict, *flags: str) -> dict:
    argv = ["openssl", "s_client", "-connect", f"{params['web_address']}:443", "-servername",
            params["web_name"], "-verify_hostname", params["web_name"], *flags]
    return parse.parse_s_client(run(argv, params["timeout"]).stdout)


def accepted_suites(params: dict, protocol: str) -> list[str]:
    """Every suite the server accepts for ``protocol``: offer all, note the one it picks,
    offer the rest, until the handshake fails."""
    if protocol == "TLSv1.3":
        offer = list(parse.TLS13_SUITES)
    else:
        listing = run(["openssl", "ciphers", "-tls1_2", ALL_TLS12], params["timeout"]).stdout.strip()
        offer = [name for name in listing.split(":") if name and not name.startswith("TLS_")]
    accepted: list[str] = []
    while offer:
        option = ["-ciphersuites", ":".join(offer)] if protocol == "TLSv1.3" else \
            ["-cipher", ":".join(offer) + ":@SECLEVEL=0"]
        found = s_client(params, PROTOCOL_FLAGS[protocol], *option)
        if not found["connected"] or found["cipher"] not in offer:
            break
        accepted.append(found["cipher"])
        offer.remove(found["cipher"])
    return accepted


def http_request(params: dict, scheme: str, method: str = "GET") -> tuple[int, list[tuple[str, str]], str]:
    name, address, timeout = params["web_name"], params["web_address"], params["timeout"]
    if scheme == "https":
        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(name, 443, timeout=timeout, context=context)
        raw = socket.create_connection((address, 443), timeout)
        connection.sock = context.wrap_socket(raw, server_hostname=name)
    else:
        connection = http.client.HTTPConnection(name, 80, timeout=timeout)
        connection.sock = socket.create_connection((address, 80), timeout)
    try:
        connection.request(method, "/", headers={"Host": name, "User-Agent": "fedisec-audit"})
        response = connection.getresponse()
        body = response.read(65536).decode("utf-8", "replace")
        return response.status, response.getheaders(), body
    finally:
        connection.close()


def certificate(params: dict) -> dict:
    shown = run(["openssl", "s_client", "-connect", f"{params['web_address']}:443", "-servername",
                 params["web_name"], "-verify_hostname", params["web_name"], "-showcerts"], params["timeout"]).stdout
    pem = parse.leaf_pem(shown)
    facts = parse.parse_x509_text(run(["openssl", "x509", "-noout", "-text"], params["timeout"], pem).stdout)
    end = datetime.datetime.strptime(facts.pop("not_after_text").replace("  ", " "), "%b %d %H:%M:%S %Y %Z")
    end = end.replace(tzinfo=datetime.timezone.utc)
    facts.update(not_after=iso(end), days_left=(end - now()).days)
    handshake = parse.parse_s_client(shown)
    facts["chain_valid"] = handshake.get("verify_code") == 0
    facts["verify"] = handshake.get("verify_text")
    spki = run(["openssl", "x509", "-noout", "-pubkey"], params["timeout"], pem).stdout
    der = base64.b64decode("".join(line for line in spki.splitlines() if not line.startswith("-----")))
    served = parse.tlsa_311(der)
    records = ""
    if os.path.isdir(params["records_dir"]):
        for entry in sorted(os.listdir(params["records_dir"])):
            if entry.endswith(".txt"):
                with open(os.path.join(params["records_dir"], entry), encoding="utf-8") as handle:
                    records += handle.read() + "\n"
    published = parse.records_for(records, "TLSA", params["web_name"])
    facts["tlsa"] = {"published": published, "served": served, "match": served in published} if published else None
    caa = parse.records_for(records, "CAA", params["web_name"].removeprefix("*."))
    facts["caa"] = {"published": caa} if caa else None
    return facts


def web(params: dict) -> dict:
    name = params["web_name"]
    status, headers, body = http_request(params, "https")
    plain_status, plain_headers, _ = http_request(params, "http")
    location = dict((key.lower(), value) for key, value in plain_headers).get("location")
    redirects = [f"http://{name}/"] + ([location] if plain_status in (301, 302, 307, 308) and location else [])
    protocols = {protocol: s_client(params, flag, *(["-cipher", "DEFAULT:@SECLEVEL=0"] if protocol in ("TLSv1", "TLSv1.1") else []))["connected"]
                 for protocol, flag in PROTOCOL_FLAGS.items()}
    ciphers = {protocol: accepted_suites(params, protocol) for protocol in ("TLSv1.2", "TLSv1.3") if protocols[protocol]}
    weak = [f"{protocol} {suite}" for protocol, suites in ciphers.items()
            for suite in parse.weak_tls_suites(protocol, suites)]
    groups = {group: s_client(params, "-tls1_3", "-groups", group)["connected"] for group in GROUPS}
    return {
        "url": f"https://{name}/",
        "status": status,
        "observatory": score(headers, redirects=redirects, html=body, host=name),
        "protocols": protocols,
        "ciphers": ciphers,
        "weak_ciphers_accepted": weak,
        "groups": groups,
        "certificate": section(certificate, params),
    }


# ---------------------------------------------------------------- ssh
def ssh(params: dict) -> dict:
    done = run(["sshd", "-T"], params["timeout"])
    if done.returncode != 0:
        raise RuntimeError(f"sshd -T exited with {done.returncode}: {done.stderr.strip()[:300]}")
    return parse.ssh_facts(parse.parse_sshd_t(done.stdout), weak_reasons)


# ---------------------------------------------------------------- postgresql
def postgresql(params: dict) -> dict:
    port = params["postgresql_port"]
    own = run(["ip", "-o", "addr", "show", "scope", "global"], params["timeout"]).stdout
    addresses = parse.listening_addresses(run(["ss", "-Hltn", f"sport = :{port}"], params["timeout"]).stdout,
                                          parse.interface_addresses(own))
    if not addresses:
        raise RuntimeError(f"nothing listens on TCP port {port}")
    # The rules the server loaded that let a TCP client in without TLS (none may remain).
    rules = run(["runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-F", " ", "-p", str(port), "-c",
                 "select line_number, type, array_to_string(database, ','), array_to_string(user_name, ','), "
                 "coalesce(address, 'all'), auth_method from pg_hba_file_rules "
                 "where type in ('host', 'hostnossl') and auth_method <> 'reject'"], params["timeout"])
    if rules.returncode != 0:
        raise RuntimeError(f"pg_hba_file_rules: {parse.psql_error(rules.stderr)}")
    facts: dict = {"addresses": addresses, "plain_refused": {}, "tls_accepted": {}, "details": {},
                   "hba_plain_rules": [f"pg_hba.conf line {line}" for line in rules.stdout.splitlines() if line.strip()]}
    for address in addresses:
        answers = {}
        for mode in ("disable", "require"):
            conninfo = (f"host={address} port={port} dbname=postgres user=fedisec_audit sslmode={mode} "
                        f"connect_timeout={params['timeout']}")
            done = run(["psql", "-w", "-X", "-At", "-c", "select 1", conninfo], params["timeout"] + 5,
                       env={"PGPASSFILE": "/nonexistent/fedisec-audit"})
            answers[mode] = (done.returncode, parse.psql_error(done.stderr))
        refused, accepted = parse.postgresql_verdict(answers["disable"][1], answers["require"][1], answers["require"][0])
        # Refused for this user (no rule matched) proves little while a rule admits others.
        facts["plain_refused"][address] = refused and not facts["hba_plain_rules"]
        facts["tls_accepted"][address] = accepted
        facts["details"][address] = f"without TLS: {answers['disable'][1]} | with TLS: {answers['require'][1]}"
    return facts


# ---------------------------------------------------------------- smtp
def smtp(params: dict) -> dict:
    with smtplib.SMTP("127.0.0.1", params["smtp_port"], local_hostname="fedisec-audit.invalid",
                      timeout=params["timeout"]) as client:
        client.ehlo()
        before = client.esmtp_features.get("auth", "").split()
        starttls = client.has_extn("starttls")
        facts = {"port": params["smtp_port"], "starttls": starttls, "auth_before_tls": before,
                 "auth_after_tls": [], "tls_version": None}
        if starttls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the certificate is the web section's job
            client.starttls(context=context)
            facts["tls_version"] = client.sock.version()
            client.ehlo()
            facts["auth_after_tls"] = client.esmtp_features.get("auth", "").split()
    return facts


# ---------------------------------------------------------------- firewall
def firewall(params: dict) -> dict:
    table = params["firewall_table"]
    listed = run(["nft", "list", "table", "inet", table], params["timeout"])
    if listed.returncode != 0:
        return {"loaded": False, "matches_confirmed": False, "drops": {"packets": 0, "bytes": 0},
                "difference": [listed.stderr.strip()[:300]]}
    stateless = run(["nft", "-s", "list", "table", "inet", table], params["timeout"]).stdout
    confirmed_file = os.path.join(params["firewall_state_dir"], "confirmed.listing")
    if os.path.exists(confirmed_file):
        with open(confirmed_file, encoding="utf-8") as handle:
            confirmed = handle.read()
        difference = parse.differing_lines(confirmed, stateless)
        matches = confirmed == stateless
    else:
        difference, matches = [f"no confirmed listing at {confirmed_file}"], False
    return {"loaded": True, "matches_confirmed": matches, "drops": parse.nft_drop_counters(listed.stdout),
            "difference": difference}


# ---------------------------------------------------------------- onion, backup, updates
def onion(params: dict) -> dict:
    with open(os.path.join(params["onion_dir"], "hostname"), encoding="ascii") as handle:
        address = handle.read().strip()
    active = run(["systemctl", "is-active", "tor@default.service"], params["timeout"]).stdout.strip()
    return {"address": address, "tor_active": active == "active"}


def backup(params: dict) -> dict:
    if not os.path.exists(params["backup_state_file"]):
        # The runner writes it at its first run (the timer's, or backup_pull_run_now).
        return {"last_run": None, "last_success": None, "age_hours": None, "drill": {}, "check": None}
    with open(params["backup_state_file"], encoding="utf-8") as handle:
        state = json.load(handle)
    last_success = state.get("last_success")
    age = None
    if last_success:
        moment = datetime.datetime.strptime(last_success, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        age = round((now() - moment).total_seconds() / 3600, 1)
    check = state.get("check")
    return {
        "last_run": {key: state.get(key) for key in ("started", "finished", "ok", "error")},
        "last_success": last_success,
        "age_hours": age,
        "drill": {name: {"ok": record.get("ok"), "error": record.get("error")}
                  for name, record in (state.get("drill") or {}).items()},
        "check": {"finished": check.get("finished"), "ok": check.get("ok")} if isinstance(check, dict) else None,
    }


def updates(params: dict) -> dict:
    listing = run(["apt", "list", "--upgradable"], 120).stdout
    simulated = run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"], 120).stdout
    held = run(["apt-mark", "showhold"], params["timeout"]).stdout.split()
    packages = []
    if os.path.exists("/run/reboot-required.pkgs"):
        with open("/run/reboot-required.pkgs", encoding="utf-8") as handle:
            packages = sorted(set(handle.read().split()))
    return {
        "pending_security": parse.upgradable_security(listing),
        "held": sorted(set(held) | set(parse.kept_back(simulated))),
        "reboot_required": os.path.exists("/run/reboot-required"),
        "reboot_packages": packages,
    }


def collect(params: dict, host: str) -> dict:
    wanted = {
        "web": bool(params["web_name"]) and web,
        "ssh": params["ssh"] and shutil.which("sshd") is not None and ssh,
        "postgresql": params["postgresql_port"] > 0 and postgresql,
        "smtp": params["smtp_port"] > 0 and smtp,
        "firewall": bool(params["firewall_table"]) and firewall,
        "onion": bool(params["onion_dir"]) and onion,
        "backup": bool(params["backup_state_file"]) and backup,
        "updates": updates,
    }
    facts = {"host": host, "collected": iso(now())}
    for name, probe in wanted.items():
        facts[name] = section(probe, params) if probe else None
    return facts


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    for option in ("postgresql_port", "smtp_port"):
        if not 0 <= module.params[option] <= 65535:
            module.fail_json(msg=f"{option}: a TCP port (1-65535) or 0 for none, got {module.params[option]}")
    if module.params["timeout"] < 1:
        module.fail_json(msg=f"timeout: at least 1 second, got {module.params['timeout']}")
    module.exit_json(changed=False, audit=collect(module.params, socket.gethostname()))


if __name__ == "__main__":
    main()
