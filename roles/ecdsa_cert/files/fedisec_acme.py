#!/usr/bin/python3
"""fedisec-acme: the on-host ACME client of the fedisec.hardening collection.

Run by Ansible during a converge and by the fedisec-acme-renew.timer afterwards, so both
take one code path.  For each certificate described in /etc/fedisec/acme/certs.d/*.json it

1. decides whether a new certificate is needed: none yet, the key or the names changed,
   inside the CA's ACME Renewal Information (RFC 9773) window, or, where the CA offers no
   ARI, past a fraction (default 2/3) of the current certificate's lifetime;
2. if so, orders one for the existing key (HTTP-01 through a webroot, or through a small
   built-in listener on port 80 while nothing else listens there: the first run on a bare
   host), checks it, and only then swaps it in atomically: a failure leaves the working
   certificate untouched and exits non-zero, so the systemd unit shows as failed;
3. keeps the per-service copies (deploy hooks) in sync and reloads those services when
   their copy changed, after the hook's validation command accepted the new files.

Protocol work is done by python3-acme (certbot's ACME library, a Debian package).
Output: one JSON object per certificate on stdout; diagnostics on stderr.
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import fcntl
import glob
import grp
import http.server
import json
import os
import pwd
import socket
import subprocess
import sys
import tempfile
import threading
from typing import Any

CONFIG_DIR = "/etc/fedisec/acme"
LOCK_FILE = "/run/lock/fedisec-acme.lock"
# Touch this file to make the next run renew every certificate; removed after a clean run.
FORCE_FILE = "/var/lib/fedisec-acme/force-renewal"
DEFAULT_RENEW_FRACTION = 2 / 3
CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
CERT_FIELDS = {"name", "domains", "key", "directory", "webroot", "hooks", "renew_fraction", "profile"}
HOOK_FIELDS = {"name", "directory", "owner", "group", "cert_mode", "key_mode", "validate", "reload"}


class ConfigError(Exception):
    """A configuration file is missing a field or holds a bad value."""


def log(msg: str) -> None:
    print(f"fedisec-acme: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- config


def _require(obj: dict, field: str, kind: type, where: str) -> Any:
    if field not in obj:
        raise ConfigError(f"{where}: missing field '{field}'")
    if not isinstance(obj[field], kind) or (kind is not bool and isinstance(obj[field], bool)):
        raise ConfigError(f"{where}: field '{field}' must be {kind.__name__}")
    return obj[field]


def validate_hook(hook: Any, where: str) -> dict:
    if not isinstance(hook, dict):
        raise ConfigError(f"{where}: a hook must be an object")
    unknown = set(hook) - HOOK_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown hook field(s) {sorted(unknown)}")
    for field in ("name", "directory", "owner", "group", "cert_mode", "key_mode"):
        _require(hook, field, str, where)
    if not os.path.isabs(hook["directory"]):
        raise ConfigError(f"{where}: hook directory must be absolute")
    for field in ("cert_mode", "key_mode"):
        try:
            mode = int(hook[field], 8)
        except ValueError:
            raise ConfigError(f"{where}: {field} must be an octal string like '0640'") from None
        if field == "key_mode" and mode & 0o007:
            raise ConfigError(f"{where}: key_mode {hook[field]} gives access to other users")
    for field in ("validate", "reload"):
        value = hook.get(field, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{where}: {field} must be a list of non-empty strings")
    return hook


def validate_cert_config(cfg: Any, where: str) -> dict:
    """Checks one certificate description and returns it with defaults filled in."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"{where}: the certificate description must be an object")
    unknown = set(cfg) - CERT_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    for field in ("name", "key", "directory", "webroot"):
        _require(cfg, field, str, where)
    domains = _require(cfg, "domains", list, where)
    if not domains or not all(isinstance(d, str) and d for d in domains):
        raise ConfigError(f"{where}: domains must be a non-empty list of names")
    for field in ("key", "directory", "webroot"):
        if not os.path.isabs(cfg[field]):
            raise ConfigError(f"{where}: {field} must be an absolute path")
    fraction = cfg.setdefault("renew_fraction", DEFAULT_RENEW_FRACTION)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.3 <= fraction <= 0.9:
        raise ConfigError(f"{where}: renew_fraction must be a number between 0.3 and 0.9")
    cfg.setdefault("profile", None)
    hooks = cfg.setdefault("hooks", [])
    if not isinstance(hooks, list):
        raise ConfigError(f"{where}: hooks must be a list")
    cfg["hooks"] = [validate_hook(h, f"{where} hook {i}") for i, h in enumerate(hooks)]
    return cfg


