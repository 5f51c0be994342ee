"""SSH on fedi, tested from backup (the outside peer) with keys and passwords made at run time."""
import base64
import hashlib
import hmac
import os
import shlex
import struct
import time
from pathlib import Path

import pytest
from lab import SSH_OPTS

SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"


def password_attempt(lab, user, method):
    """Logs in as `user` with the account's real password over `method`; returns the result."""
    password = (SECRETS / f"unix-{user}").read_text().strip()
    options = (f"-o PreferredAuthentications={method} -o PubkeyAuthentication=no"
               " -o NumberOfPasswordPrompts=1 -v")
    return lab.host("backup").run(
        f"SSHPASS={shlex.quote(password)} sshpass -e ssh {SSH_OPTS} {options} {user}@fedi true")


def totp(secret: str, at: float) -> str:
    """RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as pam_google_authenticator computes it."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def test_ssh_audit_finds_no_failure_and_no_warning(lab):
    result = lab.host("backup").run("ssh-audit --no-colors fedi")
    assert "[fail]" not in result.stdout and "[warn]" not in result.stdout, result.stdout
    assert result.rc == 0, result.stdout  # 0 = good; 2 = warning, 3 = failure
    # The key exchange offered is post-quantum hybrid only.
    assert "(kex) sntrup761x25519-sha512" in result.stdout
    assert "curve25519" not in result.stdout


@pytest.mark.parametrize("method", ["password", "keyboard-interactive"])
def test_the_right_password_is_refused(lab, method):
    result = password_attempt(lab, "admin", method)
    assert result.rc != 0
    # sshpass runs ssh on a terminal: lines end in \r\n.
    assert "Authentications that can continue: publickey\r\n" in result.stderr
    assert "Permission denied (publickey)" in result.stderr


def test_a_key_login_by_an_allowed_user_works(lab):
    result = lab.ssh("admin")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "admin"


def test_a_key_login_outside_allowgroups_is_refused(lab):
    result = lab.ssh("outsider", options="-o BatchMode=yes")
    assert result.rc == 255
    assert "Permission denied" in result.stderr
    log = lab.host("fedi").check_output("journalctl -u ssh --no-pager -q -g outsider")
    assert "none of user's groups are listed in AllowGroups" in log


def test_a_hardware_key_group_member_cannot_use_a_software_key(lab):
    result = lab.ssh("hwuser", options="-o BatchMode=yes")
    assert result.rc == 255
    assert "Permission denied" in result.stderr
    # Refused for the key type, not for the account (hwuser is in ssh-users).
    fedi = lab.host("fedi")
    closed = fedi.check_output("journalctl -u ssh --no-pager -q -g 'authenticating user hwuser' | tail -1")
    pid = closed.split("sshd[", 1)[1].split("]", 1)[0]
    log = fedi.check_output("journalctl -u ssh --no-pager -q _PID=%s", pid)
    assert "signature algorithm ssh-ed25519 not in PubkeyAcceptedAlgorithms" in log


def test_hardware_key_group_gets_sk_keys_only_with_verify_required(lab):
    fedi = lab.host("fedi")
    effective = fedi.check_output("sshd -T -C user=hwuser,host=backup,addr=10.0.0.1")
    settings = dict(line.split(" ", 1) for line in effective.splitlines())
    algorithms = settings["pubkeyacceptedalgorithms"].split(",")
    assert algorithms and all(name.startswith("sk-") for name in algorithms)
    assert "sk-ssh-ed25519@openssh.com" in algorithms
    assert "sk-ecdsa-sha2-nistp256@openssh.com" in algorithms
    assert settings["pubkeyauthoptions"] == "verify-required"
    # Everyone else keeps software keys and no verify-required.
    admin = dict(line.split(" ", 1) for line in fedi.check_output(
        "sshd -T -C user=admin,host=backup,addr=10.0.0.1").splitlines())
    assert "ssh-ed25519" in admin["pubkeyacceptedalgorithms"].split(",")
    assert admin["pubkeyauthoptions"] == "none"


def test_totp_group_needs_the_code_after_the_key(lab):
    # The key alone is a partial success: sshd then asks for the code.
    result = lab.ssh("totpuser", options="-o BatchMode=yes")
    assert result.rc == 255
    assert "Permission denied (keyboard-interactive)" in result.stderr
    # The key plus a wrong code fails, the key plus the right code gets in.
    secret = (SECRETS / "totp-totpuser").read_text().strip()
    code = totp(secret, time.time())
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    refused = lab.ssh("totpuser", options="-o NumberOfPasswordPrompts=1",
                  env=f"SSHPASS={wrong} sshpass -e -P 'Verification code'")
    assert refused.rc != 0
    right = lab.ssh("totpuser", env=f"SSHPASS={totp(secret, time.time())} sshpass -e -P 'Verification code'")
    assert right.rc == 0, right.stderr
    assert right.stdout.strip() == "totpuser"


def test_host_keys_are_ed25519_and_rsa_4096_only(lab):
    fedi = lab.host("fedi")
    assert not fedi.file("/etc/ssh/ssh_host_ecdsa_key").exists
    assert not fedi.file("/etc/ssh/ssh_host_dsa_key").exists
    assert fedi.check_output("ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key.pub").split()[0] == "4096"
    # What a client sees: an Ed25519 and a 4096-bit RSA host key, nothing else.
    scanned = lab.host("backup").check_output("ssh-keyscan fedi 2>/dev/null | ssh-keygen -l -f - | sort")
    assert [(line.split()[0], line.split()[-1]) for line in scanned.splitlines()] == [
        ("256", "(ED25519)"), ("4096", "(RSA)")]


def test_weak_dh_moduli_are_gone(lab):
    smallest = lab.host("fedi").check_output(
        "awk '$1 !~ /^#/ && NF >= 7 { print $5 + 1 }' /etc/ssh/moduli | sort -n | head -1")
    assert int(smallest) >= 3072
