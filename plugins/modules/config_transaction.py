#!/usr/bin/python
# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fedisec.hardening.config_transaction: replace a daemon's configuration files as one
transaction. The work is in module_utils/config_transaction.py, which the unit tests call
directly."""

from __future__ import annotations

DOCUMENTATION = r"""
module: config_transaction
short_description: Replace a daemon's configuration files together, checked by its own parser, restored if the reload fails
version_added: 0.1.0
description:
  - Compares every entry of O(files) with the host. When nothing differs, nothing runs.
  - Otherwise the whole candidate configuration (the live O(trees) with all changed files of this
    call laid over them) is checked by the O(check) commands in a private mount namespace, where the
    candidate is mounted over the live paths. Absolute include paths, generated files and the daemon's
    messages all refer to the real locations. A failure changes no live file.
  - Then each file is written next to its destination and renamed over it; the previous bytes, owner,
    group, mode and times are kept in memory (no backup files in the configuration directory).
  - O(verify) commands may read the swapped files before the reload; O(reload) commands activate them.
    If either fails, the previous files come back byte for byte (new files are removed) and, after a
    failed reload, the reload runs again with them; the task fails with the command's own message.
  - The check needs root with CAP_SYS_ADMIN (C(unshare --mount), C(mount)); the candidate tree lives on a
    tmpfs that only the namespace sees, so copies of private keys in a tree never reach a disk.
author:
  - fedisec.hardening contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Runs the O(check) commands on the candidate (read-only) and reports what would change.
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  files:
    description:
      - The managed paths. Each is a regular file (O(files[].content) or O(files[].src)), a symlink
        (O(files[].link)) or O(files[].state=absent).
      - A destination outside every directory of O(trees) must be an existing regular file (it is
        bind-mounted over for the check).
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path of the live file. Its directory must exist.
        type: path
        required: true
      content:
        description: The file's content (for example rendered with the C(ansible.builtin.template) lookup).
        type: str
      src:
        description: A file on the managed host holding the content.
        type: path
      link:
        description: Make O(files[].dest) a symlink to this target.
        type: str
      state:
        description: V(absent) removes the path.
        type: str
        choices: [present, absent]
        default: present
      owner:
        description: Owner of a file.
        type: str
        default: root
      group:
        description: Group of a file.
        type: str
        default: root
      mode:
        description: Mode of a file, an octal string such as V('0644'). Required for a file.
        type: raw
  trees:
    description:
      - Directories the check sees as a whole candidate (for example V(/etc/nginx)). Each is copied,
        the changed files laid over the copy, and the copy mounted over the live directory.
    type: list
    elements: path
    default: []
  check:
    description:
      - The daemon's parser, run on the candidate. A list of commands, each a list of arguments,
        run in order; the first failure stops. The string C({scratch}) in an argument becomes a
        private directory (also the working directory) for output such as a generated configuration.
    type: list
    elements: raw
    required: true
  verify:
    description:
      - Commands run after the swap and before the reload, on the live files. A failure restores the previous files.
    type: list
    elements: raw
    default: []
  reload:
    description:
      - Commands that activate the new files, in order. A failure restores the previous files (and
        O(preserve)) and runs them again.
    type: list
    elements: raw
    required: true
  preserve:
    description:
      - Files the reload regenerates (for example a configuration built from the managed files), saved
        before the swap and put back, byte for byte, when the reload fails.
    type: list
    elements: path
    default: []
"""

EXAMPLES = r"""
- name: Replace the nginx site and its enabling link, checked together by nginx -t
  fedisec.hardening.config_transaction:
    trees: [/etc/nginx]
    files:
      - dest: /etc/nginx/sites-available/example.conf
        content: "{{ lookup('ansible.builtin.template', 'site.conf.j2') }}"
        mode: "0644"
      - dest: /etc/nginx/sites-enabled/example.conf
        link: /etc/nginx/sites-available/example.conf
    check: [[nginx, -t, -q]]
    reload: [[systemctl, reload-or-restart, nginx]]
"""

RETURN = r"""
changed_files:
  description: Destinations whose content, target, owner, group or mode changed (or would change).
  returned: always
  type: list
  elements: str
reloaded:
  description: Whether the reload commands ran and succeeded.
  returned: always
  type: bool
stage:
  description: On failure, the step that failed - C(check), C(swap), C(verify) or C(reload).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fedisec.hardening.plugins.module_utils import config_transaction as ct


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "required": True, "options": {
                "dest": {"type": "path", "required": True},
                "content": {"type": "str"},
                "src": {"type": "path"},
                "link": {"type": "str"},
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "owner": {"type": "str", "default": "root"},
                "group": {"type": "str", "default": "root"},
                "mode": {"type": "raw"},
            }},
            "trees": {"type": "list", "elements": "path", "default": []},
            "check": {"type": "list", "elements": "raw", "required": True},
            "verify": {"type": "list", "elements": "raw", "default": []},
            "reload": {"type": "list", "elements": "raw", "required": True},
            "preserve": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        entries = ct.parse_files(params["files"])
        result = ct.apply(
            entries,
            check=ct.parse_commands(params["check"], "check", required=True),
            reload=ct.parse_commands(params["reload"], "reload", required=True),
            trees=ct.parse_paths(params["trees"], "trees"),
            verify=ct.parse_commands(params["verify"], "verify", required=False),
            preserve=ct.parse_paths(params["preserve"], "preserve"),
            check_mode=module.check_mode,
        )
    except ct.TransactionError as err:
        extra = dict(err.result)
        extra.pop("diff", None)
        extra.pop("changed", None)  # the live files are as before the call
        module.fail_json(msg=str(err), **extra)
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
