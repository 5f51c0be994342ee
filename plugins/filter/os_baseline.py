"""Filters of the fedisec.hardening collection for the os_baseline role.

- ``sysctl_settings``: ``os_baseline_sysctl | fedisec.hardening.sysctl_settings(
  os_baseline_sysctl_extra)`` returns the merged kernel parameters (a null value in the
  extra dict removes a key), every key and value checked (plugins/module_utils/sysctl.py).
- ``kernel_modules``: ``os_baseline_disabled_modules
  | fedisec.hardening.kernel_modules(os_baseline_disabled_modules_extra)``: the module
  names, checked, duplicates dropped.
- ``chrony_sources``: ``os_baseline_time_servers | fedisec.hardening.chrony_sources``:
  ``server <host> iburst nts`` lines (NTS unless an entry says ``nts: false``).
- ``chrony_allow``: ``os_baseline_chrony_serve | fedisec.hardening.chrony_allow``: the
  networks for chrony's ``allow`` lines.
- ``chrony_conf_without_sources``: Debian's chrony.conf with its own sources commented out.
- ``login_defs``: ``text | fedisec.hardening.login_defs(os_baseline_login_defs)``: login.defs with
  one line per key, set where the key is set, else after its commented example, else at the end.

Invalid input raises AnsibleFilterError naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.os_baseline import (
    chrony_allow,
    chrony_conf_without_sources,
    chrony_sources,
    kernel_modules,
    login_defs,
)
from ansible_collections.fedisec.hardening.plugins.module_utils.sysctl import merge_settings
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filters for the os_baseline role."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "sysctl_settings": ansible_filter(merge_settings),
            "kernel_modules": ansible_filter(kernel_modules),
            "chrony_sources": ansible_filter(chrony_sources),
            "chrony_allow": ansible_filter(chrony_allow),
            "chrony_conf_without_sources": ansible_filter(chrony_conf_without_sources),
            "login_defs": ansible_filter(login_defs),
        }
