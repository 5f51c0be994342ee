"""Changes on the converged lab, run last: a bad config never lands, renewal swaps the
certificate (nginx and Exim) without a restart, and a failing renewal keeps the working one."""
import json
import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.changes

MARKER = "/var/lib/fedisec-acme/force-renewal"
SITE = "/etc/nginx/sites-available/fedisec-fedi.conf"


def site_yml(lab, *extra):
    return lab.playbook("playbooks/site.yml", "--limit", "fedi", *extra)


def nginx_master_pid(lab):
    return lab.host("fedi").check_output("cat /run/nginx.pid")


def test_a_broken_value_never_replaces_the_working_config(lab):
    fedi = lab.host("fedi")
    before = fedi.file(SITE).sha256sum
    # Valid syntax, so the role's checks pass it, but nginx refuses it (the lab resolves no
    # outside name): only `nginx -t` can catch it.
    run = site_yml(lab, "-e", "nginx_tls_mastodon_web_upstream=no-such-host.invalid:3000")
    assert run.returncode != 0
    assert 'host not found in upstream "no-such-host.invalid:3000"' in run.stdout + run.stderr
    assert fedi.file(SITE).sha256sum == before
    status, _ = lab.http("backup", "https://fedi/")
    assert status == 200


def test_a_value_that_would_inject_a_directive_is_refused_first(lab):
    fedi = lab.host("fedi")
    before = fedi.file(SITE).sha256sum
    run = site_yml(lab, "-e", '{"nginx_tls_mastodon_web_upstream": "127.0.0.1:3000; include /etc/passwd"}')
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "nginx_tls_mastodon_web_upstream: '127.0.0.1:3000; include /etc/passwd' is not allowed" in output
    assert fedi.file(SITE).sha256sum == before


def test_a_setting_postgresql_refuses_never_lands(lab):
    fedi = lab.host("fedi")
    conf = "/etc/postgresql/15/main/conf.d/fedisec-tls.conf"
    before = fedi.file(conf).sha256sum
    # Valid for the argument spec, refused by PostgreSQL's own parser (postgres -C on a copy).
    run = site_yml(lab, "-e", '{"postgresql_tls_port": 70000}')
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert "failed to validate" in output and "outside the valid range" in output
    assert fedi.file(conf).sha256sum == before
    assert fedi.check_output("su postgres -c 'psql -XAtc \"SHOW port\"'") == "5432"


DROPIN = "/etc/ssh/sshd_config.d/00-fedisec-hardening.conf"


def admin_login_works(lab):
    return lab.ssh("admin", "true", "-o BatchMode=yes").rc == 0


def test_a_setting_sshd_refuses_never_lands(lab):
    fedi = lab.host("fedi")
    before = fedi.file(DROPIN).sha256sum
    # Valid for the role's checks (start:rate:full), refused by `sshd -t` (a rate over 100%)
    # on a copy of the whole configuration.
    run = lab.playbook("one-role.yml", "-e", "lab_role=ssh_hardening",
                       "-e", '{"ssh_hardening_max_startups": "10:200:60"}')
    assert run.returncode != 0
    assert "Invalid MaxStartups spec" in run.stdout + run.stderr
    assert fedi.file(DROPIN).sha256sum == before
    assert admin_login_works(lab)


def test_the_guard_refuses_to_lock_out_the_user_ansible_connects_as(lab, tmp_path):
    # Over real SSH as admin (sudo), like a real host: an AllowGroups admin is not in.
    fedi = lab.host("fedi")
    before = fedi.file(DROPIN).sha256sum
    run = lab.playbook("one-role.yml", "-e", "lab_role=ssh_hardening",
                       "-e", '{"ssh_hardening_allow_groups": ["totp"]}',
                       inventory=lab.ssh_inventory(tmp_path))
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "the user Ansible connects as ('admin') would be locked out" in output
    assert "matches ssh_hardening_allow_groups (totp)" in output
    assert fedi.file(DROPIN).sha256sum == before
    assert admin_login_works(lab)


