"""Tests for module_utils/nginx_tls.py and the nginx_tls filter plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.fedisec.hardening.plugins.filter.nginx_tls import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils import nginx_tls
from ansible_collections.fedisec.hardening.plugins.module_utils.nginx_tls import (
    nginx_build_info,
    tls_groups,
    version_at_least,
)

DEBIAN_12 = """\
nginx version: nginx/1.22.1
built with OpenSSL 3.0.9 30 May 2023 (running with OpenSSL 3.0.17 1 Jul 2025)
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2 -ffile-prefix-map=/build/nginx-AoTv4W/nginx-1.22.1=. \
-fstack-protector-strong -Wformat -Werror=format-security -fPIC -Wdate-time -D_FORTIFY_SOURCE=2' \
--with-ld-opt='-Wl,-z,relro -Wl,-z,now -fPIC' --prefix=/usr/share/nginx \
--conf-path=/etc/nginx/nginx.conf --with-http_ssl_module --with-http_v2_module
"""

NGINX_ORG = """\
nginx version: nginx/1.26.3
built by gcc 12.2.0 (Debian 12.2.0-14)
built with OpenSSL 3.5.0 8 Apr 2025
TLS SNI support enabled
configure arguments: --prefix=/etc/nginx --sbin-path=/usr/sbin/nginx --with-http_ssl_module
"""

OPENSSL_111 = """\
nginx version: nginx/1.18.0 (Ubuntu)
built with OpenSSL 1.1.1w  11 Sep 2023
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2' --with-http_ssl_module
"""

LIBRESSL = """\
nginx version: nginx/1.24.0
built by clang 16.0.6
built with LibreSSL 3.8.2
TLS SNI support enabled
configure arguments: --prefix=/usr/local/etc/nginx --with-http_ssl_module
"""

BORINGSSL = """\
nginx version: nginx/1.25.5
built with OpenSSL 1.1.1 (compatible; BoringSSL) (running with BoringSSL)
TLS SNI support enabled
configure arguments: --with-http_v3_module --with-cc-opt=-I../boringssl/include
"""

NO_TLS = """\
nginx version: nginx/1.26.3
built by gcc 12.2.0 (Debian 12.2.0-14)
configure arguments: --without-http_rewrite_module
"""

DEFAULT_PQ = ["X25519MLKEM768", "X25519", "prime256v1", "secp384r1"]
DEFAULT_CLASSIC = ["X25519", "prime256v1", "secp384r1"]


def _info(version, library, ssl_version, ssl_version_full=None):
    return {
        "version": version,
        "ssl_library": library,
        "ssl_version": ssl_version,
        "ssl_version_full": ssl_version_full or ssl_version,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(DEBIAN_12, _info("1.22.1", "OpenSSL", "3.0.17"), id="running-with"),
        pytest.param(NGINX_ORG, _info("1.26.3", "OpenSSL", "3.5.0"), id="built-by-gcc"),
        pytest.param(OPENSSL_111, _info("1.18.0", "OpenSSL", "1.1.1", "1.1.1w"), id="letter"),
        pytest.param(LIBRESSL, _info("1.24.0", "LibreSSL", "3.8.2"), id="libressl"),
        pytest.param(BORINGSSL, _info("1.25.5", "BoringSSL", None), id="boringssl"),
        pytest.param(NO_TLS, _info("1.26.3", None, None), id="no-tls"),
        pytest.param(
            "nginx version: nginx/1.20.1\r\nbuilt with OpenSSL 1.0.2k-fips  26 Jan 2017\r\n",
            _info("1.20.1", "OpenSSL", "1.0.2", "1.0.2k-fips"),
            id="crlf-fips",
        ),
        pytest.param(
            "nginx version: nginx/1.27.4\nbuilt with OpenSSL 3.1.5+quic 30 Jan 2024\n",
            _info("1.27.4", "OpenSSL", "3.1.5", "3.1.5+quic"),
            id="quictls",
        ),
    ],
)
def test_nginx_build_info(text, expected):
    assert nginx_build_info(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "nginx: [emerg] unknown directive",
        # nginx -V writes to stderr: stdout is empty, the remainder lacks the version line.
        "built with OpenSSL 3.0.9 30 May 2023\nTLS SNI support enabled\n",
        "nginx version: nginx/\n",
        "nginx version: nginx/1.x\n",
    ],
)
def test_nginx_build_info_without_version_line(text):
    with pytest.raises(ValueError, match="no 'nginx version: nginx/X.Y.Z' line") as excinfo:
        nginx_build_info(text)
    assert "stderr" in str(excinfo.value)


@pytest.mark.parametrize("text", [None, b"nginx version: nginx/1.22.1", ["nginx version"]])
def test_nginx_build_info_rejects_non_strings(text):
    with pytest.raises(ValueError, match="must be a string"):
        nginx_build_info(text)


def test_nginx_build_info_rejects_unrecognised_library_line():
    with pytest.raises(ValueError, match="unrecognised TLS library line"):
        nginx_build_info("nginx version: nginx/1.22.1\nbuilt with ???\n")


@pytest.mark.parametrize(
    ("version", "minimum", "expected"),
    [
        ("3.10", "3.5", True),
        ("3.10.0", "3.9.9", True),
        ("3.5.0", "3.5", True),
        ("3.5", "3.5.0", True),
        ("3.5", "3.5.1", False),
        ("3.4.99", "3.5", False),
        ("3.0.17", "3.5", False),
        ("4", "3.5", True),
        ("1.1.1w", "1.1.1", True),
        ("1.1.1", "1.1.1w", True),
        ("1.1.0l", "1.1.1", False),
        ("3.5.0-alpha1", "3.5", True),
        ("1.0.2k-fips", "1.0.2", True),
    ],
)
def test_version_at_least(version, minimum, expected):
    assert version_at_least(version, minimum) is expected


@pytest.mark.parametrize(
    ("version", "minimum", "argument"),
    [
        ("", "3.5", "version"),
        ("3..5", "3.5", "version"),
        ("v3.5", "3.5", "version"),
        ("3.5 ", "3.5", "version"),
        (3.5, "3.5", "version"),
        (None, "3.5", "version"),
        ("3.5", "three", "minimum"),
    ],
)
def test_version_at_least_rejects_bad_versions(version, minimum, argument):
    with pytest.raises(ValueError, match=f"^{argument} must be"):
        version_at_least(version, minimum)


@pytest.mark.parametrize(
    ("library", "version", "expected"),
    [
        ("OpenSSL", "3.5.0", DEFAULT_PQ),
        ("OpenSSL", "3.5", DEFAULT_PQ),
        ("OpenSSL", "3.10.1", DEFAULT_PQ),
        ("OpenSSL", "4.0.0", DEFAULT_PQ),
        ("openssl", "3.5.1", DEFAULT_PQ),
        ("OpenSSL", "3.4.2", DEFAULT_CLASSIC),
        ("OpenSSL", "3.0.17", DEFAULT_CLASSIC),
        ("OpenSSL", "1.1.1w", DEFAULT_CLASSIC),
        ("LibreSSL", "3.8.2", DEFAULT_CLASSIC),
        ("LibreSSL", "4.1.0", DEFAULT_CLASSIC),
        ("BoringSSL", None, DEFAULT_CLASSIC),
    ],
)
def test_default_groups(library, version, expected):
    assert tls_groups(library, version) == expected
    assert tls_groups(library, version, requested=[]) == expected


def test_default_groups_are_fresh_lists():
    groups = tls_groups("OpenSSL", "3.5.0")
    groups.append("X448")
    assert tls_groups("OpenSSL", "3.5.0") == DEFAULT_PQ
    assert nginx_tls.MOZILLA_GROUPS == tuple(DEFAULT_PQ)


@pytest.mark.parametrize(
    ("library", "version", "requested"),
    [
        ("OpenSSL", "3.0.17", ["secp384r1", "X25519"]),
        ("OpenSSL", "3.0.17", ["X448", "X25519", "prime256v1", "secp384r1", "secp521r1"]),
        ("OpenSSL", "3.5.0", ["X25519MLKEM768"]),
        ("OpenSSL", "3.10", ["X25519", "X25519MLKEM768"]),
        ("LibreSSL", "3.8.2", ["prime256v1"]),
    ],
)
def test_requested_groups_are_returned_in_order(library, version, requested):
    result = tls_groups(library, version, requested)
    assert result == requested
    assert isinstance(result, list)
    assert result is not requested


def test_requested_groups_accept_a_tuple():
    assert tls_groups("OpenSSL", "3.0.2", ("X25519", "X448")) == ["X25519", "X448"]


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        (["X25519", "P-256"], r"^unknown TLS group 'P-256'; allowed: X25519MLKEM768, X25519, X448"),
        (["x25519"], r"unknown TLS group 'x25519' \(did you mean 'X25519'\?\); allowed: "),
        (["X25519", ""], "unknown TLS group ''"),
        (["X25519", None], "unknown TLS group None"),
        (["ffdhe2048"], "allowed: .*secp521r1$"),
        ("X25519:prime256v1", "^requested must be a list"),
        ({"X25519": True}, "^requested must be a list"),
        (["X25519", "prime256v1", "X25519"], "^duplicate TLS group 'X25519'"),
    ],
)
def test_bad_requested_groups(requested, message):
    with pytest.raises(ValueError, match=message):
        tls_groups("OpenSSL", "3.5.0", requested)


@pytest.mark.parametrize(
    ("library", "version", "installed"),
    [
        ("OpenSSL", "3.0.17", "OpenSSL 3.0.17"),
        ("OpenSSL", "3.4.1", "OpenSSL 3.4.1"),
        ("OpenSSL", "1.1.1w", "OpenSSL 1.1.1w"),
        ("LibreSSL", "3.8.2", "LibreSSL 3.8.2"),
        ("BoringSSL", None, "BoringSSL"),
    ],
)
def test_mlkem_requires_openssl_35(library, version, installed):
    with pytest.raises(
        ValueError,
        match=f"^X25519MLKEM768 requires OpenSSL >= 3.5, but nginx uses {installed};",
    ):
        tls_groups(library, version, ["X25519MLKEM768", "X25519"])


@pytest.mark.parametrize(
    ("library", "version", "message"),
    [
        (None, None, "^ssl_library must be a TLS library name.*built with TLS support"),
        ("", "3.0.2", "^ssl_library must be"),
        ("OpenSSL", None, "^ssl_version must be a version string"),
        ("OpenSSL", 3.5, "^ssl_version must be a version string.*quote versions in YAML"),
        ("OpenSSL", "three", "^ssl_version must be a dotted version"),
        ("LibreSSL", "garbage", "^ssl_version must be a dotted version"),
    ],
)
def test_bad_library_or_version(library, version, message):
    with pytest.raises(ValueError, match=message):
        tls_groups(library, version)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(DEBIAN_12, DEFAULT_CLASSIC), (NGINX_ORG, DEFAULT_PQ), (BORINGSSL, DEFAULT_CLASSIC)],
)
def test_build_info_feeds_tls_groups(text, expected):
    info = nginx_build_info(text)
    assert tls_groups(info["ssl_library"], info["ssl_version"]) == expected


@pytest.fixture(scope="module")
def filters():
    """The filter name -> callable mapping exposed to Ansible."""
    return FilterModule().filters()


def test_filter_names_map_to_wrapped_functions(filters):
    assert set(filters) == {"nginx_build_info", "tls_groups"}
    assert filters["nginx_build_info"].__wrapped__ is nginx_tls.nginx_build_info
    assert filters["tls_groups"].__wrapped__ is nginx_tls.tls_groups


def test_filters_return_values(filters):
    assert filters["nginx_build_info"](DEBIAN_12) == _info("1.22.1", "OpenSSL", "3.0.17")
    assert filters["tls_groups"]("OpenSSL", "3.5.0") == DEFAULT_PQ
    assert filters["tls_groups"]("OpenSSL", "3.0.17", requested=["X25519"]) == ["X25519"]


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("nginx_build_info", ("garbage",), "no 'nginx version: nginx/X.Y.Z' line"),
        ("tls_groups", ("OpenSSL", "3.0.17", ["X25519MLKEM768"]), "OpenSSL 3.0.17"),
        ("tls_groups", ("OpenSSL", "3.5.0", ["X25519", "X25519"]), "duplicate TLS group"),
    ],
)
def test_value_errors_become_filter_errors(filters, name, args, message):
    with pytest.raises(AnsibleFilterError, match=message) as excinfo:
        filters[name](*args)
    assert isinstance(excinfo.value.__cause__, ValueError)


# ---------------------------------------------------------------------------
# The role's OCSP stapling setting: "on" cannot work (no resolver, no egress for nginx)

ROLE = Path(__file__).resolve().parents[2] / "roles" / "nginx_tls"
REQUIRED = {
    "nginx_tls_server_names": ["social.example.org"],
    "nginx_tls_certificate": "/etc/ssl/social.pem",
    "nginx_tls_certificate_key": "/etc/ssl/social.key",
}


def _role_yaml(path: str):
    return yaml.safe_load((ROLE / path).read_text())


def _task(path: str, module: str, mentions: str) -> dict:
    """Return the arguments of the one ``module`` task of ``path`` that mentions ``mentions``."""
    tasks = [task[module] for task in _role_yaml(path) if mentions in str(task.get(module))]
    assert len(tasks) == 1, f"expected one {module} task about {mentions} in {path}"
    return tasks[0]


def _templar(**variables) -> Templar:
    return Templar(loader=DataLoader(), variables=variables)


@pytest.mark.parametrize(("value", "accepted"), [("auto", True), ("off", True), ("on", False)])
def test_ocsp_stapling_argument_spec(value, accepted):
    spec = _role_yaml("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    result = ArgumentSpecValidator(spec).validate(
        {**REQUIRED, "nginx_tls_ocsp_stapling": value}, validate_role_argument_spec=True
    )
    if accepted:
        assert result.error_messages == []
    else:
        assert result.error_messages == [
            "value of nginx_tls_ocsp_stapling must be one of: auto, off, got: on"
        ]


@pytest.mark.parametrize(("value", "passes"), [("auto", True), ("off", True), ("on", False)])
def test_ocsp_stapling_on_is_refused_by_an_assert(value, passes):
    # Also when the argument spec is not checked (rolespec_validate: false).
    task = _task("tasks/assert.yml", "ansible.builtin.assert", "nginx_tls_ocsp_stapling")
    templar = _templar(nginx_tls_ocsp_stapling=value)
    results = [templar.evaluate_conditional(trust_as_template(that)) for that in task["that"]]
    assert all(results) is passes
    message = templar.template(trust_as_template(task["fail_msg"]))
    assert message.startswith(
        f"nginx_tls_ocsp_stapling: {value} is not supported (allowed: auto, off)."
    )
    assert "no resolver" in message
    assert "no egress" in message


@pytest.mark.parametrize(
    ("value", "ocsp_uri", "stapling"),
    [
        ("auto", "http://ocsp.example.org", True),
        ("auto", None, False),
        ("off", "http://ocsp.example.org", False),
        ("off", None, False),
    ],
)
def test_ocsp_stapling_auto_and_off(value, ocsp_uri, stapling):
    facts = _task("tasks/install.yml", "ansible.builtin.set_fact", "nginx_tls_stapling")
    templar = _templar(nginx_tls_ocsp_stapling=value, nginx_tls_cert_info={"ocsp_uri": ocsp_uri})
    assert templar.template(trust_as_template(facts["nginx_tls_stapling"])) is stapling
