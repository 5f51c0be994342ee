"""Unit tests for the PostgreSQL CA's renewal and revocation (roles/postgresql_tls/files/fedisec_pg_pki.py),
against throw-away CAs in a temporary directory, checked with the openssl CLI as PostgreSQL's OpenSSL sees them."""
from __future__ import annotations

import datetime as dt
import importlib.util
import json
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SOURCE = Path(__file__).resolve().parents[2] / "roles" / "postgresql_tls" / "files" / "fedisec_pg_pki.py"
spec = importlib.util.spec_from_file_location("fedisec_pg_pki", SOURCE)
pki = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pki)

UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


def pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(directory: Path, days: int = 3650, start: dt.datetime = NOW - 400 * DAY, name: str = "test CA"):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    (directory / "ca.key").write_bytes(pem_key(key))
    (directory / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def issue(directory: Path, name: str, kind: str, days_left: float, ca_key=None, ca_cert=None):
    """A leaf like the role's (community.crypto ownca): SAN, EKU, KU, BC, SKI, AKI."""
    ca_key = ca_key or serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    ca_cert = ca_cert or x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    key_path = directory / f"{name}.key"
    if key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        key_path.write_bytes(pem_key(key))
        key_path.chmod(0o600)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if kind == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW - dt.timedelta(days=300))
               .not_valid_after(NOW + dt.timedelta(days=days_left))
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                            crl_sign=False, encipher_only=False, decipher_only=False), critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
    if kind == "server":
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path = directory / f"{name}.crt"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    cert_path.chmod(0o644)
    return cert


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def openssl_verify(d: Path, cert: str, crl: bool = True) -> subprocess.CompletedProcess:
    args = ["openssl", "verify", "-CAfile", str(d / "ca.crt")]
    if crl:
        args += ["-crl_check", "-CRLfile", str(d / "ca.crl")]
    return subprocess.run([*args, str(d / cert)], capture_output=True, text=True, check=False)


@pytest.fixture
def lab(tmp_path):
    """A CA, a server certificate and two clients (mastodon, backup), all fresh, and pki.json."""
    d = tmp_path
    make_ca(d)
    issue(d, "db", "server", 300)
    issue(d, "mastodon", "client", 300)
    issue(d, "backup", "client", 300)
    write_config(d)
    return d


def write_config(d: Path, **changes) -> dict:
    cfg = {
        "ca_cert": str(d / "ca.crt"), "ca_key": str(d / "ca.key"), "crl": str(d / "ca.crl"),
        "crl_owner": "root", "crl_group": "root", "crl_lifetime_days": 100, "crl_renew_days": 30,
        "cert_lifetime_days": 397, "renew_days": 30, "service": "postgresql@15-main",
        "certs": [{"name": n, "kind": k, "cert": str(d / f"{n}.crt"), "key": str(d / f"{n}.key")}
                  for n, k in (("db", "server"), ("mastodon", "client"), ("backup", "client"))],
        "revoked_clients": [],
    }
    cfg.update(changes)
    (d / "pki.json").write_text(json.dumps(cfg))
    return cfg


def cli(d: Path, *args: str, capsys=None) -> tuple[int, dict]:
    rc = pki.main(["--config-dir", str(d), *args])
    out = capsys.readouterr().out if capsys else ""
    return rc, (json.loads(out) if out.strip().startswith("{") else {})


def run_at(d: Path, now: dt.datetime, renew_days=None, force=False, revoke=None) -> dict:
    cfg = pki.load_config(str(d / "pki.json"))
    return pki.Run(cfg, str(d), now, renew_days, force).execute(revoke)


# --------------------------------------------------------------------------- settings