def test_forced_renewal_keeps_the_key_and_reloads_without_restart(lab):
    fedi = lab.host("fedi")
    before = lab.served_certificate("backup", "fedi")
    pid = nginx_master_pid(lab)
    fedi.check_output(f"touch {MARKER}")
    fedi.check_output("systemctl start fedisec-acme-renew.service")
    after = lab.served_certificate("backup", "fedi")
    assert after["serial"] != before["serial"]
    assert after["pubkey"] == before["pubkey"]  # same key: the TLSA record stays valid
    assert nginx_master_pid(lab) == pid  # reloaded, not restarted
    assert lab.served_certificate("backup", "fedi", 25, starttls="smtp") == after  # Exim's copy too
    assert not fedi.file(MARKER).exists  # the one-shot request is consumed


def test_failing_renewal_keeps_the_working_certificate(lab):
    fedi, acme = lab.host("fedi"), lab.host("acme")
    before = lab.served_certificate("backup", "fedi")
    on_disk = fedi.file("/etc/fedisec/certs/fedi/fullchain.pem").sha256sum
    acme.check_output("systemctl stop pebble")
    try:
        fedi.check_output(f"touch {MARKER}")
        assert fedi.run("systemctl start fedisec-acme-renew.service").rc != 0
        assert fedi.run("systemctl is-failed fedisec-acme-renew.service").stdout.strip() == "failed"
        assert fedi.file("/etc/fedisec/certs/fedi/fullchain.pem").sha256sum == on_disk
        assert lab.served_certificate("backup", "fedi") == before
        journal = fedi.check_output("journalctl -u fedisec-acme-renew.service -n 20 --no-pager")
        assert "the current certificate stays in place" in journal
    finally:
        fedi.run(f"rm -f {MARKER}")
        fedi.run("systemctl reset-failed fedisec-acme-renew.service")
        acme.run("systemctl start pebble")
        trust_pebbles_new_root(lab)


def trust_pebbles_new_root(lab):
    """Pebble makes a new root at every start: trust it too (next to the old one, which the
    served certificate still chains to), so that later renewals verify."""
    acme = lab.host("acme")
    root = ""
    for _ in range(30):
        result = acme.run("curl -sf --cacert /etc/pebble/api-ca.crt https://localhost:15000/roots/0")
        if result.rc == 0:
            root = result.stdout
            break
        time.sleep(1)
    assert "BEGIN CERTIFICATE" in root
    for name in ("fedi", "backup"):
        lab.host(name).check_output(
            "echo %s > /usr/local/share/ca-certificates/fedisec-lab-pebble-root-restarted.crt"
            " && update-ca-certificates >/dev/null", root)


def test_a_refused_validation_prints_the_cas_problem_detail(lab):
    # A certificate for "backup", requested from fedi: Pebble validates on port 80 of
    # backup, where nothing listens. The run must say what the CA saw, not a bare error.
    fedi = lab.host("fedi")
    drill = "/root/acme-drill"
    config = json.dumps({"name": "drill", "domains": ["backup"], "key": f"{drill}/key.pem",
                         "directory": f"{drill}/out", "webroot": "/var/www/acme", "renew_fraction": 0.66,
                         "hooks": []})
    fedi.check_output(
        f"rm -rf {drill} && mkdir -p {drill}/certs.d {drill}/out && cp /etc/fedisec/acme/account.json {drill}/"
        f" && openssl ecparam -name prime256v1 -genkey -noout -out {drill}/key.pem"
        f" && echo %s > {drill}/certs.d/drill.json", config)
    try:
        result = fedi.run(f"/usr/local/sbin/fedisec-acme --config-dir {drill} renew drill")
        output = result.stdout + result.stderr
        assert result.rc == 1, output
        backup_address = lab.host("backup").check_output("hostname -I").split()[0]
        assert "the CA refused the validation: backup: http-01 urn:ietf:params:acme:error:connection" in output
        # Where the CA connected, in its own words (Pebble sends no validationRecord for a
        # failed challenge; Let's Encrypt does, and the client prints it: unit-tested).
        assert f"dial tcp {backup_address}:80: connect: connection refused" in output
        assert not fedi.file(f"{drill}/out/fullchain.pem").exists
    finally:
        fedi.run(f"rm -rf {drill}")


