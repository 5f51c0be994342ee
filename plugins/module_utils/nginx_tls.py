"""nginx build information and TLS key-exchange group helpers.

Pure functions with no Ansible dependency, so they can be imported both as
``ansible_collections.fedisec.hardening.plugins.module_utils.nginx_tls`` and from a
standalone script.
"""

from __future__ import annotations

import re

# Mozilla server-side TLS guidelines 6.0, in order of preference.
MOZILLA_GROUPS = ("X25519MLKEM768", "X25519", "prime256v1", "secp384r1")
KNOWN_GROUPS = ("X25519MLKEM768", "X25519", "X448", "prime256v1", "secp384r1", "secp521r1")
HYBRID_PQ_GROUP = "X25519MLKEM768"
HYBRID_PQ_MIN_OPENSSL = "3.5"

# "nginx version: nginx/1.22.1", also "nginx/1.18.0 (Ubuntu)", "freenginx/1.27.0".
_NGINX_VERSION = re.compile(
    r"^[ \t]*nginx version:[ \t]*[\w.-]+/(?P<version>\d+(?:\.\d+)+)(?![\w.])", re.MULTILINE
)
# nginx prints "built with " OPENSSL_VERSION_TEXT, followed by
# " (running with <OpenSSL_version()>)" when the runtime library differs.
_BUILT_WITH = re.compile(r"^[ \t]*built with (?P<rest>.*)$", re.MULTILINE)
# "<name> <version> [date]", e.g. "OpenSSL 1.1.1w  11 Sep 2023", "LibreSSL 3.8.2", "BoringSSL".
_LIBRARY = r"(?P<library>[A-Za-z][\w-]*)(?:[ \t]+(?P<version>\d[^\s()]*))?"
_BUILT_LIBRARY = re.compile(_LIBRARY)
# BoringSSL and AWS-LC report "OpenSSL 1.1.1 (compatible; BoringSSL)".
_COMPATIBLE = re.compile(r"\(compatible;[ \t]*" + _LIBRARY + r"[^)]*\)")
_RUNNING = re.compile(r"\(running with[ \t]+" + _LIBRARY)
# "3.0.17", "1.1.1w", "1.0.2k-fips", "3.1.5+quic", "3.5.0-alpha1".
_VERSION = re.compile(r"(?P<numeric>\d+(?:\.\d+)*)[A-Za-z]*(?:[-+~][\w.+~-]*)?")


def _parse_version(version: object, argument: str) -> tuple[int, ...]:
    """Return the numeric components of a dotted version, ignoring trailing letters."""
    if not isinstance(version, str):
        raise ValueError(
            f"{argument} must be a version string such as '3.0.17', got {version!r}"
            " (quote versions in YAML: an unquoted 3.10 is read as the number 3.1)"
        )
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(
            f"{argument} must be a dotted version such as '3.0.17' or '1.1.1w', got {version!r}"
        )
    return tuple(int(part) for part in match.group("numeric").split("."))


def version_at_least(version: str, minimum: str) -> bool:
    """Return whether ``version`` >= ``minimum``, comparing dotted numbers numerically.

    Missing components count as zero (``3.5.0`` >= ``3.5``) and trailing letters or
    suffixes are ignored (``1.1.1w`` == ``1.1.1``).
    """
    current = _parse_version(version, "version")
    required = _parse_version(minimum, "minimum")
    width = max(len(current), len(required))
    pad = (0,) * width
    return (current + pad)[:width] >= (required + pad)[:width]


def _split_version(full: str | None) -> tuple[str | None, str | None]:
    """Return ``(numeric, full)`` for a library version token, e.g. ``("1.1.1", "1.1.1w")``."""
    if full is None:
        return None, None
    match = _VERSION.match(full)
    return match.group("numeric"), full


