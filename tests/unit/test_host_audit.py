"""Unit tests for plugins/module_utils/host_audit.py: the parsers behind the audit's probes,
fed the output of real runs (the lab's fedi and db, Debian 12) and broken variants."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.fedisec.hardening.plugins.module_utils import host_audit as audit
from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_hardening import weak_reasons

SSHD_T = """port 22
permitrootlogin no
passwordauthentication no
kbdinteractiveauthentication no
pubkeyauthentication yes
authenticationmethods publickey
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-ctr
macs hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com
kexalgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256
hostkeyalgorithms ssh-ed25519,rsa-sha2-512
"""

S_CLIENT_TLS12 = """CONNECTED(00000003)
Server Temp Key: X25519, 253 bits
---
New, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384
SSL-Session:
    Protocol  : TLSv1.2
    Cipher    : ECDHE-ECDSA-AES256-GCM-SHA384
    Verify return code: 0 (ok)
"""
S_CLIENT_TLS13 = """CONNECTED(00000003)
Server Temp Key: X25519, 253 bits
---
New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384
Verify return code: 0 (ok)
"""
S_CLIENT_REFUSED = """CONNECTED(00000003)
4087F5D6E37F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version
New, (NONE), Cipher is (NONE)
SSL-Session:
    Protocol  : TLSv1.1
    Cipher    : 0000
    Verify return code: 0 (ok)
"""
X509_TEXT = """Certificate:
    Data:
        Issuer: CN = Pebble Intermediate CA 59651b
        Validity
            Not Before: Dec  3 12:58:11 2026 GMT
            Not After : Dec  3 12:58:10 2031 GMT
        Subject: CN = fedi
        Subject Public Key Info:
            Public Key Algorithm: id-ecPublicKey
                Public-Key: (384 bit)
                ASN1 OID: secp384r1
                NIST CURVE: P-384
        X509v3 extensions:
            X509v3 Subject Alternative Name: critical
                DNS:fedi, DNS:www.fedi