def lab_secrets(lab):
    """Every secret the lab made: generated passwords and TOTP secrets, and from each private
    key on fedi (certificate, ACME account, PostgreSQL CA and clients) the first line of its
    PEM body and its private scalar in hex (the later PEM lines hold the public key, which
    is public and may be printed)."""
    secrets_dir = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
    values = [path.read_text().split()[0] for path in secrets_dir.iterdir()
              if path.is_file() and not path.name.startswith("drill_key")]
    fedi = lab.host("fedi")
    keys = fedi.check_output(
        "ls /etc/fedisec/certs/*/privkey.pem /etc/fedisec/acme/account.key /etc/postgresql/fedisec-tls/*.key"
        " /etc/fedisec/postgresql-clients/*/client.key").split()
    for key in keys:
        values.append(fedi.check_output("sed -n 2p %s", key))
        text = fedi.check_output("openssl pkey -in %s -noout -text", key)
        scalar = text.split("priv:", 1)[1].split("pub:", 1)[0]
        values.append("".join(scalar.split()).replace(":", ""))
    assert len(values) >= 2 * len(keys) + 5 and len(keys) >= 5
    return values


def test_no_secret_reaches_the_output_at_the_highest_verbosity(lab):
    # One run at -vvv with diffs (every task result as AWX/ARA keep it) that re-creates what
    # holds secrets (client keys, submission passwords, a TOTP secret) and finds the rest
    # unchanged.
    fedi = lab.host("fedi")
    fedi.check_output("rm -rf /etc/fedisec/postgresql-clients /etc/exim4/passwd /home/totpuser/.google_authenticator")
    run = site_yml(lab, "-vvv", "--diff")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "changed=0" not in run.stdout.split("PLAY RECAP")[-1]
    output = run.stdout + run.stderr
    leaked = [index for index, secret in enumerate(lab_secrets(lab)) if secret in output]
    assert not leaked, f"{len(leaked)} secret value(s) appear in the output (indexes {leaked})"


def test_repeated_failed_auth_is_refused_until_the_rate_decays(lab):
    # Password guessing on the submission port: after exim_tls_auth_fail_limit failures the
    # client's address is refused AUTH (even with the right password) and disconnected.
    backup, fedi = lab.host("backup"), lab.host("fedi")
    password = (Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets" / "smtp-alice").read_text().split()[0]
    swaks = ("swaks --server fedi --port 587 --tls --auth PLAIN --auth-user alice --auth-password %s"
             " --to someone@backup --from alice@fedi --quit-after AUTH 2>&1")
    try:
        refused = False
        for _ in range(12):
            out = backup.run(swaks, "wrong-password").stdout
            if "Too many failed authentications" in out:
                refused = True
                break
            assert "535" in out  # a plain authentication failure until the limit is reached
        assert refused, "no refusal after 12 failed AUTH attempts"
        result = backup.run(swaks, password)
        rc, out = result.rc, result.stdout.replace(password, "***")  # no secret in a failure message
        assert rc != 0 and "Too many failed authentications" in out
        assert "AUTH refused" in fedi.check_output("tail -n 50 /var/log/exim4/mainlog")
    finally:
        fedi.run("rm -f /var/spool/exim4/db/ratelimit /var/spool/exim4/db/ratelimit.lockfile")
    rc = backup.run(swaks, password).rc
    assert rc == 0  # the right password works again once the rate is reset
