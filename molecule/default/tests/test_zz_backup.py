"""backup_pull: backup pulls a dump from db and files from fedi into its borg repository.
The sources hold no repository credentials and let the backup server's keys run their
forced commands only. Runs after the read-only tests: it adds archives and a canary."""
import json
import uuid

import pytest
from test_audit import audit, cells
from test_postgresql import as_postgres

pytestmark = pytest.mark.changes

CONFIG = "/etc/fedisec-backup"
STATE = "/var/lib/fedisec-backup/state.json"
REPO = "/var/backups/fedisec/borg"
MEDIA = "/home/mastodon/live/public/system"
XMPP_ACCOUNTS = "/var/lib/prosody/fedi/accounts"
SSH = ("ssh -F /dev/null -o UserKnownHostsFile=/etc/fedisec-backup/known_hosts -o StrictHostKeyChecking=yes"
       " -o BatchMode=yes -o IdentitiesOnly=yes -o ConnectTimeout=5")
BORG = "env BORG_PASSCOMMAND='cat /etc/fedisec-backup/passphrase' BORG_BASE_DIR=/var/lib/fedisec-backup/borg borg"


def pull(lab, key, host, command="", options=""):
    return lab.host("backup").run(f"{SSH} {options} -i {CONFIG}/{key}_key fedisec-backup@{host} {command}")


def archives(lab, glob="*"):
    return lab.host("backup").check_output(f"{BORG} list --short --glob-archives %s {REPO}", glob).split()


def run_backup(lab):
    """Starts the backup service and waits for it (a oneshot): the unit's result and the state file."""
    backup = lab.host("backup")
    started = backup.run("systemctl start fedisec-backup.service")
    return started.rc, json.loads(backup.check_output("cat %s", STATE))


@pytest.fixture(scope="module")
def canary(lab):
    """A row in the app's database (a table owned by the app's role), a media file and an XMPP
    account (Prosody's store, 0700) on fedi."""
    row, name = f"canary-{uuid.uuid4().hex}", f"lab-canary-{uuid.uuid4().hex}.bin"
    as_postgres(lab, "CREATE TABLE IF NOT EXISTS lab_canary (note text); ALTER TABLE lab_canary OWNER TO mastodon;"
                     f" INSERT INTO lab_canary VALUES ('{row}')")
    fedi = lab.host("fedi")
    fedi.check_output("install -d -o mastodon -g mastodon -m 755 %s", MEDIA)
    fedi.check_output("head -c 65536 /dev/urandom > %s/%s && chown mastodon: %s/%s", MEDIA, name, MEDIA, name)
    xmpp_user = f"canary{uuid.uuid4().hex}"
    fedi.check_output("prosodyctl register %s fedi %s", xmpp_user, uuid.uuid4().hex)
    yield row, f"{MEDIA}/{name}", f"{XMPP_ACCOUNTS}/{xmpp_user}.dat"
    fedi.run("prosodyctl deluser %s@fedi", xmpp_user)
    fedi.run("rm -f %s/%s", MEDIA, name)
    as_postgres(lab, "DROP TABLE IF EXISTS lab_canary")


def test_the_sources_hold_no_repository_credential_and_cannot_reach_it(lab):
    passphrase = lab.host("backup").check_output("cat %s/passphrase", CONFIG)
    for source in ("fedi", "db"):
        host = lab.host(source)
        assert not host.file(CONFIG).exists
        # Not in any file where a configuration or a secret could be kept.
        found = host.run("grep -rlF -- %s /etc /var/lib /root /home /usr/local", passphrase)
        assert found.rc == 1 and not found.stdout, found.stdout
        assert host.run("command -v borg").rc != 0
        # No way to the repository's host: the source's egress rejects SSH to it.
        assert lab.connect(source, "backup", 22) == "EHOSTUNREACH"


def test_each_key_runs_its_forced_command_only(lab):
    # The dump key: any other request is refused by the dump command itself.
    refused = pull(lab, "db", "db", "id")
    assert refused.rc == 2 and "fedisec-backup-dump: ask for one of: mastodon_production" in refused.stderr
    # The files key: no shell, no other command (rrsync refuses anything that is not rsync).
    refused = pull(lab, "files", "fedi", "/bin/sh -c id")
    assert refused.rc != 0 and "uid=" not in refused.stdout
    # No forwarding: restrict in authorized_keys.
    forward = pull(lab, "db", "db", options="-W 127.0.0.1:5432")
    assert forward.rc != 0 and "administratively prohibited" in forward.stderr, forward.stderr
    # No pty.
    pty = pull(lab, "files", "fedi", "true", options="-tt")
    assert "PTY allocation request failed" in pty.stderr
    # From another address the same key is refused (from= in authorized_keys): the key on db.
    lab.copy("backup", f"{CONFIG}/db_key", "db", "/root/stolen_key")
    stolen = lab.host("db").run(
        "ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes"
        " -i /root/stolen_key fedisec-backup@127.0.0.1 mastodon_production")
    lab.host("db").run("rm -f /root/stolen_key")
    assert stolen.rc == 255 and "Permission denied" in stolen.stderr, stolen.stderr