class TestConfig:
    def test_the_roles_settings_pass(self, lab):
        assert pki.load_config(str(lab / "pki.json"))["renew_days"] == 30

    @pytest.mark.parametrize("change, message", [
        ({"ca_key": "ca.key"}, "ca_key must be an absolute path"),
        ({"renew_days": 0}, "renew_days must be a positive integer"),
        ({"renew_days": True}, "renew_days must be a positive integer"),
        ({"renew_days": 397}, "renew_days must be smaller than cert_lifetime_days"),
        ({"crl_renew_days": 100}, "crl_renew_days must be smaller than crl_lifetime_days"),
        ({"extra": 1}, "unknown field"),
        ({"certs": [{"name": "x", "kind": "peer", "cert": "/a", "key": "/b"}]}, "kind must be one of"),
        ({"certs": [{"name": "x", "kind": "client", "cert": "/a"}]}, "exactly the fields"),
        ({"revoked_clients": [{"name": "mastodon", "cert": "/x/client.crt"}]}, "also a current client"),
        ({"service": ""}, "service must be a non-empty string"),
    ])
    def test_bad_settings_name_the_field(self, lab, change, message):
        write_config(lab, **change)
        with pytest.raises(pki.ConfigError, match=message):
            pki.load_config(str(lab / "pki.json"))

    def test_check_config_command(self, lab, tmp_path):
        assert pki.main(["check-config", str(lab / "pki.json")]) == 0
        (tmp_path / "bad.json").write_text("{not json")
        assert pki.main(["check-config", str(tmp_path / "bad.json")]) == 1


# --------------------------------------------------------------------------- renewal


class TestRenewal:
    def test_first_run_records_and_makes_a_crl_and_renews_nothing(self, lab, capsys):
        before = (lab / "db.crt").read_bytes()
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 0, out
        assert out["renewed"] == [] and out["crl_changed"] and out["changed"]
        assert (lab / "db.crt").read_bytes() == before
        index = json.loads((lab / "index.json").read_text())
        assert len(index["certificates"]) == 3 and index["crl_number"] == 1
        assert (lab / "index.json").stat().st_mode & 0o777 == 0o600
        assert openssl_verify(lab, "mastodon.crt").returncode == 0

    def test_second_run_changes_nothing(self, lab, capsys):
        cli(lab, "run", "--no-reload", capsys=capsys)
        crl = (lab / "ca.crl").read_bytes()
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 0 and not out["changed"]
        assert (lab / "ca.crl").read_bytes() == crl

    def test_due_certificate_is_signed_again_for_the_same_key(self, lab, capsys):
        old = issue(lab, "db", "server", 10)
        (lab / "db.crt").chmod(0o640)
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 0, out
        assert [r["name"] for r in out["renewed"]] == ["db"]
        new = load(lab / "db.crt")
        assert new.serial_number != old.serial_number
        assert pki.not_after(new) > NOW + dt.timedelta(days=396)
        # What Ansible's x509_certificate compares: the same key, subject, issuer and
        # extensions, so the next converge does not issue it again.
        assert new.public_key().public_numbers() == old.public_key().public_numbers()
        assert (new.subject, new.issuer) == (old.subject, old.issuer)
        assert list(new.extensions) == list(old.extensions)
        assert (lab / "db.crt").stat().st_mode & 0o777 == 0o640  # the old file's mode
        assert openssl_verify(lab, "db.crt").returncode == 0
        assert not list(lab.glob(".*.new"))
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 0 and out["renewed"] == []

    def test_threshold_option_and_force_file(self, lab, capsys):
        rc, out = cli(lab, "run", "--no-reload", "--renew-before-days", "400", capsys=capsys)
        assert rc == 0 and len(out["renewed"]) == 3
        (lab / "force-renewal").touch()
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 0 and len(out["renewed"]) == 3
        assert not (lab / "force-renewal").exists()  # one-shot

    def test_missing_certificate_is_left_to_ansible(self, lab, capsys):
        (lab / "backup.crt").unlink()
        rc, out = cli(lab, "run", "--no-reload", "--renew-before-days", "400", capsys=capsys)
        assert rc == 0 and sorted(r["name"] for r in out["renewed"]) == ["db", "mastodon"]


