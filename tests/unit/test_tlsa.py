"""Tests for the TLSA helpers in module_utils/tlsa.py."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.fedisec.hardening.plugins.module_utils.tlsa import spki_der, tlsa_3_1_1

# Generated with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`
# and `openssl req -x509 -new -key key.pem -subj /CN=kat.example.org`.
KAT_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJaad3sXpHfV/1dIi
v+vs1ukCrhmrscsBt97HpAYqRPahRANCAATCCikbOb8JT+WbRtNkpjckS22fDgXQ
/iZaHsp4wWr6r5G12I1CyFPgRFoRUk9x2c++qiWTB9agLvSE9SOISKJq
-----END PRIVATE KEY-----
"""
KAT_CERT = """\
-----BEGIN CERTIFICATE-----
MIIBiTCCAS+gAwIBAgIUcinIS9sc94blwzAVrjXHo6oi2zgwCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPa2F0LmV4YW1wbGUub3JnMB4XDTI2MTEyMzE0MTkzNFoXDTM2
MTEyMDE0MTkzNFowGjEYMBYGA1UEAwwPa2F0LmV4YW1wbGUub3JnMFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEwgopGzm/CU/lm0bTZKY3JEttnw4F0P4mWh7KeMFq
+q+RtdiNQshT4ERaEVJPcdnPvqolkwfWoC70hPUjiEiiaqNTMFEwHQYDVR0OBBYE
FHFEODVNQBInixY45jBn9BlfKQUnMB8GA1UdIwQYMBaAFHFEODVNQBInixY45jBn
9BlfKQUnMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgYvu/bw4b
bxHtwPKl4YtBz2AUHuHlIBaLo3Yu6ulmSjMCIQCul5fDX0c7Nxlvpuc/qAy9UhYt
Ee/dvbbVPKZBRASwGw==
-----END CERTIFICATE-----
"""
KAT_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwgopGzm/CU/lm0bTZKY3JEttnw4F
0P4mWh7KeMFq+q+RtdiNQshT4ERaEVJPcdnPvqolkwfWoC70hPUjiEiiag==
-----END PUBLIC KEY-----
"""
# `openssl pkey -in key.pem -pubout -outform DER | sha256sum`
KAT_TLSA = "728812314f16aeac9ef84cddbccf83cc7866f1ad34f8d6ad894916e0dae0d96a"


def _pem_private(key, fmt=serialization.PrivateFormat.PKCS8, encryption=None) -> bytes:
    """Serialise ``key`` as PEM, unencrypted unless ``encryption`` is given."""
    return key.private_bytes(
        serialization.Encoding.PEM, fmt, encryption or serialization.NoEncryption()
    )


def _pem_public(key) -> bytes:
    """Serialise the public half of ``key`` as a PEM SubjectPublicKeyInfo."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _self_signed(key) -> bytes:
    """Return a PEM self-signed certificate for ``key``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test.example.org")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA384())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def p384_key():
    """A fresh EC P-384 private key."""
    return ec.generate_private_key(ec.SECP384R1())


def test_cert_key_and_public_key_agree(p384_key):
    expected = hashlib.sha256(
        p384_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).hexdigest()
    from_cert = tlsa_3_1_1(_self_signed(p384_key))
    from_key = tlsa_3_1_1(_pem_private(p384_key))
    from_public = tlsa_3_1_1(_pem_public(p384_key))
    assert from_cert == from_key == from_public == expected


@pytest.mark.parametrize("pem", [KAT_KEY, KAT_CERT, KAT_PUBLIC_KEY])
def test_known_answer(pem):
    assert tlsa_3_1_1(pem) == KAT_TLSA
    assert tlsa_3_1_1(pem.encode()) == KAT_TLSA


def test_spki_der_is_der_subject_public_key_info():
    der = spki_der(KAT_CERT)
    assert der[0] == 0x30
    assert (
        serialization.load_der_public_key(der).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == KAT_PUBLIC_KEY.encode()
    )


def test_traditional_openssl_formats(p384_key):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    assert tlsa_3_1_1(_pem_private(rsa_key, traditional)) == tlsa_3_1_1(_pem_public(rsa_key))
    assert tlsa_3_1_1(_pem_private(p384_key, traditional)) == tlsa_3_1_1(_pem_public(p384_key))


def test_pkcs1_rsa_public_key():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pkcs1 = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    assert b"BEGIN RSA PUBLIC KEY" in pkcs1
    assert tlsa_3_1_1(pkcs1) == tlsa_3_1_1(_pem_public(rsa_key))


def test_ed25519_key():
    key = ed25519.Ed25519PrivateKey.generate()
    assert tlsa_3_1_1(_pem_private(key)) == tlsa_3_1_1(_pem_public(key))


def test_first_block_wins_and_ec_parameters_are_skipped(p384_key):
    ec_parameters = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    assert tlsa_3_1_1(ec_parameters + KAT_KEY) == KAT_TLSA
    assert tlsa_3_1_1(KAT_CERT + _self_signed(p384_key).decode()) == KAT_TLSA


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        (b"", "empty"),
        ("garbage", "no PEM certificate"),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n",
            "no PEM certificate",
        ),
        (
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
            "cannot parse PEM certificate",
        ),
        (KAT_KEY.replace("MIGHAgEA", "MIGHAgEB"), "cannot parse PEM private key"),
        (KAT_CERT.replace("-----END CERTIFICATE-----", ""), "no PEM certificate"),
        ("caf\u00e9", "non-ASCII"),
        (None, "must be str or bytes"),
        (42, "must be str or bytes"),
    ],
)
def test_bad_input(pem, message):
    with pytest.raises(ValueError, match=message):
        tlsa_3_1_1(pem)


@pytest.mark.parametrize(
    "fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL]
)
def test_encrypted_key_rejected(p384_key, fmt):
    pem = _pem_private(p384_key, fmt, serialization.BestAvailableEncryption(b"secret"))
    with pytest.raises(ValueError, match="encrypted private keys are not supported"):
        spki_der(pem)


def test_unsupported_key_type_rejected():
    key = dsa.generate_private_key(key_size=2048)
    with pytest.raises(ValueError, match="unsupported key type"):
        spki_der(_pem_public(key))