def test_a_run_stores_the_dump_and_the_files_and_the_drill_restores_them(lab, canary, tmp_path):
    row, media, xmpp_account = canary
    rc, state = run_backup(lab)
    assert rc == 0, state
    assert state["ok"] is True
    backup = lab.host("backup")
    dump_archive = archives(lab, "db-db-mastodon_production-*")[-1]
    # The canary row is in the newest dump.
    rows = backup.check_output(
        f"{BORG} extract --stdout {REPO}::%s mastodon_production.pgdump"
        " | pg_restore --data-only --table=lab_canary --file=-", dump_archive)
    assert row in rows.splitlines()
    # The drill restored that dump into a scratch database and its SQL found the canary table
    # filled; the scratch database is gone again.
    drill = state["drill"]["db/mastodon_production"]
    assert drill["ok"] is True and drill["archive"] == dump_archive and drill["tables"] >= 1, drill
    assert drill["sql"] == [{"sql": "SELECT count(*) > 0 FROM lab_canary", "rc": 0, "result": "t", "ok": True}]
    assert "fedisec_restoredrill" not in backup.check_output("runuser -u postgres -- psql -XAtq -l")
    # The media file comes back byte for byte.
    files_archive = archives(lab, "fedi-files-*")[-1]
    restored = backup.check_output(f"{BORG} extract --stdout {REPO}::%s %s | sha256sum", files_archive, media.lstrip("/"))
    assert restored.split()[0] == lab.host("fedi").file(media).sha256sum
    # So does the XMPP account from Prosody's store (0700, the prosody user's alone); its
    # control socket in the same directory is not copied.
    restored = backup.check_output(f"{BORG} extract --stdout {REPO}::%s %s | sha256sum", files_archive,
                                   xmpp_account.lstrip("/"))
    assert restored.split()[0] == lab.host("fedi").file(xmpp_account).sha256sum
    listed = backup.check_output(f"{BORG} list --short {REPO}::%s var/lib/prosody", files_archive).split()
    assert xmpp_account.lstrip("/") in listed and "var/lib/prosody/prosody.sock" not in listed, listed
    # The source keeps no view or mount of the pull.
    assert "fedisec-backup-view" not in lab.host("fedi").check_output("cat /proc/mounts")
    # The audit reads the run and its drill: the backup cell is green.
    _, report = audit(lab, tmp_path)
    cell = cells(report, "backup")["backup"]
    assert cell["status"] == "green", cell
    assert "restore drill db/mastodon_production: ok" in cell["details"], cell


def test_prune_keeps_one_archive_per_day_of_each_series(lab, canary):
    rc, _ = run_backup(lab)
    assert rc == 0
    # The lab keeps one archive per day (backup_pull_keep: daily 1) and this is the second
    # run today: the older one of each series is pruned. (With the default 7 daily, borg
    # keeps both: its 'oldest' rule fills a period that has fewer archives than asked.)
    assert len(archives(lab, "db-db-mastodon_production-*")) == 1
    assert len(archives(lab, "fedi-files-*")) == 1


def test_a_failing_dump_fails_the_run_and_stores_nothing(lab, canary):
    db, backup = lab.host("db"), lab.host("backup")
    before = archives(lab)
    db.check_output("systemctl stop postgresql")
    try:
        rc, state = run_backup(lab)
    finally:
        db.check_output("systemctl start postgresql")
    assert rc != 0
    assert state["ok"] is False
    assert state["drill"]["db/mastodon_production"]["error"] == "not run: this run stored no dump of this database"
    assert backup.run("systemctl is-failed fedisec-backup.service").stdout.strip() == "failed"
    # No truncated dump became an archive: the dump series is unchanged.
    after = archives(lab)
    assert [a for a in after if "-db-" in a] == [a for a in before if "-db-" in a]
    # root was told: the failure unit ran and handed a mail to the local MTA.
    failed = backup.check_output("journalctl --no-pager -o cat -u 'fedisec-backup-failed@*' -n 20")
    assert "fedisec-backup" in failed
    backup.run("systemctl reset-failed fedisec-backup.service")


def test_a_wrong_passphrase_fails_with_borgs_message_and_changes_nothing(lab):
    backup = lab.host("backup")
    stored = backup.file(f"{CONFIG}/passphrase").sha256sum
    count = len(archives(lab))
    run = lab.playbook("playbooks/site.yml", "--limit", "backup", "-e", "backup_pull_passphrase=wrong-wrong-wrong-wrong-1")
    assert run.returncode != 0
    output = " ".join((run.stdout + run.stderr).split())
    assert "backup_pull_passphrase does not open /var/backups/fedisec/borg" in output, output[-3000:]
    assert "is incorrect" in output  # borg's own words
    assert backup.file(f"{CONFIG}/passphrase").sha256sum == stored
    assert len(archives(lab)) == count