def validate_account_config(cfg: Any, where: str) -> dict:
    if not isinstance(cfg, dict):
        raise ConfigError(f"{where}: must be an object")
    url = _require(cfg, "directory_url", str, where)
    if not url.startswith("https://"):
        raise ConfigError(f"{where}: directory_url must be an https:// URL")
    _require(cfg, "account_key", str, where)
    if cfg.get("terms_agreed") is not True:
        raise ConfigError(f"{where}: terms_agreed must be true (the CA requires it)")
    contact = cfg.setdefault("contact", [])
    if not isinstance(contact, list) or not all(isinstance(c, str) and c.startswith("mailto:") for c in contact):
        raise ConfigError(f"{where}: contact must be a list of mailto: URIs")
    ca_bundle = cfg.setdefault("ca_bundle", None)
    if ca_bundle is not None and not isinstance(ca_bundle, str):
        raise ConfigError(f"{where}: ca_bundle must be a path or null")
    return cfg


def load_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def load_config(config_dir: str) -> tuple[dict, list[dict]]:
    account = validate_account_config(load_json(os.path.join(config_dir, "account.json")), "account.json")
    certs = []
    for path in sorted(glob.glob(os.path.join(config_dir, "certs.d", "*.json"))):
        certs.append(validate_cert_config(load_json(path), path))
    return account, certs


