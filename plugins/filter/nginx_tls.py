"""nginx TLS filters of the fedisec.hardening collection.

- ``nginx_build_info``: ``nginx_v.stderr | fedisec.hardening.nginx_build_info`` parses
  the output of ``nginx -V`` (printed to stderr) and returns a dict with ``version``,
  ``ssl_library``, ``ssl_version`` and ``ssl_version_full``; the library nginx runs
  with takes precedence over the one it was built with.
- ``tls_groups``: ``info.ssl_library | fedisec.hardening.tls_groups(info.ssl_version,
  requested=None)`` returns the TLS groups for ``ssl_ecdh_curve`` as a list: the
  Mozilla 6.0 groups (X25519MLKEM768 only with OpenSSL >= 3.5), or the validated
  ``requested`` list.

Invalid input raises AnsibleFilterError.
"""

from __future__ import annotations

from collections.abc import Callable

from ansible_collections.fedisec.hardening.plugins.module_utils.nginx_tls import (
    nginx_build_info,
    tls_groups,
)
from ansible_collections.fedisec.hardening.plugins.plugin_utils.filters import ansible_filter


class FilterModule:
    """fedisec.hardening filters for nginx TLS configuration."""

    def filters(self) -> dict[str, Callable[..., object]]:
        """Map filter names to their implementations."""
        return {
            "nginx_build_info": ansible_filter(nginx_build_info),
            "tls_groups": ansible_filter(tls_groups),
        }
