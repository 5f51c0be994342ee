"""Unit tests for the ssh_hardening host probe (roles/ssh_hardening/files/sshd-state.py):
RSA key sizes, weak DH moduli and the key types of authorized_keys, bad input included."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

SOURCE = Path(__file__).resolve().parents[2] / "roles" / "ssh_hardening" / "files" / "sshd-state.py"
spec = importlib.util.spec_from_file_location("sshd_state", SOURCE)
state = importlib.util.module_from_spec(spec)
spec.loader.exec_module(state)


def openssh_public(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture(scope="module")
def rsa_2048():
    return openssh_public(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def rsa_3072():
    return openssh_public(rsa.generate_private_key(public_exponent=65537, key_size=3072))


@pytest.fixture(scope="module")
def ed():
    return openssh_public(ed25519.Ed25519PrivateKey.generate())


def test_rsa_host_key_size(tmp_path, rsa_2048, rsa_3072):
    small, big = tmp_path / "small.pub", tmp_path / "big.pub"
    small.write_text(rsa_2048 + " root@host\n")
    big.write_text(rsa_3072 + "\n")
    assert state.public_key_bits(str(small)) == 2048
    assert state.public_key_bits(str(big)) == 3072


@pytest.mark.parametrize("content", [None, "", "not a key\n", "ssh-rsa AAAAnotbase64!!\n", "ssh-rsa AAAAB3NzaC1yc2E=\n"])
def test_missing_or_broken_rsa_host_key_counts_as_zero_bits(tmp_path, content):
    # Zero bits makes the role regenerate the key: a broken file must never pass as strong.
    path = tmp_path / "ssh_host_rsa_key.pub"
    if content is not None:
        path.write_text(content)
    assert state.public_key_bits(str(path)) == 0


def test_a_non_rsa_key_has_no_rsa_size(tmp_path, ed):
    path = tmp_path / "ed.pub"
    path.write_text(ed + "\n")
    assert state.public_key_bits(str(path)) == 0


def test_weak_moduli_are_counted_by_modulus_length():
    lines = [
        "# Time Type Tests Tries Size Generator Modulus",
        "20230101000000 2 6 100 2047 2 C0FFEE",      # 2048-bit: weak
        "20230101000000 2 6 100 3071 5 C0FFEE",      # 3072-bit: kept
        "20230101000000 2 6 100 8191 2 C0FFEE",      # 8192-bit: kept
        "20230101000000 2 6 100 1535 2 C0FFEE",      # 1536-bit: weak
        "20230101000000 2 6 100 abc 2 C0FFEE",       # not a number: 0, weak (the awk filter drops it)
        "short line",
        "",
    ]
    assert state.weak_moduli(lines, 3072) == 3
    assert state.weak_moduli(lines, 8192) == 4
    assert state.weak_moduli(lines, 1024) == 1


def test_key_types_of_an_account(tmp_path, rsa_2048, rsa_3072, ed):
    ssh_dir = tmp_path / ".ssh"
    ssh_dir.mkdir()
    (ssh_dir / "authorized_keys").write_text(
        "# a comment with ssh-ed25519 AAAAC3Nza in it\n"
        f'from="192.0.2.0/24",no-pty {ed} admin@laptop\n'
        f"{rsa_2048} old@laptop\n"
        "\n"
        "garbage line\n"
    )
    (ssh_dir / "authorized_keys2").write_text(f"{rsa_3072}\n")
    assert state.key_types(str(tmp_path)) == ["ssh-ed25519", "ssh-rsa", "ssh-rsa:2048-bit"]


def test_an_account_without_keys_has_no_key_types(tmp_path):
    assert state.key_types(str(tmp_path)) == []
