"""The admins' accounts (plugins/module_utils/ssh_admins.py): entries, keys, the policy they
must pass, and the account Ansible itself connects as."""
import base64
import struct

import pytest

from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_admins import (
    key_type,
    ssh_admin_entries,
    ssh_admin_problems,
)

HASH = "$y$j9T$abcdefghijklmnopqrstuv$ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq"
POLICY = {"allow_groups": ["ssh-users"], "permit_root_login": "no",
          "pubkey_algorithms": ["sk-ssh-ed25519@openssh.com", "ssh-ed25519", "rsa-sha2-512"],
          "hardware_key_groups": ["hw-keys"], "totp_groups": ["totp"]}


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def key(kind: str = "ssh-ed25519", bits: int = 0, comment: str = "alice@laptop", body: bytes = b"\x01" * 32) -> str:
    if kind == "ssh-rsa":
        n = (1 << (bits - 1)) | 1
        blob = _string(b"ssh-rsa") + _string(b"\x01\x00\x01") + _string(b"\x00" + n.to_bytes(bits // 8, "big"))
    elif kind.startswith("sk-"):
        blob = _string(kind.encode()) + _string(body) + _string(b"ssh:")
    else:
        blob = _string(kind.encode()) + _string(body)
    return f"{kind} {base64.b64encode(blob).decode()}" + (f" {comment}" if comment else "")


def admin(**change):
    entry = {"name": "alice", "keys": [key()], "groups": ["ssh-users"], "password_hash": HASH}
    entry.update(change)
    return {k: v for k, v in entry.items() if v is not KeyError}


def test_a_complete_admin_passes():
    assert ssh_admin_problems([admin()], POLICY) == []
    assert ssh_admin_problems([admin(password_hash=KeyError)], POLICY, "nopasswd") == []
    assert ssh_admin_problems([admin(password_hash=KeyError, sudo="nopasswd")], POLICY, "password") == []
    assert ssh_admin_problems([], POLICY) == []


@pytest.mark.parametrize("line, expected", [
    (key(), ("ssh-ed25519", None)),
    (key(comment=""), ("ssh-ed25519", None)),
    (key("ssh-rsa", 3072), ("ssh-rsa", None)),
    (key("ssh-rsa", 2048), ("ssh-rsa:2048-bit", None)),
    (key("sk-ssh-ed25519@openssh.com"), ("sk-ssh-ed25519@openssh.com", None)),
    ('from="192.0.2.10,2001:db8::/32,*.example.org" ' + key(), ("ssh-ed25519", None)),
])
def test_key_types_are_read_from_the_line(line, expected):
    assert key_type(line) == expected


@pytest.mark.parametrize("line, why", [
    (42, "must be a string"),
    ("", "is not one OpenSSH public key"),
    ('command="/bin/sh" ' + key(), "is not one OpenSSH public key"),
    ('from="10.0.0.1",command="/bin/sh" ' + key(), "is not one OpenSSH public key"),
    ('from="10.0.0.1"x" ' + key(), "is not one OpenSSH public key"),
    ('from="10.0.0.1\\\\" ' + key(), "is not one OpenSSH public key"),
    ('from="10.0.0.1 x" ' + key(), "is not one OpenSSH public key"),
    (key() + "\n" + key(), "is not one OpenSSH public key"),
    (key().replace("ssh-ed25519", "ssh-dss", 1), "has the key type 'ssh-dss'"),
    ("ssh-ed25519 AAAA!!!!", "is not one OpenSSH public key"),
    ("ssh-ed25519 AAAAC3Nz", "does not decode"),
    ("ssh-ed25519 " + key().split()[1][:-8], "does not decode"),
    ("ssh-ed25519 " + key("ecdsa-sha2-nistp256").split()[1], "is not of its type 'ssh-ed25519'"),
])
def test_a_bad_key_line_says_why(line, why):
    kind, reason = key_type(line)
    assert kind is None and why in reason


@pytest.mark.parametrize("entries, expected", [
    ("alice", "ssh_hardening_admins must be a list"),
    (["alice"], "ssh_hardening_admins[0] must be a dict with name and keys"),
    ([admin(name="Alice Smith")], "ssh_hardening_admins[0].name must be an account name"),
    ([admin(name=None)], "ssh_hardening_admins[0].name must be an account name"),
    ([admin(name="root")], "root is not an admin account"),
    ([admin(), admin()], "ssh_hardening_admins[1] (alice): listed more than once"),
    ([admin(shell="/bin/zsh")], "unknown keys shell"),
    ([admin(state="disabled")], "state must be one of present, absent"),
    ([admin(groups="ssh-users")], "groups must be a list of group names"),
    ([admin(groups=["ssh users"])], "groups must be a list of group names"),
    ([admin(keys=[])], "keys must list one or more public keys"),
    ([admin(keys=key())], "keys must list one or more public keys"),
    ([admin(keys=[key(), "nonsense"])], "ssh_hardening_admins[0] (alice).keys[1] is not one OpenSSH public key"),
    ([admin(password_hash="$1$abc$abcdefghijklmnopqrstuvwxyz")], "password_hash is not a yescrypt"),
    ([admin(password_hash="secret")], "password_hash is not a yescrypt"),
    ([admin(password_hash=KeyError)], "password_hash is required while its sudo is 'password'"),
    ([admin(password_hash=KeyError, sudo="password")], "password_hash is required while its sudo is 'password'"),
    ([admin(sudo="sometimes")], "sudo must be one of password, nopasswd"),
    ([admin(groups=[])], "could not log in: none of its groups (alice) matches ssh_hardening_allow_groups"),
    ([admin(keys=[key("ssh-rsa", 2048)])], "could not log in: none of its key types (ssh-rsa:2048-bit) is accepted"),
    ([admin(groups=["ssh-users", "hw-keys"])], "only allows FIDO2 (sk-*) keys"),
    ([admin(groups=["ssh-users", "totp"])], "needs a TOTP code"),
])
def test_a_bad_entry_is_named_with_why(entries, expected):
    problems = ssh_admin_problems(entries, POLICY)
    assert any(expected in line for line in problems), problems


def test_a_hardware_key_admin_with_a_fido2_key_passes():
    entry = admin(groups=["ssh-users", "hw-keys"], keys=[key("sk-ssh-ed25519@openssh.com")])
    assert ssh_admin_problems([entry], POLICY) == []


def test_a_removed_admin_needs_no_keys_and_no_password():
    assert ssh_admin_problems([admin(state="absent", keys=KeyError, password_hash=KeyError)], POLICY) == []


def test_a_password_hash_is_never_shown():
    secret_hash = "$6$saltsalt$" + "x" * 20 + ":oops"
    problems = ssh_admin_problems([admin(password_hash=secret_hash)], POLICY)
    assert problems and not any(secret_hash in line or "oops" in line for line in problems)


def test_the_sudo_mode_is_checked():
    assert ssh_admin_problems([admin()], POLICY, "yes") == [
        "ssh_hardening_admin_sudo must be one of password, nopasswd, got 'yes'"]


def test_the_account_ansible_connects_as_keeps_one_of_its_keys():
    old, new = key(body=b"\x02" * 32, comment="old"), key(body=b"\x03" * 32, comment="new")
    # Replacing every key of the connection's account in one run: refused.
    problems = ssh_admin_problems([admin(keys=[new])], POLICY, "password", "alice", old + "\n")
    assert len(problems) == 1 and "is the account Ansible connects as" in problems[0]
    # Keeping the old key next to the new one (comment changed): fine; another account: fine.
    assert ssh_admin_problems([admin(keys=[old.replace(" old", " renamed"), new])], POLICY, "password", "alice",
                              "# keys\n" + old + "\n") == []
    assert ssh_admin_problems([admin(keys=[new])], POLICY, "password", "bob", old) == []
    # An account with no key file yet cannot lose its login by this run.
    assert ssh_admin_problems([admin(keys=[new])], POLICY, "password", "alice", "") == []


def test_the_account_ansible_connects_as_is_not_removed():
    problems = ssh_admin_problems([admin(state="absent")], POLICY, "password", "alice", key())
    assert problems == ["ssh_hardening_admins[0] (alice) is the account Ansible connects as: removing it would"
                        " cut this run (connect as another admin first)"]


def test_bad_policy_or_login_arguments_fail_clearly():
    with pytest.raises(ValueError, match="pubkey_algorithms"):
        ssh_admin_problems([admin()], {"permit_root_login": "no"})
    with pytest.raises(ValueError, match="login_user and login_keys must be strings"):
        ssh_admin_problems([admin()], POLICY, "password", None, "")


def test_entries_get_their_defaults():
    assert ssh_admin_entries([{"name": "alice", "keys": ["k"]}], "nopasswd") == [
        {"name": "alice", "keys": ["k"], "groups": [], "password_hash": None, "state": "present", "sudo": "nopasswd"}]
    assert ssh_admin_entries([{"name": "bot", "keys": ["k"], "sudo": "password"}], "nopasswd")[0]["sudo"] == "password"
    assert ssh_admin_entries([]) == []
    with pytest.raises(ValueError, match="ssh_hardening_admins"):
        ssh_admin_entries("alice")
    with pytest.raises(ValueError, match="ssh_hardening_admins"):
        ssh_admin_entries(["alice"])
