"""Prosody filters of the fedisec.hardening collection.

- ``prosody_lua``: ``value | fedisec.hardening.prosody_lua(kind, variable_name)`` returns the
  Lua literal for Prosody's configuration file (a double-quoted string, a table of strings,
  true/false) after checking ``value`` against ``kind``: abs_path, bool, ciphers, dns_name,
  dns_names, groups, jids, modules, period, string (see plugins/module_utils/prosody_tls.py).
  A quote, backslash or line break never reaches the file: such a value fails, naming the
  variable.
- ``prosody_branch``: ``dpkg_version | fedisec.hardening.prosody_branch`` returns ``"0.12"``
  or ``"13"``, the release line of an installed prosody package.

Invalid input raises AnsibleFilterError.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.prosody_tls import lua_value, prosody_branch
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filters for Prosody's configuration."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "prosody_lua": ansible_filter(lua_value),
            "prosody_branch": ansible_filter(prosody_branch),
        }
