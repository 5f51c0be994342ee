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

import functools
from collections.abc import Callable
from typing import TypeVar

from ansible.errors import AnsibleFilterError
from ansible_collections.fedisec.hardening.plugins.module_utils.firewall import (
    firewall_ingress_allows,
    firewall_nft,
    firewall_pf,
    firewall_policy,
)

_T = TypeVar("_T")


def _filter(func: Callable[..., _T]) -> Callable[..., _T]:
    """Wrap ``func`` so that its ValueError surfaces as AnsibleFilterError."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs) -> _T:
        try:
            return func(*args, **kwargs)
        except ValueError as exc:
            raise AnsibleFilterError(str(exc)) from exc

    return wrapper


class FilterModule:
    """fedisec.hardening filters for the nftables / pf host firewall."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "firewall_policy": _filter(firewall_policy),
            "firewall_nft": _filter(firewall_nft),
            "firewall_pf": _filter(firewall_pf),
            "firewall_ingress_allows": _filter(firewall_ingress_allows),
        }
