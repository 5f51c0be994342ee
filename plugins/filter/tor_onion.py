"""Tor onion service filters of the fedisec.hardening collection.

- ``onion_address_from_secret_key``: ``(slurp of hs_ed25519_secret_key).content
  | fedisec.hardening.onion_address_from_secret_key`` returns the v3 address that the key
  serves (``<56 letters>.onion``).
- ``onion_address_valid``: whether a string is a v3 onion address with a correct checksum.

Invalid input raises AnsibleFilterError.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.tor_onion import (
    address_from_secret_key_b64,
    public_key_from_address,
)
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


def onion_address_valid(value: object) -> bool:
    """True for a v3 onion address whose checksum and version are right."""
    try:
        public_key_from_address(value)  # type: ignore[arg-type]
    except ValueError:
        return False
    return True


class FilterModule:
    """fedisec.hardening filters for Tor onion services."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "onion_address_from_secret_key": ansible_filter(address_from_secret_key_b64),
            "onion_address_valid": onion_address_valid,
        }
