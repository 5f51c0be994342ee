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
  - V(check) (read-only) compares the stamp of the role's last full run with O(digest) and with the host as it is
    now (the watched paths, units and packages) and returns RV(current) and the RV(reasons) it is not. A role skips
    its work only when RV(current) is true.
  - V(record) writes the stamp, C(/var/lib/fedisec/state/<name>.json) (root only), after a full run.
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
    description: The role, which names the stamp file. Lower-case letters, digits and C(_).
    type: str
    required: true
  digest:
    description: The role's inputs and code, from the C(fedisec.hardening.state_digest) filter on the controller.
    type: str
    required: true
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
"""

EXAMPLES = r"""
- name: Ask the host whether anything changed since the last full run
  fedisec.hardening.state_stamp:
    name: example
    digest: "{{ example_inputs | fedisec.hardening.state_digest([role_path]) }}"
    watch:
      paths: [{path: /etc/example}]
      units: [example.service]
      packages: [example]
  register: example_stamp
  check_mode: false

- name: Stop here, nothing changed
  ansible.builtin.meta: end_role
  when: example_stamp.current
"""

RETURN = r"""
current:
  description: The stamp matches the digest and the host (always false after V(record)).
  returned: always
  type: bool
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
                }},
                "home_paths": {"type": "list", "elements": "dict", "default": [], "options": {
                    "user": {"type": "str", "required": True},
                    "path": {"type": "str", "required": True},
                    "content": {"type": "bool", "default": True},
                }},
                "units": {"type": "list", "elements": "str", "default": []},
                "packages": {"type": "list", "elements": "str", "default": []},
                "mounts": {"type": "list", "elements": "path", "default": []},
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
                                       read_mounts(watch.get("mounts") or []))
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
