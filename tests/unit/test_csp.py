"""Tests for build_csp in module_utils/csp.py."""

from __future__ import annotations

import re

import pytest

from ansible_collections.fedisec.hardening.plugins.module_utils.csp import build_csp


def test_lists_strings_and_valueless_directives_keep_order():
    policy = {
        "script-src": ["'self'", "'nonce-abc123'", "https://cdn.example.org"],
        "default-src": "'self'",
        "img-src": "'self'  data:\thttps:",
        "object-src": ["'none'"],
        "upgrade-insecure-requests": True,
        "block-all-mixed-content": [],
        "frame-ancestors": "'none'",
    }
    assert build_csp(policy) == (
        "script-src 'self' 'nonce-abc123' https://cdn.example.org; default-src 'self'; "
        "img-src 'self' data: https:; object-src 'none'; upgrade-insecure-requests; "
        "block-all-mixed-content; frame-ancestors 'none'"
    )


def test_sandbox_with_and_without_tokens():
    assert build_csp({"sandbox": True}) == "sandbox"
    assert build_csp({"sandbox": ["allow-scripts", "allow-forms"]}) == (
        "sandbox allow-scripts allow-forms"
    )


def test_report_and_trusted_types_directives():
    policy = {
        "report-uri": "/csp-report",
        "report-to": "csp-endpoint",
        "require-trusted-types-for": "'script'",
        "trusted-types": ("default", "'allow-duplicates'"),
    }
    assert build_csp(policy) == (
        "report-uri /csp-report; report-to csp-endpoint; require-trusted-types-for 'script'; "
        "trusted-types default 'allow-duplicates'"
    )


def test_unsafe_inline_allowed_in_style_src():
    assert build_csp({"style-src": ["'self'", "'unsafe-inline'"]}) == (
        "style-src 'self' 'unsafe-inline'"
    )


@pytest.mark.parametrize(
    "directive", ["default-src", "script-src", "script-src-elem", "script-src-attr"]
)
def test_unsafe_keywords_with_opt_in(directive):
    policy = {directive: ["'self'", "'unsafe-inline'", "'unsafe-eval'"]}
    assert build_csp(policy, allow_unsafe_inline=True, allow_unsafe_eval=True) == (
        f"{directive} 'self' 'unsafe-inline' 'unsafe-eval'"
    )


@pytest.mark.parametrize(
    "directive", ["default-src", "script-src", "script-src-elem", "script-src-attr"]
)
@pytest.mark.parametrize(
    ("keyword", "flag"),
    [("'unsafe-inline'", "allow_unsafe_inline"), ("'UNSAFE-EVAL'", "allow_unsafe_eval")],
)
def test_unsafe_keywords_need_opt_in(directive, keyword, flag):
    with pytest.raises(ValueError, match=f"^{directive}: .*pass {flag}=true"):
        build_csp({directive: ["'self'", keyword]})


def test_one_flag_does_not_allow_the_other():
    with pytest.raises(ValueError, match="allow_unsafe_eval"):
        build_csp({"script-src": "'unsafe-eval'"}, allow_unsafe_inline=True)
    with pytest.raises(ValueError, match="allow_unsafe_inline"):
        build_csp({"script-src": "'unsafe-inline'"}, allow_unsafe_eval=True)


@pytest.mark.parametrize(
    "keyword",
    [
        "self",
        "none",
        "unsafe-inline",
        "unsafe-eval",
        "strict-dynamic",
        "unsafe-hashes",
        "wasm-unsafe-eval",
        "report-sample",
        "Self",
    ],
)
def test_bare_keywords_suggest_quoted_form(keyword):
    quoted = f"'{keyword.lower()}'"
    with pytest.raises(ValueError, match=f"^img-src: keyword .*must be single-quoted.*{quoted}"):
        build_csp({"img-src": ["https:", keyword]})


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("https://a.example;", "contains ';'"),
        ("https://a.example,https://b.example", "contains ','"),
        ("https://a.example https://b.example", "contains whitespace"),
        ("https://a.example\n", "contains whitespace"),
        ("https://\u00e9.example", "non-ASCII or control characters"),
        ("https://a.example\x00", "non-ASCII or control characters"),
        ("https://a.example\x7f", "non-ASCII or control characters"),
        ("", "empty source"),
        (5, "sources must be strings"),
        (None, "sources must be strings"),
        (True, "sources must be strings"),
    ],
)
def test_bad_sources(source, problem):
    with pytest.raises(ValueError, match=f"^connect-src: .*{problem}"):
        build_csp({"connect-src": ["'self'", source]})


@pytest.mark.parametrize("char", ['"', "\\", "{", "}"])
def test_sources_cannot_break_out_of_a_quoted_string(char):
    # nginx_tls writes the policy into a double-quoted nginx string: a quote or a final
    # backslash would end it early and let the rest become directives.
    with pytest.raises(ValueError, match=f"^connect-src: .*contains {re.escape(repr(char))}"):
        build_csp({"connect-src": ["'self'", f"https://a.example/{char}"]})


@pytest.mark.parametrize("sources", [["'none'", "'self'"], "https: 'NONE'"])
def test_none_combined_with_other_sources(sources):
    with pytest.raises(ValueError, match="^object-src: 'none' cannot be combined"):
        build_csp({"object-src": sources})


@pytest.mark.parametrize("directive", ["default-srcs", "Script-Src", "plugin-types", 1])
def test_unknown_directive(directive):
    with pytest.raises(ValueError, match="^unknown CSP directive"):
        build_csp({"default-src": "'self'", directive: "'self'"})


@pytest.mark.parametrize("value", [False, None, 1, {"'self'": True}])
def test_bad_directive_value(value):
    with pytest.raises(ValueError, match="^img-src: value must be a list of sources"):
        build_csp({"img-src": value})


@pytest.mark.parametrize("value", [True, [], ""])
def test_fetch_directive_without_sources(value):
    with pytest.raises(ValueError, match="^img-src: has no sources"):
        build_csp({"img-src": value})


def test_valueless_directive_with_sources():
    with pytest.raises(ValueError, match="^upgrade-insecure-requests: takes no sources"):
        build_csp({"upgrade-insecure-requests": ["'self'"]})


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        ({}, "must contain at least one directive"),
        ([], "must be a dict"),
        ("default-src 'self'", "must be a dict"),
        (None, "must be a dict"),
    ],
)
def test_bad_policy(policy, problem):
    with pytest.raises(ValueError, match=f"^policy {problem}"):
        build_csp(policy)


@pytest.mark.parametrize("flag", ["allow_unsafe_inline", "allow_unsafe_eval"])
def test_flags_must_be_boolean(flag):
    with pytest.raises(ValueError, match=f"^{flag} must be a boolean"):
        build_csp({"default-src": "'self'"}, **{flag: "false"})
