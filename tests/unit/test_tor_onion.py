"""tor_onion: onion addresses from tor's key files (plugins/module_utils/tor_onion.py)."""
from __future__ import annotations

import base64
import os

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.fedisec.hardening.plugins.filter.tor_onion import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils import tor_onion
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FILTERS = FilterModule().filters()

# RFC 8032 §7.1, tests 1-3: seed -> public key.
RFC8032 = [
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"),
]


@pytest.mark.parametrize(("seed", "public"), RFC8032)
def test_public_key_of_the_expanded_seed_matches_rfc8032(seed, public):
    expanded = tor_onion.expand_seed(bytes.fromhex(seed))
    assert tor_onion.public_key_from_expanded(expanded).hex() == public


def test_public_key_matches_an_independent_implementation():
    for _ in range(5):
        seed = os.urandom(32)
        reference = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        assert tor_onion.public_key_from_expanded(tor_onion.expand_seed(seed)) == reference


def test_address_layout_and_round_trip():
    public = bytes.fromhex(RFC8032[0][1])
    address = tor_onion.address_from_public_key(public)
    assert tor_onion.ADDRESS_RE.match(address)
    assert tor_onion.public_key_from_address(address) == public
    # The version byte 0x03 ends the 35 bytes: the last base32 letter of a v3 address is 'd'.
    assert address[55] == "d"


def test_secret_key_file_round_trip_and_filter():
    expanded = tor_onion.expand_seed(bytes.fromhex(RFC8032[1][0]))
    data = tor_onion.secret_key_file(expanded)
    assert len(data) == 96 and data.startswith(b"== ed25519v1-secret: type0 ==\0\0\0")
    expected = tor_onion.address_from_public_key(bytes.fromhex(RFC8032[1][1]))
    assert tor_onion.address_from_secret_key_file(data) == expected
    assert FILTERS["onion_address_from_secret_key"](base64.b64encode(data).decode()) == expected


@pytest.mark.parametrize("address", [
    "",
    "example.org",
    "a" * 56 + ".onion",                       # checksum wrong
    "A" * 56 + ".onion",                       # upper case
    "1" * 56 + ".onion",                       # not base32
    "abcdefghijklmnop.onion",                  # a retired v2 address
    None,
    42,
])
def test_bad_addresses_are_refused(address):
    assert FILTERS["onion_address_valid"](address) is False
    with pytest.raises(ValueError):
        tor_onion.public_key_from_address(address)


def test_wrong_version_is_refused():
    public = bytes.fromhex(RFC8032[0][1])
    raw = bytearray(base64.b32decode(tor_onion.address_from_public_key(public)[:56].upper()))
    raw[34] = 2
    forged = base64.b32encode(bytes(raw)).decode().lower() + ".onion"
    with pytest.raises(ValueError, match="checksum or version"):
        tor_onion.public_key_from_address(forged)


@pytest.mark.parametrize(("value", "message"), [
    ("not base64!", "not base64"),
    (base64.b64encode(b"\0" * 96).decode(), "not a tor v3 onion service secret key file"),
    (base64.b64encode(tor_onion.PUBLIC_HEADER + b"\1" * 32).decode(), "not a tor v3 onion service secret key file"),
    (base64.b64encode(tor_onion.SECRET_HEADER + b"\0" * 64).decode(), "scalar is zero"),
])
def test_bad_key_files_fail_with_a_named_cause(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS["onion_address_from_secret_key"](value)


@pytest.mark.parametrize("bad", [b"", b"\1" * 31, "x" * 32, None])
def test_bad_lengths_are_refused(bad):
    with pytest.raises(ValueError):
        tor_onion.expand_seed(bad)
    with pytest.raises(ValueError):
        tor_onion.address_from_public_key(bad)
