"""site.yml's required inputs (plugins/module_utils/site_inputs.py and the play that checks
them first): every missing input of every host listed at once, nothing changed and no host
contacted; the example inventory in docs/examples passes once its vault value is set."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import COLLECTIONS_ROOT

from ansible_collections.fedisec.hardening.plugins.module_utils.site_inputs import site_inputs_missing

REPO = Path(__file__).resolve().parents[2]
GROUPS = {"fediverse": ["web"], "backup_servers": ["bk"], "databases": ["db"]}
ADMINS = [{"name": "alice", "keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice"]}]
COMPLETE = {
    "web": {"ecdsa_cert_domains": ["social.example.org"], "ecdsa_cert_acme_contact": ["a@example.org"],
            "ecdsa_cert_acme_terms_agreed": True, "ssh_hardening_admins": ADMINS},
    "bk": {"backup_pull_passphrase": "a long secret", "ssh_hardening_admins": ADMINS},
    "db": {"ssh_hardening_admins": ADMINS},
}


class Undefined(Exception):
    pass


class Templating(dict):
    """A host's variables as Ansible's hostvars give them: a value may fail to template."""

    def __getitem__(self, name):
        value = super().__getitem__(name)
        if value == "{{ vault_x }}":
            raise Undefined("'vault_x' is undefined\nmore detail")
        return value


def hostvars(**changes):
    result = {host: Templating(values) for host, values in COMPLETE.items()}
    for key, value in changes.items():
        host, name = key.split("__")
        if value is KeyError:
            del result[host][name]
        else:
            result[host][name] = value
    return result


def test_a_complete_inventory_misses_nothing():
    assert site_inputs_missing(["web", "bk", "db"], GROUPS, hostvars()) == []


def test_every_missing_input_of_every_host_is_listed_at_once():
    empty = {"web": Templating(), "bk": Templating(), "db": Templating()}
    lines = site_inputs_missing(["web", "bk", "db"], GROUPS, empty)
    assert [line.split(" is not set")[0] for line in lines] == [
        "web (group fediverse): ecdsa_cert_domains",
        "web (group fediverse): ecdsa_cert_acme_contact",
        "web (group fediverse): ecdsa_cert_acme_terms_agreed",
        "web (group fediverse): ssh_hardening_admins",
        "db (group databases): ssh_hardening_admins",
        "bk (group backup_servers): backup_pull_passphrase",
        "bk (group backup_servers): ssh_hardening_admins",
    ]
    assert all(" is not set (" in line for line in lines)
    assert "e.g. [social.example.org]" in lines[0]


@pytest.mark.parametrize("change, expected", [
    ({"web__ecdsa_cert_domains": []}, "ecdsa_cert_domains is empty"),
    ({"web__ecdsa_cert_domains": "social.example.org"}, "ecdsa_cert_domains must be a list of names"),
    ({"web__ecdsa_cert_domains": ["", "x"]}, "ecdsa_cert_domains must list non-empty names"),
    ({"web__ecdsa_cert_domains": None}, "ecdsa_cert_domains is not set"),
    ({"web__ecdsa_cert_acme_contact": KeyError}, "ecdsa_cert_acme_contact is not set"),
    ({"web__ecdsa_cert_acme_terms_agreed": False}, "ecdsa_cert_acme_terms_agreed must be true"),
    ({"web__ecdsa_cert_acme_terms_agreed": "no"}, "ecdsa_cert_acme_terms_agreed must be true"),
    ({"bk__backup_pull_passphrase": "   "}, "backup_pull_passphrase must be a non-empty string"),
    ({"bk__backup_pull_passphrase": 12345}, "backup_pull_passphrase must be a non-empty string"),
    ({"web__ssh_hardening_admins": []}, "ssh_hardening_admins lists no admin with a name and keys"),
    ({"web__ssh_hardening_admins": "alice"}, "ssh_hardening_admins must be a list of {name, keys} entries"),
    ({"web__ssh_hardening_admins": [{"name": "alice"}]}, "ssh_hardening_admins lists no admin with a name and keys"),
    ({"web__ssh_hardening_admins": [{"name": "alice", "keys": ["k"], "state": "absent"}]},
     "ssh_hardening_admins lists no admin with a name and keys"),
    ({"bk__ssh_hardening_admins": ["alice"]}, "ssh_hardening_admins lists no admin with a name and keys"),
    ({"bk__ssh_hardening_admins": [Templating(name="alice", keys=["k"], password_hash="{{ vault_x }}")]},
     "ssh_hardening_admins [0].password_hash cannot be worked out: 'vault_x' is undefined"),
])
def test_an_unusable_value_is_named_with_why(change, expected):
    lines = site_inputs_missing(["web", "bk"], GROUPS, hostvars(**change))
    assert len(lines) == 1 and expected in lines[0], lines


@pytest.mark.parametrize("value", [True, "true", "yes", "True", "1"])
def test_terms_agreed_may_come_from_an_ini_inventory_as_text(value):
    assert site_inputs_missing(["web"], GROUPS, hostvars(web__ecdsa_cert_acme_terms_agreed=value)) == []


def test_a_value_that_cannot_be_templated_is_reported_with_the_error_not_the_value():
    lines = site_inputs_missing(["bk"], GROUPS, hostvars(bk__backup_pull_passphrase="{{ vault_x }}"))
    assert lines == ["bk (group backup_servers): backup_pull_passphrase cannot be worked out: 'vault_x' is "
                     "undefined (the backup repository's passphrase, from a vault)"]


def test_only_the_hosts_of_the_run_are_checked():
    empty = {"web": Templating(), "bk": Templating()}
    assert {line.split()[0] for line in site_inputs_missing(["bk"], GROUPS, empty)} == {"bk"}
    assert site_inputs_missing([], GROUPS, empty) == []


def test_a_value_is_never_echoed():
    secret = "s3cr3t-but-blank?" + " " * 0
    lines = site_inputs_missing(["web", "bk"], GROUPS, hostvars(
        web__ecdsa_cert_domains=secret, bk__backup_pull_passphrase=123))
    assert lines and not any(secret in line or "123" in line for line in lines)


@pytest.mark.parametrize("hosts, groups", [("web", GROUPS), (None, GROUPS), (["web"], ["fediverse"])])
def test_bad_arguments_fail_clearly(hosts, groups):
    with pytest.raises(ValueError, match="site_inputs_missing"):
        site_inputs_missing(hosts, groups, hostvars())


REFUSE = '''
from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection import ConnectionBase

DOCUMENTATION = """
    name: fedisec_refuse
    short_description: refuses every use (the test fails if a task reaches for a host)
    description: [Refuses every use.]
    author: fedisec.hardening contributors
