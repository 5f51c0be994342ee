"""Offline re-implementation of the header-based MDN HTTP Observatory scoring.

Pure functions with no Ansible dependency and only standard-library imports, so
they can be imported both as
``ansible_collections.fedisec.hardening.plugins.module_utils.observatory`` (the
``fedisec.hardening.http_observatory_grade`` module) and as a plain
``observatory`` module (the lab's testinfra tests put this directory on
``sys.path``).

Spec: /work/shared/reference/anchors-transport.md, section 2, checked against
mdn/mdn-http-observatory ``src/analyzer/tests/*.js``, ``src/grader/*.js`` and
``src/scanner/index.js``.

The scoring follows npm v1.4.8 / tag v1.6.3: the score starts at 100 and every
test adds its modifier. The "uncurved" score is 100 plus the *negative*
modifiers only. If the uncurved score is at least 90, the score is 100 plus
*all* modifiers, so bonuses count. Otherwise it is the uncurved score. The
grade comes from ``min(score - score % 5, 100)`` via :data:`GRADE_CHART`, and
the score is floored at 0.

The X-Frame-Options ``DENY``/``SAMEORIGIN`` bonus of +5 is the v1.5+ behaviour
(algorithm 5, mdn/mdn-http-observatory#332). In npm v1.4.8 it is 0. See
:data:`ALGORITHM_VERSION`. The cross-origin-opener-policy and
cross-origin-embedder-policy tests exist only on the scanner's unreleased main
branch and are not scored here.

Each response header is seen the way the scanner (Node/axios) sees it: all
values of a repeated header are joined with ``", "``. Set-Cookie is the
exception and stays a list. That is why a duplicated HSTS header is invalid
(-20), a duplicated X-Frame-Options header is invalid (-20) unless CSP
``frame-ancestors`` takes over, and a duplicated CORP or X-Content-Type-Options
header is invalid (-5).

What the scanner learns from requests other than the final HTTPS response is
passed in by the caller (see :func:`score`): the HTTP redirect route
(``redirect_ok`` or ``redirects``), whether the certificate verified
(``cert_valid``), which hosts are on the Chromium HSTS preload list
(``preloaded_hosts``; this module ships no list), the Origin request header
sent for the CORS check (``cors_origin``), the response body for the
subresource-integrity test (``html``) and the site's hostname (``host``).

Deliberate deviations and limits (header-only model):

* **More than one CSP policy**, either two ``Content-Security-Policy`` header
  lines or a comma-separated policy list, gives ``csp-duplicated-header``
  (-25). The real scanner intersects the policies instead. This module is
  stricter on purpose, so that a proxy adding a second CSP next to Rails' CSP
  fails the tests.
* ``<meta http-equiv>`` CSP and Referrer-Policy in ``html`` are ignored.
* CORS: the scanner reads Access-Control-Allow-Origin/-Credentials from a
  separate OPTIONS preflight to the final URL (``Origin:`` :data:`SCANNER_ORIGIN`,
  ``Access-Control-Request-Method: GET``); this module reads them from
  ``headers``. "Reflected Origin with credentials" (-50) is only detected when
  the caller says which ``Origin`` request header those headers answered
  (``cors_origin``). Without it, any specific ``Access-Control-Allow-Origin``
  value counts as "restricted access" (0).
* HSTS preload (+5) and "all redirects preloaded" are awarded only for hosts in
  ``preloaded_hosts``; a listed name also covers its subdomains (as a preload
  entry with ``include_subdomains`` does).
* CSP source lists are plain sets. The scanner's pruning of redundant prefix
  sources does not change any verdict that this module computes.
* The subresource-integrity "same site" check compares the last two DNS labels
  of ``host`` (the scanner uses the public suffix list). Without ``host``,
  every absolute script URL counts as foreign.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from typing import List, Tuple
from urllib.parse import urlsplit

__all__ = [
    "ALGORITHM_VERSION",
    "GRADE_CHART",
    "MINIMUM_SCORE_FOR_EXTRA_CREDIT",
    "POSSIBLE_RESULTS",
    "SCANNER_ORIGIN",
    "SCORE_TABLE",
    "TEST_NAMES",
    "check_content_security_policy",
    "check_cookies",
    "check_cross_origin_resource_policy",
    "check_cross_origin_resource_sharing",
    "check_redirection",
    "check_referrer_policy",
    "check_strict_transport_security",
    "check_subresource_integrity",
    "check_x_content_type_options",
    "check_x_frame_options",
    "grade_for_score",
    "header_value",
    "header_values",
    "is_preloaded",
    "normalize_headers",
    "score",
]

ALGORITHM_VERSION = 5  # v1.6.3: XFO DENY/SAMEORIGIN earns +5 (0 in v1.4.8, algorithm 4)
MINIMUM_SCORE_FOR_EXTRA_CREDIT = 90

# Grade by score rounded down to a multiple of 5 (capped at 100), as in src/grader/charts.js.
GRADE_CHART: dict[int, str] = {
    100: "A+",
    95: "A",
    90: "A",
    85: "A-",
    80: "B+",
    75: "B",
    70: "B",
    65: "B-",
    60: "C+",
    55: "C",
    50: "C",
    45: "C-",
    40: "D+",
    35: "D",
    30: "D",
    25: "D-",
    20: "F",
    15: "F",
    10: "F",
    5: "F",
    0: "F",
}

# result -> score modifier (src/grader/charts.js SCORE_TABLE, algorithm 5).
SCORE_TABLE: dict[str, int] = {
    # content-security-policy
    "csp-implemented-with-no-unsafe-default-src-none": 10,
    "csp-implemented-with-no-unsafe": 5,
    "csp-implemented-with-unsafe-inline-in-style-src-only": 0,
    "csp-implemented-but-duplicate-directives": 0,
    "csp-implemented-with-insecure-scheme-in-passive-content-only": -10,
    "csp-implemented-with-unsafe-eval": -10,
    "csp-implemented-with-unsafe-inline": -20,
    "csp-implemented-with-insecure-scheme": -20,
    "csp-header-invalid": -25,
    "csp-not-implemented": -25,
    "csp-not-implemented-but-reporting-enabled": -25,
    "csp-duplicated-header": -25,  # local, conservative: see module docstring
    # cookies
    "cookies-secure-with-httponly-sessions-and-samesite": 5,
    "cookies-secure-with-httponly-sessions": 0,
    "cookies-not-found": 0,
    "cookies-without-secure-flag-but-protected-by-hsts": -5,
    "cookies-session-without-secure-flag-but-protected-by-hsts": -10,
    "cookies-without-secure-flag": -20,
    "cookies-samesite-flag-invalid": -20,
    "cookies-anticsrf-without-samesite-flag": -20,
    "cookies-session-without-httponly-flag": -30,
    "cookies-session-without-secure-flag": -40,
    # cross-origin-resource-sharing
    "cross-origin-resource-sharing-not-implemented": 0,
    "cross-origin-resource-sharing-implemented-with-public-access": 0,
    "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
    "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    # redirection
    "redirection-all-redirects-preloaded": 0,
    "redirection-to-https": 0,
    "redirection-not-needed-no-http": 0,
    "redirection-off-host-from-http": -5,
    "redirection-not-to-https-on-initial-redirection": -10,
    "redirection-not-to-https": -20,
    "redirection-missing": -20,
    "redirection-invalid-cert": -20,
    # referrer-policy
    "referrer-policy-private": 5,
    "referrer-policy-not-implemented": 0,
    "referrer-policy-unsafe": -5,
    "referrer-policy-header-invalid": -5,
    # strict-transport-security
    "hsts-preloaded": 5,
    "hsts-implemented-max-age-at-least-six-months": 0,
    "hsts-implemented-max-age-less-than-six-months": -10,
    "hsts-not-implemented": -20,
    "hsts-header-invalid": -20,
    "hsts-not-implemented-no-https": -20,
    "hsts-invalid-cert": -20,
    # subresource-integrity
    "sri-implemented-and-all-scripts-loaded-securely": 5,
    "sri-implemented-and-external-scripts-loaded-securely": 5,
    "sri-not-implemented-response-not-html": 0,
    "sri-not-implemented-but-no-scripts-loaded": 0,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
    "sri-not-implemented-but-external-scripts-loaded-securely": -5,
    "sri-implemented-but-external-scripts-not-loaded-securely": -20,
    "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    # x-content-type-options
    "x-content-type-options-nosniff": 0,
    "x-content-type-options-not-implemented": -5,
    "x-content-type-options-header-invalid": -5,
    # x-frame-options
    "x-frame-options-implemented-via-csp": 5,
    "x-frame-options-sameorigin-or-deny": 5 if ALGORITHM_VERSION >= 5 else 0,
    "x-frame-options-allow-from-origin": 0,
    "x-frame-options-not-implemented": -20,
    "x-frame-options-header-invalid": -20,
    # cross-origin-resource-policy
    "corp-implemented-with-same-origin": 10,
    "corp-implemented-with-same-site": 10,
    "corp-implemented-with-cross-origin": 0,
    "corp-not-implemented": 0,
    "corp-header-invalid": -5,
}

# Scanner order (src/scanner/index.js allTests).
TEST_NAMES = (
    "content-security-policy",
    "cookies",
    "cross-origin-resource-sharing",
    "redirection",
    "referrer-policy",
    "strict-transport-security",
    "subresource-integrity",
    "x-content-type-options",
    "x-frame-options",
    "cross-origin-resource-policy",
)

# Which results each test can give, in the order of SCORE_TABLE (the scanner's possibleResults,
# plus the local csp-duplicated-header). Every SCORE_TABLE key belongs to exactly one test.
_RESULT_PREFIXES = {
    "content-security-policy": "csp-",
    "strict-transport-security": "hsts-",
    "subresource-integrity": "sri-",
    "cross-origin-resource-policy": "corp-",
}
POSSIBLE_RESULTS: dict[str, tuple[str, ...]] = {
    name: tuple(r for r in SCORE_TABLE if r.startswith(_RESULT_PREFIXES.get(name, name + "-")))
    for name in TEST_NAMES
}

# The Origin the scanner sends with its CORS preflight (src/config.js retriever.corsOrigin).
SCANNER_ORIGIN = "https://http-observatory.security.mozilla.org"

# typing aliases, not list[...]: the module must import on managed hosts with Python < 3.9.
Headers = List[Tuple[str, str]]


# --------------------------------------------------------------------------- input checks


def _check_flag(value: object, argument: str) -> None:
    """Reject non-boolean flags, so that e.g. the string "false" is not truthy."""
    if not isinstance(value, bool):
        raise ValueError(f"{argument} must be a boolean, got {value!r}")


def _check_optional_str(value: object, argument: str) -> None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{argument} must be a string, got {type(value).__name__} {value!r}")


def _header_text(value: object, where: str) -> str:
    # YAML turns "X-XSS-Protection: 0" into an integer; accept that, refuse anything else.
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{where} must be a string, got {type(value).__name__} {value!r}")


def _header_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} must be a non-empty header name, got {value!r}")
    if re.search(r"[\s:]", value.strip()):
        raise ValueError(f"{where} is not a valid header name: {value!r}")
    return value.strip()


def normalize_headers(headers: object, argument: str = "headers") -> Headers:
    """Validate ``headers`` and return them as a list of (name, value) string pairs.

    Accepted: a list (or tuple) of ``[name, value]`` pairs, in response order and with repeated
    names as separate entries; or a mapping ``{name: value}`` whose value is a string or a list
    of strings (one per header line). Integer values are turned into strings; header values may
    be empty (an empty header is scored as the scanner scores it). Anything else raises
    ValueError with a message that starts with ``argument``.
    """
    pairs: Headers = []
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            where = f"{argument}[{key!r}]"
            name = _header_name(key, f"{argument} key")
            if isinstance(value, (list, tuple)):
                if not value:
                    raise ValueError(f"{where} must be a string or a non-empty list of strings")
                pairs.extend((name, _header_text(v, f"{where}[{i}]")) for i, v in enumerate(value))
            else:
                pairs.append((name, _header_text(value, where)))
        return pairs
    if isinstance(headers, (str, bytes)) or not isinstance(headers, (list, tuple)):
        raise ValueError(
            f"{argument} must be a list of [name, value] pairs or a mapping, "
            f"got {type(headers).__name__}"
        )
    for index, entry in enumerate(headers):
        where = f"{argument}[{index}]"
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise ValueError(f"{where} must be a [name, value] pair, got {entry!r}")
        pairs.append(
            (_header_name(entry[0], f"{where} name"), _header_text(entry[1], f"{where} value"))
        )
    return pairs


# --------------------------------------------------------------------------- headers


def header_values(headers: Headers, name: str) -> list[str]:
    """All values of header ``name`` (case-insensitive), in order of appearance."""
    lname = name.lower()
    return [value for key, value in headers if key.lower() == lname]


def header_value(headers: Headers, name: str) -> str | None:
    """The value the scanner sees: repeated headers joined with ", " (None if absent)."""
    values = header_values(headers, name)
    return ", ".join(values) if values else None


def grade_for_score(value: int) -> str:
    """Letter grade for a final score (floored at 0; anything >= 100 is A+)."""
    value = max(value, 0)
    return GRADE_CHART[min(value - value % 5, 100)]


# --------------------------------------------------------------------------- CSP

_DANGEROUSLY_BROAD = frozenset(
    {"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"}
)
_UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
_BROAD_OR_UNSAFE_INLINE = _DANGEROUSLY_BROAD | _UNSAFE_INLINE
_PASSIVE_DIRECTIVES = ("img-src", "media-src")
_NONCE_HASH_PREFIXES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")
_ALLOWED_DUPLICATE_DIRECTIVES = frozenset({"report-uri", "report-to"})
_SHORTEST_POLICY = len("img-src") - 1


class _CspInvalid(ValueError):
    pass


def _parse_policy(policy: str) -> tuple[dict[str, set[str]], set[str]]:
    """Parse one policy into {directive: sources} and the allowed duplicate directives."""
    policy = re.sub(r"[\r\n]", "", policy).strip()
    if len(policy) < _SHORTEST_POLICY:
        raise _CspInvalid(f"invalid policy: {policy!r}")
    csp: dict[str, set[str]] = {}
    duplicates: set[str] = set()
    for entry in policy.split(";"):
        tokens = entry.strip().split()
        if not tokens:
            continue
        directive, sources = tokens[0].lower(), [s.lower() for s in tokens[1:]]
        if directive in csp:
            if directive not in _ALLOWED_DUPLICATE_DIRECTIVES:
                raise _CspInvalid(f"duplicate directive {directive}")
            duplicates.add(directive)  # the scanner keeps the last report-uri/report-to
        # An empty source list means 'none' (also for non-fetch directives, as the scanner does).
        csp[directive] = set(sources) or {"'none'"}
    return csp, duplicates


def _has_nonce_or_hash(sources: set[str]) -> bool:
    return any(s.startswith(_NONCE_HASH_PREFIXES) for s in sources)


def _first_present(csp: dict[str, set[str]], *directives: str) -> set[str]:
    # Returns the *same* set object (like the JS code) so that in-place edits of a fallback
    # (script-src -> default-src) are visible to the other lookups, exactly as in the scanner.
    for directive in directives:
        if directive in csp:
            return csp[directive]
    return {"*"}


def _csp_evaluate(csp: dict[str, set[str]], duplicates: set[str], https: bool) -> str:
    """Verdict for a single parsed policy (port of src/analyzer/tests/csp.js)."""
    result: str | None = None

    def first(candidate: str) -> None:
        nonlocal result
        if result is None:
            result = candidate

    object_src = _first_present(csp, "object-src", "default-src")
    script_src = _first_present(csp, "script-src", "default-src")
    style_src = _first_present(csp, "style-src", "default-src")

    # A nonce or hash disables 'unsafe-inline' in browsers.
    for sources in (script_src, style_src):
        if _has_nonce_or_hash(sources):
            sources.discard("'unsafe-inline'")

    if "'strict-dynamic'" in script_src:
        if _has_nonce_or_hash(script_src):
            for source in list(script_src):
                if source.startswith(tuple(_DANGEROUSLY_BROAD)) or source in (
                    "'self'",
                    "'unsafe-inline'",
                ):
                    script_src.discard(source)
        else:
            first("csp-header-invalid")

    active = [
        s
        for d, srcs in csp.items()
        if d not in _PASSIVE_DIRECTIVES and d != "script-src"
        for s in srcs
    ]
    active += list(script_src)
    passive = [s for d in _PASSIVE_DIRECTIVES for s in csp.get(d, csp.get("default-src", set()))]

    def insecure(sources: list[str]) -> bool:
        return https and any(s.startswith(("http:", "ftp:")) for s in sources)

    if script_src & _BROAD_OR_UNSAFE_INLINE or object_src & _DANGEROUSLY_BROAD:
        first("csp-implemented-with-unsafe-inline")
    if insecure(active):
        first("csp-implemented-with-insecure-scheme")
    if "'unsafe-eval'" in script_src | style_src:
        first("csp-implemented-with-unsafe-eval")
    if insecure(passive):
        first("csp-implemented-with-insecure-scheme-in-passive-content-only")
    if style_src & _BROAD_OR_UNSAFE_INLINE:
        first("csp-implemented-with-unsafe-inline-in-style-src-only")
    if csp.get("default-src") == {"'none'"}:
        first("csp-implemented-with-no-unsafe-default-src-none")
    else:
        first("csp-implemented-with-no-unsafe")

    passing = {
        "csp-implemented-with-no-unsafe",
        "csp-implemented-with-no-unsafe-default-src-none",
        "csp-implemented-with-unsafe-inline-in-style-src-only",
        "csp-implemented-with-insecure-scheme-in-passive-content-only",
    }
    if result in passing and duplicates:
        result = "csp-implemented-but-duplicate-directives"
    if result is None:  # unreachable: the last check above always sets a result
        raise AssertionError("no CSP verdict")
    return result


def _csp_analysis(headers: Headers, https: bool) -> tuple[str, set[str] | None]:
    """Return (result, directive names); the names are None when no usable policy exists."""
    raw = header_values(headers, "Content-Security-Policy")
    policies = [p.strip() for value in raw for p in value.split(",")]
    if not policies:
        if header_values(headers, "Content-Security-Policy-Report-Only"):
            return "csp-not-implemented-but-reporting-enabled", None
        return "csp-not-implemented", None
    try:
        parsed = [_parse_policy(p) for p in policies]
    except _CspInvalid:
        return "csp-header-invalid", None
    directives = {d for csp, _ in parsed for d in csp}
    if len(parsed) > 1:
        return "csp-duplicated-header", directives
    csp, duplicates = parsed[0]
    return _csp_evaluate(csp, duplicates, https), directives


def check_content_security_policy(headers: Headers, *, https: bool = True) -> str:
    return _csp_analysis(headers, https)[0]


# --------------------------------------------------------------------------- HSTS

_SIX_MONTHS = 15_552_000  # the scanner's "white lie" for six months


def _js_parse_int(text: str) -> float:
    """JavaScript ``Number.parseInt(text, 10)``: NaN when there is no leading number."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else float("nan")