# --------------------------------------------------------------------------- decisions


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def ari_cert_id(cert) -> str:
    """RFC 9773 certificate identifier: base64url(AKI keyIdentifier) "." base64url(serial)."""
    from cryptography import x509

    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    serial = cert.serial_number
    serial_bytes = serial.to_bytes((serial.bit_length() + 8) // 8, "big")  # DER INTEGER: keep a sign bit
    return f"{_b64url(aki)}.{_b64url(serial_bytes)}"


def parse_ari_window(body: Any) -> tuple[dt.datetime, dt.datetime]:
    """Returns (start, end) of a renewalInfo response, as aware datetimes."""
    try:
        window = body["suggestedWindow"]
        start = dt.datetime.fromisoformat(window["start"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(window["end"].replace("Z", "+00:00"))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"malformed renewalInfo response: {exc}") from None
    if start.tzinfo is None or end.tzinfo is None or end < start:
        raise ValueError("malformed renewalInfo window")
    return start, end


def renewal_reason(*, now: dt.datetime, not_before: dt.datetime | None, not_after: dt.datetime | None,
                   cert_names: set[str] | None, wanted_names: set[str], key_matches: bool,
                   fraction: float, ari_window: tuple[dt.datetime, dt.datetime] | None,
                   force: bool = False) -> str | None:
    """Why a new certificate is needed now, or None when the current one stays."""
    if not_before is None or not_after is None or cert_names is None:
        return "no certificate yet"
    if force:
        return "forced"
    if not key_matches:
        return "the certificate does not match the private key"
    if cert_names != wanted_names:
        return "the certificate names differ from the configured domains"
    if now >= not_after:
        return "expired"
    if ari_window is not None:
        if now >= ari_window[0]:
            return "inside the CA's renewal window (ARI)"
        return None
    if now >= not_before + (not_after - not_before) * fraction:
        return f"past {fraction:.0%} of its lifetime"
    return None


# --------------------------------------------------------------------------- PEM helpers


def split_pem_chain(pem: str) -> list[str]:
    marker = "-----END CERTIFICATE-----"
    parts = [p.strip() + "\n" + marker + "\n" for p in pem.split(marker) if "BEGIN CERTIFICATE" in p]
    if not parts:
        raise ValueError("no certificate in the CA's answer")
    return [p.lstrip() for p in parts]


def cert_names(cert) -> set[str]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {n.lower() for n in san.get_values_for_type(x509.DNSName)}


def validity(cert) -> tuple[dt.datetime, dt.datetime]:
    """notBefore/notAfter as aware UTC datetimes (cryptography < 42 has only naive ones)."""
    if hasattr(cert, "not_valid_after_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    utc = dt.timezone.utc
    return cert.not_valid_before.replace(tzinfo=utc), cert.not_valid_after.replace(tzinfo=utc)


def public_der(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(path: str):
    from cryptography.hazmat.primitives import serialization

    with open(path, "rb") as fh:
        return serialization.load_pem_private_key(fh.read(), password=None)


def load_cert(path: str):
    from cryptography import x509

    try:
        with open(path, "rb") as fh:
            return x509.load_pem_x509_certificate(fh.read())
    except FileNotFoundError:
        return None


def atomic_write(path: str, data: bytes, mode: int, uid: int = 0, gid: int = 0) -> bool:
    """Writes data to path via a temporary file and rename; returns False when unchanged."""
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            if fh.read() == data and (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (mode, uid, gid):
                return False
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".fedisec-")
    try:
        os.fchmod(fd, mode)
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


# --------------------------------------------------------------------------- ACME


class ChallengeServer:
    """Serves HTTP-01 answers itself on port 80 when nothing else listens there."""

    def __init__(self, port: int = 80):
        self.tokens: dict[str, bytes] = {}
        self.servers: list[http.server.HTTPServer] = []
        tokens = self.tokens

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                token = self.path[len(CHALLENGE_PREFIX):] if self.path.startswith(CHALLENGE_PREFIX) else None
                body = tokens.get(token) if token else None
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, *args):  # keep the journal clean
                pass

        class V6Server(http.server.HTTPServer):
            address_family = socket.AF_INET6

            def server_bind(self):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                super().server_bind()

        for cls, addr in ((http.server.HTTPServer, "0.0.0.0"), (V6Server, "::")):
            try:
                self.servers.append(cls((addr, port), Handler))
            except OSError:
                continue
        for srv in self.servers:
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    @property
    def active(self) -> bool:
        return bool(self.servers)

    def close(self) -> None:
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


def port_in_use(port: int = 80) -> bool:
    for family, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(1)
            if sock.connect_ex((addr, port)) == 0:
                return True
    return False


def describe_authorization(authz: dict) -> str:
    """Why the CA refused an authorization (RFC 8555 7.1.4), from its JSON: per failed
    challenge the problem type and detail, and what the CA connected to (validationRecord)."""
    if not isinstance(authz, dict):
        return f"unreadable authorization: {authz!r}"
    ident = (authz.get("identifier") or {}).get("value", "?")
    parts = []
    for chall in authz.get("challenges") or []:
        error = chall.get("error")
        if not isinstance(error, dict):
            continue
        text = f"{ident}: {chall.get('type', '?')} {error.get('type', 'no problem type')}: " \
               f"{error.get('detail') or '(no detail)'}"
        for record in chall.get("validationRecord") or []:
            seen = {k: record[k] for k in ("url", "hostname", "port", "addressUsed") if record.get(k)}
            if seen:
                text += " [validated " + ", ".join(f"{k}={v}" for k, v in seen.items()) + "]"
        parts.append(text)
    return "; ".join(parts) or f"{ident}: status {authz.get('status', '?')}, the CA gave no error"


class Acme:
    """A thin layer over python3-acme: account handling and one order."""

    def __init__(self, account: dict):
        import josepy as jose
        from acme import client, messages

        self.account_cfg = account
        key = self._account_key(account["account_key"])
        verify = account["ca_bundle"] or True
        self.net = client.ClientNetwork(jose.JWKEC(key=key), alg=jose.ES256, verify_ssl=verify,
                                        user_agent="fedisec-acme")
        self.directory = client.ClientV2.get_directory(account["directory_url"], self.net)
        self.client = client.ClientV2(self.directory, self.net)
        self.messages = messages
        self.account_uri: str | None = None

    @staticmethod
    def _account_key(path: str):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        if not os.path.exists(path):
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            atomic_write(path, pem, 0o600)
        return load_private_key(path)

    def register(self) -> str:
        """Creates the account, or finds it again by its key; returns its URI."""
        from acme import errors

        if self.account_uri:
            return self.account_uri

        reg = self.messages.NewRegistration.from_data(terms_of_service_agreed=True)
        if self.account_cfg["contact"]:
            reg = reg.update(contact=tuple(self.account_cfg["contact"]))
        try:
            regr = self.client.new_account(reg)
        except errors.ConflictError:  # the account exists: fetch it
            regr = self.client.query_registration(self.messages.RegistrationResource(body=reg))
        self.account_uri = regr.uri
        return regr.uri

    def renewal_window(self, cert) -> tuple[dt.datetime, dt.datetime] | None:
        """The CA's suggested renewal window (RFC 9773), or None when it offers none."""
        base = self.directory.to_partial_json().get("renewalInfo")
        if not base:
            return None
        try:
            response = self.net.session.get(f"{base.rstrip('/')}/{ari_cert_id(cert)}", timeout=30,
                                            verify=self.net.verify_ssl)
            response.raise_for_status()
            return parse_ari_window(response.json())
        except Exception as exc:  # ARI is advisory: fall back to the lifetime rule
            log(f"renewal information unavailable ({exc}); using the lifetime rule")
            return None

    def authorization_json(self, authzr) -> dict:
        """The authorization as the CA sends it (python3-acme drops validationRecord)."""
        try:
            return self.client._post_as_get(authzr.uri).json()  # noqa: SLF001 (no public call)
        except Exception:  # noqa: BLE001 (the parsed copy still has the error)
            return authzr.body.to_json()

    def issue(self, key, domains: list[str], webroot: str, profile: str | None) -> str:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.x509.oid import NameOID

        from acme import challenges, errors

        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False)
               .sign(key, hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()))
        if profile:
            log("certificate profiles are not supported by this ACME library; ignoring 'profile'")
        self.register()
        order = self.client.new_order(csr.public_bytes(serialization.Encoding.PEM))
        server = None if port_in_use(80) else ChallengeServer(80)
        written: list[str] = []
        try:
            for authz in order.authorizations:
                if authz.body.status.name == "valid":
                    continue
                challb = next((c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01)), None)
                if challb is None:
                    raise RuntimeError(f"the CA offers no http-01 challenge for {authz.body.identifier.value}")
                response, validation = challb.chall.response_and_validation(self.net.key)
                token = challb.chall.encode("token")
                if server and server.active:
                    server.tokens[token] = validation.encode()
                else:
                    path = os.path.join(webroot, ".well-known/acme-challenge", token)
                    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                    atomic_write(path, validation.encode(), 0o644)
                    written.append(path)
                self.client.answer_challenge(challb, response)
            deadline = dt.datetime.now() + dt.timedelta(seconds=180)
            try:
                order = self.client.poll_and_finalize(order, deadline)
            except errors.ValidationError as exc:
                reasons = [describe_authorization(self.authorization_json(a)) for a in exc.failed_authzrs]
                raise RuntimeError("the CA refused the validation: " + "; ".join(reasons)) from None
            return order.fullchain_pem
        finally:
            for path in written:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            if server:
                server.close()


