# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller's half of fedisec.hardening.state_stamp: the digest of the calling role's
inputs (every option of its meta/argument_specs.yml, the host's release, how Ansible
connects, and the role's own extra inputs) and code (the role and the collection's plugins),
then the module's look on the host. ``<role>_full_run: true`` answers "run in full" without
contacting the host."""

from __future__ import annotations

import os
import re

from ansible.errors import AnsibleActionFail, AnsibleError, AnsibleUndefinedVariable
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.fedisec.hardening.plugins.module_utils import state_stamp

PLUGINS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNDEFINED = "<undefined>"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("state", "watch", "inputs", "controller_files", "digest", "scope"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        role = self._task._role
        if role is None:
            raise AnsibleActionFail("fedisec.hardening.state_stamp runs inside a role's tasks")
        name = role.get_name(include_role_fqcn=False)
        state = self._task.args.get("state", "check")
        if state not in ("check", "record"):
            raise AnsibleActionFail(f"state: {state!r} is not check or record")
        full_run = f"{name}_full_run"
        digest = self._task.args.get("digest") or self._digest(role, name, full_run, task_vars)
        result["digest"] = digest
        forced = self._value(full_run)
        if state == "check" and forced != UNDEFINED and boolean(forced, strict=False):
            result.update(changed=False, current=False, reasons=[f"{full_run} is true"])
            return result

        # One stamp per scope: an entry point of the role (tasks_from), or the files the role
        # keeps on another host (delegate_to), so that no two stamps on a host share a name.
        scope = self._task.args.get("scope")
        stamp = f"{name}_{re.sub('[^a-z0-9_]', '_', str(scope).lower())}" if scope else name
        module_args = {"name": stamp, "digest": digest, "state": state, "watch": self._task.args.get("watch") or {}}
        result.update(self._execute_module(module_name="fedisec.hardening.state_stamp", module_args=module_args,
                                           task_vars=task_vars))
        return result

    def _digest(self, role, name, full_run, task_vars):
        """The role's inputs and code, worked out on the controller."""
        specs = self._loader.load_from_file(os.path.join(role.get_role_path(), "meta", "argument_specs.yml")) or {}
        facts = task_vars.get("ansible_facts") or {}
        try:
            inputs = {
                "options": {option: self._value(option) for option in state_stamp.role_options(specs, exclude={full_run})},
                "host": [facts.get(fact, "") for fact in ("distribution", "distribution_version", "architecture")],
                "connection": [self._value(var) for var in ("ansible_connection", "ansible_user", "ansible_port")],
                "extra": self._task.args.get("inputs"),
                "controller_files": {path: self._controller_file(path) for path in self._task.args.get("controller_files") or []},
            }
            return state_stamp.input_digest(inputs, [role.get_role_path(), PLUGINS_DIR])
        except ValueError as err:
            raise AnsibleActionFail(f"{name}: {err}") from err

    def _controller_file(self, path):
        """A file the role copies from the controller, found where the copy task finds it."""
        try:
            return state_stamp.file_state(self._find_needle("files", str(path)))
        except AnsibleError:
            return "absent"

    def _value(self, variable):
        """A variable's value as the role sees it (templated), or a marker when undefined."""
        try:
            return self._templar.resolve_variable_expression(variable)
        except AnsibleUndefinedVariable:
            return UNDEFINED
        except AnsibleError as err:
            # An option the role does not use in this run may not template here (a default
            # that reads facts of another mode): its tasks raise the error where they use it.
            return f"<unresolvable: {type(err).__name__}>"