def _hsts_header_result(headers: Headers) -> str:
    value = header_value(headers, "Strict-Transport-Security")
    if value is None:
        return "hsts-not-implemented"
    value = value[:1024]
    if "," in value:  # header set more than once
        return "hsts-header-invalid"
    max_age: float | None = None
    for parameter in (p.strip().lower() for p in value.split(";")):
        if parameter.startswith("max-age="):
            max_age = _js_parse_int(parameter[8:128])
    if max_age is None:
        return "hsts-header-invalid"
    # Scanner quirk kept on purpose: an unparsable max-age is NaN, and NaN < six months is false.
    if max_age < _SIX_MONTHS:
        return "hsts-implemented-max-age-less-than-six-months"
    return "hsts-implemented-max-age-at-least-six-months"


def check_strict_transport_security(
    headers: Headers, *, https: bool = True, cert_valid: bool = True, preloaded: bool = False
) -> str:
    """HSTS verdict; ``preloaded`` (site on the Chromium list) overrides any HTTPS verdict."""
    if not https:
        return "hsts-not-implemented-no-https"
    if preloaded:
        return "hsts-preloaded"
    if not cert_valid:
        return "hsts-invalid-cert"
    return _hsts_header_result(headers)


def _hsts_passes(hsts_result: str) -> bool:
    return hsts_result in (
        "hsts-implemented-max-age-at-least-six-months",
        "hsts-preloaded",
    )


