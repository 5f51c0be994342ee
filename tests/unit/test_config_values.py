"""Tests for module_utils/config_values.py and the config_value filter.

Besides good and bad values for every kind, the last tests evaluate the roles' own
"Check the values that reach ..." tasks against the lab's inventory (molecule/, read
only) and the roles' defaults, so that the lab keeps passing the checks it runs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

import jinja2
import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.fedisec.hardening.plugins.filter.config_values import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils.postgresql_tls import postgresql_clients
from ansible_collections.fedisec.hardening.plugins.module_utils import config_values
from ansible_collections.fedisec.hardening.plugins.module_utils.config_values import (
    KINDS,
    config_value,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

STRING_KINDS = tuple(kind for kind in KINDS if kind != "permissions_policy")

# One valid value per kind: the injection tests below break it in the middle.
BASE = {
    "dns_name": "fedi",
    "host": "fedi",
    "cidr": "192.0.2.0/24",
    "host_port": "127.0.0.1:3000",
    "identifier": "mastodon",
    "pg_hba_database": "mastodon_production",
    "unix_name": "alice",
    "sshd_group_pattern": "ssh-users",
    "sshd_user_pattern": "admin@10.0.0.0/8",
    "abs_path": "/etc/nginx/tls/fedi/fullchain.pem",
    "file_name": "fedi",
}

GOOD = {
    "dns_name": [
        "fedi",
        "solo.lab",
        "localhost",
        "social.example.org",
        "*.example.org",
        "xn--bcher-kva.example",
        "Mixed-Case.Example.ORG",
        "a" * 63 + ".org",
        ".".join(["a" * 61] * 4),  # 247 characters
        "127.0.0.1",
    ],
    "host": ["fedi", "localhost", "127.0.0.1", "::1", "2001:db8::1", "db.example.org"],
    "cidr": ["192.0.2.7", "192.0.2.0/24", "0.0.0.0/0", "::1", "2001:db8::/32", "10.89.0.164/32"],
    "host_port": [
        "127.0.0.1:3000",
        "127.0.0.1:4000",
        "localhost:1",
        "mastodon.internal:65535",
        "[::1]:3000",
        "[2001:db8::5]:4000",
        "unix:/run/mastodon/web.sock",
    ],
    "identifier": ["mastodon", "mastodon_production", "backup", "_x", "a" * 63, "db2"],
    "pg_hba_database": ["mastodon_production", "all", "sameuser", "samerole", "replication"],
    "unix_name": ["alice", "ssh-users", "hw-keys", "totp", "root", "_apt", "Debian-exim", "host$"],
    "sshd_group_pattern": ["ssh-users", "admins", "ssh-*", "team?", "*", "Debian-exim"],
    "sshd_user_pattern": [
        "admin",
        "deploy@10.0.0.0/8",
        "*@192.0.2.1",
        "ops-?",
        "backup@*.example.org",
        "alice@2001:db8::/32",
    ],
    "abs_path": [
        "/etc/nginx/tls/fedi/fullchain.pem",
        "/var/www/acme",
        "/home/mastodon/live/public",
        "/srv/sftp/%u",
        "/etc/fedisec/postgresql-clients",
        "/",
        "/a/.hidden/b",
        "/a/b..c/",
    ],
    "file_name": ["fedi", "solo.lab", "social.example.org", "_x", "a-b_c.d", "a" * 255],
}

# Beyond the injection characters, which every kind refuses.
BAD = {
    "dns_name": [
        "-fedi",
        "fedi-",
        "a..b",
        ".fedi",
        "fedi.",
        "*",
        "*.",
        "a.*.b",
        "**.example.org",
        "_x.example.org",
        "fedi lab",
        "bücher.example",
        "a" * 64 + ".org",
        ".".join(["a" * 63] * 4) + ".ab",  # 258 characters
        "~^www\\.",
    ],
    "host": ["*.example.org", "fe80::1%eth0", "[::1]", "::1::2", "a..b", "fedi:80", "-x"],
    "cidr": ["fedi", "192.0.2.1/24", "192.0.2.0/33", "2001:db8::1/32", "256.1.1.1", "10.0.0.0/8,192.0.2.0/24",
             "192.0.2.0/24 x"],
    "host_port": [
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:030000",
        ":3000",
        "::1:3000",
        "[::1]",
        "[fedi]:3000",
        "*.example.org:80",
        "unix:relative.sock",
        "unix:/run/../etc/x",
        "unix:/run/a b",
        "http://127.0.0.1:3000",
        "127.0.0.1:3000 backup",
    ],
    "identifier": [
        "Mastodon",
        "1db",
        "all",
        "sameuser",
        "samerole",
        "samegroup",
        "replication",
        "+group",
        "@file",
        "a-b",
        "a" * 64,
        "mastodon,other",
    ],
    "pg_hba_database": ["Mastodon", "1db", "samegroup", "+group", "@file", "a,b", "a" * 64],
    "unix_name": [
        "1alice",
        ".alice",
        "-alice",
        "..",
        "al ice",
        "al:ice",
        "al@ce",
        "a*",
        "a$b",
        "$x",
        "a" * 33,
        "bob\t",
        "élise",
    ],
    "sshd_group_pattern": ["!admins", "-g", ".g", "a,b", "g@host", "g g", "a$b", "a" * 33],
    "sshd_user_pattern": [
        "!root",
        "-u",
        "u@",
        "@host",
        "u@h@x",
        "u@h,x",
        "u@a..b",
        "u@!h",
        "u@h x",
        "a" * 33 + "@h",
        "u@" + "h" * 254,
    ],
    "abs_path": [
        "relative/path",
        "./x",
        "~/x",
        "/etc/../shadow",
        "/..",
        "/a/..",
        "/a b",
        "/a\tb",
        "/a#b",
        "/a`id`",
        "/tmp/é",
        "/" + "a" * 4095,
    ],
    "file_name": [
        "-x",
        "--help",
        ".x",
        ".",
        "..",
        "a..b",
        "a/b",
        "/x",
        "a b",
        "*.example.org",
        "a" * 256,
    ],
}

INJECTIONS = ["\n", "\r", ";", "{", "}", '"', "'", "$", "\\", " ", "\x00", "`"]


@pytest.mark.parametrize(
    ("kind", "value"), [(kind, value) for kind, values in GOOD.items() for value in values]
)
def test_good_values_pass_unchanged(kind, value):
    assert config_value(value, kind, "var") is value


def test_every_string_kind_has_cases():
    assert set(GOOD) == set(BAD) == set(BASE) == set(STRING_KINDS)


@pytest.mark.parametrize(
    ("kind", "value"), [(kind, value) for kind, values in BAD.items() for value in values]
)
def test_bad_values_fail_naming_variable_and_value(kind, value):
    with pytest.raises(ValueError, match=r"^some_var: ") as excinfo:
        config_value(value, kind, "some_var")
    assert repr(value)[:40] in str(excinfo.value)


@pytest.mark.parametrize("char", INJECTIONS)
@pytest.mark.parametrize("kind", STRING_KINDS)
def test_injection_characters_are_refused_in_every_kind(kind, char):
    base = BASE[kind]
    assert config_value(base, kind, "var") == base
    values = [base[:1] + char + base[1:], base + char, char + base]
    if char == "$" and kind in ("unix_name", "sshd_group_pattern"):
        # A final "$" is part of user and group names (machine accounts), nothing more.
        assert config_value(base + char, kind, "var") == base + char
        values.remove(base + char)
    for value in values:
        with pytest.raises(ValueError, match=r"^var: "):
            config_value(value, kind, "var")


@pytest.mark.parametrize("kind", STRING_KINDS)
def test_leading_dash_and_dot_dot_are_refused(kind):
    for value in ("-" + BASE[kind], "..", "../" + BASE[kind], BASE[kind] + "/.."):
        with pytest.raises(ValueError, match=r"^var: "):
            config_value(value, kind, "var")


@pytest.mark.parametrize("kind", STRING_KINDS)
def test_trailing_newline_is_refused(kind):
    # A Python regex "$" matches before a final newline: the checks must not.
    with pytest.raises(ValueError, match=r"^var: "):
        config_value(BASE[kind] + "\n", kind, "var")


@pytest.mark.parametrize("kind", STRING_KINDS)
def test_empty_string_is_refused_unless_allowed(kind):
    with pytest.raises(ValueError, match=r"^var: must not be empty \("):
        config_value("", kind, "var")
    assert config_value("", kind, "var", allow_empty=True) == ""
    assert config_value(["", BASE[kind]], kind, "var", allow_empty=True) == ["", BASE[kind]]
    with pytest.raises(ValueError, match=r"^var: "):
        config_value(BASE[kind] + ";", kind, "var", allow_empty=True)


@pytest.mark.parametrize("kind", STRING_KINDS)
@pytest.mark.parametrize("value", [None, 5, 3.5, True, b"fedi", {"a": "b"}, [None], [[1]]])
def test_wrong_types_are_refused(kind, value):
    with pytest.raises(ValueError, match=r"^var(\[[0-9]+\])*: must be a string \(.* got "):
        config_value(value, kind, "var")


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("dns_name", "a" * 254),
        ("dns_name", ".".join(["a" * 63] * 4)),  # 255 characters
        ("host", "b" * 300),
        ("cidr", "1" * 60),
        ("host_port", "a" * 5000 + ":80"),
        ("identifier", "i" * 64),
        ("pg_hba_database", "d" * 64),
        ("unix_name", "u" * 33),
        ("sshd_group_pattern", "g" * 33),
        ("sshd_user_pattern", "u" * 33),
        ("abs_path", "/" + "p" * 4095),
        ("file_name", "f" * 256),
    ],
)
def test_overlong_values_are_refused(kind, value):
    with pytest.raises(ValueError, match=r"^var: "):
        config_value(value, kind, "var")


def test_overlong_message_quotes_only_the_start():
    with pytest.raises(ValueError, match=r"is 5000 characters long, at most 255") as excinfo:
        config_value("f" * 5000, "file_name", "ecdsa_cert_name")
    assert len(str(excinfo.value)) < 400


def test_lists_are_checked_item_by_item_and_returned_unchanged():
    names = ["fedi", "solo.lab"]
    assert config_value(names, "dns_name", "nginx_tls_server_names") is names
    assert config_value([], "dns_name", "nginx_tls_server_names") == []
    assert config_value(("a", "b"), "unix_name", "groups") == ("a", "b")
    assert config_value((n for n in ["a", "b"]), "unix_name", "groups") == ["a", "b"]
    with pytest.raises(ValueError, match=r"^nginx_tls_server_names\[1\]: 'bad;name' is not"):
        config_value(["fedi", "bad;name"], "dns_name", "nginx_tls_server_names")


def test_brackets_in_the_variable_name_take_the_index():
    clients = [["mastodon_production"], ["all", "x\ny"]]
    with pytest.raises(
        ValueError,
        match=r"^postgresql_tls_clients\[1\]\.databases\[1\]: 'x\\ny' is not allowed: one of",
    ):
        config_value(clients, "pg_hba_database", "postgresql_tls_clients[].databases[]")
    with pytest.raises(ValueError, match=r"^postgresql_tls_clients\[0\]\.name: 'all' is not"):
        config_value(["all"], "identifier", "postgresql_tls_clients[].name")
    with pytest.raises(ValueError, match=r"^grid\[1\]\[0\]: "):
        config_value([["a"], ["b c"]], "unix_name", "grid")


@pytest.mark.parametrize(
    "policy",
    [
        {},
        {"camera": [], "geolocation": [], "usb": []},
        {"camera": ["self"], "fullscreen": ["*"], "autoplay": ["src"]},
        {"payment": ["self", '"https://pay.example.org"', '"https://pay.example.com:8443"']},
        {"publickey-credentials-get": ['"https://*.example.org"']},
        {"ch-ua-arch": ("self",)},
    ],
)
def test_good_permissions_policies(policy):
    assert config_value(policy, "permissions_policy", "nginx_tls_permissions_policy") is policy


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"Camera": []}, r"feature 'Camera' is not allowed"),
        ({"-camera": []}, r"feature '-camera' is not allowed"),
        ({"cam era": []}, r"feature 'cam era' is not allowed"),
        ({"camera;x": []}, r"feature 'camera;x' is not allowed"),
        ({"camera\n": []}, r"feature 'camera\\n' is not allowed"),
        ({"": []}, r"feature '' is not allowed"),
        ({5: []}, r"feature 5 is not allowed"),
        ({"camera": "self"}, r"camera: the allowlist must be a list"),
        ({"camera": None}, r"camera: the allowlist must be a list"),
        ({"camera": {"self": 1}}, r"camera: the allowlist must be a list"),
        ({"camera": ["'self'"]}, r"camera\[0\]: \"'self'\" is not allowed"),
        ({"camera": ["none"]}, r"camera\[0\]: 'none' is not allowed"),
        ({"camera": ["self", "https://example.org"]}, r"camera\[1\]: 'https://example.org'"),
        ({"camera": ['"http://example.org"']}, r"camera\[0\]: "),
        ({"camera": ['"https://example.org/path"']}, r"camera\[0\]: "),
        ({"camera": ['"https://example.org:0"']}, r"camera\[0\]: "),
        ({"camera": ['"https://a..b"']}, r"camera\[0\]: "),
        ({"camera": ['"https://-a.org"']}, r"camera\[0\]: "),
        ({"camera": ['"https://a.org"; x']}, r"camera\[0\]: "),
        ({"camera": ['"https://a.org" self']}, r"camera\[0\]: "),
        ({"camera": ['"https://a.org\\"']}, r"camera\[0\]: "),
        ({"camera": ["self\n"]}, r"camera\[0\]: "),
        ({"camera": ["self)"]}, r"camera\[0\]: "),
        ({"camera": ["$host"]}, r"camera\[0\]: "),
        ({"camera": ["{"]}, r"camera\[0\]: "),
        ({"camera": [""]}, r"camera\[0\]: must not be empty"),
        ({"camera": [None]}, r"camera\[0\]: must be a string"),
        (["camera"], r"must be a mapping"),
        ("camera=()", r"must be a mapping"),
        (None, r"must be a mapping"),
    ],
)
def test_bad_permissions_policies(policy, message):
    with pytest.raises(ValueError, match=r"^nginx_tls_permissions_policy: " + message):
        config_value(policy, "permissions_policy", "nginx_tls_permissions_policy")


@pytest.mark.parametrize(
    ("kind", "name", "allow_empty", "message"),
    [
        ("no_such_kind", "var", False, r"^kind must be one of abs_path, cidr, dns_name, "),
        (None, "var", False, r"^kind must be one of "),
        ("dns_name", "", False, r"^variable_name must be a non-empty string"),
        ("dns_name", None, False, r"^variable_name must be a non-empty string"),
        ("dns_name", "var", "yes", r"^allow_empty must be a boolean"),
    ],
)
def test_bad_arguments(kind, name, allow_empty, message):
    with pytest.raises(ValueError, match=message):
        config_value("fedi", kind, name, allow_empty=allow_empty)


def test_kinds_are_listed():
    assert KINDS == (
        "abs_path",
        "cidr",
        "dns_name",
        "file_name",
        "host",
        "host_port",
        "identifier",
        "permissions_policy",
        "pg_hba_database",
        "sshd_group_pattern",
        "sshd_user_pattern",
        "unix_name",
    )
    for kind in KINDS:
        assert f"``{kind}``" in config_values.__doc__


# ---------------------------------------------------------------- the filter plugin


@pytest.fixture(scope="module")
def config_value_filter():
    """The callable Ansible runs for fedisec.hardening.config_value."""
    filters = FilterModule().filters()
    assert set(filters) == {"config_value"}
    assert filters["config_value"].__wrapped__ is config_value
    return filters["config_value"]


def test_filter_returns_the_value(config_value_filter):
    assert config_value_filter(["fedi"], "dns_name", "nginx_tls_server_names") == ["fedi"]
    assert config_value_filter("127.0.0.1:3000", "host_port", "upstream") == "127.0.0.1:3000"
    assert config_value_filter("", "abs_path", "ca", allow_empty=True) == ""


@pytest.mark.parametrize(
    ("value", "kind", "name", "message"),
    [
        ("fedi;", "dns_name", "nginx_tls_server_names", r"^nginx_tls_server_names: 'fedi;'"),
        ("../x", "file_name", "ecdsa_cert_name", r"^ecdsa_cert_name: '\.\./x' is not allowed"),
        ("-x", "file_name", "ecdsa_cert_name", r"^ecdsa_cert_name: '-x' is not allowed"),
        (
            ["ssh-users", "x\nPermitRootLogin yes"],
            "sshd_group_pattern",
            "ssh_hardening_allow_groups",
            r"^ssh_hardening_allow_groups\[1\]: 'x\\nPermitRootLogin yes' is not allowed",
        ),
        (
            {"camera": ["self;"]},
            "permissions_policy",
            "nginx_tls_permissions_policy",
            r"^nginx_tls_permissions_policy: camera\[0\]: 'self;' is not allowed",
        ),
        ("x", "nope", "var", r"^kind must be one of"),
    ],
)
def test_filter_errors_name_the_variable(config_value_filter, value, kind, name, message):
    with pytest.raises(AnsibleFilterError, match=message) as excinfo:
        config_value_filter(value, kind, name)
    assert isinstance(excinfo.value.__cause__, ValueError)


# ------------------------------------------ the roles' checks against the lab's values


class _LazyVars(Mapping):
    """Variables whose ``{{ }}`` values are evaluated on first use, as Ansible does."""

    def __init__(self, env: jinja2.Environment, *layers: Mapping) -> None:
        self._env = env
        self._raw: dict = {}
        for layer in layers:
            self._raw.update(layer)
        self._cache: dict = {}

    def __getitem__(self, key: str) -> object:
        if key not in self._cache:
            self._cache[key] = self.evaluate(self._raw[key])
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def evaluate(self, value: object) -> object:
        """Render the templates in ``value`` (native types for a lone ``{{ expression }}``)."""
        if isinstance(value, list):
            return [self.evaluate(item) for item in value]
        if isinstance(value, dict):
            return {key: self.evaluate(item) for key, item in value.items()}
        if not isinstance(value, str) or "{{" not in value and "{%" not in value:
            return value
        expression = re.fullmatch(r"\s*\{\{(.*)\}\}\s*", value, re.DOTALL)
        box: list = []
        if expression and "}}" not in expression.group(1):
            source = "{{ (" + expression.group(1) + ") | _capture }}"
        else:
            source = value
        template = self._env.from_string(source)
        context = template.new_context(self, shared=True)
        context.vars["_box"] = box
        text = "".join(template.root_render_func(context))
        return box[0] if box else text


def _capture(context, value):
    context["_box"].append(value)
    return ""


def _combine(*terms):
    merged: dict = {}
    for term in terms:
        for mapping in term if isinstance(term, (list, tuple)) else [term]:
            merged.update(mapping)
    return merged


def _product(*iterables):
    return list(itertools.product(*iterables))


def _jinja_env() -> jinja2.Environment:
    """Jinja with the few Ansible filters and tests the roles' checks use."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(
        {
            "_capture": jinja2.pass_context(_capture),
            "fedisec.hardening.config_value": config_value,
            "regex_replace": lambda value, pattern, replacement: re.sub(
                pattern, replacement, value
            ),
            "product": _product,
            "ansible.builtin.combine": _combine,
            "combine": _combine,
            "fedisec.hardening.postgresql_clients": postgresql_clients,
        }
    )
    env.tests["match"] = lambda value, pattern: re.match(pattern, value) is not None
    return env


