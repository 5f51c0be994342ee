"""Content-Security-Policy header builder.

Pure functions with no Ansible dependency, so they can be imported both as
``ansible_collections.fedisec.hardening.plugins.module_utils.csp`` and from a
standalone script.
"""

from __future__ import annotations

_DIRECTIVES = frozenset(
    {
        "default-src",
        "script-src",
        "script-src-elem",
        "script-src-attr",
        "style-src",
        "style-src-elem",
        "style-src-attr",
        "img-src",
        "font-src",
        "connect-src",
        "media-src",
        "object-src",
        "frame-src",
        "child-src",
        "worker-src",
        "manifest-src",
        "prefetch-src",
        "base-uri",
        "form-action",
        "frame-ancestors",
        "sandbox",
        "upgrade-insecure-requests",
        "block-all-mixed-content",
        "report-uri",
        "report-to",
        "require-trusted-types-for",
        "trusted-types",
    }
)
_NO_VALUE_DIRECTIVES = frozenset({"upgrade-insecure-requests", "block-all-mixed-content"})
_MAY_BE_EMPTY_DIRECTIVES = _NO_VALUE_DIRECTIVES | {"sandbox"}
_SCRIPT_DIRECTIVES = frozenset({"default-src", "script-src", "script-src-elem", "script-src-attr"})
_KEYWORDS = frozenset(
    {
        "self",
        "none",
        "unsafe-inline",
        "unsafe-eval",
        "strict-dynamic",
        "unsafe-hashes",
        "wasm-unsafe-eval",
        "report-sample",
    }
)


def _check_flag(value: object, argument: str) -> None:
    """Reject non-boolean flags, so that e.g. the string "false" is not truthy."""
    if not isinstance(value, bool):
        raise ValueError(f"{argument} must be a boolean, got {value!r}")


def _sources(name: str, value: object) -> list[object]:
    """Normalise a directive value (list, whitespace-separated string or True) to a list."""
    if value is True:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ValueError(
        f"{name}: value must be a list of sources, a string or true, got {type(value).__name__}"
    )


def _check_source(name: str, source: object) -> None:
    """Validate the syntax of a single source expression."""
    if not isinstance(source, str):
        raise ValueError(f"{name}: sources must be strings, got {type(source).__name__} {source!r}")
    if not source:
        raise ValueError(f"{name}: empty source")
    if any(char.isspace() for char in source):
        raise ValueError(f"{name}: source {source!r} contains whitespace")
    # ';' and ',' end the directive or the policy; a quote, a backslash or a brace would end
    # or break the quoted string the policy is written into (an nginx map value).
    for char in ';,"\\{}':
        if char in source:
            raise ValueError(f"{name}: source {source!r} contains {char!r}")
    if any(not "\x21" <= char <= "\x7e" for char in source):
        raise ValueError(f"{name}: source {source!r} contains non-ASCII or control characters")
    if source.lower() in _KEYWORDS:
        raise ValueError(
            f"{name}: keyword {source!r} must be single-quoted, e.g. \"'{source.lower()}'\""
        )


def _check_value_count(name: str, sources: list[object]) -> None:
    """Enforce which directives take no value and which need at least one."""
    if sources and name in _NO_VALUE_DIRECTIVES:
        raise ValueError(f"{name}: takes no sources, set it to true")
    if not sources and name not in _MAY_BE_EMPTY_DIRECTIVES:
        raise ValueError(
            f"{name}: has no sources; only sandbox, upgrade-insecure-requests and "
            "block-all-mixed-content may be empty (use \"'none'\" to allow nothing)"
        )


def _check_keywords(
    name: str, sources: list[str], allow_unsafe_inline: bool, allow_unsafe_eval: bool
) -> None:
    """Reject 'none' mixed with other sources and unapproved unsafe script keywords."""
    lowered = {source.lower() for source in sources}
    if "'none'" in lowered and len(sources) > 1:
        raise ValueError(f"{name}: 'none' cannot be combined with other sources")
    if name not in _SCRIPT_DIRECTIVES:
        return
    if "'unsafe-inline'" in lowered and not allow_unsafe_inline:
        raise ValueError(
            f"{name}: 'unsafe-inline' disables XSS protection; pass allow_unsafe_inline=true"
        )
    if "'unsafe-eval'" in lowered and not allow_unsafe_eval:
        raise ValueError(
            f"{name}: 'unsafe-eval' allows string-to-code execution; pass allow_unsafe_eval=true"
        )


def _render_directive(
    name: object, value: object, allow_unsafe_inline: bool, allow_unsafe_eval: bool
) -> str:
    """Validate one directive and render it as ``name src1 src2``."""
    if name not in _DIRECTIVES:
        raise ValueError(f"unknown CSP directive {name!r}")
    sources = _sources(name, value)
    for source in sources:
        _check_source(name, source)
    _check_value_count(name, sources)
    _check_keywords(name, sources, allow_unsafe_inline, allow_unsafe_eval)
    return " ".join([name, *sources])


def build_csp(
    policy: dict, allow_unsafe_inline: bool = False, allow_unsafe_eval: bool = False
) -> str:
    """Return a Content-Security-Policy header value for ``policy``.

    ``policy`` maps directive names to a list of sources, a whitespace-separated
    string, or ``True``/an empty list for value-less directives such as
    ``upgrade-insecure-requests``. Directives keep the dict's order. Keywords
    must be single-quoted; ``'unsafe-inline'`` and ``'unsafe-eval'`` in
    script-capable directives need the matching ``allow_*`` flag.
    """
    _check_flag(allow_unsafe_inline, "allow_unsafe_inline")
    _check_flag(allow_unsafe_eval, "allow_unsafe_eval")
    if not isinstance(policy, dict):
        raise ValueError(f"policy must be a dict, got {type(policy).__name__}")
    if not policy:
        raise ValueError("policy must contain at least one directive")
    return "; ".join(
        _render_directive(name, value, allow_unsafe_inline, allow_unsafe_eval)
        for name, value in policy.items()
    )