def _hostname(host: str) -> str:
    return host.lower().rstrip(".")


def is_preloaded(hostname: str | None, preloaded_hosts: Iterable[str]) -> bool:
    """True if ``hostname`` or one of its parent domains is in ``preloaded_hosts``.

    The entries stand for Chromium HSTS preload entries in force-https mode with
    include_subdomains (an entry without include_subdomains should be listed only if it is
    exactly the host being scored).
    """
    if not hostname:
        return False
    listed = {_hostname(h) for h in preloaded_hosts}
    labels = _hostname(hostname).split(".")
    return any(".".join(labels[i:]) in listed for i in range(len(labels)))


# --------------------------------------------------------------------------- cookies

# Worst is last (src/analyzer/tests/cookies.js "goodness"); a result is only replaced by a worse one.
_COOKIE_SEVERITY = (
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
)
_COOKIES_IGNORED = frozenset({"heroku-session-affinity"})


def _worse(new: str, old: str | None) -> str:
    if old is None or _COOKIE_SEVERITY.index(new) > _COOKIE_SEVERITY.index(old):
        return new
    return old


def _raw_samesite_invalid(set_cookie: str) -> bool:
    for part in set_cookie.strip().split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "samesite":
            if not value or value.strip().lower() not in ("lax", "strict", "none"):
                return True
    return False


