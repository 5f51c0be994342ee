"""Filters of the fedisec.hardening collection.

- ``tlsa_3_1_1``: ``cert_or_key_pem | fedisec.hardening.tlsa_3_1_1`` returns the
  DANE-EE SPKI SHA-256 value (TLSA 3 1 1) as lowercase hex.
- ``caa_record``: ``domain | fedisec.hardening.caa_record(issuer='letsencrypt.org',
  account_uri=None, validation_methods=None, tag='issue')`` returns a CAA record line.
- ``csp``: ``policy | fedisec.hardening.csp(allow_unsafe_inline=false,
  allow_unsafe_eval=false)`` returns a Content-Security-Policy header value.
- ``hsts``: ``max_age | fedisec.hardening.hsts(include_subdomains=true, preload=false)``
  returns a Strict-Transport-Security header value.
- ``dpkg_query_argv``: ``names | fedisec.hardening.dpkg_query_argv`` returns the read-only
  dpkg-query command line whose output ``packages_missing`` reads.
- ``packages_missing``: ``dpkg_query_output | fedisec.hardening.packages_missing(names)``
  returns the names dpkg does not list as installed (the roles run apt only for those).
- ``audit_facts``: ``hosts | fedisec.hardening.audit_facts(hostvars, 'audit_host')`` returns
  {host: facts} of playbooks/audit.yml, with an error in every section of a host not probed.
- ``site_inputs_missing``: ``ansible_play_hosts_all | fedisec.hardening.site_inputs_missing(groups,
  hostvars)`` returns one line per required input of ``site.yml`` that a host lacks.

Invalid input raises AnsibleFilterError.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.csp import build_csp
from ansible_collections.fedisec.hardening.plugins.module_utils.debian_packages import dpkg_query_argv, packages_missing
from ansible_collections.fedisec.hardening.plugins.module_utils.host_audit import audit_facts
from ansible_collections.fedisec.hardening.plugins.module_utils.hsts import build_hsts
from ansible_collections.fedisec.hardening.plugins.module_utils.site_inputs import site_inputs_missing
from ansible_collections.fedisec.hardening.plugins.module_utils.tlsa import (
    caa_record,
    tlsa_3_1_1,
)
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filters for DNS records, HTTP security headers, packages, site.yml's inputs and the audit."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "tlsa_3_1_1": ansible_filter(tlsa_3_1_1),
            "caa_record": ansible_filter(caa_record),
            "csp": ansible_filter(build_csp),
            "hsts": ansible_filter(build_hsts),
            "dpkg_query_argv": ansible_filter(dpkg_query_argv),
            "packages_missing": ansible_filter(packages_missing),
            "site_inputs_missing": ansible_filter(site_inputs_missing),
            "audit_facts": ansible_filter(audit_facts),
        }
