"""prosody_tls: values as Lua literals (plugins/module_utils/prosody_tls.py) and the filter."""
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.fedisec.hardening.plugins.filter.prosody_tls import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils.prosody_tls import lua_value, prosody_branch

FILTERS = FilterModule().filters()
MOZILLA_INTERMEDIATE = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)


@pytest.mark.parametrize(("value", "kind", "literal"), [
    ("xmpp.example.org", "dns_name", '"xmpp.example.org"'),
    ("fedi", "dns_name", '"fedi"'),
    (["a.example", "b.example"], "dns_names", '{ "a.example"; "b.example" }'),
    ([], "dns_names", "{ }"),
    (["admin@example.org"], "jids", '{ "admin@example.org" }'),
    (["disco", "mam"], "modules", '{ "disco"; "mam" }'),
    ("/etc/prosody/certs/fedi/fullchain.pem", "abs_path", '"/etc/prosody/certs/fedi/fullchain.pem"'),
    ("1w", "period", '"1w"'),
    ("30d", "period", '"30d"'),
    ("never", "period", '"never"'),
    (MOZILLA_INTERMEDIATE, "ciphers", f'"{MOZILLA_INTERMEDIATE}"'),
    ("", "ciphers", '""'),
    (["X25519", "prime256v1", "secp384r1"], "groups", '{ "X25519"; "prime256v1"; "secp384r1" }'),
    (True, "bool", "true"),
    (False, "bool", "false"),
    ("SHA-256", "string", '"SHA-256"'),
])
def test_valid_values_become_lua_literals(value, kind, literal):
    assert lua_value(value, kind, "prosody_tls_x") == literal
    assert FILTERS["prosody_lua"](value, kind, "prosody_tls_x") == literal


# Each would end the Lua string and add an option, a function call or a comment.
INJECTIONS = [
    'x"; c2s_require_encryption = false; --',
    "x\nc2s_require_encryption = false",
    "x\rs2s_secure_auth = false",
    "x\\",
    'RunScript "/tmp/evil.lua"',
    "x\x00",
    "é",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_string_that_could_leave_its_quotes_is_refused(value):
    with pytest.raises(ValueError, match="^prosody_tls_x: "):
        lua_value(value, "string", "prosody_tls_x")


@pytest.mark.parametrize("value", INJECTIONS + ["exa mple.org", "-x.org", "*.example.org", "2001:db8::1", ""])
def test_a_domain_with_anything_but_ldh_labels_is_refused(value):
    with pytest.raises(ValueError, match="^prosody_tls_domain: "):
        lua_value(value, "dns_name", "prosody_tls_domain")


def test_a_bad_list_item_is_named_by_its_index():
    with pytest.raises(ValueError, match=r"^prosody_tls_s2s_insecure_domains\[1\]: "):
        lua_value(["ok.example", 'bad"'], "dns_names", "prosody_tls_s2s_insecure_domains")


@pytest.mark.parametrize(("value", "message"), [
    ("example.org", "must be a list"),
    (["a.example", "a.example"], "twice"),
])
def test_lists_are_lists_without_duplicates(value, message):
    with pytest.raises(ValueError, match=message):
        lua_value(value, "dns_names", "prosody_tls_s2s_secure_domains")


@pytest.mark.parametrize("value", ["admin", "@example.org", "a@b@example.org", 'a"@example.org', "a b@example.org",
                                   "admin@exa\nmple.org"])
def test_admins_are_bare_jids(value):
    with pytest.raises(ValueError, match=r"^prosody_tls_admins\[0\]: "):
        lua_value([value], "jids", "prosody_tls_admins")


@pytest.mark.parametrize(("module", "message"), [
    ("admin_telnet", "TCP port 5582"),
    ("legacyauth", "XEP-0078"),
    ("auth_internal_plain", "plain text"),
    ("auth_ldap", "authentication"),
    ("storage_sql", "storage"),
    ("mod_mam", "mod_"),
    ("Mam", "not a module name"),
    ('mam"; x = "', "not a module name"),
])
def test_refused_modules(module, message):
    with pytest.raises(ValueError, match=message):
        lua_value([module], "modules", "prosody_tls_modules_extra")


@pytest.mark.parametrize("value", ["1m", "1 week", "0d", "1h", "w", "forever", 7, "1w\n"])
def test_retention_periods_are_read_alike_by_012_and_13(value):
    with pytest.raises(ValueError, match="^prosody_tls_archive_expires_after: "):
        lua_value(value, "period", "prosody_tls_archive_expires_after")


@pytest.mark.parametrize("value", [
    "ECDHE-ECDSA-AES128-SHA256",          # CBC
    "ECDHE-RSA-AES256-SHA",               # CBC, SHA-1
    "DHE-RSA-AES128-GCM-SHA256",          # no DH parameters, no DHE
    "AES128-GCM-SHA256",                  # no forward secrecy
    "HIGH:!aNULL",                        # a rule, not a list of suites
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256",
    'ECDHE-ECDSA-AES128-GCM-SHA256"',
])
def test_only_ecdhe_aead_suites(value):
    with pytest.raises(ValueError, match="^prosody_tls_ciphers: "):
        lua_value(value, "ciphers", "prosody_tls_ciphers")


@pytest.mark.parametrize("value", [[], ["X25519MLKEM768"], ["P-256"], ["X25519", "X25519"], "X25519"])
def test_groups(value):
    with pytest.raises(ValueError, match="^prosody_tls_groups"):
        lua_value(value, "groups", "prosody_tls_groups")


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_booleans_are_booleans(value):
    with pytest.raises(ValueError, match="true or false"):
        lua_value(value, "bool", "prosody_tls_c2s_direct_tls")


def test_unknown_kind_and_missing_name():
    with pytest.raises(ValueError, match="kind must be one of"):
        lua_value("x", "lua", "prosody_tls_x")
    with pytest.raises(ValueError, match="variable name"):
        lua_value("x", "string", "")


def test_the_filter_raises_ansible_errors_naming_the_variable():
    with pytest.raises(AnsibleFilterError, match="^prosody_tls_domain: "):
        FILTERS["prosody_lua"]('x"', "dns_name", "prosody_tls_domain")


@pytest.mark.parametrize(("version", "branch"), [
    ("0.12.3-1+deb12u1", "0.12"),   # Debian 12
    ("13.0.1-1+deb131u", "13"),     # Debian 13
    ("13.0.2-1~bpo12+1", "13"),
    ("1:13.1.0-1", "13"),
    ("0.12.4", "0.12"),
])
def test_prosody_branch(version, branch):
    assert prosody_branch(version) == branch
    assert FILTERS["prosody_branch"](version) == branch


@pytest.mark.parametrize("version", ["0.11.9-2+deb11u2", "1.0", "12.0", "", "prosody", None])
def test_prosody_branch_refuses_what_it_cannot_configure(version):
    with pytest.raises(ValueError):
        prosody_branch(version)