def nginx_build_info(text: str) -> dict[str, str | None]:
    """Parse the output of ``nginx -V`` (which nginx prints to stderr).

    Returns ``version`` (nginx), ``ssl_library`` (``OpenSSL``, ``LibreSSL``,
    ``BoringSSL``...), ``ssl_version`` (numeric, e.g. ``1.1.1``) and
    ``ssl_version_full`` (as printed, e.g. ``1.1.1w``). The library nginx is
    running with takes precedence over the one it was built with. The TLS fields
    are None when nginx is built without TLS support, and the versions are None
    when the library does not report one (BoringSSL).
    """
    if not isinstance(text, str):
        raise ValueError(f"nginx -V output must be a string, got {type(text).__name__}")
    version = _NGINX_VERSION.search(text)
    if version is None:
        raise ValueError(
            "no 'nginx version: nginx/X.Y.Z' line found in the nginx -V output"
            " (nginx -V prints to stderr: pass the command's stderr, not its stdout)"
        )
    info: dict[str, str | None] = {
        "version": version.group("version"),
        "ssl_library": None,
        "ssl_version": None,
        "ssl_version_full": None,
    }
    built = _BUILT_WITH.search(text)
    if built is None:
        return info
    rest = built.group("rest")
    library = _BUILT_LIBRARY.match(rest)
    if library is None:
        raise ValueError(f"unrecognised TLS library line in the nginx -V output: {built.group()!r}")
    for pattern in (_COMPATIBLE, _RUNNING):
        override = pattern.search(rest, library.end())
        if override is not None:
            library = override
    info["ssl_library"] = library.group("library")
    info["ssl_version"], info["ssl_version_full"] = _split_version(library.group("version"))
    return info


def _is_openssl(ssl_library: str) -> bool:
    return ssl_library.lower() == "openssl"


def _supports_hybrid_pq(ssl_library: str, ssl_version: str | None) -> bool:
    return _is_openssl(ssl_library) and version_at_least(ssl_version, HYBRID_PQ_MIN_OPENSSL)


def tls_groups(
    ssl_library: str, ssl_version: str | None, requested: list[str] | None = None
) -> list[str]:
    """Return the TLS key-exchange groups (nginx ``ssl_ecdh_curve``) to configure.

    Without ``requested`` (None or an empty list) these are the Mozilla 6.0 groups
    ``X25519MLKEM768, X25519, prime256v1, secp384r1``, where the hybrid
    post-quantum X25519MLKEM768 is only kept for OpenSSL >= 3.5. A non-empty
    ``requested`` list is validated and returned in its order.

    ``ssl_library`` and ``ssl_version`` are as returned by ``nginx_build_info``;
    the version may be None for libraries other than OpenSSL.
    """
    if not isinstance(ssl_library, str) or not ssl_library:
        raise ValueError(
            f"ssl_library must be a TLS library name such as 'OpenSSL', got {ssl_library!r}"
            " (is nginx built with TLS support?)"
        )
    if _is_openssl(ssl_library) or ssl_version is not None:
        _parse_version(ssl_version, "ssl_version")
    pq_supported = _supports_hybrid_pq(ssl_library, ssl_version)
    if requested is None or (isinstance(requested, (list, tuple)) and not requested):
        return [group for group in MOZILLA_GROUPS if group != HYBRID_PQ_GROUP or pq_supported]
    if not isinstance(requested, (list, tuple)):
        raise ValueError(f"requested must be a list of group names, got {requested!r}")

    allowed = ", ".join(KNOWN_GROUPS)
    groups: list[str] = []
    for group in requested:
        if group not in KNOWN_GROUPS:
            hint = ""
            if isinstance(group, str):
                spelled = [known for known in KNOWN_GROUPS if known.lower() == group.lower()]
                if spelled:
                    hint = f" (did you mean {spelled[0]!r}?)"
            raise ValueError(f"unknown TLS group {group!r}{hint}; allowed: {allowed}")
        if group in groups:
            raise ValueError(f"duplicate TLS group {group!r} in requested groups")
        if group == HYBRID_PQ_GROUP and not pq_supported:
            installed = f"{ssl_library} {ssl_version}" if ssl_version else ssl_library
            raise ValueError(
                f"{HYBRID_PQ_GROUP} requires OpenSSL >= {HYBRID_PQ_MIN_OPENSSL}, but nginx"
                f" uses {installed}; remove it from the requested groups"
            )
        groups.append(group)
    return groups