# --------------------------------------------------------------------------- hooks


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"'{' '.join(cmd)}' failed: {(proc.stderr or proc.stdout).strip()}")


def reload_unit(unit: str) -> None:
    """Reloads a unit if it is running; a stopped service reads the files when started."""
    active = subprocess.run(["systemctl", "is-active", "--quiet", unit], check=False).returncode == 0
    if active:
        run(["systemctl", "reload", unit])


def sync_hook(hook: dict, fullchain: bytes, key_pem: bytes) -> bool:
    """Installs the service's copy; validates and reloads when it changed. Restores on failure."""
    try:
        uid = pwd.getpwnam(hook["owner"]).pw_uid
        gid = grp.getgrnam(hook["group"]).gr_gid
    except KeyError:  # the service (and its account) is not installed: nothing to serve yet
        log(f"hook {hook['name']}: {hook['owner']}:{hook['group']} does not exist yet, skipped")
        return False
    os.makedirs(hook["directory"], mode=0o750, exist_ok=True)
    os.chown(hook["directory"], 0, gid)
    os.chmod(hook["directory"], 0o750)
    cert_path = os.path.join(hook["directory"], "fullchain.pem")
    key_path = os.path.join(hook["directory"], "privkey.pem")
    backups = {}
    for path in (cert_path, key_path):
        with contextlib.suppress(FileNotFoundError), open(path, "rb") as fh:
            backups[path] = (fh.read(), os.stat(path))
    # Key first with the cert only after: a reader never sees a new cert beside an old key for
    # long, and the service is reloaded only once both are in place.
    changed = atomic_write(key_path, key_pem, int(hook["key_mode"], 8), uid, gid)
    changed |= atomic_write(cert_path, fullchain, int(hook["cert_mode"], 8), uid, gid)
    if not changed:
        return False
    try:
        # A service that is not installed yet has nothing to validate or reload.
        if hook.get("validate") and os.path.exists(hook["validate"][0]):
            run(hook["validate"])
    except RuntimeError:
        for path, (data, st) in backups.items():
            atomic_write(path, data, st.st_mode & 0o7777, st.st_uid, st.st_gid)
        raise
    for unit in hook.get("reload", []):
        reload_unit(unit)
    return True


