"""SSH on fedi, tested from backup (the outside peer) with keys and passwords made at run time."""
import base64
import hashlib
import hmac
import os
import re
import shlex
import struct
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from lab import SSH_OPTS

SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
ROLE = Path(__file__).resolve().parents[3] / "roles" / "ssh_hardening"
DROPIN_DIR = "/etc/ssh/sshd_config.d"


def password_attempt(lab, user, method):
    """Logs in as `user` with the account's real password over `method`; returns the result."""
    password = (SECRETS / f"unix-{user}").read_text().strip()
    options = (f"-o PreferredAuthentications={method} -o PubkeyAuthentication=no"
               " -o NumberOfPasswordPrompts=1 -v")
    return lab.host("backup").run(
        f"SSHPASS={shlex.quote(password)} sshpass -e ssh {SSH_OPTS} {options} {user}@fedi true")


def effective(lab, user="admin"):
    """What sshd on fedi runs with for a login by `user` from backup (`sshd -T`)."""
    fedi = lab.host("fedi")
    address = lab.host("backup").check_output("hostname -I").split()[0]
    out = fedi.check_output("sshd -T -C user=%s,host=backup,addr=%s", user, address)
    return dict(line.split(" ", 1) for line in out.splitlines())


def role_setting(lab, name):
    """The value the lab converged with: the lab's inventory variable, else the role default."""
    value = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())[name]
    for group in ("all", "fediverse"):
        group_vars = Path(lab.inventory_dir) / "group_vars" / group
        if group_vars.exists():
            value = (yaml.safe_load(group_vars.read_text()) or {}).get(name, value)
    return value


def sshd_word(value) -> str:
    """A role variable as `sshd -T` prints it (booleans as yes/no)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).lower()


def journal_cursor(host) -> str:
    return host.check_output("journalctl -n 0 --show-cursor -q | sed -n 's/^-- cursor: //p'")


def sshd_log_since(host, cursor, wanted, timeout=10):
    """sshd's journal lines written after `cursor`, once one contains `wanted` (or the timeout)."""
    deadline = time.time() + timeout
    while True:
        log = host.check_output("journalctl -u ssh --no-pager -q -o short --after-cursor=%s", cursor)
        if wanted in log or time.time() > deadline:
            return log
        time.sleep(0.5)


def ssh_as_admin(lab, options, command="true"):
    """ssh from backup to fedi as admin with only the keys `options` names (-i), at the
    client's default log level (the server's disconnect reasons are INFO messages)."""
    return lab.host("backup").run(
        f"ssh {SSH_OPTS} -o BatchMode=yes -o IdentityAgent=none -o IdentitiesOnly=yes"
        f" {options} admin@fedi {shlex.quote(command)} </dev/null")


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
    # OpenSSH 10 (Debian 13) logs a connection as sshd-session, 9.x as sshd.
    pid = re.search(r"sshd(?:-session)?\[(\d+)\]", closed).group(1)
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


TOTP_STEPS = ("Partial publickey for totpuser", "Accepted publickey for totpuser",
              "Invalid verification code for totpuser", "Accepted google_authenticator for totpuser",
              "Failed keyboard-interactive/pam for totpuser", "Accepted keyboard-interactive/pam for totpuser")


def totp_login_steps(log):
    """The authentication steps logged for the last keyboard-interactive attempt by totpuser in
    a journal excerpt, in order: sshd's lines for that connection and the PAM module's
    verdict (logged by a helper process of the same connection, hence matched by name)."""
    pids = re.findall(r"(sshd(?:-session)?)\[(\d+)\]: (?:Failed|Accepted) keyboard-interactive/pam for totpuser ", log)
    if not pids:
        return []
    mine = (f"{pids[-1][0]}[{pids[-1][1]}]: ", "sshd(pam_google_authenticator)[")
    return [step for line in log.splitlines() if any(tag in line for tag in mine)
            for step in TOTP_STEPS if step in line]


def unix_password(lab, user) -> str:
    """The password field of `user` in fedi's /etc/shadow (a hash, or a marker such as "!")."""
    return lab.host("fedi").check_output("getent shadow %s", user).split(":")[1]


