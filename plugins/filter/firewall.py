"""Host firewall filters of the fedisec.hardening collection.

- ``firewall_policy``: ``policy | fedisec.hardening.firewall_policy(users)`` validates
  a firewall policy (keys ``table``, ``sets``, ``ingress``, ``egress``,
  ``loopback_restricted``, ``ingress_deny``, ``log``, ``ping``) and returns it
  normalized. ``users`` maps the user names existing on the target to their uid,
  e.g. the ``getent_passwd`` fact (``ansible.builtin.getent: database=passwd``):
  egress rules and loopback restrictions are rendered with numeric uids.
- ``firewall_nft``: ``normalized | fedisec.hardening.firewall_nft`` returns an
  nftables file that atomically replaces only ``table inet <table>``.
- ``firewall_pf``: ``normalized | fedisec.hardening.firewall_pf`` returns a complete
  pf.conf (filter rules only) for OpenBSD and FreeBSD.
- ``firewall_ingress_allows``: ``normalized | fedisec.hardening.firewall_ingress_allows(
  'tcp', 22)`` returns whether an ingress rule accepts that port from every source
  (the anti-lockout check for the SSH port).

Invalid input raises AnsibleFilterError; its message names the role variable and
the entry, e.g. ``firewall_egress entry 'app-https' (index 2): port 70000 is out of
range 1-65535``.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.firewall import (
    firewall_ingress_allows,
    firewall_nft,
    firewall_pf,
    firewall_policy,
)
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filters for the nftables / pf host firewall."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "firewall_policy": ansible_filter(firewall_policy),
            "firewall_nft": ansible_filter(firewall_nft),
            "firewall_pf": ansible_filter(firewall_pf),
            "firewall_ingress_allows": ansible_filter(firewall_ingress_allows),
        }