# --------------------------------------------------------------------------- main flow


def process(cfg: dict, acme_factory, force: bool, now: dt.datetime) -> dict:
    """Renews one certificate if due and syncs its hooks. Returns a report."""
    key = load_private_key(cfg["key"])
    key_pem = open(cfg["key"], "rb").read()
    fullchain_path = os.path.join(cfg["directory"], "fullchain.pem")
    cert = load_cert(fullchain_path)
    report: dict[str, Any] = {"name": cfg["name"], "renewed": False, "hooks_changed": []}
    wanted = {d.lower() for d in cfg["domains"]}
    acme = None
    ari = None
    if cert is not None and not force:
        try:
            acme = acme_factory()
            ari = acme.renewal_window(cert)
        except Exception as exc:  # the CA is unreachable: decide by the lifetime rule alone
            log(f"{cfg['name']}: cannot reach the ACME server for renewal information ({exc})")
    reason = renewal_reason(
        now=now,
        not_before=validity(cert)[0] if cert else None,
        not_after=validity(cert)[1] if cert else None,
        cert_names=cert_names(cert) if cert else None,
        wanted_names=wanted,
        key_matches=cert is not None and public_der(cert.public_key()) == public_der(key.public_key()),
        fraction=cfg["renew_fraction"],
        ari_window=ari,
        force=force,
    )
    if reason:
        log(f"{cfg['name']}: requesting a new certificate: {reason}")
        acme = acme or acme_factory()
        fullchain_pem = acme.issue(key, cfg["domains"], cfg["webroot"], cfg["profile"])
        chain = split_pem_chain(fullchain_pem)
        from cryptography import x509

        new_cert = x509.load_pem_x509_certificate(chain[0].encode())
        if public_der(new_cert.public_key()) != public_der(key.public_key()):
            raise RuntimeError("the CA returned a certificate for another key")
        if cert_names(new_cert) != wanted:
            raise RuntimeError(f"the CA returned names {sorted(cert_names(new_cert))}, wanted {sorted(wanted)}")
        atomic_write(os.path.join(cfg["directory"], "cert.pem"), chain[0].encode(), 0o644)
        atomic_write(os.path.join(cfg["directory"], "chain.pem"), "".join(chain[1:]).encode(), 0o644)
        atomic_write(fullchain_path, "".join(chain).encode(), 0o644)
        report.update(renewed=True, reason=reason)
        cert = new_cert
        log(f"{cfg['name']}: installed certificate serial {new_cert.serial_number:x}")
    fullchain = open(fullchain_path, "rb").read()
    for hook in cfg["hooks"]:
        if sync_hook(hook, fullchain, key_pem):
            report["hooks_changed"].append(hook["name"])
    report["not_after"] = validity(cert)[1].isoformat()
    report["serial"] = f"{cert.serial_number:x}"
    if acme is not None and acme.account_uri:
        report["account_uri"] = acme.account_uri
    return report