def _parse_set_cookie(set_cookie: str) -> dict | None:
    """Minimal tough-cookie style parse; None if the jar would reject the cookie."""
    pair, *attributes = set_cookie.split(";")
    if "=" not in pair:
        return None
    name = pair.split("=", 1)[0].strip()
    cookie = {
        "name": name,
        "secure": False,
        "httponly": False,
        "samesite": None,
        "path": None,
        "domain": None,
    }
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "secure":
            cookie["secure"] = True
        elif key == "httponly":
            cookie["httponly"] = True
        elif key == "samesite":
            lowered = value.lower()
            cookie["samesite"] = lowered if lowered in ("strict", "lax", "none") else None
        elif key in ("path", "domain"):
            cookie[key] = value or None
    # Cookie prefixes: tough-cookie's default "silent" prefix security drops violators.
    if name.startswith("__Secure-") and not cookie["secure"]:
        return None
    if name.startswith("__Host-") and not (
        cookie["secure"] and cookie["path"] == "/" and not cookie["domain"]
    ):
        return None
    return cookie


def check_cookies(set_cookies: list[str], hsts: bool) -> str:
    result: str | None = None
    for raw in set_cookies:
        if _raw_samesite_invalid(raw):
            result = _worse("cookies-samesite-flag-invalid", result)

    jar: dict[tuple, dict] = {}
    for raw in set_cookies:
        cookie = _parse_set_cookie(raw)
        if cookie and cookie["name"] and cookie["name"] not in _COOKIES_IGNORED:
            jar[(cookie["name"], cookie["domain"], cookie["path"])] = cookie  # later wins
    if not jar:
        return "cookies-not-found"

    missing_samesite = False
    for cookie in jar.values():
        name = cookie["name"].lower()
        session = "login" in name or "sess" in name
        anticsrf = "csrf" in name
        secure = cookie["secure"]
        if not secure and cookie["samesite"] == "none":
            result = _worse("cookies-samesite-flag-invalid", result)
        if not secure:
            result = _worse(
                (
                    "cookies-without-secure-flag-but-protected-by-hsts"
                    if hsts
                    else "cookies-without-secure-flag"
                ),
                result,
            )
        if anticsrf and not cookie["samesite"]:
            result = _worse("cookies-anticsrf-without-samesite-flag", result)
        if session and not secure:
            result = _worse(
                (
                    "cookies-session-without-secure-flag-but-protected-by-hsts"
                    if hsts
                    else "cookies-session-without-secure-flag"
                ),
                result,
            )
        if session and not cookie["httponly"]:
            result = _worse("cookies-session-without-httponly-flag", result)
        missing_samesite = missing_samesite or not cookie["samesite"]

    if result is None:
        result = (
            "cookies-secure-with-httponly-sessions"
            if missing_samesite
            else "cookies-secure-with-httponly-sessions-and-samesite"
        )
    return result


