#!/usr/bin/python
# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fedisec.hardening.file_set: a role's directories, files and links in one task. The work
is in module_utils/file_set.py, which the unit tests call directly."""

from __future__ import annotations

DOCUMENTATION = r"""
module: file_set
short_description: Make a list of directories, files, symlinks and absent paths what they should be, in one task
version_added: 0.1.0
description:
  - One task (one round trip to the host) for what a loop of C(ansible.builtin.file), C(copy) or
    C(template) tasks does item by item. A converged host costs one C(lstat) (and a read for a file)
    per entry and nothing else.
  - Entries are handled in order, so a directory listed before the files in it exists when they are
    written. The missing parents of a directory are created root:root 0755 (as C(mkdir -p)); a file or
    link whose directory neither exists nor is listed earlier fails the task (in check mode it is
    reported as a change, since an earlier task may make the directory).
  - Files are written next to their destination and renamed over it, owner and mode set before the
    content (as C(fedisec.hardening.config_transaction) does). A file a daemon must parse before it
    lands belongs in C(config_transaction), which checks the candidate and reloads.
  - Directories are not changed recursively; a directory is never removed.
author:
  - fedisec.hardening contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
options:
  paths:
    description: The managed paths, in the order they are made.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description:
          - V(directory) (owner, group, mode; not recursive), V(file) (O(paths[].content)), V(link)
            (O(paths[].link)) or V(absent) (a file or symlink is removed).
        type: str
        choices: [directory, file, link, absent]
        default: file
      content:
        description: The file's content (for example rendered with the C(ansible.builtin.template) lookup).
        type: str
      link:
        description: Target of the symlink.
        type: str
      owner:
        description: Owner of a directory or file.
        type: str
        default: root
      group:
        description: Group of a directory or file.
        type: str
        default: root
      mode:
        description: Mode of a directory or file, an octal string such as V('0644'). Required for both.
        type: raw
      validate:
        description:
          - A command that checks a changed file before it lands, with V(%s) as one argument for the
            candidate (written next to the destination, with its owner and mode). A non-zero exit leaves
            the destination as it was and fails the task with the command's output. Not run in check mode
            or when the file is unchanged.
        type: str
"""

EXAMPLES = r"""
- name: The renewal client's directories, its service and timer
  fedisec.hardening.file_set:
    paths:
      - path: /etc/example
        state: directory
        mode: "0755"
      - path: /etc/example/settings.json
        content: "{{ example_settings | to_nice_json }}\n"
        mode: "0640"
        validate: /usr/local/sbin/example check-config %s
      - path: /etc/systemd/system/example.timer
        content: "{{ lookup('ansible.builtin.template', 'example.timer.j2') }}"
        mode: "0644"
      - path: /etc/example/old.conf
        state: absent
  notify: Reload systemd
"""

RETURN = r"""
changed_paths:
  description: Paths that were (or in check mode would be) created, changed or removed, in order.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fedisec.hardening.plugins.module_utils import file_set


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "dict", "required": True, "options": {
                "path": {"type": "path", "required": True},
                "state": {"type": "str", "choices": list(file_set.STATES), "default": "file"},
                "content": {"type": "str"},
                "link": {"type": "str"},
                "owner": {"type": "str", "default": "root"},
                "group": {"type": "str", "default": "root"},
                "mode": {"type": "raw"},
                "validate": {"type": "str"},
            }},
        },
        supports_check_mode=True,
    )
    try:
        result = file_set.apply(file_set.parse(module.params["paths"]), check_mode=module.check_mode)
    except file_set.TransactionError as err:
        module.fail_json(msg=str(err), **err.result)
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
