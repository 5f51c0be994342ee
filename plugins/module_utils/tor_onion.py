"""Tor v3 onion service keys and addresses (rend-spec-v3 §6, tor's ``hs_ed25519_*`` key files).

An onion address is ``base32(PUBKEY | CHECKSUM | VERSION) + ".onion"`` where
``CHECKSUM = SHA3-256(".onion checksum" | PUBKEY | VERSION)[:2]`` and ``VERSION = 0x03``.
Tor stores the service's identity as ``hs_ed25519_secret_key``: a 32-byte header and the
64-byte *expanded* Ed25519 secret key (the clamped scalar, then the nonce prefix), so the
public key is the scalar times the base point (RFC 8032 §5.1.5) and not a hash of a seed.

Used to check that the address a host serves belongs to the key it was given (a migrated
or restored service key), and by the lab tests. Pure functions, no Ansible dependency; bad
input raises ValueError naming what was wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

SECRET_HEADER = b"== ed25519v1-secret: type0 ==\x00\x00\x00"
PUBLIC_HEADER = b"== ed25519v1-public: type0 ==\x00\x00\x00"
VERSION = b"\x03"
ADDRESS_RE = re.compile(r"^[a-z2-7]{56}\.onion$")

# Ed25519 (RFC 8032 §5.1): twisted Edwards curve over GF(2^255 - 19).
_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P
_GY = 4 * pow(5, _P - 2, _P) % _P
_GX_SQ = (_GY * _GY - 1) * pow(_D * _GY * _GY + 1, _P - 2, _P) % _P


def _recover_x(y_sq_num: int) -> int:
    x = pow(y_sq_num, (_P + 3) // 8, _P)
    if (x * x - y_sq_num) % _P:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    return _P - x if x & 1 else x


_G = (_recover_x(_GX_SQ), _GY, 1, _recover_x(_GX_SQ) * _GY % _P)


def _add(p: tuple[int, int, int, int], q: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Point addition in extended coordinates (RFC 8032 §5.1.4)."""
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _scalar_mult(scalar: int, point: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    result = (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    return result


def _encode_point(point: tuple[int, int, int, int]) -> bytes:
    z_inv = pow(point[2], _P - 2, _P)
    x, y = point[0] * z_inv % _P, point[1] * z_inv % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def public_key_from_expanded(expanded: bytes) -> bytes:
    """The 32-byte Ed25519 public key of a 64-byte expanded secret key (scalar | prefix)."""
    if not isinstance(expanded, (bytes, bytearray)) or len(expanded) != 64:
        raise ValueError("an expanded Ed25519 secret key has 64 bytes")
    scalar = int.from_bytes(expanded[:32], "little")
    if scalar % _L == 0:
        raise ValueError("the Ed25519 secret scalar is zero")
    return _encode_point(_scalar_mult(scalar, _G))


def expand_seed(seed: bytes) -> bytes:
    """The expanded secret key that tor stores for a 32-byte Ed25519 seed (RFC 8032 §5.1.5)."""
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
        raise ValueError("an Ed25519 seed has 32 bytes")
    digest = bytearray(hashlib.sha512(seed).digest())
    digest[0] &= 248
    digest[31] &= 127
    digest[31] |= 64
    return bytes(digest)


def secret_key_file(expanded: bytes) -> bytes:
    """The bytes of tor's ``hs_ed25519_secret_key`` file for an expanded secret key."""
    public_key_from_expanded(expanded)
    return SECRET_HEADER + bytes(expanded)


def parse_secret_key_file(data: bytes) -> bytes:
    """The expanded secret key held in tor's ``hs_ed25519_secret_key`` file."""
    if not isinstance(data, (bytes, bytearray)) or len(data) != 96 or not data.startswith(SECRET_HEADER):
        raise ValueError("not a tor v3 onion service secret key file (96 bytes starting with "
                         "'== ed25519v1-secret: type0 ==')")
    return bytes(data[32:])


def address_from_public_key(public_key: bytes) -> str:
    """The v3 onion address (56 base32 letters + ``.onion``) of a 32-byte public key."""
    if not isinstance(public_key, (bytes, bytearray)) or len(public_key) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    checksum = hashlib.sha3_256(b".onion checksum" + bytes(public_key) + VERSION).digest()[:2]
    return base64.b32encode(bytes(public_key) + checksum + VERSION).decode().lower() + ".onion"


def public_key_from_address(address: str) -> bytes:
    """The public key of a v3 onion address; the checksum and version must match."""
    if not isinstance(address, str) or not ADDRESS_RE.match(address):
        raise ValueError(f"not a v3 onion address (56 letters a-z and digits 2-7, then .onion): {address!r}")
    raw = base64.b32decode(address[:56].upper())
    public_key, version = raw[:32], raw[34:]
    if version != VERSION or address_from_public_key(public_key) != address:
        raise ValueError(f"the checksum or version of onion address {address!r} is wrong")
    return public_key


def address_from_secret_key_file(data: bytes) -> str:
    """The onion address that a tor ``hs_ed25519_secret_key`` file serves."""
    return address_from_public_key(public_key_from_expanded(parse_secret_key_file(data)))


def address_from_secret_key_b64(value: str, what: str = "the onion service secret key") -> str:
    """Like address_from_secret_key_file, for the base64 text of the file (as ``slurp`` returns it)."""
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise ValueError(f"{what}: not base64 ({exc})") from exc
    try:
        return address_from_secret_key_file(data)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from exc
