#!/usr/bin/python3
"""fedisec-pg-pki: renewal and revocation for the internal PostgreSQL CA of fedisec.hardening.

Run by Ansible during a converge and by fedisec-pg-renew.timer afterwards, so both take one
code path.  Its settings are /etc/fedisec/postgresql-tls/pki.json (written by the role); its
records (every certificate the CA issued here, which are revoked, the CRL number) are
index.json in the same 0700 root directory.  `run`:

1. records the serial of every certificate the role placed on this host (server, clients);
2. revokes every unexpired certificate ever recorded for a retired client (pki.json's
   revoked_clients), so a renewed copy of a leaked key is refused too;
3. renews the server and client certificates that expire within renew_days (or all of them
   when the one-shot file force-renewal exists): the same key, subject and extensions,
   signed again by the CA; the candidate is written next to the old file, checked (parses,
   matches the private key, `openssl verify` against the CA) and only then renamed over it,
   so a failure leaves the working certificate in place;
4. signs the CRL again when its revoked set changed or it expires within crl_renew_days
   (an expired CRL makes OpenSSL refuse every client certificate), checks the candidate
   (signature, `openssl crl -CAfile`, `openssl verify -crl_check`) and renames it into place;
5. reloads PostgreSQL when a certificate or the CRL changed.

The CA's own expiry is watched: an expired CA stops everything; a CA that expires before a
certificate it signed, or within renew_days, is reported as an error (exit 2: the work was
done, the unit still shows as failed).  A new certificate never outlives the CA.

`revoke NAME` revokes every unexpired certificate recorded for NAME now, for a leaked key of
a client that stays: the next Ansible run gives it a new key and certificate.

Output: one JSON object on stdout; diagnostics on stderr (the journal, with priorities).
Exit: 0 clean, 1 an error (nothing broken was installed), 2 done with a CA expiry problem.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import grp
import json
import os
import pwd
import subprocess
import sys
import tempfile
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

CONFIG_DIR = "/etc/fedisec/postgresql-tls"
UTC = dt.timezone.utc
KINDS = {"server": "sslserver", "client": "sslclient"}
CONFIG_FIELDS = {
    "ca_cert", "ca_key", "crl", "crl_owner", "crl_group", "crl_lifetime_days", "crl_renew_days",
    "cert_lifetime_days", "renew_days", "service", "certs", "revoked_clients",
}
CERT_FIELDS = {"name", "kind", "cert", "key"}
EXIT_OK, EXIT_ERROR, EXIT_CA = 0, 1, 2


class ConfigError(Exception):
    """pki.json is missing a field or holds a bad value."""


class PkiError(Exception):
    """A step failed; what is installed stays as it was."""


def log(level: str, msg: str) -> None:
    # Under systemd (JOURNAL_STREAM set) a <N> prefix gives the line its journal priority.
    prefix = {"error": "<3>", "warning": "<4>", "info": "<6>"}[level] if os.environ.get("JOURNAL_STREAM") else ""
    label = "" if level == "info" else f"{level.upper()}: "
    print(f"{prefix}fedisec-pg-pki: {label}{msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- config


def validate_config(cfg: Any, where: str = "pki.json") -> dict:
    """Checks the settings and returns them; raises ConfigError naming the field."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"{where}: must be an object")
    unknown = set(cfg) - CONFIG_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    for field in ("ca_cert", "ca_key", "crl"):
        value = cfg.get(field)
        if not isinstance(value, str) or not os.path.isabs(value):
            raise ConfigError(f"{where}: {field} must be an absolute path")
    for field in ("crl_owner", "crl_group", "service"):
        if not isinstance(cfg.get(field), str) or not cfg[field]:
            raise ConfigError(f"{where}: {field} must be a non-empty string")
    for field in ("crl_lifetime_days", "crl_renew_days", "cert_lifetime_days", "renew_days"):
        value = cfg.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}: {field} must be a positive integer")
    if cfg["crl_renew_days"] >= cfg["crl_lifetime_days"]:
        raise ConfigError(f"{where}: crl_renew_days must be smaller than crl_lifetime_days")
    if cfg["renew_days"] >= cfg["cert_lifetime_days"]:
        raise ConfigError(f"{where}: renew_days must be smaller than cert_lifetime_days")
    for field in ("certs", "revoked_clients"):
        if not isinstance(cfg.get(field), list):
            raise ConfigError(f"{where}: {field} must be a list")
    names = set()
    for i, cert in enumerate(cfg["certs"]):
        here = f"{where}: certs[{i}]"
        if not isinstance(cert, dict) or set(cert) != CERT_FIELDS:
            raise ConfigError(f"{here} must have exactly the fields {sorted(CERT_FIELDS)}")
        if cert["kind"] not in KINDS:
            raise ConfigError(f"{here}: kind must be one of {sorted(KINDS)}")
        for field in ("cert", "key"):
            if not isinstance(cert[field], str) or not os.path.isabs(cert[field]):
                raise ConfigError(f"{here}: {field} must be an absolute path")
        if not isinstance(cert["name"], str) or not cert["name"]:
            raise ConfigError(f"{here}: name must be a non-empty string")
        if (cert["kind"], cert["name"]) in names:
            raise ConfigError(f"{here}: {cert['kind']} '{cert['name']}' appears twice")
        names.add((cert["kind"], cert["name"]))
    for i, retired in enumerate(cfg["revoked_clients"]):
        here = f"{where}: revoked_clients[{i}]"
        if not isinstance(retired, dict) or set(retired) != {"name", "cert"}:
            raise ConfigError(f"{here} must have exactly the fields ['cert', 'name']")
        if not isinstance(retired["cert"], str) or not os.path.isabs(retired["cert"]):
            raise ConfigError(f"{here}: cert must be an absolute path")
        if ("client", retired["name"]) in names:
            raise ConfigError(f"{here}: '{retired['name']}' is also a current client")
    return cfg


