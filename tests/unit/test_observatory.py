"""Unit tests for plugins/module_utils/observatory.py (offline MDN HTTP Observatory scoring)
and for the fedisec.hardening.http_observatory_grade module built on it."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.fedisec.hardening.plugins.module_utils import observatory as obs
from ansible_collections.fedisec.hardening.plugins.modules import http_observatory_grade

# Rails' CSP for a stock Mastodon (config/initializers/content_security_policy.rb), one header line.
MASTODON_CSP = (
    "base-uri 'none'; default-src 'none'; frame-ancestors 'none'; "
    "font-src 'self' https://mastodon.example; "
    "img-src 'self' data: blob: https://mastodon.example; "
    "media-src 'self' data: https://mastodon.example; "
    "manifest-src 'self' https://mastodon.example; form-action 'self'; "
    "child-src 'self' blob: https://mastodon.example; "
    "worker-src 'self' blob: https://mastodon.example; "
    "connect-src 'self' data: blob: https://mastodon.example wss://mastodon.example; "
    "script-src 'self' https://mastodon.example 'wasm-unsafe-eval'; "
    "frame-src 'self' https:; "
    "style-src 'self' https://mastodon.example 'nonce-Zm9vYmFy'"
)
HSTS_2Y = "max-age=63072000; includeSubDomains"

STOCK = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Security-Policy", MASTODON_CSP),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-XSS-Protection", "0"),
    ("Referrer-Policy", "same-origin"),
    ("Strict-Transport-Security", HSTS_2Y),
]

# 100 + CSP default-src 'none' (+10) + XFO via frame-ancestors (+5) + Referrer-Policy (+5);
# cookies, CORS, redirection, HSTS, SRI, nosniff and CORP all 0.
STOCK_SCORE = 120


def replace(headers, name, *values):
    """Drop every `name` header, then append `values` as separate header lines."""
    kept = [(k, v) for k, v in headers if k.lower() != name.lower()]
    return kept + [(name, v) for v in values]


def results(report):
    return {name: t["result"] for name, t in report["tests"].items()}


def test_stock_mastodon_is_a_plus():
    report = obs.score(STOCK, redirect_ok=True)
    assert report["score"] == STOCK_SCORE
    assert report["grade"] == "A+"
    assert list(report["tests"]) == list(obs.TEST_NAMES)
    assert results(report) == {
        "content-security-policy": "csp-implemented-with-no-unsafe-default-src-none",
        "cookies": "cookies-not-found",
        "cross-origin-resource-sharing": "cross-origin-resource-sharing-not-implemented",
        "redirection": "redirection-to-https",
        "referrer-policy": "referrer-policy-private",
        "strict-transport-security": "hsts-implemented-max-age-at-least-six-months",
        "subresource-integrity": "sri-not-implemented-but-no-scripts-loaded",
        "x-content-type-options": "x-content-type-options-nosniff",
        "x-frame-options": "x-frame-options-implemented-via-csp",
        "cross-origin-resource-policy": "corp-not-implemented",
    }
    for test in report["tests"].values():
        assert test["modifier"] == obs.SCORE_TABLE[test["result"]]


def test_stock_mastodon_with_session_cookie():
    cookie = "_mastodon_session=abc; path=/; secure; HttpOnly; SameSite=Lax"
    report = obs.score(STOCK, redirect_ok=True, cookies=[cookie])
    assert report["tests"]["cookies"] == {
        "result": "cookies-secure-with-httponly-sessions-and-samesite",
        "modifier": 5,
    }
    assert report["score"] == STOCK_SCORE + 5
    # Set-Cookie headers are used when `cookies` is not given.
    assert obs.score(STOCK + [("Set-Cookie", cookie)], redirect_ok=True)["score"] == STOCK_SCORE + 5


def test_corp_same_origin_adds_ten():
    report = obs.score(STOCK + [("Cross-Origin-Resource-Policy", "same-origin")], redirect_ok=True)
    assert report["tests"]["cross-origin-resource-policy"] == {
        "result": "corp-implemented-with-same-origin",
        "modifier": 10,
    }
    assert report["score"] == STOCK_SCORE + 10
    assert report["grade"] == "A+"


def test_duplicated_hsts_is_invalid():
    headers = replace(STOCK, "Strict-Transport-Security", HSTS_2Y, HSTS_2Y)
    assert len(obs.header_values(headers, "strict-transport-security")) == 2
    report = obs.score(headers, redirect_ok=True)
    assert report["tests"]["strict-transport-security"] == {
        "result": "hsts-header-invalid",
        "modifier": -20,
    }
    # uncurved 100 - 20 = 80 < 90, so the bonuses are dropped.
    assert report["score"] == 80
    assert report["grade"] == "B+"
    assert report["score"] < obs.score(STOCK, redirect_ok=True)["score"]


def test_duplicated_xfo_and_corp_and_csp():
    no_csp = replace(STOCK, "Content-Security-Policy")
    xfo = obs.score(replace(no_csp, "X-Frame-Options", "DENY", "DENY"), redirect_ok=True)
    assert xfo["tests"]["x-frame-options"] == {
        "result": "x-frame-options-header-invalid",
        "modifier": -20,
    }

    corp = obs.score(
        replace(STOCK, "Cross-Origin-Resource-Policy", "same-origin", "same-origin"),
        redirect_ok=True,
    )
    assert corp["tests"]["cross-origin-resource-policy"] == {
        "result": "corp-header-invalid",
        "modifier": -5,
    }

    csp = obs.score(
        replace(STOCK, "Content-Security-Policy", MASTODON_CSP, MASTODON_CSP), redirect_ok=True
    )
    assert csp["tests"]["content-security-policy"] == {
        "result": "csp-duplicated-header",
        "modifier": -25,
    }
    # frame-ancestors is still seen, as by the scanner.
    assert csp["tests"]["x-frame-options"]["result"] == "x-frame-options-implemented-via-csp"
    assert csp["score"] == 75


def test_missing_csp():
    report = obs.score(replace(STOCK, "Content-Security-Policy"), redirect_ok=True)
    assert report["tests"]["content-security-policy"] == {
        "result": "csp-not-implemented",
        "modifier": -25,
    }
    # XFO DENY alone still earns +5 (algorithm 5), but uncurved 75 < 90 drops all bonuses.
    assert report["tests"]["x-frame-options"] == {
        "result": "x-frame-options-sameorigin-or-deny",
        "modifier": 5,
    }
    assert report["score"] == 75
    assert report["grade"] == "B"


def test_unsafe_inline_in_script_src():
    csp = MASTODON_CSP.replace("'wasm-unsafe-eval'", "'unsafe-inline'")
    report = obs.score(replace(STOCK, "Content-Security-Policy", csp), redirect_ok=True)
    assert report["tests"]["content-security-policy"] == {
        "result": "csp-implemented-with-unsafe-inline",
        "modifier": -20,
    }
    assert report["score"] == 80
    assert report["grade"] == "B+"


@pytest.mark.parametrize(
    ("csp", "expected"),
    [
        ("default-src 'none'", "csp-implemented-with-no-unsafe-default-src-none"),
        ("default-src 'self'", "csp-implemented-with-no-unsafe"),
        (
            "default-src 'self'; style-src 'self' 'unsafe-inline'",
            "csp-implemented-with-unsafe-inline-in-style-src-only",
        ),
        ("default-src 'self'; script-src 'self' 'unsafe-eval'", "csp-implemented-with-unsafe-eval"),
        ("default-src 'self' 'unsafe-inline'", "csp-implemented-with-unsafe-inline"),
        ("default-src 'self'; script-src https:", "csp-implemented-with-unsafe-inline"),
        ("default-src 'self'; object-src *", "csp-implemented-with-unsafe-inline"),
        ("default-src 'self'; script-src 'self' data:", "csp-implemented-with-unsafe-inline"),
        ("img-src 'self'", "csp-implemented-with-unsafe-inline"),  # script-src falls back to *
        (
            "default-src 'none'; script-src 'nonce-abc' 'unsafe-inline'",
            "csp-implemented-with-no-unsafe-default-src-none",
        ),
        (
            "default-src 'self'; img-src http://cdn.example",
            "csp-implemented-with-insecure-scheme-in-passive-content-only",
        ),
        (
            "default-src 'self'; connect-src http://api.example",
            "csp-implemented-with-insecure-scheme",
        ),
        ("default-src 'self'; default-src 'none'", "csp-header-invalid"),
        (
            "default-src 'none'; report-uri /a; report-uri /b",
            "csp-implemented-but-duplicate-directives",
        ),
        ("x", "csp-header-invalid"),
    ],
)
def test_csp_results(csp, expected):
    report = obs.score(replace(STOCK, "Content-Security-Policy", csp), redirect_ok=True)
    result = report["tests"]["content-security-policy"]
    assert result["result"] == expected
    assert result["modifier"] == obs.SCORE_TABLE[expected]


def test_csp_report_only():
    headers = replace(STOCK, "Content-Security-Policy") + [
        ("Content-Security-Policy-Report-Only", "default-src 'none'")
    ]
    test = obs.score(headers, redirect_ok=True)["tests"]["content-security-policy"]
    assert test == {"result": "csp-not-implemented-but-reporting-enabled", "modifier": -25}


def test_short_hsts():
    report = obs.score(
        replace(STOCK, "Strict-Transport-Security", "max-age=86400"), redirect_ok=True
    )
    assert report["tests"]["strict-transport-security"] == {
        "result": "hsts-implemented-max-age-less-than-six-months",
        "modifier": -10,
    }
    # uncurved 90 keeps the extra credit: 100 + 10 + 5 + 5 - 10.
    assert report["score"] == STOCK_SCORE - 10 == 110
    assert report["grade"] == "A+"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=15552000", "hsts-implemented-max-age-at-least-six-months"),
        ("max-age=15551999; includeSubDomains", "hsts-implemented-max-age-less-than-six-months"),
        ("includeSubDomains", "hsts-header-invalid"),
        ("max-age=63072000, max-age=63072000", "hsts-header-invalid"),
        (
            "max-age=63072000; preload",
            "hsts-implemented-max-age-at-least-six-months",
        ),  # never on the list
    ],
)
def test_hsts_values(value, expected):
    assert obs.check_strict_transport_security([("strict-transport-security", value)]) == expected


def test_hsts_without_https():
    assert (
        obs.check_strict_transport_security(STOCK, https=False) == "hsts-not-implemented-no-https"
    )


def test_empty_headers_fail():
    report = obs.score([], redirect_ok=False)
    # CSP -25, redirection -20, HSTS -20, nosniff -5, XFO -20.
    assert report["score"] == 10
    assert report["grade"] == "F"
    assert obs.score([], redirect_ok=True)["score"] == 30


def test_redirect_missing():
    report = obs.score(STOCK, redirect_ok=False)
    assert report["tests"]["redirection"] == {"result": "redirection-missing", "modifier": -20}
    assert report["score"] == 80
    assert report["grade"] == "B+"


def test_referrer_unsafe_url():
    report = obs.score(replace(STOCK, "Referrer-Policy", "unsafe-url"), redirect_ok=True)
    assert report["tests"]["referrer-policy"] == {
        "result": "referrer-policy-unsafe",
        "modifier": -5,
    }
    # uncurved 95: 100 + 10 + 5 - 5.
    assert report["score"] == 110


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("no-referrer", "referrer-policy-private"),
        ("STRICT-ORIGIN-WHEN-CROSS-ORIGIN", "referrer-policy-private"),
        ("unsafe-url, strict-origin", "referrer-policy-private"),  # last valid token wins
        ("no-referrer, origin-when-cross-origin", "referrer-policy-unsafe"),
        ("strict-origin, bogus", "referrer-policy-private"),
        ("no-referrer-when-downgrade", "referrer-policy-unsafe"),
        ("origin", "referrer-policy-unsafe"),
        ("bogus", "referrer-policy-header-invalid"),
    ],
)
def test_referrer_values(value, expected):
    assert obs.check_referrer_policy([("Referrer-Policy", value)]) == expected
    assert obs.check_referrer_policy([]) == "referrer-policy-not-implemented"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("X-Frame-Options", "SAMEORIGIN")], "x-frame-options-sameorigin-or-deny"),
        (
            [("X-Frame-Options", "ALLOW-FROM https://a.example")],
            "x-frame-options-allow-from-origin",
        ),
        ([("X-Frame-Options", "yes")], "x-frame-options-header-invalid"),
        ([], "x-frame-options-not-implemented"),
        (
            [("Content-Security-Policy", "frame-ancestors 'self'")],
            "x-frame-options-implemented-via-csp",
        ),
    ],
)
def test_xfo_values(headers, expected):
    assert obs.score(headers, redirect_ok=True)["tests"]["x-frame-options"]["result"] == expected


def test_xcto_and_cors_and_corp():
    assert (
        obs.check_x_content_type_options([("x-content-type-options", "NoSniff")])
        == "x-content-type-options-nosniff"
    )
    assert (
        obs.check_x_content_type_options([("x-content-type-options", "sniff")])
        == "x-content-type-options-header-invalid"
    )
    assert obs.check_x_content_type_options([]) == "x-content-type-options-not-implemented"
    assert obs.check_cross_origin_resource_sharing([("Access-Control-Allow-Origin", "*")]) == (
        "cross-origin-resource-sharing-implemented-with-public-access"
    )
    assert obs.check_cross_origin_resource_policy(
        [("Cross-Origin-Resource-Policy", "same-site")]
    ) == ("corp-implemented-with-same-site")
    assert obs.check_cross_origin_resource_policy(
        [("Cross-Origin-Resource-Policy", "cross-origin")]
    ) == ("corp-implemented-with-cross-origin")
    assert (
        obs.check_cross_origin_resource_policy([("Cross-Origin-Resource-Policy", "nope")])
        == "corp-header-invalid"
    )


@pytest.mark.parametrize(
    ("cookies", "https", "hsts", "expected"),
    [
        ([], True, True, "cookies-not-found"),
        (
            ["_mastodon_session=x; Secure; HttpOnly"],
            True,
            True,
            "cookies-secure-with-httponly-sessions",
        ),
        (["pref=1"], True, False, "cookies-without-secure-flag"),
        (["pref=1; SameSite=Lax"], True, True, "cookies-without-secure-flag-but-protected-by-hsts"),
        (["sess=1; Secure; SameSite=Lax"], True, True, "cookies-session-without-httponly-flag"),
        (["sess=1; HttpOnly; SameSite=Lax"], True, False, "cookies-session-without-secure-flag"),
        (["a=1; Secure; SameSite=Bogus"], True, True, "cookies-samesite-flag-invalid"),
        (["csrf_token=1; Secure"], True, True, "cookies-anticsrf-without-samesite-flag"),
    ],
)
def test_cookie_results(cookies, https, hsts, expected):
    assert obs.check_cookies(cookies, hsts) == expected


def test_sri():
    headers = STOCK
    same = '<script src="/packs/app.js"></script>'
    ext = '<script src="https://cdn.other.example/x.js"></script>'
    ext_sri = '<script src="https://cdn.other.example/x.js" integrity="sha384-abc" crossorigin="anonymous"></script>'
    cases = {
        None: "sri-not-implemented-but-no-scripts-loaded",
        "<p>hi</p>": "sri-not-implemented-but-no-scripts-loaded",
        same: "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
        ext: "sri-not-implemented-but-external-scripts-loaded-securely",
        same + ext_sri: "sri-implemented-and-external-scripts-loaded-securely",
        '<script src="http://cdn.other.example/x.js"></script>': (
            "sri-not-implemented-and-external-scripts-not-loaded-securely"
        ),
    }
    for html, expected in cases.items():
        test = obs.score(headers, redirect_ok=True, html=html, host="mastodon.example")["tests"][
            "subresource-integrity"
        ]
        assert test["result"] == expected, html
        assert test["modifier"] == obs.SCORE_TABLE[expected]
    assert obs.score(headers, redirect_ok=True, html=ext)["score"] == STOCK_SCORE - 5


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (145, "A+"),
        (100, "A+"),
        (99, "A"),
        (95, "A"),
        (90, "A"),
        (89, "A-"),
        (85, "A-"),
        (84, "B+"),
        (80, "B+"),
        (79, "B"),
        (70, "B"),
        (65, "B-"),
        (60, "C+"),
        (55, "C"),
        (50, "C"),
        (45, "C-"),
        (40, "D+"),
        (35, "D"),
        (30, "D"),
        (29, "D-"),
        (25, "D-"),
        (24, "F"),
        (0, "F"),
        (-20, "F"),
    ],
)
def test_grade_table(value, grade):
    assert obs.grade_for_score(value) == grade


def test_extra_credit_threshold():
    # Uncurved exactly 90 keeps bonuses; 85 does not.
    at_90 = replace(STOCK, "Strict-Transport-Security", "max-age=600")
    assert obs.score(at_90, redirect_ok=True)["score"] == 110
    at_85 = replace(at_90, "X-Content-Type-Options")
    assert obs.score(at_85, redirect_ok=True)["score"] == 85


def test_header_values_case_insensitive():
    headers = [("strict-transport-security", "a"), ("Strict-Transport-Security", "b"), ("X", "c")]
    assert obs.header_values(headers, "STRICT-TRANSPORT-SECURITY") == ["a", "b"]
    assert obs.header_value(headers, "strict-transport-security") == "a, b"
    assert obs.header_values(headers, "missing") == []
    assert obs.header_values(STOCK, "x-frame-options") == ["DENY"]


# --------------------------------------------------------------------------- published rule table

# MDN's published rule table (/work/shared/reference/anchors-transport.md section 2, npm v1.4.8 /
# tag v1.6.3, algorithm 5), transcribed independently of obs.SCORE_TABLE: test -> result -> points.
MDN_RULES = {
    "content-security-policy": {
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
    },
    "cookies": {
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
    },
    "cross-origin-resource-sharing": {
        "cross-origin-resource-sharing-not-implemented": 0,
        "cross-origin-resource-sharing-implemented-with-public-access": 0,
        "cross-origin-resource-sharing-implemented-with-restricted-access": 0,
        "cross-origin-resource-sharing-implemented-with-universal-access": -50,
    },
    "redirection": {
        "redirection-to-https": 0,
        "redirection-all-redirects-preloaded": 0,
        "redirection-not-needed-no-http": 0,
        "redirection-off-host-from-http": -5,
        "redirection-not-to-https-on-initial-redirection": -10,
        "redirection-not-to-https": -20,
        "redirection-missing": -20,
        "redirection-invalid-cert": -20,
    },
    "referrer-policy": {
        "referrer-policy-private": 5,
        "referrer-policy-not-implemented": 0,
        "referrer-policy-unsafe": -5,
        "referrer-policy-header-invalid": -5,
    },
    "strict-transport-security": {
        "hsts-preloaded": 5,
        "hsts-implemented-max-age-at-least-six-months": 0,
        "hsts-implemented-max-age-less-than-six-months": -10,
        "hsts-not-implemented": -20,
        "hsts-header-invalid": -20,
        "hsts-not-implemented-no-https": -20,
        "hsts-invalid-cert": -20,
    },
    "subresource-integrity": {
        "sri-implemented-and-all-scripts-loaded-securely": 5,
        "sri-implemented-and-external-scripts-loaded-securely": 5,
        "sri-not-implemented-response-not-html": 0,
        "sri-not-implemented-but-no-scripts-loaded": 0,
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin": 0,
        "sri-not-implemented-but-external-scripts-loaded-securely": -5,
        "sri-implemented-but-external-scripts-not-loaded-securely": -20,
        "sri-not-implemented-and-external-scripts-not-loaded-securely": -50,
    },
    "x-content-type-options": {
        "x-content-type-options-nosniff": 0,
        "x-content-type-options-not-implemented": -5,
        "x-content-type-options-header-invalid": -5,
    },
    "x-frame-options": {
        "x-frame-options-implemented-via-csp": 5,
        "x-frame-options-sameorigin-or-deny": 5,  # v1.5+ (algorithm 5); 0 in v1.4.8
        "x-frame-options-allow-from-origin": 0,
        "x-frame-options-not-implemented": -20,
        "x-frame-options-header-invalid": -20,
    },
    "cross-origin-resource-policy": {
        "corp-implemented-with-same-origin": 10,
        "corp-implemented-with-same-site": 10,
        "corp-implemented-with-cross-origin": 0,
        "corp-not-implemented": 0,
        "corp-header-invalid": -5,
    },
}
# The one local result (stricter than the scanner, see the module docstring).
LOCAL_RULES = {"content-security-policy": {"csp-duplicated-header": -25}}


def expected_modifier(test, result):
    return {**MDN_RULES[test], **LOCAL_RULES.get(test, {})}[result]


def test_score_table_is_the_published_table():
    published = {r: m for rules in MDN_RULES.values() for r, m in rules.items()}
    local = {r: m for rules in LOCAL_RULES.values() for r, m in rules.items()}
    assert obs.SCORE_TABLE == {**published, **local}
    assert tuple(MDN_RULES) == tuple(sorted(MDN_RULES, key=obs.TEST_NAMES.index))
    assert set(MDN_RULES) == set(obs.TEST_NAMES)
    # POSSIBLE_RESULTS splits SCORE_TABLE by test, each result exactly once.
    assert tuple(obs.POSSIBLE_RESULTS) == obs.TEST_NAMES
    for test in obs.TEST_NAMES:
        assert set(obs.POSSIBLE_RESULTS[test]) == set(MDN_RULES[test]) | set(
            LOCAL_RULES.get(test, {})
        )
    flat = [r for results in obs.POSSIBLE_RESULTS.values() for r in results]
    assert sorted(flat) == sorted(obs.SCORE_TABLE)


def test_maximum_score_is_145():
    best = sum(max(rules.values()) for rules in MDN_RULES.values())
    assert 100 + best == 145


# --------------------------------------------------------------------------- one case per rule

SRI_HOST = "mastodon.example"
NO_HSTS = replace(STOCK, "Strict-Transport-Security")
NOT_HTML = replace(STOCK, "Content-Type", "application/json")
EXT_HTTPS = '<script src="https://cdn.other.example/x.js"></script>'
EXT_HTTPS_SRI = (
    '<script src="https://cdn.other.example/x.js" integrity="sha384-abc" crossorigin="anonymous">'
    "</script>"
)


def case(test, result, headers=STOCK, **kwargs):
    """One score() call and the result it must give for `test`."""
    if "redirects" not in kwargs:
        kwargs.setdefault("redirect_ok", True)
    name = f"{result}[{len([c for c in RULE_CASES if c.values[1] == result])}]"
    RULE_CASES.append(pytest.param(test, result, headers, kwargs, id=name))


RULE_CASES: list = []

# content-security-policy
csp = "content-security-policy"
case(csp, "csp-implemented-with-no-unsafe-default-src-none")
case(
    csp,
    "csp-implemented-with-no-unsafe",
    replace(STOCK, "Content-Security-Policy", "default-src 'self'"),
)
case(
    csp,
    "csp-implemented-with-unsafe-inline-in-style-src-only",
    replace(
        STOCK, "Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'"
    ),
)
case(
    csp,
    "csp-implemented-but-duplicate-directives",
    replace(STOCK, "Content-Security-Policy", "default-src 'none'; report-uri /a; report-uri /b"),
)
case(
    csp,
    "csp-implemented-with-insecure-scheme-in-passive-content-only",
    replace(STOCK, "Content-Security-Policy", "default-src 'self'; img-src http://cdn.example"),
)
case(
    csp,
    "csp-implemented-with-unsafe-eval",
    replace(
        STOCK, "Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-eval'"
    ),
)
case(
    csp,
    "csp-implemented-with-unsafe-inline",
    replace(STOCK, "Content-Security-Policy", "default-src *"),
)
case(
    csp,
    "csp-implemented-with-insecure-scheme",
    replace(STOCK, "Content-Security-Policy", "default-src 'self'; connect-src http://api.example"),
)
# ... but not over plain HTTP, where http: sources are no downgrade.
case(
    csp,
    "csp-implemented-with-no-unsafe",
    replace(STOCK, "Content-Security-Policy", "default-src 'self'; connect-src http://api.example"),
    https=False,
)
case(
    csp,
    "csp-header-invalid",
    replace(STOCK, "Content-Security-Policy", "script-src 'strict-dynamic'"),
)
case(csp, "csp-header-invalid", replace(STOCK, "Content-Security-Policy", ""))  # empty value
case(csp, "csp-not-implemented", replace(STOCK, "Content-Security-Policy"))
case(
    csp,
    "csp-not-implemented-but-reporting-enabled",
    replace(STOCK, "Content-Security-Policy")
    + [("Content-Security-Policy-Report-Only", "default-src 'none'")],
)
case(
    csp,
    "csp-duplicated-header",
    replace(STOCK, "Content-Security-Policy", "default-src 'none', default-src 'self'"),
)

# cookies (Set-Cookie headers from `headers`, or the `cookies` argument)
ck = "cookies"
case(
    ck,
    "cookies-secure-with-httponly-sessions-and-samesite",
    cookies=["_mastodon_session=a; Secure; HttpOnly; SameSite=Lax"],
)
case(
    ck,
    "cookies-secure-with-httponly-sessions",
    STOCK + [("Set-Cookie", "_mastodon_session=a; Secure; HttpOnly")],
)
case(ck, "cookies-not-found")
case(ck, "cookies-not-found", STOCK + [("Set-Cookie", "")])  # empty value: nothing in the jar
case(ck, "cookies-without-secure-flag-but-protected-by-hsts", cookies=["pref=1; SameSite=Lax"])
# HSTS by preload counts as HSTS, as in the scanner.
case(
    ck,
    "cookies-without-secure-flag-but-protected-by-hsts",
    NO_HSTS,
    cookies=["pref=1; SameSite=Lax"],
    host=SRI_HOST,
    preloaded_hosts=["example"],
)
case(
    ck,
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    cookies=["sess=1; HttpOnly; SameSite=Lax"],
)
case(ck, "cookies-without-secure-flag", NO_HSTS, cookies=["pref=1; SameSite=Lax"])
case(
    ck, "cookies-without-secure-flag", cookies=["pref=1; SameSite=Lax"], cert_valid=False
)  # HSTS void
case(ck, "cookies-samesite-flag-invalid", cookies=["a=1; Secure; SameSite=Bogus"])
case(ck, "cookies-samesite-flag-invalid", cookies=["a=1; SameSite=None"])  # None needs Secure
case(ck, "cookies-anticsrf-without-samesite-flag", cookies=["csrf_token=1; Secure"])
case(ck, "cookies-session-without-httponly-flag", cookies=["sess=1; Secure; SameSite=Lax"])
case(ck, "cookies-session-without-secure-flag", NO_HSTS, cookies=["sess=1; HttpOnly; SameSite=Lax"])

# cross-origin-resource-sharing
cors = "cross-origin-resource-sharing"
ACAO, ACAC = "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"
case(cors, "cross-origin-resource-sharing-not-implemented")
case(cors, "cross-origin-resource-sharing-not-implemented", STOCK + [(ACAO, "")])
case(cors, "cross-origin-resource-sharing-implemented-with-public-access", STOCK + [(ACAO, "*")])
case(
    cors,
    "cross-origin-resource-sharing-implemented-with-restricted-access",
    STOCK + [(ACAO, "https://app.example")],
)
case(
    cors,
    "cross-origin-resource-sharing-implemented-with-universal-access",
    STOCK + [(ACAO, obs.SCANNER_ORIGIN), (ACAC, "true")],
    cors_origin=obs.SCANNER_ORIGIN,
)
# Reflected, but without credentials / without knowing the Origin sent: restricted.
case(
    cors,
    "cross-origin-resource-sharing-implemented-with-restricted-access",
    STOCK + [(ACAO, obs.SCANNER_ORIGIN)],
    cors_origin=obs.SCANNER_ORIGIN,
)
case(
    cors,
    "cross-origin-resource-sharing-implemented-with-restricted-access",
    STOCK + [(ACAO, obs.SCANNER_ORIGIN), (ACAC, "true")],
)

# redirection
rd = "redirection"
case(rd, "redirection-to-https")
case(
    rd,
    "redirection-to-https",
    redirects=["http://mastodon.example/", "https://mastodon.example/", "https://www.example.org/"],
)
case(
    rd,
    "redirection-all-redirects-preloaded",
    redirects=["http://a.example.dev/", "https://a.example.dev/"],
    preloaded_hosts=["dev"],
)
case(
    rd,
    "redirection-all-redirects-preloaded",
    redirect_ok=False,
    host=SRI_HOST,
    preloaded_hosts=[SRI_HOST],
)
case(rd, "redirection-not-needed-no-http", redirects=[])
case(
    rd,
    "redirection-off-host-from-http",
    redirects=["http://example.org/", "https://www.example.org/"],
)
case(
    rd,
    "redirection-not-to-https-on-initial-redirection",
    redirects=["http://example.org/", "http://www.example.org/", "https://www.example.org/"],
)
case(
    rd,
    "redirection-not-to-https",
    redirects=["http://example.org/", "https://example.org/", "http://example.org/x"],
)
case(rd, "redirection-missing", redirect_ok=False)
case(rd, "redirection-missing", redirects=["http://example.org/"])
case(rd, "redirection-invalid-cert", cert_valid=False)
case(
    rd,
    "redirection-invalid-cert",
    redirects=["http://example.org/", "https://example.org/"],
    cert_valid=False,
)

# referrer-policy
rp = "referrer-policy"
case(rp, "referrer-policy-private")
case(rp, "referrer-policy-not-implemented", replace(STOCK, "Referrer-Policy"))
case(rp, "referrer-policy-unsafe", replace(STOCK, "Referrer-Policy", "no-referrer-when-downgrade"))
case(rp, "referrer-policy-header-invalid", replace(STOCK, "Referrer-Policy", "bogus"))
case(rp, "referrer-policy-header-invalid", replace(STOCK, "Referrer-Policy", ""))

# strict-transport-security
hs = "strict-transport-security"
case(hs, "hsts-preloaded", host=SRI_HOST, preloaded_hosts=["mastodon.example"])
case(
    hs,
    "hsts-preloaded",
    NO_HSTS,
    host="www.mastodon.example",
    preloaded_hosts=["MASTODON.example."],
)
case(hs, "hsts-implemented-max-age-at-least-six-months")
case(
    hs,
    "hsts-implemented-max-age-at-least-six-months",
    host=SRI_HOST,
    preloaded_hosts=["other.example"],
)
case(
    hs,
    "hsts-implemented-max-age-less-than-six-months",
    replace(STOCK, "Strict-Transport-Security", "max-age=86400"),
)
case(hs, "hsts-not-implemented", NO_HSTS)
case(hs, "hsts-header-invalid", replace(STOCK, "Strict-Transport-Security", HSTS_2Y, HSTS_2Y))
case(hs, "hsts-header-invalid", replace(STOCK, "Strict-Transport-Security", ""))
case(hs, "hsts-not-implemented-no-https", https=False)
case(hs, "hsts-not-implemented-no-https", https=False, host=SRI_HOST, preloaded_hosts=[SRI_HOST])
case(hs, "hsts-invalid-cert", cert_valid=False)

# subresource-integrity (the body is really parsed)
sri = "subresource-integrity"
case(
    sri,
    "sri-implemented-and-all-scripts-loaded-securely",
    html='<script src="/packs/app.js" integrity="sha384-abc"></script>',
    host=SRI_HOST,
)
case(
    sri,
    "sri-implemented-and-all-scripts-loaded-securely",
    html='<script src="https://static.mastodon.example/a.js" integrity="sha384-abc"></script>',
    host=SRI_HOST,
)
case(sri, "sri-implemented-and-external-scripts-loaded-securely", html=EXT_HTTPS_SRI, host=SRI_HOST)
case(sri, "sri-not-implemented-response-not-html", NOT_HTML, html=EXT_HTTPS, host=SRI_HOST)
case(sri, "sri-not-implemented-but-no-scripts-loaded", html="<p>hi</p>", host=SRI_HOST)
case(sri, "sri-not-implemented-but-no-scripts-loaded")  # no body given
case(sri, "sri-not-implemented-but-no-scripts-loaded", html="")
case(
    sri,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
    html='<script src="/packs/app.js"></script>',
    host=SRI_HOST,
)
# An inline script is a script, as for the scanner (scripts.length > 0).
case(
    sri,
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
    html="<script>go()</script>",
)
case(sri, "sri-not-implemented-but-external-scripts-loaded-securely", html=EXT_HTTPS, host=SRI_HOST)
# Without host, a same-site absolute URL counts as foreign.
case(
    sri,
    "sri-not-implemented-but-external-scripts-loaded-securely",
    html='<script src="https://static.mastodon.example/a.js"></script>',
)
case(
    sri,
    "sri-implemented-but-external-scripts-not-loaded-securely",
    html='<script src="http://cdn.other.example/x.js" integrity="sha384-abc"></script>',
    host=SRI_HOST,
)
case(
    sri,
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    html='<script src="http://cdn.other.example/x.js"></script>',
    host=SRI_HOST,
)
case(
    sri,
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    html=EXT_HTTPS_SRI + '<script src="//cdn.other.example/x.js"></script>',  # worst one wins
    host=SRI_HOST,
)

# x-content-type-options
xc = "x-content-type-options"
case(xc, "x-content-type-options-nosniff")
case(xc, "x-content-type-options-not-implemented", replace(STOCK, "X-Content-Type-Options"))
case(xc, "x-content-type-options-not-implemented", replace(STOCK, "X-Content-Type-Options", ""))
case(
    xc,
    "x-content-type-options-header-invalid",
    replace(STOCK, "X-Content-Type-Options", "nosniff", "nosniff"),
)

# x-frame-options (STOCK has CSP frame-ancestors, which takes over)
xf = "x-frame-options"
NO_CSP = replace(STOCK, "Content-Security-Policy")
case(xf, "x-frame-options-implemented-via-csp")
case(xf, "x-frame-options-implemented-via-csp", replace(STOCK, "X-Frame-Options", "bogus"))
case(xf, "x-frame-options-sameorigin-or-deny", NO_CSP)
case(
    xf,
    "x-frame-options-allow-from-origin",
    replace(NO_CSP, "X-Frame-Options", "ALLOW-FROM https://a.example"),
)
case(xf, "x-frame-options-not-implemented", replace(NO_CSP, "X-Frame-Options"))
case(xf, "x-frame-options-not-implemented", replace(NO_CSP, "X-Frame-Options", ""))
case(xf, "x-frame-options-header-invalid", replace(NO_CSP, "X-Frame-Options", "DENY", "SAMEORIGIN"))

# cross-origin-resource-policy
cp = "cross-origin-resource-policy"
CORP = "Cross-Origin-Resource-Policy"
case(cp, "corp-implemented-with-same-origin", STOCK + [(CORP, "same-origin")])
case(cp, "corp-implemented-with-same-site", STOCK + [(CORP, "Same-Site")])
case(cp, "corp-implemented-with-cross-origin", STOCK + [(CORP, "cross-origin")])
case(cp, "corp-not-implemented")
case(cp, "corp-not-implemented", STOCK + [(CORP, "")])
case(cp, "corp-header-invalid", STOCK + [(CORP, "same-origin"), (CORP, "same-origin")])


@pytest.mark.parametrize(("test", "result", "headers", "kwargs"), RULE_CASES)
def test_rule(test, result, headers, kwargs):
    report = obs.score(headers, **kwargs)
    assert report["tests"][test] == {"result": result, "modifier": expected_modifier(test, result)}
    assert list(report["tests"]) == list(obs.TEST_NAMES)
    assert report["grade"] == obs.grade_for_score(report["score"])


def test_every_rule_has_a_case():
    covered = {(c.values[0], c.values[1]) for c in RULE_CASES}
    required = {
        (test, result) for test, results in obs.POSSIBLE_RESULTS.items() for result in results
    }
    assert {result for _, result in required} == set(obs.SCORE_TABLE)
    assert not required - covered, f"results without a case: {sorted(required - covered)}"
    assert not covered - required, f"cases for unknown results: {sorted(covered - required)}"
    # ... and every published modifier of every test is exercised.
    for test, rules in MDN_RULES.items():
        seen = {expected_modifier(t, r) for t, r in covered if t == test}
        assert seen == set(rules.values()), test


# --------------------------------------------------------------------------- scoring edge cases


def test_universal_cors_costs_fifty():
    headers = STOCK + [(ACAO, obs.SCANNER_ORIGIN), (ACAC, "TRUE ")]
    report = obs.score(headers, redirect_ok=True, cors_origin=obs.SCANNER_ORIGIN)
    assert report["tests"][cors]["modifier"] == -50
    assert report["score"] == 50 and report["grade"] == "C"


def test_preloaded_hsts_earns_five():
    report = obs.score(STOCK, redirect_ok=True, host=SRI_HOST, preloaded_hosts=[SRI_HOST])
    assert report["tests"]["strict-transport-security"]["result"] == "hsts-preloaded"
    assert report["tests"]["redirection"]["result"] == "redirection-all-redirects-preloaded"
    assert report["score"] == STOCK_SCORE + 5


def test_sri_body_is_evaluated():
    # A foreign plain-http script costs 50: uncurved 50 drops all bonuses.
    body = '<html><script src="http://cdn.other.example/x.js"></script></html>'
    report = obs.score(STOCK, redirect_ok=True, html=body, host=SRI_HOST)
    assert report["score"] == 50
    assert report["grade"] == "C"
    assert obs.score(STOCK, redirect_ok=True, host=SRI_HOST)["score"] == STOCK_SCORE


@pytest.mark.parametrize(
    ("hostname", "listed", "expected"),
    [
        ("mastodon.example", ["mastodon.example"], True),
        ("a.b.mastodon.example", ["mastodon.example"], True),
        ("Mastodon.Example.", ["mastodon.example"], True),
        ("mastodon.example", ["a.mastodon.example"], False),
        ("notmastodon.example", ["mastodon.example"], False),
        (None, ["example"], False),
        ("mastodon.example", [], False),
    ],
)
def test_is_preloaded(hostname, listed, expected):
    assert obs.is_preloaded(hostname, listed) is expected


def test_check_redirection_directly():
    assert obs.check_redirection(True) == "redirection-to-https"
    assert obs.check_redirection(False) == "redirection-missing"
    assert obs.check_redirection(False, cert_valid=False) == "redirection-missing"  # never hit TLS
    assert obs.check_redirection(redirects=["HTTP://Example.org/", "https://example.org./"]) == (
        "redirection-to-https"
    )
    # A route that stays on http never meets the bad certificate.
    assert (
        obs.check_redirection(redirects=["http://example.org/"], cert_valid=False)
        == "redirection-missing"
    )


def test_mapping_headers_equal_pairs():
    cookies = ["a=1; Secure; SameSite=Lax", "b=2; Secure; SameSite=Lax"]
    pairs = STOCK + [("Set-Cookie", cookie) for cookie in cookies]
    mapping = dict(STOCK)
    assert mapping["X-XSS-Protection"] == "0"
    mapping["X-XSS-Protection"] = 0  # YAML reads "X-XSS-Protection: 0" as an integer
    mapping["Set-Cookie"] = cookies
    assert obs.normalize_headers(mapping) == pairs
    assert obs.score(mapping, redirect_ok=True) == obs.score(pairs, redirect_ok=True)
    assert obs.normalize_headers((["A", "b"],)) == [("A", "b")]
    assert obs.normalize_headers([]) == []


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            "Strict-Transport-Security: max-age=1",
            r"^headers must be a list of \[name, value\] pairs or a mapping, got str",
        ),
        (None, r"^headers must be a list .* got NoneType"),
        (42, r"^headers must be a list .* got int"),
        ([("X-Frame-Options",)], r"^headers\[0\] must be a \[name, value\] pair"),
        (
            [("A", "b"), ("X-Frame-Options", "DENY", "extra")],
            r"^headers\[1\] must be a \[name, value\] pair",
        ),
        (["X-Frame-Options: DENY"], r"^headers\[0\] must be a \[name, value\] pair"),
        ([(None, "DENY")], r"^headers\[0\] name must be a non-empty header name"),
        ([("", "DENY")], r"^headers\[0\] name must be a non-empty header name"),
        ([("   ", "DENY")], r"^headers\[0\] name must be a non-empty header name"),
        ([("X-Frame-Options: DENY", "x")], r"^headers\[0\] name is not a valid header name"),
        ([("X Frame", "DENY")], r"^headers\[0\] name is not a valid header name"),
        ([("X-Frame-Options", None)], r"^headers\[0\] value must be a string, got NoneType"),
        ([("X-Frame-Options", ["DENY"])], r"^headers\[0\] value must be a string, got list"),
        ([("X-Frame-Options", True)], r"^headers\[0\] value must be a string, got bool"),
        ([("X-Frame-Options", b"DENY")], r"^headers\[0\] value must be a string, got bytes"),
        ({"X-Frame-Options": None}, r"^headers\['X-Frame-Options'\] must be a string"),
        (
            {"X-Frame-Options": []},
            r"^headers\['X-Frame-Options'\] must be a string or a non-empty list",
        ),
        ({"Set-Cookie": ["a=1", None]}, r"^headers\['Set-Cookie'\]\[1\] must be a string"),
        ({"": "x"}, r"^headers key must be a non-empty header name"),
        ({1: "x"}, r"^headers key must be a non-empty header name"),
    ],
)
def test_malformed_headers(headers, message):
    with pytest.raises(ValueError, match=message):
        obs.score(headers, redirect_ok=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"html": b"<script src='//x.example/a.js'></script>"},
            r"^html must be a string, got bytes",
        ),
        ({"html": 123}, r"^html must be a string, got int"),
        ({"html": ["<p>"]}, r"^html must be a string, got list"),
        ({"host": ""}, r"^host must be a bare hostname"),
        ({"host": "https://mastodon.example/"}, r"^host must be a bare hostname"),
        ({"host": "mastodon.example:443"}, r"^host must be a bare hostname"),
        ({"host": 1}, r"^host must be a string"),
        ({"redirect_ok": None}, r"^redirect_ok or redirects is required"),
        ({"redirect_ok": "yes"}, r"^redirect_ok must be a boolean"),
        (
            {"redirect_ok": True, "redirects": []},
            r"^redirect_ok and redirects are mutually exclusive",
        ),
        (
            {"redirect_ok": None, "redirects": "http://a.example/"},
            r"^redirects must be a list of URLs, got str",
        ),
        (
            {"redirect_ok": None, "redirects": ["https://a.example/"]},
            r"^redirects\[0\] must be the plain http:// URL",
        ),
        (
            {"redirect_ok": None, "redirects": ["http://a.example/", "ftp://a.example/"]},
            r"^redirects\[1\] must be an http:// or https:// URL",
        ),
        (
            {"redirect_ok": None, "redirects": ["http:///path"]},
            r"^redirects\[0\] must be an http:// or https:// URL",
        ),
        (
            {"redirect_ok": None, "redirects": ["http://[::1/"]},
            r"^redirects\[0\] must be an http:// or https:// URL",
        ),
        ({"redirect_ok": None, "redirects": [None]}, r"^redirects\[0\] must be a URL string"),
        ({"https": "false"}, r"^https must be a boolean"),
        ({"cert_valid": 0}, r"^cert_valid must be a boolean"),
        ({"cookies": "a=1; Secure"}, r"^cookies must be a list of strings, got str"),
        ({"cookies": ["a=1", 2]}, r"^cookies\[1\] must be a string"),
        ({"preloaded_hosts": "mastodon.example"}, r"^preloaded_hosts must be a list of hostnames"),
        ({"preloaded_hosts": ["ok.example", ""]}, r"^preloaded_hosts\[1\] must be a hostname"),
        ({"cors_origin": 1}, r"^cors_origin must be a string"),
    ],
)
def test_bad_arguments(kwargs, message):
    kwargs = {"redirect_ok": True, **kwargs}
    with pytest.raises(ValueError, match=message):
        obs.score(STOCK, **kwargs)


def test_redirect_ok_or_redirects_is_required():
    with pytest.raises(ValueError, match="redirect_ok or redirects is required"):
        obs.score(STOCK)
    with pytest.raises(ValueError, match="redirect_ok or redirects is required"):
        obs.check_redirection()


# --------------------------------------------------------------------------- the module

MODULE = http_observatory_grade


def module_params(**overrides):
    """Params as AnsibleModule hands them over: every option present, defaults filled in."""
    params = {name: spec.get("default") for name, spec in MODULE.ARGUMENT_SPEC.items()}
    params.update(headers=[list(pair) for pair in STOCK], redirect_ok=True)
    params.update(overrides)
    return params


def test_module_grades_pairs_and_dicts():
    result = MODULE.grade(module_params())
    assert set(result) == {"score", "grade", "tests"}
    assert result["score"] == STOCK_SCORE and result["grade"] == "A+"
    assert result["tests"] == obs.score(STOCK, redirect_ok=True)["tests"]
    assert MODULE.grade(module_params(headers=dict(STOCK))) == result


def test_module_passes_every_option_through():
    headers = STOCK + [(ACAO, obs.SCANNER_ORIGIN), (ACAC, "true")]
    result = MODULE.grade(
        module_params(
            headers=headers,
            body='<script src="http://cdn.other.example/x.js"></script>',
            host=SRI_HOST,
            https=True,
            redirect_ok=None,
            redirects=["http://mastodon.example/", "https://mastodon.example/"],
            cert_valid=False,
            preloaded_hosts=[],
            cors_origin=obs.SCANNER_ORIGIN,
        )
    )
    assert {name: t["result"] for name, t in result["tests"].items() if t["modifier"] < 0} == {
        "cross-origin-resource-sharing": "cross-origin-resource-sharing-implemented-with-universal-access",
        "redirection": "redirection-invalid-cert",
        "strict-transport-security": "hsts-invalid-cert",
        "subresource-integrity": "sri-not-implemented-and-external-scripts-not-loaded-securely",
    }
    assert result["score"] == 0 and result["grade"] == "F"
    plain = MODULE.grade(module_params(https=False, preloaded_hosts=[SRI_HOST], host=SRI_HOST))
    assert plain["tests"]["strict-transport-security"]["result"] == "hsts-not-implemented-no-https"
    assert plain["tests"]["redirection"]["result"] == "redirection-all-redirects-preloaded"


def test_module_defaults_when_options_are_absent():
    # Called without Ansible's argument processing: missing options take the documented defaults.
    result = MODULE.grade({"headers": STOCK, "redirect_ok": True})
    assert result["score"] == STOCK_SCORE


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"headers": None}, r"^headers is required"),
        (
            {"headers": "Strict-Transport-Security: max-age=1"},
            r"^headers must be a list of \[name, value\] pairs",
        ),
        (
            {"headers": [["Strict-Transport-Security", "max-age=1"], ["X-Frame-Options"]]},
            r"^headers\[1\] must be a \[name, value\] pair",
        ),
        ({"headers": [["X-Frame-Options", None]]}, r"^headers\[0\] value must be a string"),
        (
            {"headers": {"X-Frame-Options": {"a": 1}}},
            r"^headers\['X-Frame-Options'\] must be a string",
        ),
        ({"body": 12}, r"^body must be a string, got int"),
        ({"body": b"<p>"}, r"^body must be a string, got bytes"),
        ({"host": "https://mastodon.example"}, r"^host must be a bare hostname"),
        ({"redirect_ok": None}, r"^one of redirect_ok or redirects is required"),
        (
            {"redirects": ["http://a.example/"]},
            r"^redirect_ok and redirects are mutually exclusive",
        ),
        (
            {"redirect_ok": None, "redirects": ["mastodon.example"]},
            r"^redirects\[0\] must be an http:// or https:// URL",
        ),
        ({"https": "yes"}, r"^https must be a boolean"),
        ({"cert_valid": "no"}, r"^cert_valid must be a boolean"),
        ({"preloaded_hosts": "mastodon.example"}, r"^preloaded_hosts must be a list, got str"),
        ({"preloaded_hosts": [None]}, r"^preloaded_hosts\[0\] must be a hostname"),
        ({"cors_origin": ["https://a.example"]}, r"^cors_origin must be a string"),
        ({"html": "<p>"}, r"^unsupported option\(s\): html"),
    ],
)
def test_module_bad_input_names_the_option(overrides, message):
    with pytest.raises(ValueError, match=message):
        MODULE.grade(module_params(**overrides))


def test_module_documentation_matches_argument_spec():
    doc = yaml.safe_load(MODULE.DOCUMENTATION)
    assert doc["module"] == "http_observatory_grade"
    assert doc["attributes"]["check_mode"]["support"] == "full"
    options = doc["options"]
    assert set(options) == set(MODULE.ARGUMENT_SPEC)
    for name, spec in MODULE.ARGUMENT_SPEC.items():
        option = options[name]
        assert option["type"] == spec["type"], name
        assert option.get("elements") == spec.get("elements"), name
        assert option.get("default") == spec.get("default"), name
        assert bool(option.get("required")) == bool(spec.get("required")), name
        assert option["description"], name
    assert MODULE.MUTUALLY_EXCLUSIVE == [("redirect_ok", "redirects")]
    assert MODULE.REQUIRED_ONE_OF == [("redirect_ok", "redirects")]
    returned = yaml.safe_load(MODULE.RETURN)
    assert set(returned) == {"score", "grade", "tests"}


def test_module_examples_use_documented_options():
    options = set(yaml.safe_load(MODULE.DOCUMENTATION)["options"])
    tasks = yaml.safe_load(MODULE.EXAMPLES)
    calls = [
        t["fedisec.hardening.http_observatory_grade"]
        for t in tasks
        if "fedisec.hardening.http_observatory_grade" in t
    ]
    assert calls
    for args in calls:
        assert set(args) <= options
        assert ("redirect_ok" in args) != ("redirects" in args)
    # The literal examples grade as documented.
    first = MODULE.grade(
        module_params(headers=calls[0]["headers"], redirect_ok=calls[0]["redirect_ok"])
    )
    assert (
        first["tests"]["content-security-policy"]["result"]
        == "csp-implemented-with-no-unsafe-default-src-none"
    )
    second = MODULE.grade(
        module_params(headers=calls[1]["headers"], redirect_ok=calls[1]["redirect_ok"])
    )
    assert (
        second["tests"]["cookies"]["result"] == "cookies-secure-with-httponly-sessions-and-samesite"
    )
