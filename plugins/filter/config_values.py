"""Validation filter of the fedisec.hardening collection for values that reach config files.

- ``config_value``: ``value | fedisec.hardening.config_value(kind, variable_name,
  allow_empty=false)`` returns ``value`` unchanged when it (or each item of a list)
  is valid for ``kind``, else fails with ``<variable_name>: <what is wrong and what is
  allowed>``. Kinds: dns_name, host, host_port, identifier, pg_hba_database, unix_name,
  sshd_group_pattern, sshd_user_pattern, abs_path, file_name, permissions_policy (see
  plugins/module_utils/config_values.py). In ``variable_name`` each ``[]`` becomes the
  index of the bad item (``postgresql_tls_clients[].name`` ->
  ``postgresql_tls_clients[1].name``). With ``allow_empty`` an empty string passes.

Roles call it in an assert before anything is written, for example::

    that: (nginx_tls_server_names | fedisec.hardening.config_value('dns_name',
           'nginx_tls_server_names')) is defined

Invalid input raises AnsibleFilterError.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.config_values import config_value
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filter that validates values before they reach config files."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {"config_value": ansible_filter(config_value)}