# --------------------------------------------------------------------------- simple header tests


def check_cross_origin_resource_sharing(headers: Headers, *, origin: str | None = None) -> str:
    """CORS verdict; ``origin`` is the Origin request header that ``headers`` answered.

    "Reflected Origin + credentials" (-50) needs that request header; without it, any specific
    Access-Control-Allow-Origin value counts as restricted access.
    """
    acao = header_value(headers, "Access-Control-Allow-Origin")
    if not acao:
        return "cross-origin-resource-sharing-not-implemented"
    if acao[:256].strip().lower() == "*":
        return "cross-origin-resource-sharing-implemented-with-public-access"
    credentials = header_value(headers, "Access-Control-Allow-Credentials")
    if origin and acao == origin and credentials and credentials.strip().lower() == "true":
        return "cross-origin-resource-sharing-implemented-with-universal-access"
    return "cross-origin-resource-sharing-implemented-with-restricted-access"


def _route(redirects: Sequence[str]) -> list[tuple[str, str]]:
    if isinstance(redirects, (str, bytes)) or not isinstance(redirects, (list, tuple)):
        raise ValueError(f"redirects must be a list of URLs, got {type(redirects).__name__}")
    route = []
    for index, url in enumerate(redirects):
        if not isinstance(url, str):
            raise ValueError(f"redirects[{index}] must be a URL string, got {url!r}")
        try:
            parts = urlsplit(url.strip())
            scheme, hostname = parts.scheme.lower(), parts.hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            scheme, hostname = "", None
        if scheme not in ("http", "https") or not hostname:
            raise ValueError(f"redirects[{index}] must be an http:// or https:// URL, got {url!r}")
        route.append((scheme, _hostname(hostname)))
    if route and route[0][0] != "http":
        raise ValueError(
            f"redirects[0] must be the plain http:// URL first requested, got {redirects[0]!r}"
        )
    return route


