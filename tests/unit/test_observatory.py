"""Unit tests for tests/lab/observatory.py (offline MDN HTTP Observatory scoring)."""

import sys
from pathlib import Path

import pytest

_LAB = Path(__file__).resolve().parents[1] / "lab"
if str(_LAB) not in sys.path:
    sys.path.insert(0, str(_LAB))

import observatory as obs  # noqa: E402

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
    assert report["tests"]["strict-transport-security"] == {"result": "hsts-header-invalid", "modifier": -20}
    # uncurved 100 - 20 = 80 < 90, so the bonuses are dropped.
    assert report["score"] == 80
    assert report["grade"] == "B+"
    assert report["score"] < obs.score(STOCK, redirect_ok=True)["score"]


def test_duplicated_xfo_and_corp_and_csp():
    no_csp = replace(STOCK, "Content-Security-Policy")
    xfo = obs.score(replace(no_csp, "X-Frame-Options", "DENY", "DENY"), redirect_ok=True)
    assert xfo["tests"]["x-frame-options"] == {"result": "x-frame-options-header-invalid", "modifier": -20}

    corp = obs.score(replace(STOCK, "Cross-Origin-Resource-Policy", "same-origin", "same-origin"), redirect_ok=True)
    assert corp["tests"]["cross-origin-resource-policy"] == {"result": "corp-header-invalid", "modifier": -5}

    csp = obs.score(replace(STOCK, "Content-Security-Policy", MASTODON_CSP, MASTODON_CSP), redirect_ok=True)
    assert csp["tests"]["content-security-policy"] == {"result": "csp-duplicated-header", "modifier": -25}
    # frame-ancestors is still seen, as by the scanner.
    assert csp["tests"]["x-frame-options"]["result"] == "x-frame-options-implemented-via-csp"
    assert csp["score"] == 75


def test_missing_csp():
    report = obs.score(replace(STOCK, "Content-Security-Policy"), redirect_ok=True)
    assert report["tests"]["content-security-policy"] == {"result": "csp-not-implemented", "modifier": -25}
    # XFO DENY alone still earns +5 (algorithm 5), but uncurved 75 < 90 drops all bonuses.
    assert report["tests"]["x-frame-options"] == {"result": "x-frame-options-sameorigin-or-deny", "modifier": 5}
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
        ("default-src 'self'; style-src 'self' 'unsafe-inline'", "csp-implemented-with-unsafe-inline-in-style-src-only"),
        ("default-src 'self'; script-src 'self' 'unsafe-eval'", "csp-implemented-with-unsafe-eval"),
        ("default-src 'self' 'unsafe-inline'", "csp-implemented-with-unsafe-inline"),
        ("default-src 'self'; script-src https:", "csp-implemented-with-unsafe-inline"),
        ("default-src 'self'; object-src *", "csp-implemented-with-unsafe-inline"),
        ("default-src 'self'; script-src 'self' data:", "csp-implemented-with-unsafe-inline"),
        ("img-src 'self'", "csp-implemented-with-unsafe-inline"),  # script-src falls back to *
        ("default-src 'none'; script-src 'nonce-abc' 'unsafe-inline'", "csp-implemented-with-no-unsafe-default-src-none"),
        ("default-src 'self'; img-src http://cdn.example", "csp-implemented-with-insecure-scheme-in-passive-content-only"),
        ("default-src 'self'; connect-src http://api.example", "csp-implemented-with-insecure-scheme"),
        ("default-src 'self'; default-src 'none'", "csp-header-invalid"),
        ("default-src 'none'; report-uri /a; report-uri /b", "csp-implemented-but-duplicate-directives"),
        ("x", "csp-header-invalid"),
    ],
)
def test_csp_results(csp, expected):
    report = obs.score(replace(STOCK, "Content-Security-Policy", csp), redirect_ok=True)
    result = report["tests"]["content-security-policy"]
    assert result["result"] == expected
    assert result["modifier"] == obs.SCORE_TABLE[expected]


def test_csp_report_only():
    headers = replace(STOCK, "Content-Security-Policy") + [("Content-Security-Policy-Report-Only", "default-src 'none'")]
    test = obs.score(headers, redirect_ok=True)["tests"]["content-security-policy"]
    assert test == {"result": "csp-not-implemented-but-reporting-enabled", "modifier": -25}


def test_short_hsts():
    report = obs.score(replace(STOCK, "Strict-Transport-Security", "max-age=86400"), redirect_ok=True)
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
        ("max-age=63072000; preload", "hsts-implemented-max-age-at-least-six-months"),  # never on the list
    ],
)
def test_hsts_values(value, expected):
    assert obs.check_strict_transport_security([("strict-transport-security", value)]) == expected


def test_hsts_without_https():
    assert obs.check_strict_transport_security(STOCK, https=False) == "hsts-not-implemented-no-https"


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
    assert report["tests"]["referrer-policy"] == {"result": "referrer-policy-unsafe", "modifier": -5}
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
        ([("X-Frame-Options", "ALLOW-FROM https://a.example")], "x-frame-options-allow-from-origin"),
        ([("X-Frame-Options", "yes")], "x-frame-options-header-invalid"),
        ([], "x-frame-options-not-implemented"),
        ([("Content-Security-Policy", "frame-ancestors 'self'")], "x-frame-options-implemented-via-csp"),
    ],
)
def test_xfo_values(headers, expected):
    assert obs.score(headers, redirect_ok=True)["tests"]["x-frame-options"]["result"] == expected


def test_xcto_and_cors_and_corp():
    assert obs.check_x_content_type_options([("x-content-type-options", "NoSniff")]) == "x-content-type-options-nosniff"
    assert obs.check_x_content_type_options([("x-content-type-options", "sniff")]) == "x-content-type-options-header-invalid"
    assert obs.check_x_content_type_options([]) == "x-content-type-options-not-implemented"
    assert obs.check_cross_origin_resource_sharing([("Access-Control-Allow-Origin", "*")]) == (
        "cross-origin-resource-sharing-implemented-with-public-access"
    )
    assert obs.check_cross_origin_resource_policy([("Cross-Origin-Resource-Policy", "same-site")]) == (
        "corp-implemented-with-same-site"
    )
    assert obs.check_cross_origin_resource_policy([("Cross-Origin-Resource-Policy", "cross-origin")]) == (
        "corp-implemented-with-cross-origin"
    )
    assert obs.check_cross_origin_resource_policy([("Cross-Origin-Resource-Policy", "nope")]) == "corp-header-invalid"


@pytest.mark.parametrize(
    ("cookies", "https", "hsts", "expected"),
    [
        ([], True, True, "cookies-not-found"),
        (["_mastodon_session=x; Secure; HttpOnly"], True, True, "cookies-secure-with-httponly-sessions"),
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
        test = obs.score(headers, redirect_ok=True, html=html, host="mastodon.example")["tests"]["subresource-integrity"]
        assert test["result"] == expected, html
        assert test["modifier"] == obs.SCORE_TABLE[expected]
    assert obs.score(headers, redirect_ok=True, html=ext)["score"] == STOCK_SCORE - 5


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        (145, "A+"), (100, "A+"), (99, "A"), (95, "A"), (90, "A"), (89, "A-"), (85, "A-"),
        (84, "B+"), (80, "B+"), (79, "B"), (70, "B"), (65, "B-"), (60, "C+"), (55, "C"),
        (50, "C"), (45, "C-"), (40, "D+"), (35, "D"), (30, "D"), (29, "D-"), (25, "D-"),
        (24, "F"), (0, "F"), (-20, "F"),
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
