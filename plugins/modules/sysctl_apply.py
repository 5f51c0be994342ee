#!/usr/bin/python
# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fedisec.hardening.sysctl_apply: set kernel parameters now, reporting refusals instead of
failing. The work is in module_utils/sysctl.py, which the unit tests call directly."""

from __future__ import annotations

DOCUMENTATION = r"""
module: sysctl_apply
short_description: Set the given kernel parameters now, and report which the kernel refused
version_added: 0.1.0
description:
  - Reads each key of O(settings) from C(/proc/sys) (the key with its dots as slashes) and writes the value
    only where the kernel's value differs, compared with whitespace normalised (the kernel prints multi-value
    keys such as C(net.ipv4.ip_local_port_range) with a tab). Each written value is read back.
  - Only the given keys are touched (unlike C(sysctl --system), which applies every file again).
  - A key the kernel refuses does not fail the task - a read-only C(/proc/sys) (containers), a key this
    kernel does not have, a value it rejects or does not keep. It is listed in RV(refused) with the reason.
  - Persistence is not this module's business - write the same settings to a file in C(/etc/sysctl.d).
author:
  - fedisec.hardening contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Writes nothing; reports the keys that would change, and those a write would fail on.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  settings:
    description:
      - Kernel parameters, key to value. Keys as in sysctl.d(5) (C(net.ipv4.tcp_syncookies), C(*) within a
        component); values integers or strings without line breaks.
    type: dict
    required: true
  variable:
    description: The variable name used in the message about an invalid key or value.
    type: str
    default: settings
"""

EXAMPLES = r"""
- name: Apply the baseline's kernel parameters now
  fedisec.hardening.sysctl_apply:
    settings:
      kernel.kptr_restrict: 2
      net.ipv4.ip_local_port_range: "32768 60999"
    variable: os_baseline_sysctl
  register: applied
"""

RETURN = r"""
applied:
  description: Keys written (in check mode - that would be written).
  returned: always
  type: list
  elements: str
unchanged:
  description: Keys that already had the value.
  returned: always
  type: list
  elements: str
refused:
  description: Keys the kernel refused (or would refuse), with the value and the reason.
  returned: always
  type: list
  elements: dict
  sample: [{"key": "kernel.kptr_restrict", "value": "2", "reason": "read-only: /proc/sys is mounted read-only here (a container?)"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fedisec.hardening.plugins.module_utils import sysctl


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "settings": {"type": "dict", "required": True},
            "variable": {"type": "str", "default": "settings"},
        },
        supports_check_mode=True,
    )
    try:
        settings = sysctl.merge_settings(module.params["settings"], None, module.params["variable"])
        result = sysctl.apply_settings(settings, check_mode=module.check_mode)
    except ValueError as err:
        module.fail_json(msg=str(err))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
