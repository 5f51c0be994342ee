"""Unit tests for the on-host ACME client's decisions (roles/ecdsa_cert/files/fedisec_acme.py)."""
from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SOURCE = Path(__file__).resolve().parents[2] / "roles" / "ecdsa_cert" / "files" / "fedisec_acme.py"
spec = importlib.util.spec_from_file_location("fedisec_acme", SOURCE)
acme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(acme)

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 1, 1, tzinfo=UTC)


def reason(now, *, days=90, names=None, key_matches=True, ari=None, force=False, cert=True):
    return acme.renewal_reason(
        now=now,
        not_before=T0 if cert else None,
        not_after=T0 + dt.timedelta(days=days) if cert else None,
        cert_names=(names if names is not None else {"a.example"}) if cert else None,
        wanted_names={"a.example"},
        key_matches=key_matches,
        fraction=2 / 3,
        ari_window=ari,
        force=force,
    )


class TestRenewalReason:
    def test_no_certificate(self):
        assert reason(T0, cert=False) == "no certificate yet"

    def test_fresh_certificate_stays(self):
        assert reason(T0 + dt.timedelta(days=59)) is None

    def test_two_thirds_of_90_days(self):
        assert reason(T0 + dt.timedelta(days=60, seconds=1)).startswith("past 67%")

    def test_six_day_certificate_renews_after_four_days(self):
        assert reason(T0 + dt.timedelta(days=3, hours=23), days=6) is None
        assert reason(T0 + dt.timedelta(days=4, seconds=1), days=6) is not None

    def test_key_change_and_names_change(self):
        assert "private key" in reason(T0, key_matches=False)
        assert "names" in reason(T0, names={"b.example"})

    def test_force_and_expiry(self):
        assert reason(T0, force=True) == "forced"
        assert reason(T0 + dt.timedelta(days=91), ari=(T0 + dt.timedelta(days=200),) * 2) == "expired"

    def test_ari_window_overrides_the_lifetime_rule(self):
        window = (T0 + dt.timedelta(days=10), T0 + dt.timedelta(days=11))
        assert reason(T0 + dt.timedelta(days=9), ari=window) is None
        assert "ARI" in reason(T0 + dt.timedelta(days=10), ari=window)
        late = (T0 + dt.timedelta(days=80), T0 + dt.timedelta(days=81))
        assert reason(T0 + dt.timedelta(days=70), ari=late) is None  # the CA's window wins


class TestAriWindow:
    def test_parses_rfc3339(self):
        start, end = acme.parse_ari_window(
            {"suggestedWindow": {"start": "2026-01-10T00:00:00Z", "end": "2026-01-11T00:00:00Z"}})
        assert start == dt.datetime(2026, 1, 10, tzinfo=UTC) and end > start

    @pytest.mark.parametrize("body", [
        {}, {"suggestedWindow": {}}, {"suggestedWindow": {"start": "x", "end": "y"}}, None,
        {"suggestedWindow": {"start": "2026-01-11T00:00:00Z", "end": "2026-01-10T00:00:00Z"}},
        {"suggestedWindow": {"start": "2026-01-10T00:00:00", "end": "2026-01-11T00:00:00"}},
    ])
    def test_rejects_malformed(self, body):
        with pytest.raises(ValueError):
            acme.parse_ari_window(body)

    def test_cert_id_is_aki_and_serial(self):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.example")])
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(0x87654321).not_valid_before(T0).not_valid_after(T0 + dt.timedelta(days=1))
                .add_extension(x509.AuthorityKeyIdentifier(b"\x69\x88\x5b\x6b\x87\x46\x40\x41\xe1\xb3\x7b\x84"
                                                           b"\x7b\xa0\xae\x2c\xde\x01\xc8\xd4", None, None),
                               critical=False)
                .sign(key, hashes.SHA256()))
        # RFC 9773 section 4.1 example: the serial's DER INTEGER keeps a leading zero byte.
        assert acme.ari_cert_id(cert) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"


def cert_config(**over):
    cfg = {"name": "a", "domains": ["a.example"], "key": "/k", "directory": "/d", "webroot": "/w"}
    cfg.update(over)
    return cfg


HOOK = {"name": "nginx", "directory": "/etc/nginx/tls/a", "owner": "root", "group": "root",
        "cert_mode": "0644", "key_mode": "0600"}


