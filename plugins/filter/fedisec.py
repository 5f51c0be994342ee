"""Filters of the fedisec.hardening collection.

- ``tlsa_3_1_1``: ``cert_or_key_pem | fedisec.hardening.tlsa_3_1_1`` returns the
  DANE-EE SPKI SHA-256 value (TLSA 3 1 1) as lowercase hex.
- ``caa_record``: ``domain | fedisec.hardening.caa_record(issuer='letsencrypt.org',
  account_uri=None, validation_methods=None, tag='issue')`` returns a CAA record line.
- ``csp``: ``policy | fedisec.hardening.csp(allow_unsafe_inline=false,
  allow_unsafe_eval=false)`` returns a Content-Security-Policy header value.
- ``hsts``: ``max_age | fedisec.hardening.hsts(include_subdomains=true, preload=false)``
  returns a Strict-Transport-Security header value.

Invalid input raises AnsibleFilterError.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.csp import build_csp
from ansible_collections.fedisec.hardening.plugins.module_utils.hsts import build_hsts
from ansible_collections.fedisec.hardening.plugins.module_utils.tlsa import (
    caa_record,
    tlsa_3_1_1,
)
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filters for DNS records and HTTP security headers."""

    def filters(self) -> dict[str, Callable[..., str]]:
        """Map filter names to their implementations."""
        return {
            "tlsa_3_1_1": ansible_filter(tlsa_3_1_1),
            "caa_record": ansible_filter(caa_record),
            "csp": ansible_filter(build_csp),
            "hsts": ansible_filter(build_hsts),
        }
