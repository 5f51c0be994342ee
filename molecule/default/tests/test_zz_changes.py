"""Changes on the converged lab, run last: a bad config never lands, renewal swaps the
certificate (nginx and Exim) without a restart, and a failing renewal keeps the working one."""

MARKER = "/var/lib/fedisec-acme/force-renewal"
SITE = "/etc/nginx/sites-available/fedisec-fedi.conf"


def site_yml(lab, *extra):
    return lab.playbook("playbooks/site.yml", "--limit", "fedi", *extra)


def nginx_master_pid(lab):
    return lab.host("fedi").check_output("cat /run/nginx.pid")


def test_a_broken_value_never_replaces_the_working_config(lab):
    fedi = lab.host("fedi")
    before = fedi.file(SITE).sha256sum
    # Passes the variable checks but nginx refuses it: only `nginx -t` can catch it.
    run = site_yml(lab, "-e", "nginx_tls_mastodon_web_upstream=127.0.0.1:99999")
    assert run.returncode != 0
    assert "invalid port" in run.stdout + run.stderr
    assert fedi.file(SITE).sha256sum == before
    status, _ = lab.http("backup", "https://fedi/")
    assert status == 200


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
    # Valid for the argument spec, refused by `sshd -t` on a copy of the whole configuration.
    run = lab.playbook("one-role.yml", "-e", "lab_role=ssh_hardening",
                       "-e", '{"ssh_hardening_max_startups": "10:30:x"}')
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
