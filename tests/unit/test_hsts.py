"""Tests for build_hsts in module_utils/hsts.py."""

from __future__ import annotations

import pytest

from ansible_collections.fedisec.hardening.plugins.module_utils.hsts import build_hsts


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"max_age": 63072000}, "max-age=63072000; includeSubDomains"),
        ({"max_age": 63072000, "preload": True}, "max-age=63072000; includeSubDomains; preload"),
        ({"max_age": 31536000, "preload": True}, "max-age=31536000; includeSubDomains; preload"),
        ({"max_age": 300, "include_subdomains": False}, "max-age=300"),
        ({"max_age": 0}, "max-age=0; includeSubDomains"),
    ],
)
def test_build_hsts(kwargs, expected):
    assert build_hsts(**kwargs) == expected


@pytest.mark.parametrize("max_age", [-1, True, False, 1.5, "63072000", None])
def test_bad_max_age(max_age):
    with pytest.raises(ValueError, match="max_age must be an integer >= 0"):
        build_hsts(max_age)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_age": 31535999, "preload": True},
        {"max_age": 63072000, "include_subdomains": False, "preload": True},
    ],
)
def test_preload_requirements(kwargs):
    with pytest.raises(ValueError, match="preload requires max_age >= 31536000"):
        build_hsts(**kwargs)


@pytest.mark.parametrize("argument", ["include_subdomains", "preload"])
def test_flags_must_be_boolean(argument):
    with pytest.raises(ValueError, match=f"{argument} must be a boolean"):
        build_hsts(63072000, **{argument: "false"})