def cmd_renew(args) -> int:
    account, certs = load_config(args.config_dir)
    if args.name:
        certs = [c for c in certs if c["name"] in args.name]
        missing = set(args.name) - {c["name"] for c in certs}
        if missing:
            raise ConfigError(f"no certificate named {sorted(missing)} in {args.config_dir}/certs.d")
    acme_holder: list[Acme] = []

    def acme_factory() -> Acme:
        if not acme_holder:
            acme_holder.append(Acme(account))
        return acme_holder[0]

    force = args.force or os.path.exists(FORCE_FILE)
    failed = 0
    now = dt.datetime.now(dt.timezone.utc)
    for cfg in certs:
        try:
            report = process(cfg, acme_factory, force, now)
        except Exception as exc:  # report every certificate, fail the run at the end
            failed += 1
            report = {"name": cfg["name"], "renewed": False, "error": f"{type(exc).__name__}: {exc}"}
            log(f"{cfg['name']}: renewal failed, the current certificate stays in place: {report['error']}")
        print(json.dumps(report), flush=True)
    if acme_holder and acme_holder[0].account_uri:
        state = {"account_uri": acme_holder[0].account_uri, "directory_url": account["directory_url"]}
        atomic_write(os.path.join(args.config_dir, "state.json"), json.dumps(state).encode(), 0o644)
    if force and not failed and not args.name:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(FORCE_FILE)
    return 1 if failed else 0


def cmd_check_config(args) -> int:
    if args.file:
        data = load_json(args.file)
        if args.kind == "account":
            validate_account_config(data, args.file)
        else:
            validate_cert_config(data, args.file)
    else:
        load_config(args.config_dir)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fedisec-acme", description=__doc__.splitlines()[0])
    parser.add_argument("--config-dir", default=CONFIG_DIR)
    sub = parser.add_subparsers(dest="command", required=True)
    renew = sub.add_parser("renew", help="renew the certificates that are due, sync deploy hooks")
    renew.add_argument("name", nargs="*", help="certificate names (default: all)")
    renew.add_argument("--force", action="store_true", help="renew even when not due")
    check = sub.add_parser("check-config", help="validate configuration files")
    check.add_argument("--kind", choices=("account", "cert"), default="cert")
    check.add_argument("file", nargs="?")
    args = parser.parse_args(argv)
    try:
        if args.command == "check-config":
            return cmd_check_config(args)
        os.makedirs(os.path.dirname(LOCK_FILE), exist_ok=True)
        with open(LOCK_FILE, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return cmd_renew(args)
    except ConfigError as exc:
        log(f"configuration error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
