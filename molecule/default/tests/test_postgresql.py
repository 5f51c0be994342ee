"""postgresql_tls in the split layout: PostgreSQL on db, the app (mastodon) on fedi, the
backup role on db itself (the pull backups' forced dump command runs pg_dump there). TLS with
a client certificate from the client's own host, or nothing."""
import os
import uuid
from collections import namedtuple
from datetime import datetime, timedelta

import pytest
from lab import PG_VERSION

CLIENTS = "/etc/fedisec/postgresql-clients"
SECRETS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "secrets")
DB, APP = "db", "fedi"
# The app's copies of its client files plus a forged certificate, owned by its user.
WORK = "/home/mastodon/pg-lab"


# A command's result without the command, which holds a password: pytest prints the
# values in a failed assertion, and secrets never go into its message.
Result = namedtuple("Result", "rc stdout stderr")


def run(host, command, *args):
    result = host.run(command, *args)
    return Result(result.rc, result.stdout, result.stderr)


def secret(name):
    with open(os.path.join(SECRETS, name), encoding="utf-8") as fh:
        return fh.read().split()[0]  # the password lookup may append " salt=..."


def address(lab, host):
    return lab.host(host).check_output("hostname -I").split()[0]


@pytest.fixture(scope="module")
def app(lab):
    """fedi, where the app's client files landed; plus a certificate for "mallory" from the
    real CA (valid, but its CN is not the role it logs in as), made on db where the CA is."""
    db, fedi = lab.host(DB), lab.host(APP)
    db.check_output(
        "cd /tmp && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout m.key -out m.csr"
        " -subj /CN=mallory 2>/dev/null && openssl x509 -req -in m.csr -CA /etc/postgresql/fedisec-tls/ca.crt"
        " -CAkey /etc/postgresql/fedisec-tls/ca.key -CAcreateserial -days 1 -out m.crt 2>/dev/null")
    fedi.check_output("install -d -o mastodon -m 700 %s", WORK)
    for name in ("m.key", "m.crt"):
        lab.copy(DB, f"/tmp/{name}", APP, f"{WORK}/{name}")
    db.run("rm -f /tmp/m.key /tmp/m.csr /tmp/m.crt")
    fedi.check_output("chown mastodon %s/m.key %s/m.crt", WORK, WORK)
    return fedi


def psql(app, sslmode="verify-full", cert=None, key=None, host=DB, extra="", query="SELECT 1", password=None):
    """psql as the app's user on the app host, with its client files unless told otherwise."""
    files = f"{CLIENTS}/mastodon"
    conninfo = (f"host={host} dbname=mastodon_production user=mastodon sslmode={sslmode} "
                f"sslrootcert={files}/ca.crt sslcert={cert or files + '/client.crt'} "
                f"sslkey={key or files + '/client.key'} {extra}")
    return run(app, "runuser -u mastodon -- env PGPASSWORD=%s psql -XAtq -c %s %s",
               password or secret("pg-mastodon"), query, conninfo)


