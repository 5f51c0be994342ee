"""PostgreSQL client placement filters of the fedisec.hardening collection.

- ``postgresql_clients``: ``postgresql_tls_clients | fedisec.hardening.postgresql_clients(
  inventory_hostname, postgresql_tls_client_hosts, facts_by_host)`` returns the clients
  with every default filled in: ``hosts`` (where each client's files go) and ``sources``
  (loopback for this host, the global addresses of every other host the client runs on,
  read from ``facts_by_host[host]``, that host's ``ansible_facts``).
- ``postgresql_client_egress``: ``database_hostvars | fedisec.hardening.postgresql_client_egress(
  inventory_hostname, default_client_hosts)`` returns the firewall egress entries for this
  host: each client's system user to its database host's addresses and port.

- ``postgresql_client_paths``: ``clients | fedisec.hardening.postgresql_client_paths(client_dir,
  ca_pem, client_pem_slurps, envs)`` returns the ``fedisec.hardening.file_set`` entries that
  put those clients' CA certificate, certificate, key and settings on the host they run on.
- ``hosts_addresses``: ``groups['backup_servers'] | fedisec.hardening.hosts_addresses(hostvars,
  'backup_pull_server_addresses')`` returns the global addresses of those hosts (/32, /128),
  read from their facts.

Invalid input raises AnsibleFilterError naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.postgresql_tls import (
    hosts_addresses,
    postgresql_client_egress,
    postgresql_client_paths,
    postgresql_clients,
)
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filters for PostgreSQL clients."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "postgresql_clients": ansible_filter(postgresql_clients),
            "postgresql_client_egress": ansible_filter(postgresql_client_egress),
            "hosts_addresses": ansible_filter(hosts_addresses),
            "postgresql_client_paths": ansible_filter(postgresql_client_paths),
        }