class TestBadInputs:
    def test_missing_ca_key_keeps_the_certificate_and_fails(self, lab, capsys):
        cli(lab, "run", "--no-reload", capsys=capsys)  # makes the CRL while the key is there
        ca_key = serialization.load_pem_private_key((lab / "ca.key").read_bytes(), None)
        (lab / "ca.key").unlink()
        issue(lab, "db", "server", 10, ca_key=ca_key)
        before = (lab / "db.crt").read_bytes()
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 1
        assert "cannot read the CA key" in out["errors"][0]
        assert "the current certificate stays in place" in out["errors"][0]
        assert (lab / "db.crt").read_bytes() == before

    def test_missing_ca_certificate(self, lab, capsys):
        (lab / "ca.crt").unlink()
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 1 and "cannot read the CA certificate" in out["errors"][0]

    def test_expired_ca_stops_everything(self, tmp_path, capsys):
        make_ca(tmp_path, days=10, start=NOW - dt.timedelta(days=11))
        issue(tmp_path, "db", "server", 5)
        issue(tmp_path, "mastodon", "client", 5)
        issue(tmp_path, "backup", "client", 5)
        write_config(tmp_path)
        before = (tmp_path / "db.crt").read_bytes()
        rc, out = cli(tmp_path, "run", "--no-reload", capsys=capsys)
        assert rc == 1 and "expired" in out["errors"][0] and "make a new CA" in out["errors"][0]
        assert (tmp_path / "db.crt").read_bytes() == before
        assert not (tmp_path / "ca.crl").exists()

    def test_ca_key_of_another_ca(self, lab, capsys):
        other = ec.generate_private_key(ec.SECP256R1())
        (lab / "ca.key").write_bytes(pem_key(other))
        issue_before = (lab / "db.crt").read_bytes()
        rc, out = cli(lab, "run", "--no-reload", "--renew-before-days", "400", capsys=capsys)
        assert rc == 1
        assert any("does not match the CA certificate" in e for e in out["errors"])
        assert (lab / "db.crt").read_bytes() == issue_before
        assert not (lab / "ca.crl").exists()

    def test_certificate_that_does_not_match_its_key(self, lab, capsys):
        (lab / "db.key").write_bytes(pem_key(ec.generate_private_key(ec.SECP256R1())))
        before = (lab / "db.crt").read_bytes()
        rc, out = cli(lab, "run", "--no-reload", "--renew-before-days", "400", capsys=capsys)
        assert rc == 1
        assert any("does not match its private key" in e for e in out["errors"])
        assert (lab / "db.crt").read_bytes() == before

    def test_unreadable_and_garbled_files(self, lab, capsys):
        (lab / "mastodon.key").unlink()
        (lab / "mastodon.key").mkdir()  # unreadable as a file, even for root
        (lab / "backup.crt").write_text("not a certificate\n")
        rc, out = cli(lab, "run", "--no-reload", "--renew-before-days", "400", capsys=capsys)
        assert rc == 1
        errors = " | ".join(out["errors"])
        assert "cannot read the private key" in errors and "is not a PEM certificate" in errors
        assert [r["name"] for r in out["renewed"]] == ["db"]  # the others still renew

    def test_damaged_index(self, lab, capsys):
        (lab / "index.json").write_text("[]")
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 1 and "damaged" in out["errors"][0]

    def test_a_candidate_openssl_refuses_never_lands(self, lab, capsys, monkeypatch):
        issue(lab, "db", "server", 10)
        before = (lab / "db.crt").read_bytes()
        real = pki.openssl

        def refuse_verify(*args):
            if args[0] == "verify" and "-crl_check" not in args:
                return subprocess.CompletedProcess(args, 2, "", "error 7: certificate signature failure")
            return real(*args)

        monkeypatch.setattr(pki, "openssl", refuse_verify)
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 1 and "openssl verify refused" in out["errors"][0]
        assert (lab / "db.crt").read_bytes() == before
        assert not list(lab.glob(".*.new"))