def test_the_app_host_connects_with_verify_full_over_tls13(app):
    result = psql(app, query="SELECT version || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "TLSv1.3 true"


def test_no_tls_is_rejected(app):
    result = psql(app, sslmode="disable")
    assert result.rc != 0
    assert "no encryption" in result.stderr


def test_tls_without_client_certificate_is_rejected(app):
    result = psql(app, cert="/nonexistent.crt", key="/nonexistent.key")
    assert result.rc != 0
    assert "certificate" in result.stderr


def test_tls12_client_is_rejected_when_13_is_required(app):
    result = psql(app, extra="ssl_max_protocol_version=TLSv1.2")
    assert result.rc != 0
    assert "protocol version" in result.stderr or "alert" in result.stderr


def test_certificate_for_another_name_is_rejected(lab, app):
    result = psql(app, cert=f"{WORK}/m.crt", key=f"{WORK}/m.key")
    assert result.rc != 0
    # The client only learns that authentication failed; the server log says why.
    log = lab.host(DB).check_output(f"tail -n 20 /var/log/postgresql/postgresql-{PG_VERSION}-main.log")
    assert 'certificate validation (clientcert=verify-full) failed for user "mastodon": CN mismatch' in log


def test_wrong_password_is_rejected(app):
    result = psql(app, password="wrong-password")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_client_refuses_a_server_name_not_in_the_certificate(lab, app):
    result = psql(app, host=address(lab, DB))
    assert result.rc != 0
    assert "does not match host name" in result.stderr


PROBE_TABLE = "fedisec_lab_dump_probe"


def as_postgres(lab, sql):
    return lab.host(DB).check_output(
        "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d mastodon_production -c %s", sql)


@pytest.fixture
def mastodon_table(lab):
    """A table in mastodon_production owned by mastodon, not by backup, holding one new row.
    site.yml manages no tables: the lab stays as converged; the table goes afterwards."""
    row = f"dump-probe-{uuid.uuid4().hex}"
    as_postgres(lab, f"CREATE TABLE IF NOT EXISTS {PROBE_TABLE} (note text);"
                     f" ALTER TABLE {PROBE_TABLE} OWNER TO mastodon;"
                     f" INSERT INTO {PROBE_TABLE} VALUES ('{row}')")
    yield row
    as_postgres(lab, f"DROP TABLE IF EXISTS {PROBE_TABLE}")


# What the backup server runs (backup_pull): its dump key, whose forced command on db runs
# pg_dump as the backup role, over TLS with that role's certificate (verify-full).
PULL_DUMP = ("ssh -F /dev/null -i /etc/fedisec-backup/db_key -o UserKnownHostsFile=/etc/fedisec-backup/known_hosts"
             " -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes fedisec-backup@db mastodon_production")


def test_backup_role_dumps_over_tls(lab, mastodon_table):
    # backup owns nothing and was granted nothing on the table: only pg_read_all_data lets
    # it read another role's data (without it pg_dump fails with "permission denied").
    peer = lab.host("backup")
    dump = run(peer, f"{PULL_DUMP} > /root/db.dump")
    assert dump.rc == 0, dump.stderr
    listing = peer.check_output("pg_restore --list /root/db.dump")
    assert f"TABLE public {PROBE_TABLE} mastodon" in listing  # dumped as mastodon's table
    rows = peer.check_output("pg_restore --data-only --table=%s --file=- /root/db.dump", PROBE_TABLE)
    peer.run("rm -f /root/db.dump")
    assert mastodon_table in rows.splitlines(), rows


def test_client_files_land_where_the_clients_run(lab):
    fedi, db, backup = lab.host(APP), lab.host(DB), lab.host("backup")
    for name, mode in (("client.key", 0o600), ("env", 0o600), ("client.crt", 0o644), ("ca.crt", 0o644)):
        found = fedi.file(f"{CLIENTS}/mastodon/{name}")
        assert (found.user, found.mode) == ("mastodon", mode), name
    env = fedi.file(f"{CLIENTS}/mastodon/env").content_string
    assert (f"DATABASE_URL='postgresql://mastodon@db:5432/mastodon_production?sslmode=verify-full"
            f"&sslrootcert={CLIENTS}/mastodon/ca.crt&sslcert={CLIENTS}/mastodon/client.crt"
            f"&sslkey={CLIENTS}/mastodon/client.key'") in env
    # The backup role's files are on db only, for the pull backups' user; the database host
    # keeps what it issued for the others, root's, and no settings file.
    assert not fedi.file(f"{CLIENTS}/backup").exists
    assert not backup.file(f"{CLIENTS}/backup").exists
    key = db.file(f"{CLIENTS}/backup/client.key")
    assert (key.user, key.mode) == ("fedisec-backup", 0o600)
    assert db.file(f"{CLIENTS}/mastodon").user == "root"
    assert not db.file(f"{CLIENTS}/mastodon/env").exists
    ca_key = db.file("/etc/postgresql/fedisec-tls/ca.key")
    assert (ca_key.user, ca_key.mode) == ("root", 0o600)


def test_only_the_app_user_may_leave_the_app_host_for_the_database(lab):
    db = address(lab, DB)
    assert lab.connect(APP, db, 5432, user="mastodon") == "connected"
    # Egress is per user: root (and every other user) on the app host is rejected.
    assert lab.connect(APP, db, 5432) == "EHOSTUNREACH"
    assert lab.connect(APP, db, 5432, user="www-data") == "EHOSTUNREACH"


def test_a_third_host_is_refused_by_the_database_hosts_firewall(lab):
    db = address(lab, DB)
    assert lab.connect(APP, db, 5432, user="mastodon") == "connected"  # the control: the app's host
    assert lab.connect("backup", db, 5432) == "timeout"  # the backup server pulls over SSH: dropped
    assert lab.connect("acme", db, 5432) == "timeout"


def test_pg_hba_admits_a_client_only_from_its_own_hosts(lab):
    # The app's user on fedi passes the firewall, but fedi is not a host of the backup role:
    # with that role's own certificate and password, pg_hba.conf has no entry for it.
    fedi = lab.host(APP)
    fedi.check_output("install -d -m 700 -o mastodon %s", WORK)
    for name in ("ca.crt", "client.crt", "client.key"):
        lab.copy(DB, f"{CLIENTS}/backup/{name}", APP, f"{WORK}/{name}")
    fedi.check_output("chown mastodon %s/ca.crt %s/client.crt %s/client.key", WORK, WORK, WORK)
    conninfo = (f"host=db dbname=mastodon_production user=backup sslmode=verify-full sslrootcert={WORK}/ca.crt"
                f" sslcert={WORK}/client.crt sslkey={WORK}/client.key")
    result = run(fedi, "runuser -u mastodon -- env PGPASSWORD=%s psql -XAtq -c 'SELECT 1' %s", secret("pg-backup"), conninfo)
    fedi.run("rm -rf %s", WORK)
    assert result.rc != 0
    assert f'pg_hba.conf rejects connection for host "{address(lab, APP)}", user "backup"' in result.stderr


TLS_DIR = "/etc/postgresql/fedisec-tls"


@pytest.fixture(scope="module")
def pg_host():
    return DB


def test_renewal_timer_is_enabled_and_scheduled(lab, pg_host):
    db = lab.host(pg_host)
    assert db.run("systemctl is-enabled fedisec-pg-renew.timer").stdout.strip() == "enabled"
    assert db.run("systemctl is-active fedisec-pg-renew.timer").stdout.strip() == "active"
    # A calendar timer that will fire: systemd has computed its next elapse.
    next_run = db.check_output("systemctl show -P NextElapseUSecRealtime fedisec-pg-renew.timer")
    assert next_run and next_run != "n/a", next_run
    assert db.run("systemctl is-failed fedisec-pg-renew.service").stdout.strip() != "failed"


def test_the_crl_is_loaded_and_valid(lab, pg_host):
    db = lab.host(pg_host)
    crl = db.check_output("su postgres -c 'psql -XAtc \"SHOW ssl_crl_file\"'")
    assert crl == f"{TLS_DIR}/ca.crl"
    out = db.check_output("openssl crl -in %s -CAfile %s -noout -nextupdate 2>&1", crl, f"{TLS_DIR}/ca.crt")
    assert "verify OK" in out, out
    next_update = datetime.strptime(out.split("nextUpdate=", 1)[1].strip(), "%b %d %H:%M:%S %Y %Z")
    # The timer signs it again when fewer than postgresql_tls_crl_renew_days (30) remain.
    assert next_update > datetime.utcnow() + timedelta(days=29), out
    assert db.file(crl).user == "root" and db.file(crl).group == "postgres"
    records = db.file("/etc/fedisec/postgresql-tls")
    assert (records.user, records.mode) == ("root", 0o700)
