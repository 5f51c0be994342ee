"""ecdsa_cert: a P-384 certificate from the lab's Pebble, served by nginx, renewed by a timer."""
import json

CERT_DIR = "/etc/fedisec/certs/fedi"
PY_CERT_INFO = """python3 - <<'EOF'
import hashlib, json
from cryptography import x509
from cryptography.hazmat.primitives import serialization as s
cert = x509.load_pem_x509_certificate(open("%s/cert.pem", "rb").read())
key = s.load_pem_private_key(open("%s/privkey.pem", "rb").read(), None)
spki = lambda k: k.public_bytes(s.Encoding.DER, s.PublicFormat.SubjectPublicKeyInfo)
print(json.dumps({
    "curve": cert.public_key().curve.name,
    "issuer": cert.issuer.rfc4514_string(),
    "serial": format(cert.serial_number, "x"),
    "matches_key": spki(cert.public_key()) == spki(key.public_key()),
    "tlsa": hashlib.sha256(spki(key.public_key())).hexdigest(),
    "pubkey": cert.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode(),
}))
EOF""" % (CERT_DIR, CERT_DIR)


def cert_info(lab):
    return json.loads(lab.host("fedi").check_output(PY_CERT_INFO))


def test_certificate_is_ecdsa_p384_from_pebble(lab):
    info = cert_info(lab)
    assert info["curve"] == "secp384r1"
    assert "Pebble Intermediate CA" in info["issuer"]
    assert info["matches_key"]


def test_private_keys_are_root_only(lab):
    fedi = lab.host("fedi")
    for path in (f"{CERT_DIR}/privkey.pem", "/etc/nginx/tls/fedi/privkey.pem", "/etc/fedisec/acme/account.key"):
        key = fedi.file(path)
        assert (key.user, key.group, key.mode) == ("root", "root", 0o600), path


def test_nginx_serves_the_certificate_on_disk(lab):
    info = cert_info(lab)
    served = lab.served_certificate("backup", "fedi")
    assert served["serial"] == info["serial"].lstrip("0")
    assert served["pubkey"] == info["pubkey"].strip()


def test_client_trusting_the_lab_root_verifies_the_chain(lab):
    assert lab.host("backup").run("curl -sS --max-time 10 -o /dev/null https://fedi/").rc == 0


def test_renewal_timer_is_active(lab):
    fedi = lab.host("fedi")
    assert fedi.service("fedisec-acme-renew.timer").is_enabled
    assert fedi.service("fedisec-acme-renew.timer").is_running


def test_dns_records_pin_the_key(lab):
    info = cert_info(lab)
    records = lab.host("fedi").file("/etc/fedisec/dns-records/ecdsa_cert-fedi.txt").content_string
    assert f"_443._tcp.fedi. IN TLSA 3 1 1 {info['tlsa']}" in records
    assert 'fedi. IN CAA 0 issue "pebble.lab.invalid;accounturi=https://acme:14000/my-account/' in records
