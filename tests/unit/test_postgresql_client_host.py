"""postgresql_tls: the default host in the clients' DATABASE_URL, and the check that it is a
server certificate name, rendered by Ansible's template engine as the role evaluates them."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "postgresql_tls"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())


def default_client_host(listen: list, names: list) -> object:
    templar = Templar(
        loader=DataLoader(),
        variables={"postgresql_tls_listen_addresses": listen, "postgresql_tls_server_names": names},
    )
    return templar.template(trust_as_template(DEFAULTS["postgresql_tls_client_host"]))


def _check() -> dict:
    tasks = yaml.safe_load((ROLE / "tasks" / "client-host.yml").read_text())
    (task,) = tasks
    return task["ansible.builtin.assert"]


def check_passes(host: str, names: list) -> bool:
    templar = Templar(
        loader=DataLoader(),
        variables={"postgresql_tls_client_host": host, "postgresql_tls_server_names": names},
    )
    return templar.evaluate_conditional(trust_as_template(_check()["that"]))


# The defaults with the inventory name filled in (a stock Debian host: it resolves to 127.0.1.1).
HOST_NAMES = ["social.example.org", "localhost", "127.0.0.1"]


def test_the_defaults_are_what_the_cases_below_assume():
    assert DEFAULTS["postgresql_tls_listen_addresses"] == ["127.0.0.1"]
    assert DEFAULTS["postgresql_tls_server_names"] == ["{{ inventory_hostname }}", "localhost", "127.0.0.1"]


@pytest.mark.parametrize(
    ("listen", "names", "host"),
    [
        # Single host with the defaults: where the server listens and an IP name of the certificate.
        (["127.0.0.1"], HOST_NAMES, "127.0.0.1"),
        (["::1"], ["social.example.org", "localhost", "::1"], "::1"),
        (["127.0.0.1", "::1"], HOST_NAMES, "127.0.0.1"),
        (["127.0.0.1", "::1"], ["h", "::1", "127.0.0.1"], "::1"),
        # 'localhost' as a listen address: the server listens on what it resolves to.
        (["localhost"], HOST_NAMES, "localhost"),
        (["127.0.0.2"], ["h", "127.0.0.1", "127.0.0.2"], "127.0.0.2"),
        # Loopback only, but no server name is a listen address: the first name, as before.
        (["127.0.0.1"], ["db.example.org"], "db.example.org"),
        ([], HOST_NAMES, "social.example.org"),
        # The lab: every address, reached from the other lab hosts by name.
        (["*"], ["fedi", "localhost", "127.0.0.1"], "fedi"),
        # A separate database host: reached at its name from the application hosts.
        (["127.0.0.1", "10.0.0.5"], ["db.internal", "localhost", "127.0.0.1"], "db.internal"),
        (["10.0.0.5"], ["10.0.0.5", "db.internal"], "10.0.0.5"),
        (["db.internal"], ["db.internal", "127.0.0.1"], "db.internal"),
        # Not loopback, though they look alike.
        (["127.0.0.1.example"], ["h", "127.0.0.1"], "h"),
        (["::10"], ["h", "::1"], "h"),
        (["localhost.example"], ["h", "localhost"], "h"),
        (["0.0.0.0"], HOST_NAMES, "social.example.org"),
    ],
)
def test_default_client_host(listen, names, host):
    assert default_client_host(listen, names) == host


def test_the_lab_keeps_its_database_url_host():
    molecule = yaml.safe_load((REPO / "molecule" / "default" / "molecule.yml").read_text())
    databases = molecule["provisioner"]["inventory"]["group_vars"]["databases"]
    assert "postgresql_tls_client_host" not in databases
    host = default_client_host(databases["postgresql_tls_listen_addresses"], databases["postgresql_tls_server_names"])
    assert host == "db"  # DATABASE_URL=postgresql://mastodon@db:5432/... on the app host


def test_no_server_names_is_an_error_not_a_guess():
    # assert.yml refuses an empty list first; the expression itself never invents a host.
    with pytest.raises(AnsibleError):
        default_client_host(["127.0.0.1"], [])
    with pytest.raises(AnsibleError):
        default_client_host(["*"], [])


@pytest.mark.parametrize(
    ("host", "names", "passes"),
    [
        ("127.0.0.1", HOST_NAMES, True),
        ("social.example.org", HOST_NAMES, True),
        ("fedi", ["fedi", "localhost", "127.0.0.1"], True),
        ("127.0.1.1", HOST_NAMES, False),  # Debian's address of the host's own name: not in the certificate
        ("db.example.org", HOST_NAMES, False),
        ("127.0.0", HOST_NAMES, False),  # a substring of a name is not a name
        ("example.org", HOST_NAMES, False),
        ("", HOST_NAMES, False),
    ],
)
def test_the_client_host_must_be_a_certificate_name(host, names, passes):
    assert check_passes(host, names) is passes


def test_the_check_message_names_both_variables():
    templar = Templar(
        loader=DataLoader(),
        variables={"postgresql_tls_client_host": "127.0.1.1", "postgresql_tls_server_names": HOST_NAMES},
    )
    message = templar.template(trust_as_template(_check()["fail_msg"]))
    assert message.startswith("postgresql_tls_client_host (127.0.1.1) must be one of postgresql_tls_server_names")
    assert "social.example.org, localhost, 127.0.0.1" in message


def test_the_check_runs_before_anything_is_installed():
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    files = [task["ansible.builtin.import_tasks"] for task in tasks]
    assert files.index("client-host.yml") < files.index("install.yml")
    assert files.index("assert.yml") < files.index("client-host.yml")  # names checked, and non-empty, first


def test_the_env_file_uses_the_client_host():
    template = (ROLE / "templates" / "client.env.j2").read_text()
    # The client host, or (for a client on the database host itself) the loopback name
    # clients.yml passes as postgresql_tls_env_host.
    assert "{% set host = postgresql_tls_env_host | default(postgresql_tls_client_host) %}" in template
    assert "@{{ host }}:{{ postgresql_tls_port }}/" in template
    assert "PGHOST={{ host }}" in template


def test_the_readme_example_gives_the_app_user_its_key():
    readme = (REPO / "README.md").read_text()
    example = readme.split("## Using the collection", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    inventory = yaml.safe_load(example)
    (client,) = inventory["fediverse"]["vars"]["postgresql_tls_clients"]
    assert client["os_user"] == "mastodon"
    assert "postgresql_tls_client_host" not in inventory["fediverse"]["vars"]
