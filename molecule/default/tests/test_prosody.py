"""prosody_tls, seen from the outside peer: clients with and without TLS, a second XMPP server
(Prosody on backup, with its own certificate from the lab CA), the stored credentials, a bad
value and a forced renewal.

DRAFT: written before the lab runs Prosody. It needs fedisec_prosody: true for the group
fediverse, a Prosody for the domain "backup" on backup and firewall rules for 5269 on backup
(see roles/prosody_tls/README.md and the notes of the branch that added it).
"""
import json
import os
import re
import shlex
import time
import uuid

import pytest

SECRETS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "secrets")
PROSODY_CONF = "/etc/prosody/conf.d/fedisec.cfg.lua"


def password_file(lab, host, name):
    """A random password for a lab account, kept on the controller and copied to `host`
    (mode 0600), so that it never appears on a command line."""
    path = os.path.join(SECRETS, f"xmpp-{name}")
    if not os.path.exists(path):
        os.makedirs(SECRETS, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(uuid.uuid4().hex)
    with open(path, encoding="utf-8") as fh:
        password = fh.read().strip()
    remote = f"/root/xmpp-{name}.pw"
    lab.host(host).check_output(
        f"install -m 600 /dev/null {remote} && printf %s {shlex.quote(password)} > {remote}")
    return password, remote


def account(lab, server, jid, name):
    """Creates (or resets) an account with the admin shell; returns (password, file on backup)."""
    password, _ = password_file(lab, server, name)
    # The admin shell (mod_admin_shell over its Unix socket) has user:delete and user:create
    # on 0.12 and 13; prosodyctl register is gone from 13.
    lab.host(server).run(f"prosodyctl shell user delete {jid}")
    lab.host(server).check_output(f"prosodyctl shell user create {jid} {shlex.quote(password)}")
    _, on_backup = password_file(lab, "backup", name)
    return password, on_backup


def ansible_output(run) -> str:
    """What a playbook printed, both streams (errors go to stderr), without colour codes (the
    verifier runs under molecule, which forces colour) and with lines unwrapped."""
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr).split())


