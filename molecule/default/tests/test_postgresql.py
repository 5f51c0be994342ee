"""postgresql_tls, seen from the outside peer: TLS with a client certificate, or nothing."""
import os
import uuid
from collections import namedtuple

import pytest

CLIENTS = "/etc/fedisec/postgresql-clients"
SECRETS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "secrets")


# A command's result without the command, which holds a password: pytest prints the
# values in a failed assertion, and secrets never go into its message.
Result = namedtuple("Result", "rc stdout stderr")


def run(host, command, *args):
    result = host.run(command, *args)
    return Result(result.rc, result.stdout, result.stderr)


def secret(name):
    with open(os.path.join(SECRETS, name), encoding="utf-8") as fh:
        return fh.read().split()[0]  # the password lookup may append " salt=..."


@pytest.fixture(scope="module")
def peer(lab):
    """backup holds copies of the client material of both roles, and a forged certificate."""
    fedi, backup = lab.host("fedi"), lab.host("backup")
    backup.check_output("mkdir -p /root/pg && chmod 700 /root/pg")
    for role in ("mastodon", "backup"):
        for name in ("ca.crt", "client.crt", "client.key"):
            lab.copy("fedi", f"{CLIENTS}/{role}/{name}", "backup", f"/root/pg/{role}-{name}")
    # A certificate for "mallory" from the real CA: valid, but its CN is not the role it
    # logs in as.
    fedi.check_output(
        "cd /tmp && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout m.key -out m.csr"
        " -subj /CN=mallory 2>/dev/null && openssl x509 -req -in m.csr -CA /etc/postgresql/fedisec-tls/ca.crt"
        " -CAkey /etc/postgresql/fedisec-tls/ca.key -CAcreateserial -days 1 -out m.crt 2>/dev/null")
    for name in ("m.key", "m.crt"):
        lab.copy("fedi", f"/tmp/{name}", "backup", f"/root/pg/{name}")
    fedi.run("rm -f /tmp/m.key /tmp/m.csr /tmp/m.crt")
    return backup


def psql(peer, role, sslmode="verify-full", cert=None, key=None, host="fedi", extra="", query="SELECT 1"):
    cert = cert or f"/root/pg/{role}-client.crt"
    key = key or f"/root/pg/{role}-client.key"
    conninfo = (f"host={host} dbname=mastodon_production user={role} sslmode={sslmode} "
                f"sslrootcert=/root/pg/{role}-ca.crt sslcert={cert} sslkey={key} {extra}")
    return run(peer, "PGPASSWORD=%s psql -XAtq -c %s %s", secret(f"pg-{role}"), query, conninfo)


def test_verify_full_with_the_right_certificate_uses_tls13(peer):
    result = psql(peer, "mastodon", query="SELECT version || ' ' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "TLSv1.3 true"


def test_no_tls_is_rejected(peer):
    result = psql(peer, "mastodon", sslmode="disable")
    assert result.rc != 0
    assert "no encryption" in result.stderr


def test_tls_without_client_certificate_is_rejected(peer):
    result = psql(peer, "mastodon", cert="/nonexistent.crt", key="/nonexistent.key")
    assert result.rc != 0
    assert "certificate" in result.stderr


def test_tls12_client_is_rejected_when_13_is_required(peer):
    result = psql(peer, "mastodon", extra="ssl_max_protocol_version=TLSv1.2")
    assert result.rc != 0
    assert "protocol version" in result.stderr or "alert" in result.stderr


def test_certificate_for_another_name_is_rejected(lab, peer):
    result = psql(peer, "mastodon", cert="/root/pg/m.crt", key="/root/pg/m.key")
    assert result.rc != 0
    # The client only learns that authentication failed; the server log says why.
    log = lab.host("fedi").check_output("tail -n 20 /var/log/postgresql/postgresql-15-main.log")
    assert 'certificate validation (clientcert=verify-full) failed for user "mastodon": CN mismatch' in log


def test_wrong_password_is_rejected(peer):
    result = peer.run(
        "PGPASSWORD=wrong-password psql -XAtq -c 'SELECT 1' 'host=fedi dbname=mastodon_production user=mastodon "
        "sslmode=verify-full sslrootcert=/root/pg/mastodon-ca.crt sslcert=/root/pg/mastodon-client.crt "
        "sslkey=/root/pg/mastodon-client.key'")
    assert result.rc != 0
    assert "password authentication failed" in result.stderr


def test_client_refuses_a_server_name_not_in_the_certificate(lab, peer):
    address = lab.host("fedi").check_output("hostname -I").split()[0]
    result = psql(peer, "mastodon", host=address)
    assert result.rc != 0
    assert "does not match host name" in result.stderr


PROBE_TABLE = "fedisec_lab_dump_probe"


def as_postgres(lab, sql):
    return lab.host("fedi").check_output(
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


def test_backup_role_dumps_over_tls(peer, mastodon_table):
    # backup owns nothing and was granted nothing on the table: only pg_read_all_data
    # lets it read another role's data (without it pg_dump fails with "permission denied").
    dump = run(peer, "PGPASSWORD=%s pg_dump -Fc -f /root/pg/db.dump 'host=fedi dbname=mastodon_production user=backup"
                     " sslmode=verify-full sslrootcert=/root/pg/backup-ca.crt sslcert=/root/pg/backup-client.crt"
                     " sslkey=/root/pg/backup-client.key'", secret("pg-backup"))
    assert dump.rc == 0, dump.stderr
    listing = peer.check_output("pg_restore --list /root/pg/db.dump")
    assert f"TABLE public {PROBE_TABLE} mastodon" in listing  # dumped as mastodon's table
    rows = peer.check_output("pg_restore --data-only --table=%s --file=- /root/pg/db.dump", PROBE_TABLE)
    assert mastodon_table in rows.splitlines(), rows


def test_client_files_and_database_url(lab):
    fedi = lab.host("fedi")
    key = fedi.file(f"{CLIENTS}/mastodon/client.key")
    assert (key.user, key.mode) == ("root", 0o600)
    env = fedi.file(f"{CLIENTS}/mastodon/env").content_string
    assert (f"DATABASE_URL=postgresql://mastodon@fedi:5432/mastodon_production?sslmode=verify-full"
            f"&sslrootcert={CLIENTS}/mastodon/ca.crt&sslcert={CLIENTS}/mastodon/client.crt"
            f"&sslkey={CLIENTS}/mastodon/client.key") in env
    ca_key = fedi.file("/etc/postgresql/fedisec-tls/ca.key")
    assert (ca_key.user, ca_key.mode) == ("root", 0o600)
