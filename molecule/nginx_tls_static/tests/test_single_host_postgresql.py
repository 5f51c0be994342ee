"""postgresql_tls alone with its defaults on one host: the DATABASE_URL it writes works as is."""
import os

ENV = "/etc/fedisec/postgresql-clients/app/env"


def password():
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets", "pg-app")
    with open(path, encoding="utf-8") as fh:
        return fh.read().split()[0]


def test_the_database_url_connects_over_tls13_as_written(lab):
    # The env file read as the role's comment says (set -a; . env), then DATABASE_URL alone.
    result = lab.host("solo").run(
        "set -a && . " + ENV + " && set +a && PGPASSWORD=%s psql -XAtq \"$DATABASE_URL\""
        " -c 'SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()'", password())
    assert (result.rc, result.stdout.strip()) == (0, "TLSv1.3"), result.stderr


def test_the_server_listens_on_loopback_only(lab):
    listening = lab.host("solo").check_output("ss -Htln 'sport = :5432'")
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.splitlines()}
    assert addresses == {"127.0.0.1"}