def test_totp_group_needs_the_code_after_the_key(lab):
    # The account has no Unix password ("!", as useradd leaves it): key and code are all
    # it has, and (with UsePAM yes) sshd does not take "!" for a locked account.
    assert not unix_password(lab, "totpuser").startswith("$"), "totpuser has a usable Unix password"
    # The key alone is a partial success: sshd then asks for the code.
    result = lab.ssh("totpuser", options="-o BatchMode=yes")
    assert result.rc == 255
    assert "Permission denied (keyboard-interactive)" in result.stderr
    # The key plus a wrong code fails, the key plus the right code gets in.
    secret = (SECRETS / "totp-totpuser").read_text().strip()
    code = totp(secret, time.time())
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    fedi = lab.host("fedi")
    cursor = journal_cursor(fedi)
    refused = lab.ssh("totpuser", options="-o NumberOfPasswordPrompts=1",
                      env=f"SSHPASS={wrong} sshpass -e -P 'Verification code'")
    assert refused.rc != 0
    # Refused at the code: sshd took the key as the first of two steps, then the PAM
    # module turned the code down, and that ended the attempt.
    log = sshd_log_since(fedi, cursor, "Failed keyboard-interactive/pam for totpuser")
    assert totp_login_steps(log) == [
        "Partial publickey for totpuser",
        "Invalid verification code for totpuser",
        "Failed keyboard-interactive/pam for totpuser",
    ], log
    right = lab.ssh("totpuser", env=f"SSHPASS={totp(secret, time.time())} sshpass -e -P 'Verification code'")
    assert right.rc == 0, right.stderr
    assert right.stdout.strip() == "totpuser"


PAM_SSHD = "/etc/pam.d/sshd"


def active_lines(text: str) -> list[str]:
    """The lines PAM reads: comments and blank lines left out, blanks squeezed."""
    return [" ".join(line.split("#", 1)[0].split()) for line in text.splitlines()
            if line.split("#", 1)[0].strip()]


def test_sshds_pam_stack_asks_for_the_code_instead_of_the_password(lab):
    lines = active_lines(lab.host("fedi").file(PAM_SSHD).content_string)
    assert "auth required pam_google_authenticator.so" in lines
    assert "@include common-auth" not in lines
    # The only auth line: nothing else can let a login through, or ask for a password.
    assert [line for line in lines if line.startswith("auth ")] == ["auth required pam_google_authenticator.so"]
    assert "@include common-account" in lines and "@include common-session" in lines


def test_no_backup_copies_in_pam_d(lab):
    # Every file in /etc/pam.d is a PAM service of its own: a backup copy of sshd's stack
    # (sshd.<pid>.<date>@<time>~, as Ansible's backup: true names it) would be one too.
    assert lab.host("fedi").check_output("find /etc/pam.d -name '*~'") == ""


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


@pytest.fixture
def cloud_init_dropin(lab):
    """A drop-in as cloud-init writes it (50-cloud-init.conf), turning passwords back on;
    removed again afterwards."""
    yield from planted_dropin(lab, "50-cloud-init.conf", "PasswordAuthentication yes",
                              "KbdInteractiveAuthentication yes", "VersionAddendum lab-cloud-init")


def planted_dropin(lab, name, *lines):
    """Writes a drop-in of another tool, loads it (sshd -t first) and yields its path; it
    is removed and sshd reloaded afterwards. Never overwrites a real one."""
    fedi = lab.host("fedi")
    path = f"{DROPIN_DIR}/{name}"
    assert not fedi.file(path).exists
    fedi.check_output("printf '%%s\\n' " + " ".join("%s" for _ in lines) + " > %s && sshd -t && systemctl reload ssh",
                      *lines, path)
    try:
        yield path
    finally:
        fedi.run("rm -f %s", path)
        fedi.check_output("sshd -t && systemctl reload ssh")


@pytest.mark.changes
def test_our_dropin_wins_over_cloud_init(lab, cloud_init_dropin):
    # The planted file is live: a keyword only it sets shows up in sshd's banner.
    banner = lab.host("backup").check_output("timeout 5 bash -c 'exec 3<>/dev/tcp/fedi/22; head -1 <&3'")
    assert banner.strip().endswith(" lab-cloud-init"), banner
    settings = effective(lab)
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    for method in ("password", "keyboard-interactive"):
        result = password_attempt(lab, "admin", method)
        assert result.rc != 0
        assert "Permission denied (publickey)" in result.stderr


@pytest.fixture
def later_match_block(lab):
    """A later drop-in whose Match block turns password login back on for ssh-users (admin
    and totpuser are members); removed again afterwards."""
    yield from planted_dropin(lab, "50-lab-match.conf", "Match Group ssh-users", "    PasswordAuthentication yes",
                              "    KbdInteractiveAuthentication yes", "    AuthenticationMethods password")