class TestCaExpiry:
    def test_never_issues_past_the_ca_and_says_so(self, tmp_path, capsys):
        make_ca(tmp_path, days=40, start=NOW - dt.timedelta(days=20))  # 20 days left
        for name, kind in (("db", "server"), ("mastodon", "client"), ("backup", "client")):
            issue(tmp_path, name, kind, 5)
        write_config(tmp_path)
        rc, out = cli(tmp_path, "run", "--no-reload", capsys=capsys)
        assert rc == 2, out  # done, but the unit shows as failed
        ca_end = pki.not_after(load(tmp_path / "ca.crt"))
        assert pki.not_after(load(tmp_path / "db.crt")) == ca_end
        problems = " | ".join(out["ca_problems"])
        assert "renewed only until the CA's end" in problems and "the CA certificate expires on" in problems
        crl = x509.load_pem_x509_crl((tmp_path / "ca.crl").read_bytes())
        assert pki._utc(crl, "next_update") == ca_end

    def test_a_leaf_that_outlives_the_ca_is_reported(self, tmp_path, capsys):
        make_ca(tmp_path, days=400, start=NOW - dt.timedelta(days=200))
        for name, kind in (("db", "server"), ("mastodon", "client"), ("backup", "client")):
            issue(tmp_path, name, kind, 300)
        write_config(tmp_path)
        rc, out = cli(tmp_path, "run", "--no-reload", capsys=capsys)
        assert rc == 2 and "after the CA" in out["ca_problems"][0]


# --------------------------------------------------------------------------- CRL and revocation


class TestCrl:
    def test_crl_is_signed_again_before_it_expires(self, lab):
        run_at(lab, NOW)
        first = x509.load_pem_x509_crl((lab / "ca.crl").read_bytes())
        assert run_at(lab, NOW + 69 * DAY)["crl_changed"] is False  # 31 days left
        result = run_at(lab, NOW + 71 * DAY)  # 29 days left
        assert result["crl_changed"] and result["crl_reason"] == "the CRL expires soon"
        second = x509.load_pem_x509_crl((lab / "ca.crl").read_bytes())
        number = second.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        assert number == 2 and pki._utc(second, "next_update") > pki._utc(first, "next_update")

    def test_an_expired_crl_refuses_every_client_and_is_replaced(self, lab):
        run_at(lab, NOW - 200 * DAY)  # a CRL that ended 100 days ago
        refused = openssl_verify(lab, "mastodon.crt")
        assert refused.returncode != 0 and "CRL has expired" in refused.stdout + refused.stderr
        with pytest.raises(pki.PkiError, match="has expired: every client certificate would be refused"):
            pki.check_crl_file(str(lab / "ca.crl"), str(lab / "ca.crt"), NOW)
        assert run_at(lab, NOW)["crl_reason"] == "the CRL has expired"
        assert openssl_verify(lab, "mastodon.crt").returncode == 0

    def test_crl_of_another_ca_is_replaced_and_refused_by_the_checker(self, lab, tmp_path_factory):
        other = tmp_path_factory.mktemp("other")
        make_ca(other, name="other CA")
        write_config(other)
        run_at(other, NOW)
        (lab / "ca.crl").write_bytes((other / "ca.crl").read_bytes())
        with pytest.raises(pki.PkiError, match="not signed by the CA"):
            pki.check_crl_file(str(lab / "ca.crl"), str(lab / "ca.crt"), NOW)
        assert pki.main(["check-crl", "--ca", str(lab / "ca.crt"), str(lab / "ca.crl")]) == 1
        assert run_at(lab, NOW)["crl_reason"] == "the CRL is not signed by this CA"
        assert pki.main(["check-crl", "--ca", str(lab / "ca.crt"), str(lab / "ca.crl")]) == 0

    def test_a_crl_openssl_refuses_never_lands(self, lab, monkeypatch):
        run_at(lab, NOW)
        before = (lab / "ca.crl").read_bytes()
        monkeypatch.setattr(pki, "openssl", lambda *a: subprocess.CompletedProcess(a, 1, "", "bad CRL"))
        result = run_at(lab, NOW + 80 * DAY)
        assert "the current CRL stays in place" in result["errors"][0]
        assert (lab / "ca.crl").read_bytes() == before


