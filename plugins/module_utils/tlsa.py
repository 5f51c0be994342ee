"""DANE TLSA and CAA record helpers.

Pure functions with no Ansible dependency, so they can be imported both as
``ansible_collections.fedisec.hardening.plugins.module_utils.tlsa`` and from a
standalone script.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_CERT_LABELS = frozenset({b"CERTIFICATE"})
_PUBLIC_LABELS = frozenset({b"PUBLIC KEY", b"RSA PUBLIC KEY"})
_PRIVATE_LABELS = frozenset({b"PRIVATE KEY", b"EC PRIVATE KEY", b"RSA PRIVATE KEY"})
_ENCRYPTED_LABELS = frozenset({b"ENCRYPTED PRIVATE KEY"})
_ENCRYPTED_MESSAGE = "encrypted private keys are not supported; decrypt the key first"
_KEY_TYPES = (
    rsa.RSAPublicKey,
    ec.EllipticCurvePublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
)

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_CAA_TAGS = frozenset({"issue", "issuewild"})
_VALIDATION_METHODS = frozenset({"http-01", "dns-01", "tls-alpn-01"})
# RFC 8659 parameter values are printable ASCII without ";" or space; '"' (0x22)
# and "\\" (0x5c) are excluded as well because the value sits inside a zone-file
# string.
_PARAM_VALUE = re.compile(r"[\x21\x23-\x3a\x3c-\x5b\x5d-\x7e]+")


def _as_bytes(pem: str | bytes) -> bytes:
    """Return ``pem`` as ASCII bytes, rejecting other types and non-ASCII text."""
    if isinstance(pem, bytes):
        return pem
    if isinstance(pem, str):
        try:
            return pem.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("PEM input contains non-ASCII characters") from None
    raise ValueError(f"PEM input must be str or bytes, got {type(pem).__name__}")


def _first_supported_block(data: bytes) -> tuple[bytes, bytes]:
    """Return ``(label, block)`` of the first certificate or key PEM block.

    Other blocks (e.g. ``EC PARAMETERS`` written by ``openssl ecparam``) are
    skipped; an encrypted private key is an error.
    """
    for match in _PEM_BLOCK.finditer(data):
        label = match.group(1)
        if label in _ENCRYPTED_LABELS:
            raise ValueError(_ENCRYPTED_MESSAGE)
        if label in _CERT_LABELS | _PUBLIC_LABELS | _PRIVATE_LABELS:
            return label, match.group(0)
    raise ValueError("no PEM certificate, public key or private key found in input")


def _load_public_key(label: bytes, block: bytes) -> PublicKeyTypes:
    """Load the public key carried by one PEM block."""
    if label in _CERT_LABELS:
        return x509.load_pem_x509_certificate(block).public_key()
    if label in _PUBLIC_LABELS:
        return serialization.load_pem_public_key(block)
    return serialization.load_pem_private_key(block, password=None).public_key()


def spki_der(pem: str | bytes) -> bytes:
    """Return the DER SubjectPublicKeyInfo of a PEM certificate or key.

    ``pem`` may be a certificate, a public key, or an unencrypted private key
    (RSA, EC, Ed25519 or Ed448). When several PEM blocks are present (e.g. a
    full chain), the first certificate or key is used.
    """
    data = _as_bytes(pem).strip()
    if not data:
        raise ValueError("PEM input is empty")
    label, block = _first_supported_block(data)
    kind = label.decode("ascii").lower()
    try:
        key = _load_public_key(label, block)
    except TypeError:
        raise ValueError(_ENCRYPTED_MESSAGE) from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"cannot parse PEM {kind}: {exc}") from None
    if not isinstance(key, _KEY_TYPES):
        raise ValueError(f"unsupported key type in PEM {kind}: {type(key).__name__}")
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def tlsa_3_1_1(pem: str | bytes) -> str:
    """Return the TLSA 3 1 1 (DANE-EE, SPKI, SHA-256) value as lowercase hex."""
    return hashlib.sha256(spki_der(pem)).hexdigest()


def _hostname(value: object, argument: str) -> str:
    """Validate a DNS hostname and return it lowercased, without trailing dot."""
    if not isinstance(value, str):
        raise ValueError(f"{argument} must be a string, got {type(value).__name__}")
    name = value.lower().removesuffix(".")
    if not name:
        raise ValueError(f"{argument} must not be empty")
    if len(name) > 253:
        raise ValueError(f"{argument} {value!r} is longer than 253 characters")
    for label in name.split("."):
        if not _LABEL.fullmatch(label):
            raise ValueError(
                f"{argument} {value!r} has invalid label {label!r}: labels are 1-63 "
                "characters of a-z, 0-9 and '-', not starting or ending with '-'"
            )
    return name


def _account_uri_param(account_uri: object) -> str:
    """Return the ``accounturi=`` parameter for a validated ACME account URI."""
    if not isinstance(account_uri, str) or not account_uri.startswith("https://"):
        raise ValueError(
            f"account_uri must be a string starting with https://, got {account_uri!r}"
        )
    if not urlsplit(account_uri).netloc or not _PARAM_VALUE.fullmatch(account_uri):
        raise ValueError(
            f"account_uri {account_uri!r} is invalid: it needs a host and must be printable "
            "ASCII without spaces, ';', '\"' or '\\'"
        )
    return f"accounturi={account_uri}"


def _validation_methods_params(methods: object) -> list[str]:
    """Return the ``validationmethods=`` parameter (none for an empty list)."""
    if not isinstance(methods, (list, tuple)):
        raise ValueError(f"validation_methods must be a list, got {type(methods).__name__}")
    unknown = [m for m in methods if not isinstance(m, str) or m not in _VALIDATION_METHODS]
    if unknown:
        allowed = ", ".join(sorted(_VALIDATION_METHODS))
        raise ValueError(f"validation_methods has unknown entries {unknown!r}; allowed: {allowed}")
    return ["validationmethods=" + ",".join(methods)] if methods else []


def _wildcard_requested(domain: str, names: object) -> bool:
    """Return whether ``names`` (the certificate's names) holds ``*.<domain>``."""
    if not isinstance(names, (list, tuple)):
        raise ValueError(f"names must be a list of domain names, got {type(names).__name__}")
    wildcards = []
    for name in names:
        if isinstance(name, str) and name.startswith("*."):
            wildcards.append(_hostname(name[2:], "names entry"))
        else:
            _hostname(name, "names entry")
    return domain in wildcards


def caa_record(
    domain: str,
    issuer: str = "letsencrypt.org",
    account_uri: str | None = None,
    validation_methods: list[str] | None = None,
    tag: str = "issue",
    names: list[str] | None = None,
) -> str:
    """Return a zone-file CAA record restricting issuance to ``issuer``.

    ``account_uri`` adds an RFC 8657 ``accounturi`` parameter and
    ``validation_methods`` a ``validationmethods`` parameter (an empty list is
    treated like ``None``). Names are lowercased; ``domain`` gets a trailing dot.

    ``names``, the names the certificate is requested for (wildcards as
    ``*.example.org``), goes with ``tag="issuewild"``: unless it holds
    ``*.<domain>``, the record is ``issuewild ";"``, which lets no CA issue a
    wildcard certificate for ``domain`` (RFC 8659). A wildcard ``*.sub.example.org``
    is governed by the records of ``sub.example.org``.
    """
    owner = _hostname(domain, "domain")
    value = [_hostname(issuer, "issuer")]
    if not isinstance(tag, str) or tag not in _CAA_TAGS:
        raise ValueError(f"tag must be one of issue, issuewild, got {tag!r}")
    if account_uri is not None:
        value.append(_account_uri_param(account_uri))
    if validation_methods is not None:
        value.extend(_validation_methods_params(validation_methods))
    if names is not None:
        if tag != "issuewild":
            raise ValueError(f"names goes with tag issuewild, got tag {tag!r}")
        if not _wildcard_requested(owner, names):
            value = [";"]
    return f'{owner}. IN CAA 0 {tag} "{";".join(value)}"'