@pytest.mark.changes
def test_a_later_match_block_cannot_turn_passwords_back_on(lab, later_match_block):
    # sshd keeps, per keyword, the first Match block that sets it: our drop-in's closing
    # "Match all" is read first. Without it, the password alone would let admin in, and
    # with TOTP on it would reach a PAM stack that asks for nothing but the code.
    settings = effective(lab)
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["authenticationmethods"] == "publickey"
    assert effective(lab, "totpuser")["authenticationmethods"] == "publickey,keyboard-interactive:pam"
    for method in ("password", "keyboard-interactive"):
        result = password_attempt(lab, "admin", method)
        assert result.rc != 0
        assert "Permission denied (publickey)" in result.stderr


@pytest.mark.parametrize("keyword, variable", [
    ("maxauthtries", "ssh_hardening_max_auth_tries"),
    ("logingracetime", "ssh_hardening_login_grace_time"),
    ("allowtcpforwarding", "ssh_hardening_allow_tcp_forwarding"),
    ("allowagentforwarding", "ssh_hardening_allow_agent_forwarding"),
    ("allowstreamlocalforwarding", "ssh_hardening_allow_stream_local_forwarding"),
    # No live check for X11: sshd also refuses it when xauth is missing, as on fedi, so a
    # request could not tell the setting apart.
    ("x11forwarding", "ssh_hardening_x11_forwarding"),
])
def test_sshd_runs_with_the_role_setting(lab, keyword, variable):
    assert effective(lab)[keyword] == sshd_word(role_setting(lab, variable))


def template_rsa_size() -> int:
    """The smallest RSA key the role's sshd template lets in (RequiredRSASize)."""
    template = (ROLE / "templates" / "sshd_hardening.conf.j2").read_text()
    return int(re.search(r"^RequiredRSASize (\d+)$", template, re.MULTILINE).group(1))


def test_sshd_requires_the_template_rsa_size(lab):
    # OpenSSH >= 9.1 knows RequiredRSASize (Debian 12 has 9.2, so sshd -T prints it); the
    # role writes it only where sshd knows it.
    assert effective(lab)["requiredrsasize"] == str(template_rsa_size())


ADMIN_KEY = "-i /root/lab-keys/admin"


def test_local_and_remote_tcp_forwarding_are_refused(lab):
    # ssh -W: a direct-tcpip channel (what -L opens), here to fedi's own sshd.
    local = lab.host("backup").run(
        f"timeout 20 ssh {SSH_OPTS} -o BatchMode=yes {ADMIN_KEY} -W 127.0.0.1:22 admin@fedi </dev/null")
    assert local.rc == 255, local.stdout + local.stderr
    assert "open failed: administratively prohibited" in local.stderr
    # ssh -R: a tcpip-forward request for a port on fedi's loopback.
    remote = ssh_as_admin(lab, f"{ADMIN_KEY} -o ExitOnForwardFailure=yes -R 127.0.0.1:10022:127.0.0.1:9")
    assert remote.rc == 255, remote.stderr
    assert "remote port forwarding failed for listen port 10022" in remote.stderr


def test_unix_socket_forwarding_is_refused(lab):
    path = "/tmp/fedisec-streamlocal-probe.sock"
    try:
        remote = ssh_as_admin(lab, f"{ADMIN_KEY} -o ExitOnForwardFailure=yes -R {path}:127.0.0.1:9")
        assert remote.rc == 255, remote.stderr
        assert f"remote port forwarding failed for listen path {path}" in remote.stderr
        assert not lab.host("fedi").file(path).exists
    finally:
        lab.host("fedi").run("rm -f %s", path)


def test_agent_forwarding_is_refused(lab):
    # A running agent on backup, offered with -A: the session on fedi gets no agent socket.
    result = lab.host("backup").run(
        "eval \"$(ssh-agent -s)\" >/dev/null && "
        f"ssh {SSH_OPTS} -o BatchMode=yes {ADMIN_KEY} -A admin@fedi 'echo agent=${{SSH_AUTH_SOCK:-none}}' </dev/null;"
        " rc=$?; ssh-agent -k >/dev/null; exit $rc")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "agent=none"


@pytest.fixture
def throwaway_keys(lab):
    """Makes keys on backup that fedi does not know; removed afterwards."""
    backup, directory = lab.host("backup"), "/tmp/fedisec-throwaway-keys"

    def make(count):
        backup.check_output("rm -rf %s && mkdir -m 700 %s", directory, directory)
        for index in range(count):
            backup.check_output("ssh-keygen -q -t ed25519 -N '' -C throwaway -f %s/%s", directory, str(index))
        return [f"{directory}/{index}" for index in range(count)]

    yield make
    backup.run("rm -rf %s", directory)