class TestRevocation:
    def test_a_retired_client_is_revoked_with_every_earlier_certificate(self, lab, capsys):
        cli(lab, "run", "--no-reload", capsys=capsys)
        old_serial = load(lab / "backup.crt").serial_number
        (lab / "backup.old.crt").write_bytes((lab / "backup.crt").read_bytes())
        cli(lab, "run", "--no-reload", "--renew-before-days", "400", capsys=capsys)  # same key, new serial
        assert load(lab / "backup.crt").serial_number != old_serial
        cfg = json.loads((lab / "pki.json").read_text())
        write_config(lab, certs=[c for c in cfg["certs"] if c["name"] != "backup"],
                     revoked_clients=[{"name": "backup", "cert": str(lab / "backup.crt")}])
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 0, out
        assert len(out["revoked"]) == 2 and out["crl_changed"]
        for cert in ("backup.crt", "backup.old.crt"):  # the renewed copy of the same key too
            refused = openssl_verify(lab, cert)
            assert "certificate revoked" in refused.stdout + refused.stderr
        assert openssl_verify(lab, "mastodon.crt").returncode == 0
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 0 and not out["changed"]  # idempotent

    def test_revoke_command_for_a_client_that_stays(self, lab, capsys):
        cli(lab, "run", "--no-reload", capsys=capsys)
        rc, out = cli(lab, "revoke", "mastodon", "--no-reload", capsys=capsys)
        assert rc == 0 and out["crl_changed"] and out["revoked_current"] == ["mastodon"]
        refused = openssl_verify(lab, "mastodon.crt")
        assert "certificate revoked" in refused.stdout + refused.stderr
        assert openssl_verify(lab, "backup.crt").returncode == 0
        # The leaked key is never signed again, even when due: Ansible gives it a new key.
        rc, out = cli(lab, "run", "--no-reload", "--renew-before-days", "400", capsys=capsys)
        assert "mastodon" not in [r["name"] for r in out["renewed"]]
        assert out["revoked_current"] == ["mastodon"]
        (lab / "mastodon.key").unlink()
        issue(lab, "mastodon", "client", 397)  # what Ansible does next
        rc, out = cli(lab, "run", "--no-reload", capsys=capsys)
        assert rc == 0 and out["revoked_current"] == [] and not out["crl_changed"]
        assert openssl_verify(lab, "mastodon.crt").returncode == 0

    def test_revoking_an_unknown_client_fails(self, lab, capsys):
        rc, out = cli(lab, "revoke", "nobody", "--no-reload", capsys=capsys)
        assert rc == 1 and "nothing revoked" in out["errors"][0]

    def test_expired_revoked_certificates_leave_the_crl(self, lab):
        run_at(lab, NOW, revoke="backup")
        crl = x509.load_pem_x509_crl((lab / "ca.crl").read_bytes())
        assert len(list(crl)) == 1
        run_at(lab, NOW + 301 * DAY)  # backup's certificate has expired
        assert len(list(x509.load_pem_x509_crl((lab / "ca.crl").read_bytes()))) == 0


def test_status_is_read_only(lab, capsys):
    cli(lab, "run", "--no-reload", capsys=capsys)
    before = {p.name: p.read_bytes() for p in lab.iterdir() if p.is_file()}
    assert pki.main(["--config-dir", str(lab), "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["ca_days_left"] > 3000 and status["crl_days_left"] >= 99
    assert {c["name"]: c["days_left"] for c in status["certs"]}["db"] in (299, 300)
    assert {p.name: p.read_bytes() for p in lab.iterdir() if p.is_file()} == before


def test_journal_priorities(monkeypatch, capsys):
    monkeypatch.setenv("JOURNAL_STREAM", "8:1")
    pki.log("error", "x")
    assert capsys.readouterr().err == "<3>fedisec-pg-pki: ERROR: x\n"
    monkeypatch.delenv("JOURNAL_STREAM")
    pki.log("warning", "y")
    assert capsys.readouterr().err == "fedisec-pg-pki: WARNING: y\n"


def test_reload_only_when_something_changed(lab, capsys, monkeypatch):
    calls = []
    real_run = subprocess.run

    def fake_run(cmd, **kwargs):
        if cmd[0] == "systemctl":
            calls.append(cmd)
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(pki.subprocess, "run", fake_run)
    cli(lab, "run", capsys=capsys)  # the first CRL
    assert calls == [["systemctl", "try-reload-or-restart", "postgresql@15-main"]]
    cli(lab, "run", capsys=capsys)  # nothing to do
    assert len(calls) == 1