def check_redirection(
    redirect_ok: bool | None = None,
    *,
    redirects: Sequence[str] | None = None,
    cert_valid: bool = True,
    preloaded_hosts: Iterable[str] = (),
    host: str | None = None,
) -> str:
    """Redirection verdict (port of src/analyzer/tests/redirection.js).

    Either ``redirect_ok`` (the plain-HTTP URL redirects to HTTPS on the same host: True; it
    does not redirect: False) or ``redirects``: the route, i.e. the ``http://`` URL first
    requested followed by every URL it was redirected to, in order. An empty route means no
    HTTP listener answered. ``cert_valid`` False means an HTTPS hop failed certificate
    verification.
    """
    preloaded_hosts = tuple(preloaded_hosts)
    if redirects is None:
        if redirect_ok is None:
            raise ValueError("redirect_ok or redirects is required")
        _check_flag(redirect_ok, "redirect_ok")
        if redirect_ok and not cert_valid:
            return "redirection-invalid-cert"
        if is_preloaded(host, preloaded_hosts):  # every hop is on ``host``
            return "redirection-all-redirects-preloaded"
        return "redirection-to-https" if redirect_ok else "redirection-missing"
    if redirect_ok is not None:
        raise ValueError("redirect_ok and redirects are mutually exclusive")

    route = _route(redirects)
    if not route:
        return "redirection-not-needed-no-http"
    if not cert_valid and any(scheme == "https" for scheme, _ in route):
        return "redirection-invalid-cert"
    if all(is_preloaded(hostname, preloaded_hosts) for _, hostname in route):
        return "redirection-all-redirects-preloaded"
    if len(route) == 1:
        return "redirection-missing"
    if route[-1][0] != "https":
        return "redirection-not-to-https"
    if route[1][0] == "http":
        return "redirection-not-to-https-on-initial-redirection"
    if route[0][1] != route[1][1]:
        return "redirection-off-host-from-http"
    return "redirection-to-https"


_REFERRER_PRIVATE = (
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
)
_REFERRER_UNSAFE = (
    "origin",
    "origin-when-cross-origin",
    "unsafe-url",
    "no-referrer-when-downgrade",
)


def check_referrer_policy(headers: Headers) -> str:
    value = header_value(headers, "Referrer-Policy")
    if value is None:
        return "referrer-policy-not-implemented"
    # Browsers use the last token they understand (fallback lists such as "no-referrer, strict-origin").
    valid = [
        t.strip().lower()
        for t in value.split(",")
        if t.strip().lower() in _REFERRER_PRIVATE + _REFERRER_UNSAFE
    ]
    policy = valid[-1] if valid else ""
    if policy in _REFERRER_PRIVATE:
        return "referrer-policy-private"
    if policy in _REFERRER_UNSAFE:
        return "referrer-policy-unsafe"
    return "referrer-policy-header-invalid"