def _load(path: str) -> object:
    return yaml.safe_load((REPO_ROOT / path).read_text(encoding="utf-8"))


def _role_layers(role: str) -> list[dict]:
    layers = []
    for part in ("defaults", "vars"):
        path = REPO_ROOT / "roles" / role / part / "main.yml"
        if path.exists():
            layers.append(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return layers


VALUES_TASKS = {
    "nginx_tls": "assert.yml",
    "postgresql_tls": "assert.yml",
    "exim_tls": "values.yml",
    "ssh_hardening": "assert.yml",
    "ecdsa_cert": "assert.yml",
}


def _values_checks(role: str) -> list[str]:
    """The ``that`` list of the role's "Check the values that reach ..." task."""
    tasks = _load(f"roles/{role}/tasks/{VALUES_TASKS[role]}")
    (task,) = [t for t in tasks if t["name"].startswith("Check the values that reach")]
    checks = task["ansible.builtin.assert"]["that"]
    assert any("fedisec.hardening.config_value" in check for check in checks)
    return checks


# Stand-ins for what the lab fills in at run time (secrets, the subnet): never checked here.
_RUNTIME = {"lookup": lambda *args, **kwargs: "lab-run-time-value"}


def _run_checks(role: str, host: str, *layers: Mapping) -> None:
    env = _jinja_env()
    variables = _LazyVars(
        env,
        _RUNTIME,
        {"inventory_hostname": host},
        *_role_layers(role)[:1],
        *layers,
        *_role_layers(role)[1:],
    )
    for check in _values_checks(role):
        assert variables.evaluate("{{ " + check + " }}") is True, (role, host, check)


def _default_scenario(group: str = "fediverse") -> tuple[dict, dict]:
    molecule = _load("molecule/default/molecule.yml")
    group_vars = molecule["provisioner"]["inventory"]["group_vars"]
    return group_vars["all"], group_vars[group]


def _role_uses(path: str, role: str) -> list[tuple[dict, dict, str]]:
    """(vars around it, its own vars, entry point) of each use of the role in the playbook at
    ``path``: under a play's `roles:`, or an import_role/include_role task, also inside blocks
    and the task files the playbook includes (their vars and the play's are "around" it)."""
    name = f"fedisec.hardening.{role}"
    playbook = REPO_ROOT / path
    found = []

    def walk(tasks: list, around: dict, directory: Path) -> None:
        for task in tasks or []:
            scope = {**around, **task.get("vars", {})}
            if "block" in task:
                walk(task["block"], scope, directory)
                continue
            for key in ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks"):
                if key in task:
                    included = directory / task[key].replace("{{ playbook_dir }}", str(playbook.parent))
                    walk(yaml.safe_load(included.read_text(encoding="utf-8")), scope, included.parent)
            for key in ("ansible.builtin.import_role", "ansible.builtin.include_role"):
                if task.get(key, {}).get("name") == name:
                    found.append((around, task.get("vars", {}), task[key].get("tasks_from", "main")))

    for play in _load(path):
        play_vars = play.get("vars", {})
        for entry in play.get("roles", []):
            if (entry.get("role") if isinstance(entry, dict) else entry) == name:
                found.append((play_vars, entry.get("vars", {}) if isinstance(entry, dict) else {}, "main"))
        for section in ("pre_tasks", "tasks"):
            walk(play.get(section, []), play_vars, playbook.parent)
    return found


def _site_role_params(role: str, with_play_vars: bool = False) -> dict:
    """The variables site.yml gives a role (with those of its play and include, if asked)."""
    for around, own, _ in _role_uses("playbooks/site.yml", role):
        return {**(around if with_play_vars else {}), **own}
    raise AssertionError(f"{role} is not in playbooks/site.yml")


# The lab's inventory as the plays see it: PostgreSQL runs on db (site.yml's databases
# play), its clients on fedi and backup, whose addresses come from their facts.
LAB_INVENTORY = {
    "groups": {"all": ["acme", "backup", "db", "fedi"], "fediverse": ["fedi"], "databases": ["db"]},
    "hostvars": {name: {"ansible_facts": {"all_ipv4_addresses": [f"10.89.0.{index}"]}}
                 for index, name in enumerate(["acme", "backup", "db", "fedi"], start=2)},
}
LAB_HOST = {"postgresql_tls": ("db", "databases")}


@pytest.mark.parametrize("role", sorted(VALUES_TASKS))
def test_lab_hosts_pass_the_checks(role):
    host, group = LAB_HOST.get(role, ("fedi", "fediverse"))
    all_vars, group_vars = _default_scenario(group)
    _run_checks(role, host, LAB_INVENTORY, all_vars, group_vars, _site_role_params(role, with_play_vars=True))


def test_lab_values_are_the_expected_ones():
    # The values the brief of this check names; a change in the lab shows up here first.
    _, fediverse = _default_scenario()
    env = _jinja_env()
    nginx = _LazyVars(env, _role_layers("nginx_tls")[0], fediverse, _site_role_params("nginx_tls"))
    assert nginx["nginx_tls_server_names"] == ["fedi"]
    assert nginx["nginx_tls_name"] == "fedi"
    assert nginx["nginx_tls_certificate"] == "/etc/nginx/tls/fedi/fullchain.pem"
    assert nginx["nginx_tls_mastodon_web_upstream"] == "127.0.0.1:3000"
    assert nginx["nginx_tls_mastodon_streaming_upstream"] == "127.0.0.1:4000"
    ecdsa = _LazyVars(env, _role_layers("ecdsa_cert")[0], fediverse)
    assert ecdsa["ecdsa_cert_name"] == "fedi"
    assert config_value(ecdsa["ecdsa_cert_name"], "file_name", "ecdsa_cert_name") == "fedi"


def _plays_using(path: str, role: str) -> list[tuple[dict, str]]:
    """(all the vars it is given, entry point) of each use of the role in ``path``."""
    return [({**around, **own}, entry) for around, own, entry in _role_uses(path, role)]


@pytest.mark.parametrize("role", ["ecdsa_cert", "exim_tls"])
def test_lab_backup_host_passes_the_checks(role):
    all_vars, _ = _default_scenario()
    plays = [
        play_vars
        for play_vars, entry in _plays_using("molecule/default/prepare.yml", role)
        if entry == "main"
    ]
    assert plays, f"molecule/default/prepare.yml no longer runs {role}"
    for play_vars in plays:
        _run_checks(role, "backup", all_vars, play_vars)


def test_lab_static_site_passes_the_checks():
    plays = _plays_using("molecule/nginx_tls_static/converge.yml", "nginx_tls")
    assert plays, "molecule/nginx_tls_static/converge.yml no longer imports nginx_tls"
    for play_vars, _ in plays:
        assert "solo.lab" in play_vars["nginx_tls_server_names"]
        _run_checks("nginx_tls", "solo", play_vars)


@pytest.mark.parametrize(
    ("role", "layer", "message"),
    [
        ("nginx_tls", {"nginx_tls_server_names": ["fedi", "x;y"]}, r"nginx_tls_server_names\[1\]"),
        ("nginx_tls", {"nginx_tls_server_names": ["fedi\n"]}, r"nginx_tls_server_names\[0\]"),
        (
            "nginx_tls",
            {"nginx_tls_mastodon_web_upstream": "a:1;x"},
            "nginx_tls_mastodon_web_upstream",
        ),
        (
            "nginx_tls",
            {"nginx_tls_permissions_policy": {"camera": ["self }"]}},
            "nginx_tls_permissions_policy",
        ),
        ("nginx_tls", {"nginx_tls_server_names": ["-x"]}, r"nginx_tls_server_names\[0\]: '-x'"),
        ("nginx_tls", {"nginx_tls_name": "../x"}, r"nginx_tls_name: '\.\./x'"),
        ("nginx_tls", {"nginx_tls_static_root": "/var/www/$host"}, "nginx_tls_static_root"),
        (
            "postgresql_tls",
            {"postgresql_tls_clients": [{"name": "a", "password": "p" * 12, "databases": ["d{"]}]},
            r"postgresql_tls_clients\[0\]\.databases\[0\]: 'd\{'",
        ),
        (
            "postgresql_tls",
            {"postgresql_tls_clients": [{"name": "all", "password": "p" * 12}]},
            r"postgresql_tls_clients\[0\]\.name: 'all'",
        ),
        (
            "postgresql_tls",
            {"postgresql_tls_databases": [{"name": "db", "owner": "o$"}]},
            r"postgresql_tls_databases\[0\]\.owner: 'o\$'",
        ),
        (
            "postgresql_tls",
            {"postgresql_tls_listen_addresses": ["*", "a'b"]},
            r"listen_addresses\[1\]",
        ),
        ("postgresql_tls", {"postgresql_tls_ca_key_path": "/a/../b"}, "postgresql_tls_ca_key_path"),
        (
            "exim_tls",
            {"exim_tls_submission_users": [{"name": "a:b", "password": "p" * 12}]},
            r"exim_tls_submission_users\[0\]\.name: 'a:b'",
        ),
        ("exim_tls", {"exim_tls_local_domains": ["a'$(id)'"]}, r"exim_tls_local_domains\[0\]"),
        (
            "exim_tls",
            {"exim_tls_certificate": "/etc/x\nMAIN_TLS_ENABLE = no"},
            "exim_tls_certificate",
        ),
        (
            "ssh_hardening",
            {"ssh_hardening_allow_groups": ["a\nMatch all"]},
            "ssh_hardening_allow_groups",
        ),
        ("ssh_hardening", {"ssh_hardening_totp_groups": ["t*"]}, r"ssh_hardening_totp_groups\[0\]"),
        (
            "ssh_hardening",
            {"ssh_hardening_sftp_chroot_group": "x y"},
            "ssh_hardening_sftp_chroot_group",
        ),
        (
            "ecdsa_cert",
            {"ecdsa_cert_domains": ["fedi"], "ecdsa_cert_name": "-fedi"},
            "ecdsa_cert_name",
        ),
        (
            "ecdsa_cert",
            {"ecdsa_cert_domains": ["fedi"], "ecdsa_cert_name": "../x"},
            "ecdsa_cert_name",
        ),
        ("ecdsa_cert", {"ecdsa_cert_domains": ["fedi", "a{b"]}, r"ecdsa_cert_domains\[1\]"),
    ],
)
def test_role_checks_refuse_bad_values_naming_the_variable(role, layer, message):
    host, group = LAB_HOST.get(role, ("fedi", "fediverse"))
    all_vars, group_vars = _default_scenario(group)
    with pytest.raises(ValueError, match=message):
        _run_checks(role, host, LAB_INVENTORY, all_vars, group_vars, _site_role_params(role, with_play_vars=True), layer)


def test_role_checks_never_read_passwords():
    # The checks map names only; a password that is not even a string does not matter.
    for role in VALUES_TASKS:
        assert not any("password" in check for check in _values_checks(role)), role