"""
RECORDS = """; DNS records for certificate fedi
_443._tcp.fedi. IN TLSA 3 1 1 aa11
_25._tcp.fedi. IN TLSA 3 1 1 aa11
_443._tcp.other.example. IN TLSA 3 1 1 bb22
; CAA: only this CA and this account may issue for the name; issuewild ";" lets no CA issue
fedi. IN CAA 0 issue "pebble.lab.invalid; accounturi=https://acme/my-account/1"
fedi. IN CAA 0 issuewild ";"
fedi. IN TXT "v=spf1 -all"
"""


def test_sshd_t_is_read_key_by_key_and_the_first_value_wins():
    settings = audit.parse_sshd_t(SSHD_T + "ciphers aes128-cbc\n")
    assert settings["ciphers"].startswith("chacha20")
    assert settings["permitrootlogin"] == "no"


@pytest.mark.parametrize("text", ["", "port 22\n", "Bad configuration option: x\n"])
def test_output_that_is_not_sshd_t_is_refused(text):
    with pytest.raises(ValueError, match="not sshd -T output"):
        audit.parse_sshd_t(text)


def test_ssh_facts_name_the_settings_and_no_weak_algorithm_in_the_policy():
    facts = audit.ssh_facts(audit.parse_sshd_t(SSHD_T), weak_reasons)
    assert facts["weak"] == []
    assert facts["password_authentication"] == "no"
    assert facts["permit_root_login"] == "no"
    assert facts["authentication_methods"] == "publickey"
    assert facts["kex"] == ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256"]


def test_ssh_facts_list_every_weak_algorithm_with_its_reason():
    text = SSHD_T.replace("aes128-ctr", "aes128-cbc").replace("umac-128-etm@openssh.com", "hmac-sha1") \
        .replace("rsa-sha2-512", "ssh-rsa")
    weak = audit.ssh_facts(audit.parse_sshd_t(text), weak_reasons)["weak"]
    assert "aes128-cbc (CBC mode)" in weak
    assert any(item.startswith("hmac-sha1 (SHA-1") for item in weak)
    assert any(item.startswith("ssh-rsa (") for item in weak)
    assert len(weak) == 3


def test_s_client_handshakes_are_read_on_tls12_and_tls13():
    assert audit.parse_s_client(S_CLIENT_TLS12) == {
        "connected": True, "protocol": "TLSv1.2", "cipher": "ECDHE-ECDSA-AES256-GCM-SHA384",
        "group": "X25519", "verify_code": 0, "verify_text": "ok"}
    tls13 = audit.parse_s_client(S_CLIENT_TLS13)
    assert tls13["protocol"] == "TLSv1.3" and tls13["cipher"] == "TLS_AES_256_GCM_SHA384"
    assert tls13["verify_code"] == 0


@pytest.mark.parametrize("text", [S_CLIENT_REFUSED, "", "connect: Connection refused\nconnect:errno=111\n"])
def test_a_failed_handshake_is_not_connected(text):
    assert audit.parse_s_client(text) == {"connected": False}


def test_the_group_of_openssl_3_2_and_3_5_is_read_too():
    text = S_CLIENT_TLS13.replace("Server Temp Key: X25519, 253 bits", "Negotiated TLS1.3 group: X25519MLKEM768")
    assert audit.parse_s_client(text)["group"] == "X25519MLKEM768"
    text = S_CLIENT_TLS13.replace("Server Temp Key: X25519, 253 bits", "Peer Temp Key: ECDH, prime256v1, 256 bits")
    assert audit.parse_s_client(text)["group"] == "prime256v1"


@pytest.mark.parametrize(("protocol", "suites", "weak"), [
    ("TLSv1.2", ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"], []),
    ("TLSv1.2", ["ECDHE-ECDSA-AES128-SHA", "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"],
     ["ECDHE-ECDSA-AES128-SHA", "AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"]),
    ("TLSv1.3", ["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"], []),
    ("TLSv1.3", ["TLS_AES_128_CCM_8_SHA256", "TLS_MADE_UP"], ["TLS_AES_128_CCM_8_SHA256", "TLS_MADE_UP"]),
])
def test_weak_suites_are_those_without_ecdhe_and_aead(protocol, suites, weak):
    assert audit.weak_tls_suites(protocol, suites) == weak


def test_the_leaf_is_the_first_certificate():
    text = "x\n-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n"
    assert audit.leaf_pem(text) == "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(ValueError, match="no certificate"):
        audit.leaf_pem("CONNECTED\n")


def test_x509_text_gives_key_curve_names_and_expiry():
    facts = audit.parse_x509_text(X509_TEXT)
    assert facts == {"key_type": "EC", "curve": "P-384", "bits": 384, "not_after_text": "Dec  3 12:58:10 2031 GMT",
                     "issuer": "CN = Pebble Intermediate CA 59651b", "subject": "CN = fedi", "names": ["fedi", "www.fedi"]}


def test_an_rsa_key_has_no_curve():
    text = X509_TEXT.replace("id-ecPublicKey", "rsaEncryption").replace("(384 bit)", "(2048 bit)") \
        .replace("                ASN1 OID: secp384r1\n                NIST CURVE: P-384\n", "")
    facts = audit.parse_x509_text(text)
    assert (facts["key_type"], facts["curve"], facts["bits"]) == ("RSA", None, 2048)
    with pytest.raises(ValueError, match="not openssl x509"):
        audit.parse_x509_text("unable to load certificate\n")


def test_tlsa_311_is_the_sha256_of_the_public_key():
    assert audit.tlsa_311(b"\x30\x01") == "3 1 1 " + hashlib.sha256(b"\x30\x01").hexdigest()
    for bad in (b"", "text"):
        with pytest.raises(ValueError, match="empty"):
            audit.tlsa_311(bad)


def test_records_are_read_per_name_and_type_without_comments_outside_quotes():
    assert audit.records_for(RECORDS, "TLSA", "fedi") == ["3 1 1 aa11"]
    assert audit.records_for(RECORDS, "CAA", "FEDI") == [
        '0 issue "pebble.lab.invalid; accounturi=https://acme/my-account/1"', '0 issuewild ";"']
    assert audit.records_for(RECORDS, "TLSA", "example") == []
    assert audit.records_for("", "CAA", "fedi") == []


def test_wildcard_listeners_stand_for_loopback_and_the_hosts_own_addresses():
    ss = "LISTEN 0 244 0.0.0.0:5432 0.0.0.0:*\nLISTEN 0 244 [::]:5432 [::]:*\n"
    own = audit.interface_addresses(
        "2: eth0    inet 10.89.0.146/24 brd 10.89.0.255 scope global eth0\\       valid_lft forever\n"
        "2: eth0    inet6 fd00::5/64 scope global \\       valid_lft forever\n")
    assert own == ["10.89.0.146", "fd00::5"]
    assert audit.listening_addresses(ss, own) == ["127.0.0.1", "10.89.0.146", "::1", "fd00::5"]
    assert audit.listening_addresses("LISTEN 0 244 127.0.0.1:5432 0.0.0.0:*\nLISTEN 0 244 [fe80::1%eth0]:5432 [::]:*\n") \
        == ["127.0.0.1", "fe80::1"]
    assert audit.listening_addresses("") == []


@pytest.mark.parametrize(("plain", "tls", "rc", "verdict"), [
    ('FATAL: pg_hba.conf rejects connection for host "127.0.0.1", user "a", database "b", no encryption',
     'FATAL: pg_hba.conf rejects connection for host "127.0.0.1", user "a", database "b", SSL encryption', 2,
     (True, True)),
    # A plaintext line admitted the client: it reached authentication without TLS.
    ("fe_sendauth: no password supplied", "fe_sendauth: no password supplied", 2, (False, True)),
    # The server has no TLS at all.
    ('FATAL: no pg_hba.conf entry for host "127.0.0.1", user "a", database "b", no encryption',
     "server does not support SSL, but SSL was required", 2, (True, False)),
    ("connection refused", "connection refused", 2, (False, False)),
])
def test_postgresql_verdicts(plain, tls, rc, verdict):
    assert audit.postgresql_verdict(plain, tls, rc) == verdict


def test_psql_errors_keep_the_servers_message():
    stderr = ('psql: error: connection to server at "::1", port 5432 failed: FATAL:  pg_hba.conf rejects '
              'connection for host "::1", user "x", database "y", no encryption\n')
    assert audit.psql_error(stderr) == 'FATAL: pg_hba.conf rejects connection for host "::1", user "x", database "y", no encryption'
    assert audit.psql_error("psql: error: fe_sendauth: no password supplied\n") == "fe_sendauth: no password supplied"


def test_pending_security_fixes_and_kept_back_packages():
    listing = ("Listing...\napt/oldstable-security 2.6.2 amd64 [upgradable from: 2.6.1]\n"
               "tzdata/oldstable-updates 2025b amd64 [upgradable from: 2024a]\n"
               "libssl3/bookworm-security,oldstable-security 3.0.17 amd64 [upgradable from: 3.0.16]\n")
    assert audit.upgradable_security(listing) == ["apt", "libssl3"]
    assert audit.upgradable_security("Listing...\n") == []
    simulated = ("Reading package lists...\nThe following packages have been kept back:\n  linux-image-amd64 postgresql-15\n"
                 "0 upgraded, 0 newly installed, 0 to remove and 2 not upgraded.\n")
    assert audit.kept_back(simulated) == ["linux-image-amd64", "postgresql-15"]
    assert audit.kept_back("0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n") == []


def test_drop_counters_add_up_the_deny_rules_only():
    listing = ("\t\ttcp dport 22 counter packets 9 bytes 540 accept\n"
               "\t\tcounter packets 12 bytes 720 drop\n"
               "\t\tcounter packets 3 bytes 180 reject with icmpx admin-prohibited\n")
    assert audit.nft_drop_counters(listing) == {"packets": 15, "bytes": 900}
    assert audit.nft_drop_counters("drop\n") == {"packets": 0, "bytes": 0}


def test_differing_lines_name_both_sides():
    assert audit.differing_lines("a\nb\n", "a\nc\n") == ["- b", "+ c"]
    assert audit.differing_lines("a\n", "a\n") == []
    assert len(audit.differing_lines("", "\n".join(map(str, range(50))), limit=5)) == 5


class HostVars(dict):
    pass


def test_audit_facts_take_each_hosts_result_and_mark_the_rest():
    hostvars = HostVars(
        fedi={"audit_host": {"audit": {"host": "fedi", "updates": {"pending_security": []}}}},
        db={"audit_host": {"unreachable": True, "msg": "ssh: connect to host db port 22: timed out"}},
        backup={"audit_host": {"failed": True, "msg": "sshd -T: boom"}},
        kept={"audit_host": {"failed": False, "failed_when_result": False, "msg": "timeout: at least 1 second"}},
        extra={},
    )
    facts = audit.audit_facts(["fedi", "db", "backup", "kept", "extra", "absent"], hostvars, "audit_host")
    assert facts["kept"]["firewall"] == {"error": "the probe failed: timeout: at least 1 second"}
    assert facts["fedi"] == {"host": "fedi", "updates": {"pending_security": []}}
    assert facts["db"]["web"] == {"error": "unreachable: ssh: connect to host db port 22: timed out"}
    assert facts["backup"]["updates"] == {"error": "the probe failed: sshd -T: boom"}
    assert set(facts["extra"]) == {"host", "collected", *audit.SECTIONS}
    assert facts["absent"]["ssh"]["error"].startswith("not probed")


@pytest.mark.parametrize(("hosts", "name", "message"), [
    ("fedi", "audit_host", "list of inventory names"),
    (None, "audit_host", "list of inventory names"),
    (["fedi"], "", "registered variable"),
])
def test_audit_facts_refuse_bad_arguments(hosts, name, message):
    with pytest.raises(ValueError, match=message):
        audit.audit_facts(hosts, {}, name)