def test_max_auth_tries_ends_the_connection(lab, throwaway_keys):
    tries = int(role_setting(lab, "ssh_hardening_max_auth_tries"))
    unknown = throwaway_keys(tries)

    def offering(keys):
        return " ".join(f"-i {key}" for key in keys) + f" {ADMIN_KEY}"

    # One unknown key fewer than the limit: the real key, offered last, still gets in.
    within = ssh_as_admin(lab, offering(unknown[:-1]))
    assert within.rc == 0, within.stderr
    # As many unknown keys as the limit: sshd hangs up before the real key is offered.
    over = ssh_as_admin(lab, offering(unknown))
    assert over.rc == 255
    assert "Too many authentication failures" in over.stderr


# Run on backup: connects to fedi:22, sends nothing, and prints after how many seconds
# sshd closed the connection, or "open" if it still had not after argv[1] seconds.
IDLE_CONNECTION = """python3 -c '
import socket, sys, time
s = socket.create_connection(("fedi", 22), timeout=5)
start = time.monotonic()
s.settimeout(float(sys.argv[1]))
try:
    while s.recv(4096):
        pass
except socket.timeout:
    sys.exit(print("open"))
except OSError:
    pass
print(round(time.monotonic() - start, 1))
' %s"""


@pytest.mark.slow  # waits out the login grace time (30 s)
def test_an_idle_connection_is_closed_after_the_login_grace_time(lab):
    grace = int(role_setting(lab, "ssh_hardening_login_grace_time"))
    closed_after = lab.host("backup").check_output(IDLE_CONNECTION, str(grace + 10))
    assert closed_after != "open", f"still open after {grace + 10} s"
    assert grace - 2 <= float(closed_after) <= grace + 10, closed_after


@pytest.fixture
def rsa_keys_for_admin(lab):
    """RSA keys on backup, one of the template's RequiredRSASize and one 1024 bits shorter,
    both authorized for admin on fedi; authorized_keys is put back byte for byte afterwards."""
    backup, fedi = lab.host("backup"), lab.host("fedi")
    required = template_rsa_size()
    authorized = "/home/admin/.ssh/authorized_keys"
    before = fedi.file(authorized).sha256sum
    fedi.check_output("cp -p %s /root/admin-authorized_keys.fedisec", authorized)
    keys = {}
    try:
        for bits in (required - 1024, required):
            key = f"/tmp/fedisec-rsa-{bits}"
            backup.check_output("rm -f %s %s.pub && ssh-keygen -q -t rsa -b %s -N '' -C fedisec-rsa-probe -f %s",
                                key, key, str(bits), key)
            fedi.check_output("echo %s >> %s", backup.check_output("cat %s.pub", key), authorized)
            keys[bits] = key
        yield required, keys
    finally:
        fedi.check_output("cat /root/admin-authorized_keys.fedisec > %s && rm /root/admin-authorized_keys.fedisec",
                          authorized)
        backup.run("rm -f /tmp/fedisec-rsa-*")
        assert fedi.file(authorized).sha256sum == before


@pytest.mark.changes
def test_an_authorized_rsa_key_below_the_required_size_is_refused(lab, rsa_keys_for_admin):
    required, keys = rsa_keys_for_admin
    accepted = ssh_as_admin(lab, f"-i {keys[required]}", "id -un")
    assert accepted.rc == 0, accepted.stderr  # RSA keys as such are accepted
    fedi = lab.host("fedi")
    cursor = journal_cursor(fedi)
    refused = ssh_as_admin(lab, f"-i {keys[required - 1024]}", "id -un")
    assert refused.rc == 255
    assert "Permission denied (publickey)" in refused.stderr
    # Refused for its size, although authorized.
    log = sshd_log_since(fedi, cursor, "refusing RSA key: Invalid key length")
    assert "refusing RSA key: Invalid key length" in log, log


