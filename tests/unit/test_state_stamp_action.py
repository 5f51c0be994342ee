# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""plugins/action/state_stamp.py: the digest follows every option of the calling role's
argument spec as the role sees it (and the role's code), <role>_full_run answers without
the host, and a task outside a role or with a bad state is refused."""

from __future__ import annotations

from types import SimpleNamespace
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.fedisec.hardening.plugins.action.state_stamp import ActionModule

SPECS = """\
argument_specs:
  main:
    options:
      demo_port: {type: int}
      demo_names: {type: list}
      demo_full_run: {type: bool}
"""


@pytest.fixture
def role(tmp_path):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "argument_specs.yml").write_text(SPECS)
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "main.yml").write_text("---\n")
    return SimpleNamespace(get_name=lambda include_role_fqcn=True: "demo", get_role_path=lambda: str(tmp_path),
                           path=tmp_path)


def run(role, args, variables, module_result=None):
    """One run of the action; returns its result and the module's arguments (None: not run)."""
    loader = DataLoader()
    task = mock.MagicMock(args=args, _role=role, async_val=0)
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/tmp/remote"
    action = ActionModule(task, connection, mock.MagicMock(), loader, Templar(loader=loader, variables=variables), None)
    calls = []

    def execute_module(module_name, module_args, task_vars):
        assert module_name == "fedisec.hardening.state_stamp"
        calls.append(module_args)
        return dict(module_result or {"changed": False, "current": True, "reasons": []})

    with mock.patch.object(action, "_execute_module", side_effect=execute_module):
        result = action.run(task_vars=variables)
    return result, calls[0] if calls else None


BASE = {"demo_port": 22, "demo_names": ["a"], "ansible_connection": "ssh",
        "ansible_facts": {"distribution": "Debian", "distribution_version": "12", "architecture": "x86_64"}}


def test_the_host_is_asked_with_the_role_name_and_digest(role):
    result, module_args = run(role, {"watch": {"units": ["demo.service"]}}, BASE)
    assert module_args["name"] == "demo" and module_args["state"] == "check"
    assert module_args["watch"] == {"units": ["demo.service"]}
    assert module_args["digest"] == result["digest"] and len(result["digest"]) == 64
    assert result["current"] is True


@pytest.mark.parametrize("change", [
    {"demo_port": 2222},
    {"demo_names": ["a", "b"]},
    {"demo_port": trust_as_template("{{ 20 + 3 }}")},
    {"ansible_connection": "podman"},
    {"ansible_facts": {"distribution": "Debian", "distribution_version": "13", "architecture": "x86_64"}},
])
def test_every_option_the_release_and_the_connection_change_the_digest(role, change):
    before, _ = run(role, {}, BASE)
    after, _ = run(role, {}, {**BASE, **change})
    assert after["digest"] != before["digest"]


def test_a_templated_option_counts_by_its_value_and_a_missing_one_by_its_absence(role):
    plain, _ = run(role, {}, BASE)
    templated, _ = run(role, {}, {**BASE, "demo_port": trust_as_template("{{ 11 * 2 }}")})
    missing, _ = run(role, {}, {k: v for k, v in BASE.items() if k != "demo_port"})
    assert templated["digest"] == plain["digest"] != missing["digest"]


def test_the_extra_inputs_and_the_role_code_change_the_digest(role):
    before, _ = run(role, {}, BASE)
    extra, _ = run(role, {"inputs": ["tmpfs"]}, BASE)
    (role.path / "tasks" / "main.yml").write_text("---\n- name: New\n")
    code, _ = run(role, {}, BASE)
    assert len({before["digest"], extra["digest"], code["digest"]}) == 3


def test_the_full_run_switch_is_not_an_input_and_answers_without_the_host(role):
    before, _ = run(role, {}, {**BASE, "demo_full_run": False})
    result, module_args = run(role, {}, {**BASE, "demo_full_run": "yes"})
    assert module_args is None
    assert result["current"] is False and result["reasons"] == ["demo_full_run is true"]
    assert result["digest"] == before["digest"]


def test_record_takes_the_digest_of_the_check(role):
    result, module_args = run(role, {"state": "record", "digest": "f" * 64}, BASE,
                              {"changed": False, "current": False, "reasons": []})
    assert module_args["digest"] == result["digest"] == "f" * 64 and module_args["state"] == "record"


def test_a_task_outside_a_role_or_a_bad_state_is_refused(role):
    with pytest.raises(AnsibleActionFail, match="inside a role"):
        run(None, {}, BASE)
    with pytest.raises(AnsibleActionFail, match="state: 'wipe'"):
        run(role, {"state": "wipe"}, BASE)


def test_a_role_without_an_argument_spec_is_refused(role):
    (role.path / "meta" / "argument_specs.yml").write_text("---\nargument_specs: {}\n")
    with pytest.raises(AnsibleActionFail, match="demo: meta/argument_specs.yml has no argument_specs"):
        run(role, {}, BASE)


def test_an_option_that_does_not_template_counts_as_such_and_is_left_to_the_role(role):
    broken, _ = run(role, {}, {**BASE, "demo_port": trust_as_template("{{ 1 | no_such_filter }}")})
    assert len(broken["digest"]) == 64
    assert broken["digest"] != run(role, {}, BASE)[0]["digest"]
