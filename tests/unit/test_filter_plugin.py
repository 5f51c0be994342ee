"""Tests for the fedisec.hardening filter plugin."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fedisec.hardening.plugins.filter.fedisec import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils import csp, hsts, tlsa

KAT_PUBLIC_KEY = """\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEwgopGzm/CU/lm0bTZKY3JEttnw4F
0P4mWh7KeMFq+q+RtdiNQshT4ERaEVJPcdnPvqolkwfWoC70hPUjiEiiag==
-----END PUBLIC KEY-----
"""


@pytest.fixture(scope="module")
def filters():
    """The filter name -> callable mapping exposed to Ansible."""
    return FilterModule().filters()


def test_filter_names_map_to_wrapped_functions(filters):
    assert set(filters) == {"tlsa_3_1_1", "caa_record", "csp", "hsts", "dpkg_query_argv", "packages_missing",
                            "site_inputs_missing", "audit_facts"}
    assert all(callable(func) for func in filters.values())
    assert filters["tlsa_3_1_1"].__wrapped__ is tlsa.tlsa_3_1_1
    assert filters["caa_record"].__wrapped__ is tlsa.caa_record
    assert filters["csp"].__wrapped__ is csp.build_csp
    assert filters["hsts"].__wrapped__ is hsts.build_hsts


def test_filters_return_values(filters):
    assert filters["tlsa_3_1_1"](KAT_PUBLIC_KEY) == (
        "728812314f16aeac9ef84cddbccf83cc7866f1ad34f8d6ad894916e0dae0d96a"
    )
    assert filters["caa_record"]("example.org", validation_methods=["dns-01"]) == (
        'example.org. IN CAA 0 issue "letsencrypt.org;validationmethods=dns-01"'
    )
    assert (
        filters["csp"]({"script-src": "'self' 'unsafe-inline'"}, allow_unsafe_inline=True)
        == "script-src 'self' 'unsafe-inline'"
    )
    assert filters["hsts"](63072000, preload=True) == (
        "max-age=63072000; includeSubDomains; preload"
    )


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "message"),
    [
        ("tlsa_3_1_1", ("garbage",), {}, "no PEM certificate"),
        ("caa_record", ("*.example.org",), {}, "^domain"),
        ("csp", ({"script-src": "'unsafe-inline'"},), {}, "allow_unsafe_inline"),
        ("hsts", (300,), {"preload": True}, "preload requires"),
    ],
)
def test_value_errors_become_filter_errors(filters, name, args, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message) as excinfo:
        filters[name](*args, **kwargs)
    assert isinstance(excinfo.value.__cause__, ValueError)