def controller_ssh(lab, key, command="true"):
    """`ssh admin@fedi` from the controller (the lab's gateway address: not exempt from penalties)."""
    address = lab.host("fedi").check_output("hostname -I").split()[0]
    return subprocess.run(
        ["ssh", *SSH_OPTS.split(), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", str(key),
         f"admin@{address}", command], capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.changes  # it makes the controller's address wait: not beside the other SSH tests
def test_a_failed_login_makes_its_source_wait(lab, tmp_path):
    fedi = lab.host("fedi")
    drill_key = SECRETS / "drill_key"
    if "persourcepenalties" not in fedi.check_output("sshd -T"):
        # OpenSSH before 9.8 (Debian 12) has no penalties: the role leaves the keywords out.
        assert "PerSourcePenalt" not in fedi.file(f"{DROPIN_DIR}/00-fedisec-hardening.conf").content_string
        return
    # No penalty yet: the drill key logs in.
    assert controller_ssh(lab, drill_key).returncode == 0
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    # authfail:5 per failed login; sshd blocks a source once it has accrued min:15.
    for _ in range(4):
        refused = controller_ssh(lab, stranger)
        assert refused.returncode == 255 and "Permission denied" in refused.stderr, refused.stderr
    # Blocked: the same source gets no banner now, not even with a good key.
    dropped = controller_ssh(lab, drill_key)
    assert dropped.returncode == 255 and "Permission denied" not in dropped.stderr, dropped.stderr
    assert "penalty: failed authentication" in fedi.check_output(
        "journalctl -u ssh --no-pager -q --since '-60s' -g 'drop connection'")
    # And let in again once the penalty has run out (the other tests' SSH needs it).
    for _ in range(30):
        time.sleep(2)
        if controller_ssh(lab, drill_key).returncode == 0:
            break
    else:
        raise AssertionError("the controller is still refused a minute after the failed logins")


def test_the_newest_post_quantum_key_exchange_is_used_where_sshd_has_it(lab):
    # OpenSSH 10 (Debian 13) has ML-KEM: first in sshd's list, and what a client that knows it
    # negotiates. OpenSSH 9.2 (Debian 12) has not: sntrup761 (its @openssh.com name) then.
    fedi = lab.host("fedi")
    known = fedi.check_output("ssh -Q kex").split()
    kex = next(name for name in ("mlkem768x25519-sha256", "sntrup761x25519-sha512",
                                 "sntrup761x25519-sha512@openssh.com") if name in known)
    assert fedi.check_output("sshd -T | awk '$1 == \"kexalgorithms\" {print $2}'").split(",")[0] == kex
    login = lab.ssh("admin", options="-o BatchMode=yes -v", command="true")
    assert login.rc == 0, login.stderr
    assert f"kex: algorithm: {kex}" in login.stderr, login.stderr


# The lab's admin from ssh_hardening_admins (molecule.yml): the controller's drill key, sudo
# with a password made at run time.
ADMIN = "ops"


def admin_ssh(lab, host, command, password=None):
    """`ssh ops@<host> command` from the controller with the admin's key; the password, if
    given, goes to the command's standard input (never its command line)."""
    address = lab.host(host).check_output("hostname -I").split()[0]
    return subprocess.run(
        ["ssh", *SSH_OPTS.split(), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
         "-i", str(SECRETS / "drill_key"), f"{ADMIN}@{address}", command],
        input=None if password is None else password + "\n",
        capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("host", ["fedi", "db", "backup"])
def test_an_admin_logs_in_with_its_key_and_sudo_asks_for_its_password(lab, host):
    plain = admin_ssh(lab, host, "id -un; sudo -n true")
    assert plain.stdout.split() == [ADMIN], plain.stderr
    # No root without the password (ssh_hardening_admin_sudo: password)...
    assert plain.returncode == 1 and "a password is required" in plain.stderr, plain.stderr
    wrong = admin_ssh(lab, host, "sudo -S -p '' id -u", password="not-the-password")
    assert wrong.returncode == 1 and wrong.stdout == "", wrong.stderr
    # ...and root with it.
    password = (SECRETS / f"unix-{ADMIN}").read_text().split()[0]
    root = admin_ssh(lab, host, "sudo -S -p '' id -u", password=password)
    assert (root.returncode, root.stdout.strip()) == (0, "0"), root.stderr


@pytest.mark.parametrize("host", ["fedi", "db", "backup"])
def test_an_admins_authorized_keys_hold_exactly_its_listed_key(lab, host):
    node = lab.host(host)
    keys = node.file(f"/home/{ADMIN}/.ssh/authorized_keys")
    assert keys.content_string.split("\n") == [(SECRETS / "drill_key.pub").read_text().strip(), ""]
    assert (keys.user, keys.mode) == (ADMIN, 0o600)
    assert (node.file(f"/home/{ADMIN}/.ssh").user, node.file(f"/home/{ADMIN}/.ssh").mode) == (ADMIN, 0o700)
    assert not node.file(f"/home/{ADMIN}/.ssh/authorized_keys2").exists
    # sudo's own view: the admin may run everything, with its password; nobody else was added.
    rules = node.check_output(f"sudo -l -U {ADMIN}")
    assert "(ALL : ALL) ALL" in rules and "NOPASSWD" not in rules, rules
    assert node.check_output("cat /etc/sudoers.d/fedisec-admins | grep -v '^#'").split("\n") == [
        f"{ADMIN} ALL=(ALL:ALL) ALL"]
