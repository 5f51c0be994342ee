"""Tests for caa_record in module_utils/tlsa.py."""

from __future__ import annotations

import pytest

from ansible_collections.fedisec.hardening.plugins.module_utils.tlsa import caa_record

ACCOUNT = "https://acme-v02.api.letsencrypt.org/acme/acct/123456"


def test_defaults():
    assert caa_record("example.org") == 'example.org. IN CAA 0 issue "letsencrypt.org"'


def test_all_parameters():
    record = caa_record(
        "Example.ORG.",
        issuer="LetsEncrypt.org",
        account_uri=ACCOUNT,
        validation_methods=["http-01", "dns-01"],
        tag="issuewild",
    )
    assert record == (
        f'example.org. IN CAA 0 issuewild "letsencrypt.org;accounturi={ACCOUNT};'
        'validationmethods=http-01,dns-01"'
    )


def test_single_validation_method():
    record = caa_record("social.example.org", account_uri=ACCOUNT, validation_methods=["http-01"])
    assert record == (
        f'social.example.org. IN CAA 0 issue "letsencrypt.org;accounturi={ACCOUNT};'
        'validationmethods=http-01"'
    )


def test_empty_validation_methods_are_omitted():
    assert caa_record("example.org", validation_methods=[]) == caa_record("example.org")


def test_no_wildcard_issuance_unless_a_wildcard_is_requested():
    names = ["social.example.org", "www.example.org"]
    assert caa_record("social.example.org", tag="issuewild", names=names) == (
        'social.example.org. IN CAA 0 issuewild ";"'
    )
    # The parameters describe the issuer; a record that admits none has none.
    record = caa_record(
        "social.example.org",
        account_uri=ACCOUNT,
        validation_methods=["http-01"],
        tag="issuewild",
        names=names,
    )
    assert record == 'social.example.org. IN CAA 0 issuewild ";"'


@pytest.mark.parametrize(
    "names",
    [
        ["example.org", "*.example.org"],
        ["*.example.org"],
        ("*.Example.ORG.",),
        ["*.social.example.org", "*.example.org"],
    ],
)
def test_wildcard_issuance_when_a_wildcard_is_requested(names):
    record = caa_record(
        "example.org",
        account_uri=ACCOUNT,
        validation_methods=["dns-01"],
        tag="issuewild",
        names=names,
    )
    assert record == (
        f'example.org. IN CAA 0 issuewild "letsencrypt.org;accounturi={ACCOUNT};'
        'validationmethods=dns-01"'
    )


def test_a_wildcard_of_another_name_does_not_count():
    # *.social.example.org is governed by the records of social.example.org.
    names = ["example.org", "*.social.example.org"]
    assert caa_record("example.org", tag="issuewild", names=names) == (
        'example.org. IN CAA 0 issuewild ";"'
    )
    assert caa_record("social.example.org", tag="issuewild", names=names) == (
        'social.example.org. IN CAA 0 issuewild "letsencrypt.org"'
    )


@pytest.mark.parametrize(
    ("names", "tag", "message"),
    [
        ("*.example.org", "issuewild", "^names must be a list"),
        ([None], "issuewild", "^names entry must be a string"),
        (["*.*.example.org"], "issuewild", "^names entry"),
        (["exa_mple.org"], "issuewild", "^names entry"),
        (["*.example.org"], "issue", "^names goes with tag issuewild"),
    ],
)
def test_bad_names(names, tag, message):
    with pytest.raises(ValueError, match=message):
        caa_record("example.org", tag=tag, names=names)


def test_length_limits_accepted():
    label = "a" * 63
    domain = ".".join([label, label, label, "a" * 61])
    assert len(domain) == 253
    assert caa_record(domain + ".").startswith(domain + ". ")


@pytest.mark.parametrize(
    "domain",
    [
        "",
        ".",
        "*.example.org",
        "-bad.example.org",
        "bad-.example.org",
        "exa_mple.org",
        "example..org",
        "a" * 64 + ".org",
        ".".join(["a" * 63] * 4),
        "ex ample.org",
        "b\u00fccher.example",
        None,
        ["example.org"],
    ],
)
def test_bad_domain(domain):
    with pytest.raises(ValueError, match="^domain"):
        caa_record(domain)


@pytest.mark.parametrize("issuer", ["", "letsencrypt.org;x=y", "lets encrypt.org", 1])
def test_bad_issuer(issuer):
    with pytest.raises(ValueError, match="^issuer"):
        caa_record("example.org", issuer=issuer)


@pytest.mark.parametrize("tag", ["iodef", "ISSUE", "", None])
def test_bad_tag(tag):
    with pytest.raises(ValueError, match="^tag"):
        caa_record("example.org", tag=tag)


@pytest.mark.parametrize(
    "account_uri",
    [
        "http://acme.example/acct/1",
        "acme.example/acct/1",
        "https://",
        "https:///acct/1",
        "https://acme.example/acct/1;x=y",
        "https://acme.example/acct 1",
        'https://acme.example/acct/"1',
        "https://acme.example/acct\\1",
        "https://acme.example/\u00e9",
        "",
        123,
    ],
)
def test_bad_account_uri(account_uri):
    with pytest.raises(ValueError, match="^account_uri"):
        caa_record("example.org", account_uri=account_uri)


@pytest.mark.parametrize(
    "methods", ["http-01", ["http-02"], ["HTTP-01"], ["http-01", None], [["dns-01"]], {"dns-01": 1}]
)
def test_bad_validation_methods(methods):
    with pytest.raises(ValueError, match="^validation_methods"):
        caa_record("example.org", validation_methods=methods)