def load_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            return validate_config(json.load(fh), path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


# --------------------------------------------------------------------------- x509 helpers
# The hosts' python3-cryptography may be older than 42 (Debian 12 ships 38): the *_utc
# properties are used where they exist, the naive UTC ones otherwise.


def _utc(obj: Any, name: str) -> dt.datetime | None:
    value = getattr(obj, f"{name}_utc", None)
    if value is None:
        value = getattr(obj, name)
        value = value.replace(tzinfo=UTC) if value is not None else None
    return value


def not_after(cert: x509.Certificate) -> dt.datetime:
    return _utc(cert, "not_valid_after")


def read_bytes(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise PkiError(f"cannot read the {what} {path}: {exc.strerror}") from None


def load_cert(path: str, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(read_bytes(path, what))
    except ValueError as exc:
        raise PkiError(f"the {what} {path} is not a PEM certificate: {exc}") from None


def load_key(path: str, what: str):
    try:
        return serialization.load_pem_private_key(read_bytes(path, what), password=None)
    except (ValueError, TypeError) as exc:
        raise PkiError(f"the {what} {path} is not an unencrypted PEM private key: {exc}") from None


def public_der(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def sign_algorithm(ca_key):
    return None if isinstance(ca_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)) else hashes.SHA256()


def issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    return cert.issuer == ca_cert.subject


def openssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


def check_ca(ca_cert: x509.Certificate, ca_key, now: dt.datetime) -> None:
    """The CA key must be the CA certificate's, the CA still valid."""
    if public_der(ca_key.public_key()) != public_der(ca_cert.public_key()):
        raise PkiError("the CA key does not match the CA certificate")
    if not_after(ca_cert) <= now:
        raise PkiError(f"the CA certificate expired on {not_after(ca_cert):%Y-%m-%d}: make a new CA")


# --------------------------------------------------------------------------- decisions


def renewal_due(cert_not_after: dt.datetime, now: dt.datetime, renew_days: int, force: bool) -> bool:
    return force or cert_not_after - now < dt.timedelta(days=renew_days)


def new_not_after(now: dt.datetime, lifetime_days: int, ca_not_after: dt.datetime) -> tuple[dt.datetime, bool]:
    """The end of a new certificate or CRL, never after the CA's; True when it was cut."""
    wanted = now + dt.timedelta(days=lifetime_days)
    return (ca_not_after, True) if wanted > ca_not_after else (wanted, False)


def crl_reason(crl: x509.CertificateRevocationList | None, ca_cert: x509.Certificate, wanted: set[int],
               now: dt.datetime, renew_days: int) -> str | None:
    """Why the CRL must be signed again, or None."""
    if crl is None:
        return "no CRL yet"
    if crl.issuer != ca_cert.subject or not crl.is_signature_valid(ca_cert.public_key()):
        return "the CRL is not signed by this CA"
    next_update = _utc(crl, "next_update")
    if next_update is None or next_update - now < dt.timedelta(days=renew_days):
        return "the CRL expires soon" if next_update and next_update > now else "the CRL has expired"
    if {entry.serial_number for entry in crl} != wanted:
        return "the revoked certificates changed"
    return None


# --------------------------------------------------------------------------- building


def renew_certificate(old: x509.Certificate, ca_cert: x509.Certificate, ca_key, now: dt.datetime,
                      end: dt.datetime) -> x509.Certificate:
    """The same subject, key and extensions (so Ansible finds it matches what it asks for),
    a new serial and validity, signed by the CA."""
    builder = (x509.CertificateBuilder()
               .subject_name(old.subject)
               .issuer_name(ca_cert.subject)
               .public_key(old.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now)
               .not_valid_after(end))
    for ext in old.extensions:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    return builder.sign(ca_key, sign_algorithm(ca_key))


def build_crl(ca_cert: x509.Certificate, ca_key, revoked: list[dict], number: int, now: dt.datetime,
              end: dt.datetime) -> x509.CertificateRevocationList:
    builder = (x509.CertificateRevocationListBuilder()
               .issuer_name(ca_cert.subject)
               .last_update(now)
               .next_update(end)
               .add_extension(x509.CRLNumber(number), critical=False))
    try:
        ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())
    builder = builder.add_extension(aki, critical=False)
    for entry in sorted(revoked, key=lambda e: int(e["serial"], 16)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(entry["serial"], 16))
            .revocation_date(dt.datetime.fromisoformat(entry["revoked_at"]))
            .build())
    return builder.sign(ca_key, sign_algorithm(ca_key))


# --------------------------------------------------------------------------- files


def write_candidate(path: str, data: bytes, like: str | None, owner: str | None = None,
                    group: str | None = None, mode: int = 0o644) -> str:
    """Writes data next to path (same file system, so the rename is atomic), with the owner
    and mode of `like` when it exists; returns the candidate's path."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".new", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if like and os.path.exists(like):
            st = os.stat(like)
            uid, gid, mode = st.st_uid, st.st_gid, st.st_mode & 0o7777
        else:
            uid = pwd.getpwnam(owner).pw_uid if owner else -1
            gid = grp.getgrnam(group).gr_gid if group else -1
        if os.geteuid() == 0:
            os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def install(tmp: str, path: str) -> None:
    os.replace(tmp, path)
    dfd = os.open(os.path.dirname(path), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def verify_certificate_candidate(tmp: str, key_path: str, ca_path: str, kind: str, now: dt.datetime) -> None:
    cert = load_cert(tmp, "new certificate")
    key = load_key(key_path, "private key")
    if public_der(key.public_key()) != public_der(cert.public_key()):
        raise PkiError(f"the new certificate does not match the private key {key_path}")
    result = openssl("verify", "-attime", str(int(now.timestamp())), "-CAfile", ca_path, "-purpose", KINDS[kind], tmp)
    if result.returncode != 0:
        raise PkiError(f"openssl verify refused the new certificate: {(result.stdout + result.stderr).strip()}")


def verify_crl_candidate(tmp: str, ca_path: str, probe: str, now: dt.datetime) -> None:
    """OpenSSL itself must accept the CRL as PostgreSQL will use it: signed by the CA, and a
    certificate that is not revoked still verifies with the CRL check on."""
    result = openssl("crl", "-in", tmp, "-CAfile", ca_path, "-noout")
    if result.returncode != 0:
        raise PkiError(f"openssl crl refused the new CRL: {(result.stdout + result.stderr).strip()}")
    result = openssl("verify", "-attime", str(int(now.timestamp())), "-crl_check", "-CRLfile", tmp,
                     "-CAfile", ca_path, probe)
    if result.returncode != 0:
        raise PkiError(f"a certificate fails verification with the new CRL: {(result.stdout + result.stderr).strip()}")


def check_crl_file(crl_path: str, ca_path: str, now: dt.datetime) -> dt.datetime:
    """For the settings checker: the CRL PostgreSQL will load is the CA's and has not expired."""
    ca_cert = load_cert(ca_path, "CA certificate")
    try:
        crl = x509.load_pem_x509_crl(read_bytes(crl_path, "CRL"))
    except ValueError as exc:
        raise PkiError(f"the CRL {crl_path} is not a PEM CRL: {exc}") from None
    if crl.issuer != ca_cert.subject or not crl.is_signature_valid(ca_cert.public_key()):
        raise PkiError(f"the CRL {crl_path} is not signed by the CA {ca_path}")
    next_update = _utc(crl, "next_update")
    if next_update is None or next_update <= now:
        raise PkiError(f"the CRL {crl_path} has expired: every client certificate would be refused")
    return next_update


# --------------------------------------------------------------------------- index


def load_index(path: str) -> dict:
    if not os.path.exists(path):
        return {"crl_number": 0, "certificates": {}}
    try:
        with open(path, encoding="utf-8") as fh:
            index = json.load(fh)
    except (OSError, ValueError) as exc:
        raise PkiError(f"cannot read the CA's records {path}: {exc}") from None
    if not isinstance(index, dict) or not isinstance(index.get("certificates"), dict) \
            or not isinstance(index.get("crl_number"), int):
        raise PkiError(f"the CA's records {path} are damaged: restore them from a backup")
    return index


def save_index(path: str, index: dict) -> None:
    data = (json.dumps(index, indent=1, sort_keys=True) + "\n").encode()
    install(write_candidate(path, data, None, mode=0o600), path)


def record(index: dict, cert: x509.Certificate, name: str, kind: str) -> bool:
    serial = serial_hex(cert.serial_number)
    if serial in index["certificates"]:
        return False
    index["certificates"][serial] = {"name": name, "kind": kind,
                                     "not_after": not_after(cert).isoformat(), "revoked_at": None}
    return True


def revoke_name(index: dict, name: str, now: dt.datetime) -> list[str]:
    """Revokes every unexpired client certificate recorded for name; returns the serials."""
    done = []
    for serial, entry in sorted(index["certificates"].items()):
        if entry["name"] == name and entry["kind"] == "client" and entry["revoked_at"] is None \
                and dt.datetime.fromisoformat(entry["not_after"]) > now:
            entry["revoked_at"] = now.replace(microsecond=0).isoformat()
            done.append(serial)
    return done


def revoked_entries(index: dict, now: dt.datetime) -> list[dict]:
    """What the CRL lists: revoked and not yet expired (an expired certificate is refused anyway)."""
    return [dict(entry, serial=serial) for serial, entry in index["certificates"].items()
            if entry["revoked_at"] and dt.datetime.fromisoformat(entry["not_after"]) > now]


# --------------------------------------------------------------------------- the run


class Run:
    def __init__(self, cfg: dict, config_dir: str, now: dt.datetime, renew_days: int | None, force: bool):
        self.cfg, self.config_dir, self.now = cfg, config_dir, now.replace(microsecond=0)
        self.renew_days = cfg["renew_days"] if renew_days is None else renew_days
        self.force = force
        self.index_path = os.path.join(config_dir, "index.json")
        self.result: dict[str, Any] = {"renewed": [], "revoked": [], "revoked_current": [], "crl_changed": False,
                                       "crl_reason": None, "crl_next_update": None, "errors": [], "ca_problems": []}
        self._ca_key = None

    def error(self, msg: str) -> None:
        log("error", msg)
        self.result["errors"].append(msg)

    def ca_problem(self, msg: str) -> None:
        log("error", msg)
        self.result["ca_problems"].append(msg)

    def ca_key(self):
        if self._ca_key is None:
            self._ca_key = load_key(self.cfg["ca_key"], "CA key")
            check_ca(self.ca_cert, self._ca_key, self.now)
        return self._ca_key

    def current(self) -> list[tuple[dict, x509.Certificate | None]]:
        out = []
        for entry in self.cfg["certs"]:
            if not os.path.exists(entry["cert"]):
                out.append((entry, None))  # Ansible issues the missing ones
                continue
            try:
                out.append((entry, load_cert(entry["cert"], f"{entry['kind']} certificate '{entry['name']}'")))
            except PkiError as exc:
                self.error(str(exc))
        return out

    def execute(self, revoke: str | None = None) -> dict:
        self.ca_cert = load_cert(self.cfg["ca_cert"], "CA certificate")
        ca_end = not_after(self.ca_cert)
        if ca_end <= self.now:
            raise PkiError(f"the CA certificate {self.cfg['ca_cert']} expired on {ca_end:%Y-%m-%d}: nothing it "
                           "signs is accepted; make a new CA (delete ca.key and ca.crt, run the role)")
        index = load_index(self.index_path)
        certs = self.current()

        for entry, cert in certs:
            if cert is not None and issued_by(cert, self.ca_cert):
                record(index, cert, entry["name"], entry["kind"])
        for retired in self.cfg["revoked_clients"]:
            if os.path.exists(retired["cert"]):
                try:
                    cert = load_cert(retired["cert"], f"certificate of retired client '{retired['name']}'")
                    if issued_by(cert, self.ca_cert):
                        record(index, cert, retired["name"], "client")
                except PkiError as exc:
                    self.error(str(exc))
        for name in [r["name"] for r in self.cfg["revoked_clients"]] + ([revoke] if revoke else []):
            for serial in revoke_name(index, name, self.now):
                log("info", f"revoked client '{name}' certificate {serial}")
                self.result["revoked"].append({"name": name, "serial": serial})
        if revoke and not any(r["name"] == revoke for r in self.result["revoked"]):
            raise PkiError(f"no unexpired certificate of client '{revoke}' is recorded: nothing revoked")
        revoked_serials = {s for s, e in index["certificates"].items() if e["revoked_at"]}

        for entry, cert in certs:
            if cert is None:
                continue
            label = f"{entry['kind']} certificate '{entry['name']}'"
            if serial_hex(cert.serial_number) in revoked_serials:
                # Signing the same (leaked) key again would undo the revocation.
                log("warning", f"the {label} is revoked: the next Ansible run gives it a new key")
                self.result["revoked_current"].append(entry["name"])
                continue
            if not_after(cert) > ca_end:
                self.ca_problem(f"the {label} ends {not_after(cert):%Y-%m-%d}, after the CA ({ca_end:%Y-%m-%d}): "
                                "make a new CA before then")
            if not renewal_due(not_after(cert), self.now, self.renew_days, self.force):
                continue
            try:
                self.renew(entry, cert, index, ca_end)
            except (PkiError, OSError) as exc:
                self.error(f"{label}: {exc}; the current certificate stays in place "
                           f"(it expires {not_after(cert):%Y-%m-%d})")

        if ca_end - self.now < dt.timedelta(days=self.renew_days):
            self.ca_problem(f"the CA certificate expires on {ca_end:%Y-%m-%d}: make a new CA")

        try:
            self.refresh_crl(index, certs, ca_end)
        except (PkiError, OSError) as exc:
            self.error(f"CRL: {exc}; the current CRL stays in place")
        save_index(self.index_path, index)
        return self.result

    def renew(self, entry: dict, old: x509.Certificate, index: dict, ca_end: dt.datetime) -> None:
        label = f"{entry['kind']} certificate '{entry['name']}'"
        key = load_key(entry["key"], "private key")
        if public_der(key.public_key()) != public_der(old.public_key()):
            raise PkiError(f"it does not match its private key {entry['key']} (Ansible issues a new one)")
        if not issued_by(old, self.ca_cert):
            raise PkiError("it was not issued by this CA (Ansible issues a new one)")
        end, cut = new_not_after(self.now, self.cfg["cert_lifetime_days"], ca_end)
        if cut:
            self.ca_problem(f"the {label} is renewed only until the CA's end, {ca_end:%Y-%m-%d}: make a new CA")
        new = renew_certificate(old, self.ca_cert, self.ca_key(), self.now, end)
        tmp = write_candidate(entry["cert"], new.public_bytes(serialization.Encoding.PEM), entry["cert"])
        try:
            verify_certificate_candidate(tmp, entry["key"], self.cfg["ca_cert"], entry["kind"], self.now)
            install(tmp, entry["cert"])
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        record(index, new, entry["name"], entry["kind"])
        log("info", f"renewed the {label}: serial {serial_hex(new.serial_number)}, until {end:%Y-%m-%d}")
        self.result["renewed"].append({"name": entry["name"], "kind": entry["kind"],
                                       "serial": serial_hex(new.serial_number), "not_after": end.isoformat()})

    def refresh_crl(self, index: dict, certs: list, ca_end: dt.datetime) -> None:
        path = self.cfg["crl"]
        revoked = revoked_entries(index, self.now)
        crl = None
        if os.path.exists(path):
            try:
                crl = x509.load_pem_x509_crl(read_bytes(path, "CRL"))
            except ValueError:
                crl = None
        reason = crl_reason(crl, self.ca_cert, {int(e["serial"], 16) for e in revoked}, self.now,
                            self.cfg["crl_renew_days"])
        if reason is None:
            self.result["crl_next_update"] = _utc(crl, "next_update").isoformat()
            return
        end, cut = new_not_after(self.now, self.cfg["crl_lifetime_days"], ca_end)
        if cut:
            self.ca_problem(f"the CRL is valid only until the CA's end, {ca_end:%Y-%m-%d}: make a new CA")
        number = index["crl_number"] + 1
        new = build_crl(self.ca_cert, self.ca_key(), revoked, number, self.now, end)
        tmp = write_candidate(path, new.public_bytes(serialization.Encoding.PEM), path,
                              self.cfg["crl_owner"], self.cfg["crl_group"], 0o644)
        try:
            # A certificate that is not revoked must still verify: the server's when it is
            # there, else the CA's own.
            probes = [e["cert"] for e, c in certs if c is not None and e["kind"] == "server"
                      and serial_hex(c.serial_number) not in {r["serial"] for r in revoked}]
            verify_crl_candidate(tmp, self.cfg["ca_cert"], (probes or [self.cfg["ca_cert"]])[0], self.now)
            install(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        index["crl_number"] = number
        log("info", f"signed the CRL again ({reason}): number {number}, {len(revoked)} revoked, until {end:%Y-%m-%d}")
        self.result.update(crl_changed=True, crl_reason=reason, crl_next_update=end.isoformat())


def reload_postgresql(service: str) -> None:
    # try-reload: nothing happens when PostgreSQL is stopped (it reads the files at start).
    result = subprocess.run(["systemctl", "try-reload-or-restart", service], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise PkiError(f"reloading {service} failed: {result.stderr.strip()}")
    log("info", f"reloaded {service}")


@contextlib.contextmanager
def locked(config_dir: str):
    with open(os.path.join(config_dir, "lock"), "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def cmd_run(args: argparse.Namespace, revoke: str | None = None) -> int:
    cfg = load_config(os.path.join(args.config_dir, "pki.json"))
    force_file = os.path.join(args.config_dir, "force-renewal")
    with locked(args.config_dir):
        run = Run(cfg, args.config_dir, dt.datetime.now(UTC), getattr(args, "renew_before_days", None),
                  os.path.exists(force_file) and revoke is None)
        try:
            result = run.execute(revoke)
        except PkiError as exc:
            run.error(str(exc))
            result = run.result
        changed = bool(result["renewed"] or result["crl_changed"])
        if changed and not args.no_reload:
            try:
                reload_postgresql(cfg["service"])
            except PkiError as exc:
                run.error(str(exc))
        if run.force and not result["errors"]:
            os.unlink(force_file)
    print(json.dumps(dict(result, changed=changed), sort_keys=True))
    if result["errors"]:
        return EXIT_ERROR
    return EXIT_CA if result["ca_problems"] else EXIT_OK


def cmd_check_config(args: argparse.Namespace) -> int:
    load_config(args.file)
    return EXIT_OK


def cmd_check_crl(args: argparse.Namespace) -> int:
    next_update = check_crl_file(args.crl, args.ca, dt.datetime.now(UTC))
    print(f"CRL valid until {next_update.isoformat()}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Days left of the CA, each certificate and the CRL (for audits); read-only."""
    cfg = load_config(os.path.join(args.config_dir, "pki.json"))
    now = dt.datetime.now(UTC)
    ca_cert = load_cert(cfg["ca_cert"], "CA certificate")
    index = load_index(os.path.join(args.config_dir, "index.json"))
    revoked = {s for s, e in index["certificates"].items() if e["revoked_at"]}
    out: dict[str, Any] = {"ca_days_left": (not_after(ca_cert) - now).days, "certs": [], "crl_days_left": None}
    for entry in cfg["certs"]:
        item = {"name": entry["name"], "kind": entry["kind"], "days_left": None, "revoked": False}
        if os.path.exists(entry["cert"]):
            cert = load_cert(entry["cert"], "certificate")
            item.update(days_left=(not_after(cert) - now).days, revoked=serial_hex(cert.serial_number) in revoked)
        out["certs"].append(item)
    if os.path.exists(cfg["crl"]):
        with contextlib.suppress(PkiError):
            out["crl_days_left"] = (check_crl_file(cfg["crl"], cfg["ca_cert"], now) - now).days
    print(json.dumps(out, sort_keys=True))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fedisec-pg-pki", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config-dir", default=CONFIG_DIR)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="record, revoke retired clients, renew what is due, refresh the CRL")
    p.add_argument("--renew-before-days", type=int, help="renew what expires within this many days (this run only)")
    p.add_argument("--no-reload", action="store_true", help="do not reload PostgreSQL (Ansible reloads it)")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("revoke", help="revoke every unexpired certificate of a client now")
    p.add_argument("name")
    p.add_argument("--no-reload", action="store_true")
    p.set_defaults(func=lambda a: cmd_run(a, revoke=a.name))
    p = sub.add_parser("check-config", help="check a pki.json")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)
    p = sub.add_parser("check-crl", help="check that a CRL is the CA's and has not expired")
    p.add_argument("--ca", required=True)
    p.add_argument("crl")
    p.set_defaults(func=cmd_check_crl)
    p = sub.add_parser("status", help="days left of the CA, the certificates and the CRL")
    p.set_defaults(func=cmd_status)
    args = parser.parse_args(argv)
    if getattr(args, "renew_before_days", None) is not None and args.renew_before_days < 0:
        parser.error("--renew-before-days must not be negative")
    try:
        return args.func(args)
    except (ConfigError, PkiError) as exc:
        log("error", str(exc))
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