def check_x_content_type_options(headers: Headers) -> str:
    value = header_value(headers, "X-Content-Type-Options")
    if not value:
        return "x-content-type-options-not-implemented"
    if value[:256].strip().lower() == "nosniff":
        return "x-content-type-options-nosniff"
    return "x-content-type-options-header-invalid"


def check_x_frame_options(headers: Headers, csp_directives: set[str] | None) -> str:
    value = header_value(headers, "X-Frame-Options")
    if value:
        xfo = value[:1024].strip().lower()
        if xfo in ("deny", "sameorigin"):
            result = "x-frame-options-sameorigin-or-deny"
        elif xfo.startswith("allow-from"):
            result = "x-frame-options-allow-from-origin"
        else:
            result = "x-frame-options-header-invalid"
    else:
        result = "x-frame-options-not-implemented"
    # CSP frame-ancestors (header only) overrides whatever X-Frame-Options says.
    if csp_directives and "frame-ancestors" in csp_directives:
        result = "x-frame-options-implemented-via-csp"
    return result


_CORP_RESULTS = {
    "same-origin": "corp-implemented-with-same-origin",
    "same-site": "corp-implemented-with-same-site",
    "cross-origin": "corp-implemented-with-cross-origin",
}


def check_cross_origin_resource_policy(headers: Headers) -> str:
    value = header_value(headers, "Cross-Origin-Resource-Policy")
    if not value:
        return "corp-not-implemented"
    return _CORP_RESULTS.get(value[:256].strip().lower(), "corp-header-invalid")


# --------------------------------------------------------------------------- SRI

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_SRI_SEVERITY = (
    "sri-implemented-and-all-scripts-loaded-securely",
    "sri-implemented-and-external-scripts-loaded-securely",
    "sri-implemented-but-external-scripts-not-loaded-securely",
    "sri-not-implemented-but-external-scripts-loaded-securely",
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    "sri-not-implemented-response-not-html",
)


class _ScriptCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            attributes: dict[str, str | None] = {}
            for key, value in attrs:
                attributes.setdefault(key, value)  # first attribute wins, as in HTML
            self.scripts.append(attributes)


def _site(hostname: str) -> str:
    # Approximation of the registrable domain (tldts): the last two labels.
    return ".".join(hostname.lower().rstrip(".").split(".")[-2:])


def check_subresource_integrity(
    html: str | None,
    *,
    content_type: str | None = None,
    https: bool = True,
    host: str | None = None,
) -> str:
    mime = (content_type or "").split(";")[0]
    if mime and mime not in _HTML_TYPES:
        return "sri-not-implemented-response-not-html"
    if html is None:
        return "sri-not-implemented-but-no-scripts-loaded"
    collector = _ScriptCollector()
    collector.feed(html)
    collector.close()
    if not collector.scripts:
        return "sri-not-implemented-but-no-scripts-loaded"

    result: str | None = None

    def worse(new: str) -> None:
        nonlocal result
        if result is None or _SRI_SEVERITY.index(new) > _SRI_SEVERITY.index(result):
            result = new

    foreign_seen = False
    for script in collector.scripts:
        src = (script.get("src") or "").strip()
        if not src:
            continue  # inline script
        integrity = script.get("integrity")
        relative_protocol = re.match(r"^//[^/]", src) is not None
        full_url = re.match(r"^https?://", src, re.IGNORECASE)
        relative_origin = not relative_protocol and not full_url
        if relative_protocol:
            same_site = True
        elif full_url:
            script_host = (
                re.sub(r"^https?://", "", src, flags=re.IGNORECASE).split("/")[0].split(":")[0]
            )
            same_site = host is not None and _site(script_host) == _site(host)
        else:
            same_site = True
        secure_origin = relative_origin or (same_site and not relative_protocol)
        secure_scheme = bool(full_url and src.lower().startswith("https:")) or (
            relative_origin and https
        )

        if not secure_origin:
            foreign_seen = True
            if integrity and not secure_scheme:
                worse("sri-implemented-but-external-scripts-not-loaded-securely")
            elif not integrity and secure_scheme:
                worse("sri-not-implemented-but-external-scripts-loaded-securely")
            elif not integrity:
                worse("sri-not-implemented-and-external-scripts-not-loaded-securely")
        elif integrity and secure_scheme and result is None:
            result = "sri-implemented-and-all-scripts-loaded-securely"  # bonus even for same origin

    if result is None:
        result = (
            "sri-implemented-and-external-scripts-loaded-securely"
            if foreign_seen
            else "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
        )
    return result


# --------------------------------------------------------------------------- score