"""


class Connection(ConnectionBase):
    transport = "fedisec_refuse"

    def _connect(self):
        raise AnsibleConnectionFailure("fedisec_refuse: a task reached for a host")

    def exec_command(self, cmd, in_data=None, sudoable=True):
        self._connect()

    def put_file(self, in_path, out_path):
        self._connect()

    def fetch_file(self, in_path, out_path):
        self._connect()

    def close(self):
        pass
'''


def run_site(tmp_path: Path, *args: str, inventory: Path) -> subprocess.CompletedProcess:
    """ansible-playbook on site.yml with gathering explicit and a connection that refuses every
    use: a task that reached for a host would fail the run with "a task reached for a host"."""
    plugins = tmp_path / "connection_plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "fedisec_refuse.py").write_text(REFUSE)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT), ANSIBLE_GATHERING="explicit",
               ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_CONNECTION_PLUGINS=str(plugins))
    env.pop("ANSIBLE_CALLBACK_PLUGINS", None)
    playbook = Path(sys.executable).parent / "ansible-playbook"
    return subprocess.run(
        [str(playbook), "-i", str(inventory), str(REPO / "playbooks" / "site.yml"),
         "-e", "ansible_connection=fedisec_refuse", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_site_yml_stops_first_listing_every_missing_input(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("fediverse: {hosts: {social.example.org: {}}}\n"
                         "backup_servers: {hosts: {backup.example.org: {}}}\n")
    run = run_site(tmp_path, inventory=inventory)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "site.yml needs these inputs (nothing was changed)" in out, out
    for name in ("ecdsa_cert_domains", "ecdsa_cert_acme_contact", "ecdsa_cert_acme_terms_agreed",
                 "backup_pull_passphrase", "ssh_hardening_admins"):
        assert f"{name} is not set" in out, (name, out)
    # Nothing but the check ran: no other task, no connection attempted.
    assert "a task reached for a host" not in out, out
    assert "Lay the operating system baseline" not in out, out


def test_the_example_inventory_names_what_is_left_to_fill_in_then_passes(tmp_path):
    inventory = REPO / "docs" / "examples" / "inventory.yml"
    run = run_site(tmp_path, "--tags", "fedisec_preflight", inventory=inventory)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "backup_pull_passphrase cannot be worked out" in out and "vault_backup_pull_passphrase" in out, out
    flat = " ".join(out.split())
    assert flat.count("ssh_hardening_admins [0].password_hash cannot be worked out: 'vault_admin_password_hashes'"
                      " is undefined; lists no admin with a name and keys") == 2, out
    assert "ecdsa_cert" not in out.split("nothing was changed")[1], out
    # With the admin's key pasted in, only the vault values are left.
    admins = ["-e", '{"ssh_hardening_admins": [{"name": "alice", "keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA"],'
              ' "password_hash": "{{ vault_admin_password_hashes.alice }}"}]}']
    run = run_site(tmp_path, "--tags", "fedisec_preflight", *admins, inventory=inventory)
    out = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0, out
    assert "ssh_hardening_admins [0].password_hash cannot be worked out: 'vault_admin_password_hashes'" in out, out
    assert "lists no admin" not in out, out
    # With the vault values set, the check passes. (--tags: the rest of site.yml only validates
    # the roles' arguments, on the controller; without facts from real hosts it stops there.)
    vault = ["-e", "vault_backup_pull_passphrase=unit-test-only",
             "-e", '{"vault_admin_password_hashes": {"alice": "$y$j9T$unit-test-only"}}']
    run = run_site(tmp_path, "--tags", "fedisec_preflight", *admins, *vault, inventory=inventory)
    out = run.stdout + run.stderr
    check = re.search(r"TASK \[Stop here, naming every required input that is missing\] \**\n(\w+): ", out)
    assert check and check.group(1) == "ok", out
    assert "site.yml needs these inputs" not in out, out
    assert "a task reached for a host" not in out, out