class TestConfig:
    def test_defaults_filled_in(self):
        cfg = acme.validate_cert_config(cert_config(), "t")
        assert cfg["renew_fraction"] == pytest.approx(2 / 3) and cfg["hooks"] == []

    @pytest.mark.parametrize("over,message", [
        ({"domains": []}, "domains"),
        ({"domains": "a.example"}, "domains"),
        ({"key": "relative"}, "absolute"),
        ({"renew_fraction": 0.95}, "renew_fraction"),
        ({"renew_fraction": True}, "renew_fraction"),
        ({"surprise": 1}, "unknown"),
        ({"hooks": [dict(HOOK, key_mode="0644")]}, "other users"),
        ({"hooks": [dict(HOOK, cert_mode="rw")]}, "octal"),
        ({"hooks": [dict(HOOK, reload="nginx")]}, "reload"),
        ({"hooks": [dict(HOOK, reload=["exim4", ""])]}, "reload"),
        ({"hooks": [dict(HOOK, restart=["exim4"])]}, "unknown"),
        ({"hooks": [dict(HOOK, directory="tls")]}, "absolute"),
    ])
    def test_rejects_bad_values(self, over, message):
        with pytest.raises(acme.ConfigError, match=message):
            acme.validate_cert_config(cert_config(**over), "t")

    def test_missing_field_is_named(self):
        cfg = cert_config()
        del cfg["webroot"]
        with pytest.raises(acme.ConfigError, match="'webroot'"):
            acme.validate_cert_config(cfg, "t")

    @pytest.mark.parametrize("cfg,message", [
        ({"directory_url": "http://x/dir", "account_key": "/a", "terms_agreed": True}, "https"),
        ({"directory_url": "https://x/dir", "account_key": "/a", "terms_agreed": False}, "terms_agreed"),
        ({"directory_url": "https://x/dir", "account_key": "/a", "terms_agreed": True, "contact": ["a@b"]}, "mailto"),
    ])
    def test_account_rejects_bad_values(self, cfg, message):
        with pytest.raises(acme.ConfigError, match=message):
            acme.validate_account_config(cfg, "account.json")


def test_split_pem_chain():
    block = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    assert acme.split_pem_chain(block + "\n" + block) == [block, block]
    with pytest.raises(ValueError):
        acme.split_pem_chain("nothing here")


def test_atomic_write_reports_changes(tmp_path):
    path = str(tmp_path / "f")
    uid, gid = __import__("os").getuid(), __import__("os").getgid()
    assert acme.atomic_write(path, b"x", 0o600, uid, gid)
    assert not acme.atomic_write(path, b"x", 0o600, uid, gid)
    assert acme.atomic_write(path, b"x", 0o640, uid, gid)
    assert acme.atomic_write(path, b"y", 0o640, uid, gid)


def test_describe_authorization_names_problem_detail_and_validation_record():
    authz = {
        "identifier": {"type": "dns", "value": "fedi"},
        "status": "invalid",
        "challenges": [
            {"type": "dns-01", "status": "pending"},
            {"type": "http-01", "status": "invalid",
             "error": {"type": "urn:ietf:params:acme:error:connection",
                       "detail": "10.89.0.99: Fetching http://fedi/.well-known/acme-challenge/x: Timeout"},
             "validationRecord": [{"url": "http://fedi/.well-known/acme-challenge/x", "hostname": "fedi",
                                   "port": "80", "addressUsed": "10.89.0.99"}]},
        ],
    }
    text = acme.describe_authorization(authz)
    assert text.startswith("fedi: http-01 urn:ietf:params:acme:error:connection: 10.89.0.99: Fetching")
    assert "addressUsed=10.89.0.99" in text and "port=80" in text
    assert "dns-01" not in text  # a challenge without an error says nothing


@pytest.mark.parametrize("authz, expected", [
    ({"identifier": {"value": "fedi"}, "status": "invalid", "challenges": []},
     "fedi: status invalid, the CA gave no error"),
    ({"challenges": [{"type": "http-01", "error": {"detail": ""}}]}, "?: http-01 no problem type: (no detail)"),
    ({"challenges": [{"type": "http-01", "error": "broken"}]}, "?: status ?, the CA gave no error"),
    ("not json", "unreadable authorization: 'not json'"),
])
def test_describe_authorization_with_incomplete_answers(authz, expected):
    assert acme.describe_authorization(authz) == expected