def score(
    headers: Headers | Mapping[str, str | list[str]],
    *,
    redirect_ok: bool | None = None,
    https: bool = True,
    cookies: list[str] | None = None,
    html: str | None = None,
    host: str | None = None,
    redirects: Sequence[str] | None = None,
    cert_valid: bool = True,
    preloaded_hosts: Iterable[str] = (),
    cors_origin: str | None = None,
) -> dict:
    """Score one final HTTPS response the way the MDN HTTP Observatory does.

    ``headers``: the response headers as (name, value) pairs in order, or a mapping
    (see :func:`normalize_headers`); repeated names are joined with ", " like the scanner does.
    ``redirect_ok`` / ``redirects`` (exactly one is required): see :func:`check_redirection`.
    ``https``: the response came over HTTPS (False: no HSTS, no insecure-scheme CSP checks).
    ``cookies``: Set-Cookie values; when None, the Set-Cookie headers in ``headers`` are used.
    ``html``: the response body. When given, the subresource-integrity test parses its
    ``<script>`` elements (unless Content-Type says the response is not HTML); None is
    treated as "no scripts loaded".
    ``host``: the site's hostname: tells same-site from foreign absolute script URLs and is
    looked up in ``preloaded_hosts``.
    ``cert_valid``: False when the HTTPS certificate did not verify (hsts/redirection -20).
    ``preloaded_hosts``: hostnames on the Chromium HSTS preload list (see :func:`is_preloaded`).
    ``cors_origin``: the Origin request header sent with the request that returned
    ``headers`` (the scanner sends :data:`SCANNER_ORIGIN`); enables the -50 CORS check.

    Bad input raises ValueError naming the argument.

    Returns ``{"score": int, "grade": str, "tests": {name: {"result": str, "modifier": int}}}``
    with the tests in the scanner's order (:data:`TEST_NAMES`).
    """
    headers = normalize_headers(headers)
    if redirect_ok is None and redirects is None:
        raise ValueError("redirect_ok or redirects is required")
    if redirect_ok is not None and redirects is not None:
        raise ValueError("redirect_ok and redirects are mutually exclusive")
    if redirect_ok is not None:
        _check_flag(redirect_ok, "redirect_ok")
    _check_flag(https, "https")
    _check_flag(cert_valid, "cert_valid")
    _check_optional_str(html, "html")
    _check_optional_str(cors_origin, "cors_origin")
    _check_optional_str(host, "host")
    if host is not None and (not host.strip() or re.search(r"[\s/:@]", host.strip())):
        raise ValueError(f"host must be a bare hostname, got {host!r}")
    if cookies is None:
        cookies = header_values(headers, "Set-Cookie")
    elif isinstance(cookies, (str, bytes)) or not isinstance(cookies, (list, tuple)):
        raise ValueError(f"cookies must be a list of strings, got {type(cookies).__name__}")
    for index, cookie in enumerate(cookies):
        _check_optional_str(cookie, f"cookies[{index}]")
    if isinstance(preloaded_hosts, (str, bytes)):
        raise ValueError("preloaded_hosts must be a list of hostnames, not a string")
    preloaded_hosts = tuple(preloaded_hosts)
    for index, name in enumerate(preloaded_hosts):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"preloaded_hosts[{index}] must be a hostname, got {name!r}")

    hsts_result = check_strict_transport_security(
        headers, https=https, cert_valid=cert_valid, preloaded=is_preloaded(host, preloaded_hosts)
    )
    csp_result, csp_directives = _csp_analysis(headers, https)
    results = {
        "content-security-policy": csp_result,
        "cookies": check_cookies(cookies, _hsts_passes(hsts_result)),
        "cross-origin-resource-sharing": check_cross_origin_resource_sharing(
            headers, origin=cors_origin
        ),
        "redirection": check_redirection(
            redirect_ok,
            redirects=redirects,
            cert_valid=cert_valid,
            preloaded_hosts=preloaded_hosts,
            host=host,
        ),
        "referrer-policy": check_referrer_policy(headers),
        "strict-transport-security": hsts_result,
        "subresource-integrity": check_subresource_integrity(
            html, content_type=header_value(headers, "Content-Type"), https=https, host=host
        ),
        "x-content-type-options": check_x_content_type_options(headers),
        "x-frame-options": check_x_frame_options(headers, csp_directives),
        "cross-origin-resource-policy": check_cross_origin_resource_policy(headers),
    }

    tests = {
        name: {"result": result, "modifier": SCORE_TABLE[result]}
        for name, result in results.items()
    }
    modifiers = [t["modifier"] for t in tests.values()]
    with_extra_credit = 100 + sum(modifiers)
    uncurved = 100 + sum(m for m in modifiers if m < 0)
    final = with_extra_credit if uncurved >= MINIMUM_SCORE_FOR_EXTRA_CREDIT else uncurved
    final = max(final, 0)
    return {"score": final, "grade": grade_for_score(final), "tests": tests}
