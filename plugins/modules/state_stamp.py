#!/usr/bin/python
# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fedisec.hardening.state_stamp: has anything a role depends on changed since its last
full run? The work is in module_utils/state_stamp.py, which the unit tests call directly."""

from __future__ import annotations

DOCUMENTATION = r"""
module: state_stamp
short_description: Tell whether a role's inputs or the host changed since the role's last full run, or record the host's state
version_added: 0.1.0
description:
  - Runs inside a role. The controller (the action plugin of the same name) works out the digest of the role's
    inputs and code; the module compares it, and the host as it is now, with the stamp of the role's last full run.
  - The inputs are every option of the role's C(meta/argument_specs.yml) (all entry points, as the role sees them),
    the host's distribution, release and architecture, how Ansible connects, and O(inputs); the code is the role's
    directory and the collection's plugins.
  - V(check) (read-only) returns RV(current) and the RV(reasons) it is not. A role skips its work only when
    RV(current) is true. C(<role>_full_run) true answers V(false) without contacting the host.
  - V(record) writes the stamp, C(/var/lib/fedisec/state/<role>.json) (root only), after a full run.
  - The stamp holds digests and states only, never the content of a file.
author:
  - fedisec.hardening contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: V(check) reads only; V(record) writes nothing in check mode.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  name:
    description: The stamp's name. Set by the action plugin to the calling role's name; not given in a task.
    type: str
  digest:
    description:
      - The role's inputs and code. By default worked out by the controller.
      - Give V(record) the RV(digest) its V(check) returned, so that facts the role sets between them do not count.
    type: str
  inputs:
    description: What else the role reads (facts of the host), added to the digest.
    type: raw
  controller_files:
    description: Files on the controller the role copies to the host (a key); their contents count as inputs.
    type: list
    elements: path
  scope:
    description:
      - The stamp is C(<role>_<scope>.json); other characters than lower-case letters, digits and C(_) become C(_).
      - One per entry point of a role (C(tasks_from)), or for the files a role keeps on another host (with
        C(delegate_to)), so that it never shares a name with that host's own stamp of the role.
    type: str
  state:
    description: V(check) or V(record).
    type: str
    choices: [check, record]
    default: check
  watch:
    description: What the role's work leaves on the host.
    type: dict
    default: {}
    suboptions:
      paths:
        description: Files and directories (with everything below them) whose names, types, owners, modes and contents are watched.
        type: list
        elements: dict
        default: []
        suboptions:
          path:
            description: Absolute path.
            type: path
            required: true
          content:
            description: V(false) watches a file's owner and mode but not its content (a file its program rewrites).
            type: bool
            default: true
          recurse:
            description: V(false) watches a directory itself (owner, mode) but nothing below it (a repository, a cache).
            type: bool
            default: true
      home_paths:
        description: Paths below users' home directories (from the password database).
        type: list
        elements: dict
        default: []
        suboptions:
          user:
            description: The user.
            type: str
            required: true
          path:
            description: Relative to the home directory.
            type: str
            required: true
          content:
            description: As for O(watch.paths[].content).
            type: bool
            default: true
      units:
        description: systemd units whose load, active and enablement states are watched.
        type: list
        elements: str
        default: []
      packages:
        description: Debian packages whose status and version are watched.
        type: list
        elements: str
        default: []
      mounts:
        description: Mount points whose file system type and live options are watched (from C(/proc/mounts)).
        type: list
        elements: path
        default: []
      commands:
        description:
          - Read-only commands (argument vectors, no shell) whose exit code and output are watched, for state that
            lives outside files (a database's roles). Only a digest of the output is kept.
        type: list
        elements: list
        default: []
"""

EXAMPLES = r"""
- name: Ask the host whether anything changed since the last full run
  fedisec.hardening.state_stamp:
    watch:
      paths: [{path: /etc/example}]
      units: [example.service]
      packages: [example]
  register: example_stamp
  check_mode: false

- name: Stop here, nothing changed
  ansible.builtin.meta: end_role
  when: example_stamp.current

# ... the role's tasks ...

- name: Record what the role left on the host
  fedisec.hardening.state_stamp:
    state: record
    digest: "{{ example_stamp.digest }}"
    watch:
      paths: [{path: /etc/example}]
      units: [example.service]
      packages: [example]
  when: not ansible_check_mode
"""

RETURN = r"""
current:
  description: The stamp matches the digest and the host (always false after V(record)).
  returned: always
  type: bool
digest:
  description: The digest of the role's inputs and code.
  returned: always
  type: str
reasons:
  description: Why the role must run in full (empty when RV(current)).
  returned: always
  type: list
  elements: str
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fedisec.hardening.plugins.module_utils import state_stamp


def read_units(module: AnsibleModule, units: list[str]) -> dict:
    if not units:
        return {}
    rc, out, err = module.run_command(
        ["systemctl", "show", "--property=Id,LoadState,ActiveState,UnitFileState", "--", *units])
    if rc != 0:
        module.fail_json(msg=f"systemctl show failed: {err.strip()}")
    return state_stamp.parse_systemctl_show(out, units)


def read_packages(module: AnsibleModule, packages: list[str]) -> dict:
    if not packages:
        return {}
    # rc 1: some package is unknown to dpkg (reported as such).
    rc, out, err = module.run_command(["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Version}\n", "--", *packages])
    if rc not in (0, 1):
        module.fail_json(msg=f"dpkg-query failed: {err.strip()}")
    return state_stamp.parse_dpkg_status(out, packages)


def read_mounts(mountpoints: list[str]) -> dict:
    if not mountpoints:
        return {}
    with open("/proc/mounts", encoding="utf-8", errors="surrogateescape") as handle:
        return state_stamp.parse_mounts(handle.read(), mountpoints)


def read_commands(module: AnsibleModule, commands: list[list[str]]) -> dict:
    states = {}
    for argv in commands:
        argv = [str(arg) for arg in argv]
        try:
            rc, out, _ = module.run_command(argv, handle_exceptions=False)
        except OSError as err:
            # A command that cannot run (not installed yet) is a state too.
            rc, out = 127, f"cannot run: {err.errno}"
        states[" ".join(argv)] = state_stamp.command_state(rc, out)
    return states


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "digest": {"type": "str", "required": True, "no_log": False},
            "state": {"type": "str", "choices": ["check", "record"], "default": "check"},
            "watch": {"type": "dict", "default": {}, "options": {
                "paths": {"type": "list", "elements": "dict", "default": [], "options": {
                    "path": {"type": "path", "required": True},
                    "content": {"type": "bool", "default": True},
                    "recurse": {"type": "bool", "default": True},
                }},
                "home_paths": {"type": "list", "elements": "dict", "default": [], "options": {
                    "user": {"type": "str", "required": True},
                    "path": {"type": "str", "required": True},
                    "content": {"type": "bool", "default": True},
                }},
                "units": {"type": "list", "elements": "str", "default": []},
                "packages": {"type": "list", "elements": "str", "default": []},
                "mounts": {"type": "list", "elements": "path", "default": []},
                "commands": {"type": "list", "elements": "list", "default": []},
            }},
        },
        supports_check_mode=True,
    )
    params, watch = module.params, module.params["watch"] or {}
    if not re.fullmatch(r"[a-z0-9_]+", params["name"]):
        module.fail_json(msg=f"name: {params['name']!r} is not lower-case letters, digits and _")
    try:
        observed = state_stamp.observe((watch.get("paths") or []) + state_stamp.home_paths(watch.get("home_paths") or []),
                                       read_units(module, watch.get("units") or []),
                                       read_packages(module, watch.get("packages") or []),
                                       read_mounts(watch.get("mounts") or []),
                                       read_commands(module, watch.get("commands") or []))
    except (OSError, ValueError) as err:
        module.fail_json(msg=f"reading the host's state failed: {err}")
    path = f"{state_stamp.STAMP_DIR}/{params['name']}.json"
    if params["state"] == "record":
        if not module.check_mode:
            state_stamp.write_stamp(path, params["digest"], observed)
        module.exit_json(changed=False, current=False, reasons=[])
    reasons = state_stamp.differences(state_stamp.read_stamp(path), params["digest"], observed)
    module.exit_json(changed=False, current=not reasons, reasons=reasons)


if __name__ == "__main__":
    main()
