"""Strict-Transport-Security header builder.

Pure functions with no Ansible dependency, so they can be imported both as
``ansible_collections.fedisec.hardening.plugins.module_utils.hsts`` and from a
standalone script.
"""

from __future__ import annotations

PRELOAD_MIN_MAX_AGE = 31536000


def _check_flag(value: object, argument: str) -> None:
    """Reject non-boolean flags, so that e.g. the string "false" is not truthy."""
    if not isinstance(value, bool):
        raise ValueError(f"{argument} must be a boolean, got {value!r}")


def build_hsts(max_age: int, include_subdomains: bool = True, preload: bool = False) -> str:
    """Return a Strict-Transport-Security header value.

    ``preload`` enforces the hstspreload.org submission requirements: a
    ``max_age`` of at least one year and ``includeSubDomains``.
    """
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ValueError(f"max_age must be an integer >= 0, got {max_age!r}")
    _check_flag(include_subdomains, "include_subdomains")
    _check_flag(preload, "preload")
    if preload and (max_age < PRELOAD_MIN_MAX_AGE or not include_subdomains):
        raise ValueError(
            "preload requires max_age >= 31536000 (one year) and include_subdomains=true, "
            f"as required for the HSTS preload list (got max_age={max_age}, "
            f"include_subdomains={include_subdomains})"
        )
    parts = [f"max-age={max_age}"]
    if include_subdomains:
        parts.append("includeSubDomains")
    if preload:
        parts.append("preload")
    return "; ".join(parts)