def client(lab, host, domain, mode, *args):
    """The XMPP client run on `host` against the server of `domain` (its name is the domain)."""
    return json.loads(lab.run_script(host, "xmpp_client.py", domain, domain, mode, *args).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def alice(lab):
    return account(lab, "fedi", "alice@fedi", "alice")


# ------------------------------------------------------------------ clients


def test_before_tls_only_starttls_is_offered(lab):
    seen = client(lab, "backup", "fedi", "features")
    assert seen["starttls_required"], seen  # <starttls><required/></starttls>
    assert seen["mechanisms_before_tls"] == [], seen  # no SASL at all, so no PLAIN, before TLS
    assert seen["tls_version"] == "TLSv1.3", seen
    assert "SCRAM-SHA-256" in seen["mechanisms"] and "PLAIN" in seen["mechanisms"], seen
    assert "DIGEST-MD5" not in seen["mechanisms"]


def test_a_client_that_refuses_starttls_cannot_authenticate(lab):
    seen = client(lab, "backup", "fedi", "plain")
    answer = seen["plain_without_tls"]
    assert "<success" not in answer, answer
    assert "encryption-required" in answer or answer.startswith("closed"), answer


def test_scram_login_over_tls13_with_the_right_password(lab, alice):
    _, password_path = alice
    seen = client(lab, "backup", "fedi", "login", "alice", password_path)
    assert seen["tls_version"] == "TLSv1.3"
    assert seen["mechanism"] == "SCRAM-SHA-256"
    assert seen["auth"] == "success", seen["auth"]
    assert seen["server_signature_ok"]  # the server proved it holds the stored keys


def test_scram_login_with_a_wrong_password_is_refused(lab, alice):
    lab.host("backup").check_output("install -m 600 /dev/null /root/xmpp-wrong.pw && echo wrong-password > /root/xmpp-wrong.pw")
    seen = client(lab, "backup", "fedi", "login", "alice", "/root/xmpp-wrong.pw")
    assert seen["auth"] == "failure:not-authorized", seen["auth"]


# ------------------------------------------------------------------ TLS policy


def xmpp_handshake(lab, *options):
    """openssl s_client from backup to fedi:5222 after XMPP STARTTLS, with `options`."""
    return lab.host("backup").run(
        "echo | openssl s_client -starttls xmpp -xmpphost fedi -connect fedi:5222 -servername fedi " + " ".join(options))


def test_tls11_is_refused_by_the_server(lab):
    options = ("-cipher", "'DEFAULT:@SECLEVEL=0'")
    accepted = xmpp_handshake(lab, "-tls1_2", *options)  # positive control: the same client with TLS 1.2
    assert accepted.rc == 0, accepted.stderr
    assert "Protocol  : TLSv1.2" in accepted.stdout
    refused = xmpp_handshake(lab, "-tls1_1", *options)
    assert refused.rc != 0
    assert "alert protocol version" in refused.stderr, refused.stderr  # the server's alert 70
    assert "SSL alert number 70" in refused.stderr, refused.stderr


def test_cbc_and_dhe_suites_are_refused(lab):
    for cipher in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA", "DHE-RSA-AES128-GCM-SHA256"):
        refused = xmpp_handshake(lab, "-tls1_2", "-cipher", f"'{cipher}:@SECLEVEL=0'")
        assert refused.rc != 0, cipher
        assert "handshake failure" in refused.stderr, refused.stderr
    accepted = xmpp_handshake(lab, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert accepted.rc == 0, accepted.stderr  # the same client with an AEAD suite gets in


def test_s2s_port_offers_the_same_policy(lab):
    refused = lab.host("backup").run(
        "echo | openssl s_client -starttls xmpp-server -xmpphost fedi -connect fedi:5269 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'")
    assert refused.rc != 0 and "SSL alert number 70" in refused.stderr, refused.stderr
    served = lab.served_certificate("backup", "fedi", 5222, starttls="xmpp")
    web = lab.served_certificate("backup", "fedi")
    assert served["pubkey"] == web["pubkey"]  # the ecdsa_cert key, through the prosody hook


# ------------------------------------------------------------------ files


def test_stored_credentials_hold_no_password(lab, alice):
    password, _ = alice
    fedi = lab.host("fedi")
    stored = fedi.check_output("cat /var/lib/prosody/fedi/accounts/alice.dat")
    assert password not in stored
    for key in ("stored_key", "server_key", "salt", "iteration_count"):
        assert key in stored, stored.replace(password, "<password>")
    assert fedi.run(f"grep -rlF {shlex.quote(password)} /var/lib/prosody /etc/prosody").stdout == ""


def test_data_and_configuration_are_private(lab):
    fedi = lab.host("fedi")
    data = fedi.file("/var/lib/prosody")
    assert (data.user, data.group, data.mode) == ("prosody", "prosody", 0o700)
    # Files and directories; the admin shell's socket (mode 755) is reached through the 0700
    # directory only, by root and prosody.
    assert fedi.check_output("find /var/lib/prosody ! -type s -perm /077 -printf '%p %m\\n'") == ""
    for path in ("/etc/prosody/conf.d", "/etc/prosody/certs"):
        assert fedi.file(path).mode & 0o007 == 0, path
    conf = fedi.file(PROSODY_CONF)
    assert (conf.user, conf.group, conf.mode) == ("root", "prosody", 0o640)
    key = fedi.file("/etc/prosody/certs/fedi/privkey.pem")
    assert (key.user, key.group, key.mode) == ("root", "prosody", 0o640)
    # The overrides keep the modes across package upgrades.
    assert "prosody prosody 700 /var/lib/prosody" in fedi.check_output("dpkg-statoverride --list")


def test_no_tcp_console_and_registration_off(lab):
    fedi = lab.host("fedi")
    listening = fedi.check_output("ss -Hltn")
    assert ":5582 " not in listening  # mod_admin_telnet
    assert ":5222 " in listening and ":5269 " in listening
    modules = set(re.findall(r"[a-z0-9_]+", fedi.check_output("prosodyctl shell module list fedi")))
    assert "register" not in modules and "admin_telnet" not in modules and "legacyauth" not in modules
    assert {"tls", "saslauth", "mam", "c2s", "s2s"} <= modules  # admin_shell is global: not listed per host


def test_dns_records_for_xmpp(lab):
    fedi = lab.host("fedi")
    records = fedi.file("/etc/fedisec/dns-records/prosody_tls.txt").content_string
    tlsa = fedi.file("/etc/fedisec/dns-records/ecdsa_cert-fedi.txt").content_string
    digest = [line.split()[-1] for line in tlsa.splitlines() if " IN TLSA " in line][0]
    assert "_xmpp-client._tcp.fedi. IN SRV 0 5 5222 fedi." in records
    assert "_xmpp-server._tcp.fedi. IN SRV 0 5 5269 fedi." in records
    for port in (5222, 5269):
        assert f"_{port}._tcp.fedi. IN TLSA 3 1 1 {digest}" in records


def test_prosody_user_may_reach_5269_and_nothing_else(lab):
    assert lab.connect("fedi", "backup", 5269, user="prosody").startswith(("open", "connected"))
    assert lab.connect("fedi", "backup", 25, user="prosody") in ("EPERM", "EHOSTUNREACH", "ECONNREFUSED", "timeout")


# ------------------------------------------------------------------ federation (changes the lab)


@pytest.mark.changes
def test_a_message_crosses_to_the_second_server(lab, alice):
    _, password_path = alice
    account(lab, "backup", "bob@backup", "bob")
    body = f"lab-{uuid.uuid4().hex}"
    seen = client(lab, "backup", "fedi", "send", "alice", password_path, "bob@backup", body)
    assert seen["auth"] == "success" and seen["after_send"] == "", seen
    # Verified on the receiving side: bob is offline, so backup's Prosody stores it (offline
    # store or archive) under its data directory.
    for _ in range(20):
        if lab.host("backup").run(f"grep -rlF {body} /var/lib/prosody/backup").stdout:
            break
        time.sleep(1)
    else:
        raise AssertionError("the message did not reach backup's Prosody")
    log = lab.host("fedi").check_output("grep -h 'backup' /var/log/prosody/prosody.log | tail -n 20")
    assert "insecure" not in log.lower(), log


@pytest.mark.changes
def test_a_server_whose_certificate_does_not_match_its_name_is_refused(lab):
    backup = lab.host("backup")
    impostor = "/etc/prosody/conf.d/lab-impostor.cfg.lua"
    # A second host on backup's Prosody that presents backup's certificate.
    backup.check_output(
        f"printf '%s\\n' 'VirtualHost \"impostor.lab\"' "
        "'  ssl = { certificate = \"/etc/prosody/certs/backup/fullchain.pem\"; key = \"/etc/prosody/certs/backup/privkey.pem\" }' "
        f"> {impostor} && chown root:prosody {impostor} && chmod 640 {impostor} && systemctl restart prosody && sleep 2")
    fedi = lab.host("fedi")
    # Only what fedi logs from now on counts (an earlier run's lines must not pass this one).
    start = int(fedi.check_output("wc -l < /var/log/prosody/prosody.log")) + 1
    try:
        backup.run("prosodyctl shell \"xmpp:ping('impostor.lab', 'fedi', 10)\"")
        time.sleep(2)
        log = fedi.check_output(f"tail -n +{start} /var/log/prosody/prosody.log | grep -h 'impostor.lab' || true")
        # mod_s2s's policy (s2s_secure_auth): closed, with no dialback over DNS to fall back on.
        assert "Forbidding insecure connection to/from impostor.lab because its certificate is not valid for this name" in log, log
    finally:
        backup.check_output(f"rm -f {impostor} && systemctl restart prosody")


# ------------------------------------------------------------------ bad value, renewal (changes the lab)


@pytest.mark.changes
def test_a_bad_value_fails_with_prosodys_message_and_changes_nothing(lab):
    fedi = lab.host("fedi")
    before = fedi.check_output(f"sha256sum {PROSODY_CONF}")
    pid = fedi.check_output("systemctl show -p MainPID --value prosody")
    # A domain the certificate does not name: the role's own checks let it through (a valid
    # DNS name, an existing certificate); prosodyctl check certs refuses it.
    run = lab.playbook("one-role.yml", "-e", "lab_role=prosody_tls", "-e", "prosody_tls_domain=chat.fedi",
                       "-e", "prosody_tls_certificate=/etc/prosody/certs/fedi/fullchain.pem",
                       "-e", "prosody_tls_private_key=/etc/prosody/certs/fedi/privkey.pem")
    assert run.returncode != 0
    output = ansible_output(run)
    assert "Not valid for client connections to chat.fedi" in output, output[-3000:]
    assert fedi.check_output(f"sha256sum {PROSODY_CONF}") == before
    assert fedi.check_output("systemctl show -p MainPID --value prosody") == pid  # not restarted


@pytest.mark.changes
def test_a_lua_injection_is_refused_before_anything_changes(lab):
    run = lab.playbook("one-role.yml", "-e", "lab_role=prosody_tls",
                       "-e", '{"prosody_tls_s2s_insecure_domains": ["x\\"; s2s_secure_auth = false; --"]}')
    assert run.returncode != 0
    output = ansible_output(run)
    assert "prosody_tls_s2s_insecure_domains[0]" in output, output[-3000:]
    assert "s2s_secure_auth = true" in lab.host("fedi").check_output(f"grep '^s2s_secure_auth' {PROSODY_CONF}")


@pytest.mark.changes
def test_a_forced_renewal_is_presented_with_the_same_key(lab):
    fedi = lab.host("fedi")
    before = lab.served_certificate("backup", "fedi", 5222, starttls="xmpp")
    fedi.check_output("touch /var/lib/fedisec-acme/force-renewal && systemctl start fedisec-acme-renew.service")
    for _ in range(20):
        after = lab.served_certificate("backup", "fedi", 5222, starttls="xmpp")
        if after["serial"] != before["serial"]:
            break
        time.sleep(1)
    assert after["serial"] != before["serial"]  # a reload (SIGHUP) made Prosody present it
    assert after["pubkey"] == before["pubkey"]  # the same kept key: TLSA stays valid
    assert fedi.check_output("tail -n 200 /var/log/prosody/prosody.log | grep -c 'Certificates reloaded' || true") != "0"
