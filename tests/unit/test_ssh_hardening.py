"""Tests for module_utils/ssh_hardening.py and the ssh_hardening filter plugin, and for how
the role writes its drop-in (one config_transaction) and finds that sshd reads it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.fedisec.hardening.plugins.filter.ssh_hardening import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils import ssh_hardening
from ansible_collections.fedisec.hardening.plugins.module_utils import ssh_totp
from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_hardening import (
    key_type_accepted,
    ssh_algorithms,
    ssh_client_kex_problems,
    ssh_default_algorithms,
    ssh_kex_with_fallback,
    ssh_lockout_problems,
    sshd_effective,
    sshd_pattern_match,
    weak_reasons,
)
from ansible_collections.fedisec.hardening.plugins.module_utils.ssh_totp import (
    pam_sshd_asks_totp,
    pam_sshd_totp,
    ssh_totp_secret_problems,
)


def _lines(names: str) -> str:
    """Format space-separated names like ``ssh -Q`` output (one per line)."""
    return "".join(f"{name}\n" for name in names.split())


# `ssh -Q ...` of OpenSSH_9.2p1 Debian-2+deb12u6.
DEBIAN_12_KEX = _lines(
    "diffie-hellman-group1-sha1 diffie-hellman-group14-sha1 diffie-hellman-group14-sha256"
    " diffie-hellman-group16-sha512 diffie-hellman-group18-sha512"
    " diffie-hellman-group-exchange-sha1 diffie-hellman-group-exchange-sha256"
    " ecdh-sha2-nistp256 ecdh-sha2-nistp384 ecdh-sha2-nistp521 curve25519-sha256"
    " curve25519-sha256@libssh.org sntrup761x25519-sha512 sntrup761x25519-sha512@openssh.com"
)
# Before 1:9.2p1-2+deb12u4 only the @openssh.com spelling of sntrup761 existed.
DEBIAN_12_OLD_KEX = DEBIAN_12_KEX.replace("sntrup761x25519-sha512\n", "")
DEBIAN_13_KEX = DEBIAN_12_KEX + "mlkem768x25519-sha256\n"
DEBIAN_12_CIPHER = _lines(
    "3des-cbc aes128-cbc aes192-cbc aes256-cbc aes128-ctr aes192-ctr aes256-ctr"
    " aes128-gcm@openssh.com aes256-gcm@openssh.com chacha20-poly1305@openssh.com"
)
DEBIAN_12_MAC = _lines(
    "hmac-sha1 hmac-sha1-96 hmac-sha2-256 hmac-sha2-512 hmac-md5 hmac-md5-96"
    " umac-64@openssh.com umac-128@openssh.com hmac-sha1-etm@openssh.com"
    " hmac-sha1-96-etm@openssh.com hmac-sha2-256-etm@openssh.com hmac-sha2-512-etm@openssh.com"
    " hmac-md5-etm@openssh.com hmac-md5-96-etm@openssh.com umac-64-etm@openssh.com"
    " umac-128-etm@openssh.com"
)
DEBIAN_12_KEY_SIG = _lines(
    "ssh-ed25519 ssh-ed25519-cert-v01@openssh.com sk-ssh-ed25519@openssh.com"
    " sk-ssh-ed25519-cert-v01@openssh.com ecdsa-sha2-nistp256"
    " ecdsa-sha2-nistp256-cert-v01@openssh.com ecdsa-sha2-nistp384"
    " ecdsa-sha2-nistp384-cert-v01@openssh.com ecdsa-sha2-nistp521"
    " ecdsa-sha2-nistp521-cert-v01@openssh.com sk-ecdsa-sha2-nistp256@openssh.com"
    " sk-ecdsa-sha2-nistp256-cert-v01@openssh.com webauthn-sk-ecdsa-sha2-nistp256@openssh.com"
    " ssh-dss ssh-dss-cert-v01@openssh.com ssh-rsa ssh-rsa-cert-v01@openssh.com rsa-sha2-256"
    " rsa-sha2-256-cert-v01@openssh.com rsa-sha2-512 rsa-sha2-512-cert-v01@openssh.com"
)
DEBIAN_12_SIG = _lines(
    "ssh-ed25519 sk-ssh-ed25519@openssh.com ecdsa-sha2-nistp256 ecdsa-sha2-nistp384"
    " ecdsa-sha2-nistp521 sk-ecdsa-sha2-nistp256@openssh.com"
    " webauthn-sk-ecdsa-sha2-nistp256@openssh.com ssh-dss ssh-rsa rsa-sha2-256 rsa-sha2-512"
)
SUPPORTED = {
    "kex": DEBIAN_12_KEX,
    "cipher": DEBIAN_12_CIPHER,
    "mac": DEBIAN_12_MAC,
    "hostkey": DEBIAN_12_KEY_SIG,
    "pubkey": DEBIAN_12_KEY_SIG,
    "casig": DEBIAN_12_SIG,
}

# ---------------------------------------------------------------------------------------
# ssh_algorithms / ssh_default_algorithms
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("supported", "expected"),
    [
        pytest.param(
            DEBIAN_13_KEX,
            list(ssh_hardening.KEX),
            id="debian-13",
        ),
        pytest.param(
            DEBIAN_12_KEX,
            ["sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com"],
            id="debian-12",
        ),
        pytest.param(
            DEBIAN_12_OLD_KEX,
            ["sntrup761x25519-sha512@openssh.com"],
            id="debian-12-before-deb12u4",
        ),
    ],
)
def test_default_kex_drops_what_the_server_lacks(supported, expected):
    assert ssh_algorithms(list(ssh_hardening.KEX), supported, "kex") == expected


@pytest.mark.parametrize("kind", sorted(SUPPORTED))
def test_defaults_are_not_weak_and_supported_on_debian_12(kind):
    defaults = ssh_default_algorithms(kind)
    assert all(weak_reasons(name, kind) == [] for name in defaults)
    result = ssh_algorithms(defaults, SUPPORTED[kind], kind)
    # Only mlkem768 (OpenSSH >= 9.9) and cert types in casig are missing on Debian 12.
    assert set(defaults) - set(result) <= {"mlkem768x25519-sha256"} or kind == "casig"


def test_default_lists_as_specified():
    assert ssh_default_algorithms("mac")[0] == "hmac-sha2-512-etm@openssh.com"
    assert ssh_default_algorithms("cipher")[0] == "chacha20-poly1305@openssh.com"
    assert not any("diffie-hellman" in name for name in ssh_default_algorithms("kex"))
    pubkey = ssh_default_algorithms("pubkey")
    assert [name for name in pubkey if "ecdsa" not in name] == list(ssh_hardening.HOSTKEY)
    assert pubkey.index("sk-ecdsa-sha2-nistp256@openssh.com") == (
        pubkey.index("sk-ssh-ed25519@openssh.com") + 1
    )
    assert all(name.startswith("sk-") for name in ssh_default_algorithms("hardware_key"))
    assert set(ssh_default_algorithms("hardware_key")) <= set(pubkey)
    assert set(ssh_default_algorithms("casig")) <= set(pubkey)


def test_default_lists_are_fresh():
    kex = ssh_default_algorithms("kex")
    kex.append("diffie-hellman-group1-sha1")
    assert ssh_default_algorithms("kex") == list(ssh_hardening.KEX)


@pytest.mark.parametrize("kind", [None, "", "KEX", "ciphers", "hardware", ["kex"]])
def test_default_algorithms_rejects_unknown_kinds(kind):
    with pytest.raises(ValueError, match="^kind must be one of kex, cipher, .*hardware_key"):
        ssh_default_algorithms(kind)


def test_order_of_wanted_is_preserved_and_duplicates_dropped():
    wanted = ["aes128-ctr", "chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-gcm@openssh.com"]
    assert ssh_algorithms(wanted, DEBIAN_12_CIPHER, "cipher") == [
        "aes128-ctr",
        "chacha20-poly1305@openssh.com",
        "aes256-gcm@openssh.com",
    ]


def test_unsupported_names_are_dropped():
    wanted = ["aes256-gcm@openssh.com", "aes256-gcm", "made-up-cipher@example.org"]
    assert ssh_algorithms(wanted, DEBIAN_12_CIPHER, "cipher") == ["aes256-gcm@openssh.com"]


@pytest.mark.parametrize(
    "supported",
    [
        "curve25519-sha256\nsntrup761x25519-sha512@openssh.com\n",
        "\n\ncurve25519-sha256\n\n  sntrup761x25519-sha512@openssh.com  \n\n",
        "curve25519-sha256\r\nsntrup761x25519-sha512@openssh.com\r\n",
        "curve25519-sha256,sntrup761x25519-sha512@openssh.com",
        ["curve25519-sha256", "sntrup761x25519-sha512@openssh.com", ""],
        ("curve25519-sha256 ", " sntrup761x25519-sha512@openssh.com"),
    ],
)
def test_supported_formats(supported):
    wanted = ["sntrup761x25519-sha512@openssh.com", "mlkem768x25519-sha256", "curve25519-sha256"]
    assert ssh_algorithms(wanted, supported, "kex") == [
        "sntrup761x25519-sha512@openssh.com",
        "curve25519-sha256",
    ]


def test_empty_result_names_kind_variable_and_server_list():
    with pytest.raises(ValueError) as excinfo:
        ssh_algorithms(["mlkem768x25519-sha256"], DEBIAN_12_KEX, "kex")
    message = str(excinfo.value)
    assert message.startswith("none of the kex algorithms in ssh_hardening_kex_algorithms")
    assert "(mlkem768x25519-sha256)" in message
    assert "supports: diffie-hellman-group1-sha1, " in message
    assert message.endswith("sntrup761x25519-sha512@openssh.com")


@pytest.mark.parametrize(
    ("kind", "variable"),
    [
        ("kex", "ssh_hardening_kex_algorithms"),
        ("cipher", "ssh_hardening_ciphers"),
        ("mac", "ssh_hardening_macs"),
        ("hostkey", "ssh_hardening_host_key_algorithms"),
        ("pubkey", "ssh_hardening_pubkey_algorithms"),
        ("casig", "ssh_hardening_ca_signature_algorithms"),
    ],
)
def test_errors_name_the_role_variable(kind, variable):
    with pytest.raises(ValueError, match=f"in {variable} "):
        ssh_algorithms(["not-supported@example.org"], SUPPORTED[kind], kind)
    with pytest.raises(ValueError, match=f"^{variable} is empty"):
        ssh_algorithms([], SUPPORTED[kind], kind)


@pytest.mark.parametrize(
    ("kind", "name", "reason"),
    [
        ("kex", "diffie-hellman-group1-sha1", "SHA-1, 1024-bit group"),
        ("kex", "diffie-hellman-group14-sha1", "SHA-1, 2048-bit group"),
        ("kex", "diffie-hellman-group14-sha256", "2048-bit group"),
        ("kex", "diffie-hellman-group-exchange-sha1", "SHA-1"),
        ("kex", "ecdh-sha2-nistp256", "NIST P-curve ECDH, flagged by ssh-audit"),
        ("kex", "ecdh-sha2-nistp521", "NIST P-curve ECDH, flagged by ssh-audit"),
        ("kex", "gss-curve25519-sha256-", "GSSAPI key exchange, belongs in GSSAPIKexAlgorithms"),
        ("kex", "gss-group14-sha1-", "GSSAPI key exchange, belongs in GSSAPIKexAlgorithms, SHA-1"),
        ("cipher", "aes256-cbc", "CBC mode"),
        ("cipher", "3des-cbc", "CBC mode, 3DES, 64-bit block"),
        ("cipher", "rijndael-cbc@lysator.liu.se", "CBC mode, pre-standard Rijndael name"),
        ("cipher", "arcfour256", "RC4 (arcfour)"),
        ("cipher", "blowfish-cbc", "CBC mode, Blowfish, 64-bit block"),
        ("cipher", "cast128-cbc", "CBC mode, CAST-128, 64-bit block"),
        ("cipher", "none", "no encryption"),
        ("mac", "hmac-sha1", "SHA-1, encrypt-and-MAC (non-etm) MAC"),
        ("mac", "hmac-sha1-etm@openssh.com", "SHA-1"),
        ("mac", "hmac-md5-96-etm@openssh.com", "MD5"),
        ("mac", "hmac-ripemd160-etm@openssh.com", "RIPEMD-160"),
        ("mac", "umac-64-etm@openssh.com", "64-bit tag"),
        ("mac", "hmac-sha2-256", "encrypt-and-MAC (non-etm) MAC"),
        ("mac", "hmac-sha2-512", "encrypt-and-MAC (non-etm) MAC"),
        ("mac", "umac-128@openssh.com", "encrypt-and-MAC (non-etm) MAC"),
        ("hostkey", "ssh-rsa", "SHA-1 signatures"),
        ("hostkey", "ssh-rsa-cert-v01@openssh.com", "SHA-1 signatures"),
        ("hostkey", "ssh-dss", "DSA (1024-bit, SHA-1)"),
        ("hostkey", "ecdsa-sha2-nistp256", "NIST P-curve ECDSA, flagged by ssh-audit"),
        ("hostkey", "ecdsa-sha2-nistp384-cert-v01@openssh.com", "NIST P-curve ECDSA"),
        ("hostkey", "sk-ecdsa-sha2-nistp256@openssh.com", "NIST P-curve ECDSA"),
        ("pubkey", "ssh-rsa", "SHA-1 signatures"),
        ("pubkey", "ssh-rsa-cert-v01@openssh.com", "SHA-1 signatures"),
        ("pubkey", "ssh-dss-cert-v01@openssh.com", "DSA (1024-bit, SHA-1)"),
        ("casig", "ssh-rsa", "SHA-1 signatures"),
        ("casig", "ssh-dss", "DSA (1024-bit, SHA-1)"),
    ],
)
def test_weak_algorithms_are_refused_with_reason(kind, name, reason):
    assert ", ".join(weak_reasons(name, kind)).startswith(reason)
    good = ssh_default_algorithms(kind)[-1]
    with pytest.raises(ValueError) as excinfo:
        ssh_algorithms([good, name], SUPPORTED[kind], kind)
    message = str(excinfo.value)
    assert message.startswith(f"{ssh_hardening.VARIABLES[kind]} contains weak algorithms: {name} (")
    assert reason in message
    assert "allow_weak=True" in message
    assert good not in message


def test_every_weak_algorithm_is_listed():
    with pytest.raises(ValueError) as excinfo:
        ssh_algorithms(
            ["aes256-ctr", "aes128-cbc", "arcfour", "aes256-cbc"], DEBIAN_12_CIPHER, "cipher"
        )
    assert str(excinfo.value) == (
        "ssh_hardening_ciphers contains weak algorithms: aes128-cbc (CBC mode);"
        " arcfour (RC4 (arcfour)); aes256-cbc (CBC mode)."
        " Remove them, or set ssh_hardening_allow_weak: true (allow_weak=True) to keep them"
        " deliberately"
    )


def test_weak_refused_even_when_unsupported():
    with pytest.raises(ValueError, match="arcfour256 .RC4"):
        ssh_algorithms(["aes256-ctr", "arcfour256"], DEBIAN_12_CIPHER, "cipher")


def test_allow_weak_keeps_supported_weak_algorithms():
    wanted = ["curve25519-sha256", "ecdh-sha2-nistp256", "diffie-hellman-group14-sha1", "gss-x-"]
    assert ssh_algorithms(wanted, DEBIAN_12_KEX, "kex", allow_weak=True) == wanted[:3]
    assert ssh_algorithms(["hmac-sha2-256"], DEBIAN_12_MAC, "mac", allow_weak=True) == [
        "hmac-sha2-256"
    ]
    assert ssh_algorithms(["ssh-rsa"], DEBIAN_12_KEY_SIG, "hostkey", allow_weak=True) == ["ssh-rsa"]


@pytest.mark.parametrize(
    "name",
    [
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
        "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
        "rsa-sha2-512",
    ],
)
def test_ecdsa_user_keys_are_allowed_for_pubkey(name):
    assert weak_reasons(name, "pubkey") == []
    assert ssh_algorithms([name], DEBIAN_12_KEY_SIG, "pubkey") == [name]


def test_sk_ecdsa_is_allowed_as_ca_signature():
    assert ssh_algorithms(list(ssh_hardening.CASIG), DEBIAN_12_SIG, "casig") == list(
        ssh_hardening.CASIG
    )


def test_comma_joined_string_is_refused_with_hint():
    with pytest.raises(ValueError, match=r"^ssh_hardening_ciphers must be a list .*split\(','\)"):
        ssh_algorithms("aes256-gcm@openssh.com,aes128-ctr", DEBIAN_12_CIPHER, "cipher")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "'' is not an SSH algorithm name$"),
        ("   ", "'   ' is not an SSH algorithm name$"),
        (" aes128-ctr", "' aes128-ctr' is not an SSH algorithm name$"),
        ("aes128-ctr,aes256-ctr", r"not a comma-separated string\)$"),
        ("+aes128-cbc", r"\+/-/\^ list modifiers are not supported"),
        ("^aes128-ctr", r"\+/-/\^ list modifiers are not supported"),
        ("aes*-ctr", r"wildcards are not supported"),
        ("aes128 ctr", "is not an SSH algorithm name$"),
        ("a" * 65, "is not an SSH algorithm name$"),
        (None, "algorithm names must be strings, got None"),
        (128, "algorithm names must be strings, got 128"),
    ],
)
def test_malformed_names_are_refused(name, message):
    with pytest.raises(ValueError, match=f"^ssh_hardening_ciphers: .*{message}"):
        ssh_algorithms(["aes128-ctr", name], DEBIAN_12_CIPHER, "cipher")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((["aes128-ctr"], DEBIAN_12_CIPHER, "ciphers"), "^kind must be one of kex, cipher"),
        ((["aes128-ctr"], DEBIAN_12_CIPHER, "hardware_key"), "^kind must be one of"),
        (({"aes128-ctr": 1}, DEBIAN_12_CIPHER, "cipher"), "^ssh_hardening_ciphers must be a list"),
        ((None, DEBIAN_12_CIPHER, "cipher"), "^ssh_hardening_ciphers must be a list"),
        ((["aes128-ctr"], None, "cipher"), r"^supported must be the output of `ssh -Q cipher`"),
        ((["ssh-ed25519"], b"ssh-ed25519", "hostkey"), "`ssh -Q key-sig`"),
        ((["ssh-ed25519"], "", "casig"), r"^supported is empty: .*`ssh -Q sig`"),
        ((["ssh-ed25519"], "\n\n", "pubkey"), "^supported is empty"),
        ((["ssh-ed25519"], ["ssh-ed25519", None], "pubkey"), "^supported must be a list of str"),
    ],
)
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        ssh_algorithms(*args)


@pytest.mark.parametrize("allow_weak", ["yes", 1, None])
def test_allow_weak_must_be_boolean(allow_weak):
    with pytest.raises(ValueError, match="^allow_weak must be a boolean"):
        ssh_algorithms(["aes128-ctr"], DEBIAN_12_CIPHER, "cipher", allow_weak=allow_weak)


@pytest.mark.parametrize(
    ("name", "pattern", "expected"),
    [
        ("admin", "admin", True),
        ("admin", "adm*", True),
        ("admin", "a?min", True),
        ("admin", "*", True),
        ("admin", "Admin", False),
        ("admin", "adm", False),
        ("admin", "?dmin?", False),
        ("a.min", "a.min", True),
        ("admin", "a.min", False),
        ("[a]dmin", "[a]dmin", True),
        ("admin", "[a]dmin", False),
    ],
)
def test_sshd_pattern_match(name, pattern, expected):
    assert sshd_pattern_match(name, pattern) is expected


# ---------------------------------------------------------------------------------------
# sshd_effective
# ---------------------------------------------------------------------------------------

# Hand-written excerpt of `sshd -T` on Debian 12 (OpenSSH 9.2) after hardening.
DEBIAN_12_SSHD_T = """\
port 22
port 2222
addressfamily any
listenaddress [::]:22
listenaddress 0.0.0.0:22
usepam yes
logingracetime 30
maxauthtries 3
maxsessions 10
clientaliveinterval 300
clientalivecountmax 3
requiredrsasize 3072
permitrootlogin no
ignorerhosts yes
pubkeyauthentication yes
passwordauthentication no
kbdinteractiveauthentication no
printmotd no
x11forwarding no
allowtcpforwarding no
permittunnel no
banner none
versionaddendum none
loglevel VERBOSE
syslogfacility AUTH
authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2
hostkey /etc/ssh/ssh_host_ed25519_key
hostkey /etc/ssh/ssh_host_rsa_key
allowgroups ssh-users
allowgroups sudo
acceptenv LANG
acceptenv LC_*
authenticationmethods any
subsystem sftp /usr/lib/openssh/sftp-server
maxstartups 10:30:100
persourcemaxstartups none
kexalgorithms sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,\
curve25519-sha256@libssh.org
ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,\
aes192-ctr,aes128-ctr
macs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256
pubkeyacceptedalgorithms sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,\
ssh-ed25519,rsa-sha2-512,rsa-sha2-256
casignaturealgorithms sk-ssh-ed25519@openssh.com,ssh-ed25519,rsa-sha2-512,rsa-sha2-256
rekeylimit 0 0
permitopen any
permitlisten any
"""


def test_sshd_effective_debian_12():
    config = sshd_effective(DEBIAN_12_SSHD_T)
    assert config["port"] == ["22", "2222"]
    assert config["listenaddress"] == ["[::]:22", "0.0.0.0:22"]
    assert config["hostkey"] == ["/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_rsa_key"]
    assert config["allowgroups"] == ["ssh-users", "sudo"]
    assert config["acceptenv"] == ["LANG", "LC_*"]
    assert config["subsystem"] == ["sftp /usr/lib/openssh/sftp-server"]
    assert config["authenticationmethods"] == "any"
    assert config["permitrootlogin"] == "no"
    assert config["passwordauthentication"] == "no"
    assert config["authorizedkeysfile"] == ".ssh/authorized_keys .ssh/authorized_keys2"
    assert config["rekeylimit"] == "0 0"
    assert config["kexalgorithms"] == (
        "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
        "curve25519-sha256@libssh.org"
    )
    assert config["macs"].split(",") == list(ssh_hardening.MACS)
    assert config["ciphers"].split(",") == list(ssh_hardening.CIPHERS)
    assert config["pubkeyacceptedalgorithms"].split(",")[1] == "sk-ecdsa-sha2-nistp256@openssh.com"
    assert "denyusers" not in config


def test_sshd_effective_single_multi_value_key_is_a_list():
    config = sshd_effective("port 22\nhostkey /etc/ssh/ssh_host_ed25519_key\nx11forwarding no\n")
    assert config == {
        "port": ["22"],
        "hostkey": ["/etc/ssh/ssh_host_ed25519_key"],
        "x11forwarding": "no",
    }


def test_sshd_effective_is_lenient_on_content():
    text = "\r\nPort 22\r\n  SetEnv A=1  \r\nsetenv B=2\nbanner\nchrootdirectory   none\n\n"
    assert sshd_effective(text) == {
        "port": ["22"],
        "setenv": ["A=1", "B=2"],
        "banner": "",
        "chrootdirectory": "none",
    }


def test_sshd_effective_repeated_key_becomes_list():
    assert sshd_effective("permitopen a:1\npermitopen b:2\npermitopen c:3\n") == {
        "permitopen": ["a:1", "b:2", "c:3"]
    }


@pytest.mark.parametrize("text", [None, b"port 22\n", ["port 22"], 22])
def test_sshd_effective_rejects_non_strings(text):
    with pytest.raises(ValueError, match="^sshd -T output must be a string"):
        sshd_effective(text)


@pytest.mark.parametrize("text", ["", "\n  \n"])
def test_sshd_effective_rejects_empty_output(text):
    with pytest.raises(ValueError, match="^sshd -T output is empty"):
        sshd_effective(text)


def test_effective_pubkey_list_feeds_the_guard():
    effective = sshd_effective(DEBIAN_12_SSHD_T)
    config = {
        "allow_groups": effective["allowgroups"],
        "permit_root_login": effective["permitrootlogin"],
        "pubkey_algorithms": effective["pubkeyacceptedalgorithms"].split(","),
    }
    login = {"user": "admin", "groups": ["admin", "sudo"], "key_types": ["ssh-rsa"]}
    assert ssh_lockout_problems(config, login, {}) == []


# ---------------------------------------------------------------------------------------
# ssh_lockout_problems
# ---------------------------------------------------------------------------------------

ACCEPTED = list(ssh_hardening.PUBKEY)
ADMIN = {"user": "admin", "groups": ["admin", "sudo"], "key_types": ["ssh-ed25519"]}
LOCKED = "the user Ansible connects as ('admin') would be locked out: "


def _config(**overrides):
    config = {"permit_root_login": "no", "pubkey_algorithms": ACCEPTED}
    config.update(overrides)
    return config


def _keyed(*users, key_types=("ssh-ed25519",), groups=("users",)):
    return {user: {"groups": list(groups), "key_types": list(key_types)} for user in users}


def test_defaults_let_everyone_in():
    assert ssh_lockout_problems(_config(), ADMIN, _keyed("admin", "alice")) == []


@pytest.mark.parametrize("allow_groups", [["sudo"], ["ssh-users", "sudo"], ["su*"], ["?dmin"]])
def test_allowed_via_group(allow_groups):
    assert ssh_lockout_problems(_config(allow_groups=allow_groups), ADMIN, {}) == []


def test_blocked_by_allow_groups():
    problems = ssh_lockout_problems(_config(allow_groups=["ssh-users"]), ADMIN, {})
    assert problems == [
        LOCKED + "none of its groups (admin, sudo) matches ssh_hardening_allow_groups (ssh-users)"
    ]


def test_blocked_by_allow_groups_without_known_groups():
    login = {"user": "admin", "key_types": ["ssh-ed25519"]}
    problems = ssh_lockout_problems(_config(allow_groups=["sudo"]), login, {})
    assert problems == [
        LOCKED + "none of its groups (none known) matches ssh_hardening_allow_groups (sudo)"
    ]


@pytest.mark.parametrize("pattern", ["admin", "adm*", "a?min", "*", "admin@*"])
def test_blocked_by_deny_users_pattern(pattern):
    problems = ssh_lockout_problems(_config(deny_users=["bob", pattern]), ADMIN, {})
    assert problems == [LOCKED + f"matched by ssh_hardening_deny_users entry {pattern!r}"]


@pytest.mark.parametrize("pattern", ["Admin", "admins", "adm", "bob@*"])
def test_deny_users_not_matching(pattern):
    assert ssh_lockout_problems(_config(deny_users=[pattern]), ADMIN, {}) == []


def test_deny_users_with_host_counts_as_possibly_denying():
    problems = ssh_lockout_problems(_config(deny_users=["admin@203.0.113.7"]), ADMIN, {})
    assert problems == [
        LOCKED + "matched by ssh_hardening_deny_users entry 'admin@203.0.113.7'"
        " (may match: the guard does not know the client address)"
    ]


def test_blocked_by_deny_groups():
    problems = ssh_lockout_problems(_config(deny_groups=["nosh", "su*"]), ADMIN, {})
    assert problems == [LOCKED + "its group 'sudo' matches ssh_hardening_deny_groups entry 'su*'"]


@pytest.mark.parametrize("allow_users", [["admin"], ["bob", "adm?n"], ["admin@*"], ["*"]])
def test_allowed_via_allow_users(allow_users):
    assert ssh_lockout_problems(_config(allow_users=allow_users), ADMIN, {}) == []


@pytest.mark.parametrize("entry", ["admin@192.0.2.1", "admin@10.0.0.0/8", "*@example.org"])
def test_user_at_host_entry_does_not_count_as_allowing(entry):
    problems = ssh_lockout_problems(_config(allow_users=[entry]), ADMIN, {})
    assert problems == [
        LOCKED + f"not matched by ssh_hardening_allow_users ({entry}; user@host entries with"
        " a host other than '*' are not counted)"
    ]


def test_user_must_pass_all_access_lists():
    config = _config(allow_users=["admin"], allow_groups=["ssh-users"])
    problems = ssh_lockout_problems(config, ADMIN, {})
    assert len(problems) == 1
    assert "ssh_hardening_allow_users" not in problems[0]
    assert "ssh_hardening_allow_groups (ssh-users)" in problems[0]


def test_all_reasons_are_reported():
    config = _config(deny_users=["admin"], allow_groups=["wheel"], pubkey_algorithms=["ssh-rsa"])
    (problem,) = ssh_lockout_problems(config, ADMIN, {})
    assert problem == (
        LOCKED + "matched by ssh_hardening_deny_users entry 'admin';"
        " none of its groups (admin, sudo) matches ssh_hardening_allow_groups (wheel);"
        " none of its key types (ssh-ed25519) is accepted by ssh_hardening_pubkey_algorithms"
    )


ROOT = {"user": "root", "groups": ["root"], "key_types": ["ssh-ed25519"]}


def test_root_with_permit_root_login_no():
    assert ssh_lockout_problems(_config(permit_root_login="no"), ROOT, {}) == [
        "the user Ansible connects as ('root') would be locked out:"
        " root login is off (ssh_hardening_permit_root_login: no)"
    ]


def test_root_with_forced_commands_only():
    (problem,) = ssh_lockout_problems(_config(permit_root_login="forced-commands-only"), ROOT, {})
    assert problem.startswith("the user Ansible connects as ('root') would be locked out:")
    assert "ssh_hardening_permit_root_login: forced-commands-only" in problem
    assert "shell" in problem


@pytest.mark.parametrize("setting", ["prohibit-password", "without-password", "yes"])
def test_root_with_key_login(setting):
    assert ssh_lockout_problems(_config(permit_root_login=setting), ROOT, {}) == []


def test_permit_root_login_no_does_not_affect_others():
    assert ssh_lockout_problems(_config(permit_root_login="no"), ADMIN, _keyed("alice")) == []


@pytest.mark.parametrize(
    ("key_type", "accepted", "expected"),
    [
        ("ssh-rsa", ["rsa-sha2-512"], True),
        ("ssh-rsa", ["rsa-sha2-256"], True),
        ("ssh-rsa", ["ssh-rsa"], True),
        ("ssh-rsa", ["ssh-ed25519", "rsa-sha2-512-cert-v01@openssh.com"], False),
        ("ssh-rsa-cert-v01@openssh.com", ["rsa-sha2-256-cert-v01@openssh.com"], True),
        ("ssh-rsa-cert-v01@openssh.com", ["rsa-sha2-256"], False),
        ("ssh-ed25519", ["ssh-ed25519"], True),
        ("ssh-ed25519", ["ssh-ed25519-cert-v01@openssh.com"], False),
        ("ecdsa-sha2-nistp256", ["ecdsa-sha2-nistp*"], True),
        ("ssh-dss", ACCEPTED, False),
        ("sk-ecdsa-sha2-nistp256@openssh.com", ACCEPTED, True),
    ],
)
def test_key_type_accepted(key_type, accepted, expected):
    assert key_type_accepted(key_type, accepted) is expected


def test_rsa_key_with_rsa_sha2_accepted():
    login = dict(ADMIN, key_types=["ssh-rsa"])
    config = _config(pubkey_algorithms=["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"])
    assert ssh_lockout_problems(config, login, _keyed("alice", key_types=["ssh-rsa"])) == []


def test_key_types_not_accepted():
    login = dict(ADMIN, key_types=["ssh-rsa", "ecdsa-sha2-nistp256"])
    problems = ssh_lockout_problems(_config(pubkey_algorithms=["ssh-ed25519"]), login, {})
    assert problems == [
        LOCKED + "none of its key types (ssh-rsa, ecdsa-sha2-nistp256) is accepted by"
        " ssh_hardening_pubkey_algorithms"
    ]


def test_login_user_without_an_authorized_key_is_refused():
    # With password login off, the account Ansible uses needs a key sshd can find.
    login = dict(ADMIN, key_types=[])
    assert ssh_lockout_problems(_config(pubkey_algorithms=["ssh-ed25519"]), login, {}) == [
        LOCKED + "no authorized key was found for it (~/.ssh/authorized_keys, authorized_keys2),"
        " and password login is off (add its key first, or set"
        " ssh_hardening_lockout_guard: false if sshd finds keys elsewhere)"
    ]


def test_unknown_key_types_of_other_users_skip_the_key_check():
    keyed = {"alice": {"groups": ["users"], "key_types": []}}
    assert ssh_lockout_problems(_config(pubkey_algorithms=["ssh-ed25519"]), None, keyed) == []


HARDWARE_FOR_ANSIBLE = (
    "its group 'sudo' is in ssh_hardening_hardware_key_groups: a FIDO2 key needs a touch or"
    " PIN, which Ansible cannot give (connect as an account outside it)"
)


def test_hardware_group_member_with_only_ed25519_key():
    config = _config(hardware_key_groups=["sudo"])
    keyed = {"admin": {"groups": ["admin", "sudo"], "key_types": ["ssh-ed25519"]}}
    assert ssh_lockout_problems(config, None, keyed) == [
        "no user with an authorized key could log in: admin: its group 'sudo' is in"
        " ssh_hardening_hardware_key_groups, which only allows FIDO2 (sk-*) keys, but it has"
        " only ssh-ed25519"
    ]
    assert ssh_lockout_problems(config, ADMIN, {}) == [
        LOCKED + "its group 'sudo' is in ssh_hardening_hardware_key_groups, which only allows"
        " FIDO2 (sk-*) keys, but it has only ssh-ed25519; " + HARDWARE_FOR_ANSIBLE
    ]


def test_sftp_only_group_member_cannot_be_the_ansible_user():
    problems = ssh_lockout_problems(_config(sftp_only_groups=["sudo"]), ADMIN, {})
    assert problems == [
        LOCKED + "its group 'sudo' is ssh_hardening_sftp_chroot_group: SFTP only, no shell"
    ]


@pytest.mark.parametrize(
    "sk_type", ["sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"]
)
def test_hardware_group_member_with_sk_key(sk_type):
    # A person with a token gets in; Ansible cannot use the token.
    keyed = {"admin": {"groups": ["admin", "sudo"], "key_types": ["ssh-ed25519", sk_type]}}
    assert ssh_lockout_problems(_config(hardware_key_groups=["su*"]), None, keyed) == []
    login = dict(ADMIN, key_types=["ssh-ed25519", sk_type])
    assert ssh_lockout_problems(_config(hardware_key_groups=["su*"]), login, {}) == [
        LOCKED + HARDWARE_FOR_ANSIBLE
    ]


def test_hardware_group_sk_key_must_still_be_accepted():
    login = dict(ADMIN, key_types=["ssh-ed25519", "sk-ecdsa-sha2-nistp256@openssh.com"])
    config = _config(hardware_key_groups=["sudo"], pubkey_algorithms=["ssh-ed25519"])
    (problem,) = ssh_lockout_problems(config, login, {})
    assert "ssh_hardening_hardware_key_groups" in problem


def test_hardware_group_non_member():
    config = _config(hardware_key_groups=["tokens"])
    assert ssh_lockout_problems(config, ADMIN, {}) == []


KEYED_ADMIN = {"admin": {"groups": ["admin", "sudo"], "key_types": ["ssh-ed25519"]}}
NOBODY = "no user with an authorized key could log in: admin: "


@pytest.mark.parametrize(
    ("nullok", "ready", "locked"),
    [(False, [], True), (True, [], False), (False, ["admin"], False), (False, ["alice"], True)],
)
def test_totp_without_secret(nullok, ready, locked):
    config = _config(totp_users=["admin", "alice"], totp_ready_users=ready, totp_nullok=nullok)
    problems = ssh_lockout_problems(config, None, KEYED_ADMIN)
    if locked:
        assert problems == [
            NOBODY + "it needs a TOTP code (ssh_hardening_totp_users) but has no TOTP secret yet"
            " (enrol one first, or take it out of ssh_hardening_totp_users)"
        ]
    else:
        assert problems == []


@pytest.mark.parametrize(
    ("nullok", "ready", "locked"),
    [(False, [], True), (True, [], False), (False, ["admin"], False)],
)
def test_totp_group_member_without_secret(nullok, ready, locked):
    config = _config(totp_groups=["wheel", "su*"], totp_ready_users=ready, totp_nullok=nullok)
    problems = ssh_lockout_problems(config, None, KEYED_ADMIN)
    if locked:
        assert problems == [
            NOBODY + "it needs a TOTP code (ssh_hardening_totp_groups) but has no TOTP secret yet"
            " (enrol one first, or take it out of ssh_hardening_totp_groups)"
        ]
    else:
        assert problems == []


@pytest.mark.parametrize("ready", [[], ["admin"]])
def test_totp_refused_for_the_ansible_user(ready):
    # Even with a secret: Ansible cannot answer the keyboard-interactive prompt.
    config = _config(totp_groups=["sudo"], totp_ready_users=ready, totp_nullok=True)
    assert ssh_lockout_problems(config, ADMIN, {}) == [
        LOCKED + "it needs a TOTP code (ssh_hardening_totp_groups), which Ansible cannot type"
        " (connect as an account outside ssh_hardening_totp_groups)"
    ]


def test_totp_keyed_user_without_secret_counts_as_locked_out():
    config = _config(totp_groups=["users"], totp_ready_users=["bob"])
    (problem,) = ssh_lockout_problems(config, None, _keyed("alice"))
    assert problem.startswith("no user with an authorized key could log in: alice: it needs a TOTP")
    assert ssh_lockout_problems(config, None, _keyed("alice", "bob")) == []


def test_totp_applies_to_listed_users_only():
    config = _config(totp_users=["alice"], totp_groups=["wheel"])
    assert ssh_lockout_problems(config, ADMIN, {}) == []


def test_keyed_users_none_can_log_in():
    keyed = {
        "alice": {"groups": ["users"], "key_types": ["ssh-dss"]},
        "bob": {"groups": ["users", "sudo"], "key_types": ["ssh-ed25519"]},
    }
    config = _config(deny_groups=["sudo"])
    problems = ssh_lockout_problems(config, None, keyed)
    assert problems == [
        "no user with an authorized key could log in:"
        " alice: none of its key types (ssh-dss) is accepted by ssh_hardening_pubkey_algorithms;"
        " bob: its group 'sudo' matches ssh_hardening_deny_groups entry 'sudo'"
    ]


def test_keyed_users_one_can_log_in():
    keyed = {**_keyed("alice", key_types=["ssh-dss"]), **_keyed("carol")}
    assert ssh_lockout_problems(_config(), None, keyed) == []


def test_keyed_users_list_is_capped():
    keyed = _keyed(*(f"user{i:02}" for i in range(15)), key_types=["ssh-dss"])
    (problem,) = ssh_lockout_problems(_config(), None, keyed)
    assert problem.count("none of its key types") == 10
    assert "user09:" in problem
    assert "user10:" not in problem
    assert problem.endswith("; ... and 5 more")


def test_login_and_keyed_users_both_reported():
    config = _config(allow_users=["nobody"])
    problems = ssh_lockout_problems(config, ADMIN, _keyed("admin", "alice"))
    assert len(problems) == 2
    assert problems[0].startswith(LOCKED)
    assert problems[1].startswith("no user with an authorized key could log in: admin: ")


def test_login_none_with_no_keyed_users():
    assert ssh_lockout_problems(_config(), None, {}) == [
        "no user has an authorized key: with password login off nobody could log in"
    ]


def test_login_user_without_keyed_users_is_enough():
    assert ssh_lockout_problems(_config(), ADMIN, {}) == []


@pytest.mark.parametrize(
    ("config", "login", "keyed", "message"),
    [
        (None, ADMIN, {}, "^config must be a dict"),
        ([], ADMIN, {}, "^config must be a dict"),
        (_config(allowusers=["a"]), ADMIN, {}, "^config has unknown keys allowusers; known: "),
        (_config(allow_users="admin"), ADMIN, {}, "^config.allow_users must be a list of strings"),
        (_config(deny_groups=[None]), ADMIN, {}, "^config.deny_groups must be a list of strings"),
        (_config(permit_root_login=False), ADMIN, {}, "^config.permit_root_login must be one of"),
        (_config(permit_root_login="No"), ADMIN, {}, "^config.permit_root_login must be one of"),
        ({"pubkey_algorithms": ACCEPTED}, ADMIN, {}, "^config.permit_root_login must be one of"),
        ({"permit_root_login": "no"}, ADMIN, {}, "^config.pubkey_algorithms is required"),
        (
            _config(pubkey_algorithms="ssh-ed25519,rsa-sha2-512"),
            ADMIN,
            {},
            "^config.pubkey_algorithms must be a list of strings",
        ),
        (_config(totp_nullok="yes"), ADMIN, {}, "^config.totp_nullok must be a boolean"),
        (_config(totp_groups="sudo"), ADMIN, {}, "^config.totp_groups must be a list of strings"),
        (_config(), "admin", {}, "^login must be None or a dict"),
        (_config(), {"groups": []}, {}, "^login.user must be a user name"),
        (_config(), {"user": ""}, {}, "^login.user must be a user name"),
        (_config(), dict(ADMIN, groups="sudo"), {}, "^login.groups must be a list of strings"),
        (_config(), dict(ADMIN, key_types=None), {}, "^login.key_types must be a list"),
        (_config(), ADMIN, None, "^keyed_users must be a dict"),
        (_config(), ADMIN, ["alice"], "^keyed_users must be a dict"),
        (_config(), ADMIN, {"alice": ["ssh-ed25519"]}, r"^keyed_users\['alice'\] must be a dict"),
        (
            _config(),
            ADMIN,
            {"alice": {"key_types": "ssh-ed25519"}},
            r"^keyed_users\['alice'\].key_types must be a list of strings",
        ),
        (_config(), ADMIN, {1: {}}, "^keyed_users keys must be user names"),
    ],
)
def test_lockout_guard_rejects_bad_input(config, login, keyed, message):
    with pytest.raises(ValueError, match=message):
        ssh_lockout_problems(config, login, keyed)


# ---------------------------------------------------------------------------------------
# ssh_kex_with_fallback / ssh_client_kex_problems (can the controller still connect?)
# ---------------------------------------------------------------------------------------

# `ssh -Q kex` of OpenSSH_8.4p1 Debian-5+deb11u3: sntrup761 came in 8.5, the withdrawn
# sntrup4591761 of 8.0-8.4 is no use.
DEBIAN_11_KEX = _lines(
    "diffie-hellman-group1-sha1 diffie-hellman-group14-sha1 diffie-hellman-group14-sha256"
    " diffie-hellman-group16-sha512 diffie-hellman-group18-sha512"
    " diffie-hellman-group-exchange-sha1 diffie-hellman-group-exchange-sha256"
    " ecdh-sha2-nistp256 ecdh-sha2-nistp384 ecdh-sha2-nistp521 curve25519-sha256"
    " curve25519-sha256@libssh.org sntrup4591761x25519-sha512@tinyssh.org"
)
# What the role writes on Debian 12 by default, and with the classic fallback.
PQ_ONLY = ["sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com"]
WITH_FALLBACK = [*PQ_ONLY, "curve25519-sha256", "curve25519-sha256@libssh.org"]


def _final_kex(server=DEBIAN_12_KEX, fallback=False):
    """The KexAlgorithms list the role computes (algorithms.yml)."""
    return ssh_algorithms(ssh_kex_with_fallback(list(ssh_hardening.KEX), fallback), server, "kex")


def test_final_kex_lists():
    assert _final_kex() == PQ_ONLY
    assert _final_kex(fallback=True) == WITH_FALLBACK
    assert _final_kex(DEBIAN_13_KEX, fallback=True) == [
        "mlkem768x25519-sha256",
        *WITH_FALLBACK,
    ]
    # A server without the @libssh.org name gets only curve25519-sha256 appended.
    server = DEBIAN_12_KEX.replace("curve25519-sha256@libssh.org\n", "")
    assert _final_kex(server, fallback=True) == [*PQ_ONLY, "curve25519-sha256"]


def test_fallback_is_appended_after_the_wanted_list():
    assert ssh_kex_with_fallback(["sntrup761x25519-sha512"]) == ["sntrup761x25519-sha512"]
    assert ssh_kex_with_fallback(["sntrup761x25519-sha512"], True) == [
        "sntrup761x25519-sha512",
        *ssh_hardening.KEX_CLASSIC_FALLBACK,
    ]
    # A name the user already listed keeps its place; duplicates are dropped.
    assert ssh_kex_with_fallback(
        ["curve25519-sha256@libssh.org", "sntrup761x25519-sha512", "sntrup761x25519-sha512"], True
    ) == ["curve25519-sha256@libssh.org", "sntrup761x25519-sha512", "curve25519-sha256"]
    assert all(weak_reasons(name, "kex") == [] for name in ssh_hardening.KEX_CLASSIC_FALLBACK)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (["sntrup761x25519-sha512"], "yes"),
            "^ssh_hardening_kex_classic_fallback must be a boolean",
        ),
        ((["sntrup761x25519-sha512"], 1), "^ssh_hardening_kex_classic_fallback must be a boolean"),
        (("sntrup761x25519-sha512", True), "^ssh_hardening_kex_algorithms must be a list"),
        (([], True), "^ssh_hardening_kex_algorithms is empty"),
    ],
)
def test_fallback_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        ssh_kex_with_fallback(*args)


@pytest.mark.parametrize(
    "connection", ["ssh", "smart", "ansible.builtin.ssh", "ansible.legacy.ssh"]
)
@pytest.mark.parametrize(
    ("server", "client"),
    [
        pytest.param(DEBIAN_12_KEX, DEBIAN_12_KEX, id="debian-12-server-debian-12-client"),
        pytest.param(DEBIAN_12_OLD_KEX, DEBIAN_12_KEX, id="debian-12-before-deb12u4-server"),
        pytest.param(DEBIAN_13_KEX, DEBIAN_12_KEX, id="debian-13-server-debian-12-client"),
        pytest.param(DEBIAN_12_KEX, DEBIAN_13_KEX, id="debian-12-server-debian-13-client"),
        # OpenSSH 8.5-9.1: only the @openssh.com name, in the client's default list.
        pytest.param(DEBIAN_12_KEX, DEBIAN_12_OLD_KEX, id="openssh-8.5-client"),
    ],
)
def test_client_with_a_post_quantum_kex_can_reconnect(server, client, connection):
    assert ssh_client_kex_problems(_final_kex(server), client, connection) == []


def test_openssh_8_client_is_refused_naming_the_variables():
    problems = ssh_client_kex_problems(PQ_ONLY, DEBIAN_11_KEX, "ssh", False, "/usr/bin/ssh")
    assert len(problems) == 1
    problem = problems[0]
    assert problem.startswith(
        "the controller's OpenSSH client (`/usr/bin/ssh -Q kex`) supports none of the key"
        " exchange algorithms sshd would offer (sntrup761x25519-sha512,"
        " sntrup761x25519-sha512@openssh.com): Ansible could not reconnect after the reload."
    )
    # What the client supports, so the user can choose.
    assert "The client supports: diffie-hellman-group1-sha1, " in problem
    assert "curve25519-sha256, curve25519-sha256@libssh.org, sntrup4591761x25519" in problem
    # Both ways out, by variable name.
    assert "set ssh_hardening_kex_classic_fallback: true (adds curve25519-sha256" in problem
    assert "no post-quantum protection" in problem
    assert problem.endswith("or list one it supports in ssh_hardening_kex_algorithms")


def test_classic_fallback_lets_an_openssh_8_client_in():
    assert ssh_client_kex_problems(_final_kex(fallback=True), DEBIAN_11_KEX, "ssh", True) == []


def test_fallback_already_on_is_not_suggested_again():
    # A client that knows only classic DH (no curve25519, no sntrup761).
    client = _lines("diffie-hellman-group14-sha256 diffie-hellman-group16-sha512")
    [problem] = ssh_client_kex_problems(_final_kex(fallback=True), client, "ssh", True)
    assert "(ssh_hardening_kex_classic_fallback is already on)" in problem
    assert "set ssh_hardening_kex_classic_fallback" not in problem
    assert "ssh_hardening_kex_algorithms" in problem


@pytest.mark.parametrize(
    "connection",
    ["paramiko", "paramiko_ssh", "ansible.builtin.paramiko_ssh", "ansible.legacy.paramiko_ssh"],
)
def test_paramiko_is_refused_for_post_quantum_only_kex(connection):
    # The client's `ssh -Q kex` does not matter: paramiko is not OpenSSH.
    for client in ("", DEBIAN_12_KEX):
        [problem] = ssh_client_kex_problems(PQ_ONLY, client, connection)
        assert problem.startswith(
            f"Ansible connects with paramiko (ansible_connection: {connection}), which implements"
            " no post-quantum key exchange"
        )
        assert "it could not reconnect after the reload" in problem
        assert "set ansible_connection: ssh" in problem
        assert "ssh_hardening_kex_classic_fallback: true" in problem


def test_paramiko_with_the_classic_fallback_can_reconnect():
    assert ssh_client_kex_problems(_final_kex(fallback=True), "", "paramiko", True) == []
    # Only curve25519-sha256@libssh.org helps: paramiko lacks the RFC 8731 name.
    [problem] = ssh_client_kex_problems([*PQ_ONLY, "curve25519-sha256"], "", "paramiko", True)
    assert "ssh_hardening_kex_classic_fallback is on, but this sshd does not offer" in problem


@pytest.mark.parametrize(
    "connection", ["local", "containers.podman.podman", "community.docker.docker", "podman"]
)
def test_connections_without_ssh_are_not_checked(connection):
    assert ssh_client_kex_problems(PQ_ONLY, "", connection) == []


def test_client_output_as_lines():
    assert ssh_client_kex_problems(PQ_ONLY, DEBIAN_12_KEX.splitlines(), "ssh") == []
    assert ssh_client_kex_problems(PQ_ONLY, ["  sntrup761x25519-sha512  ", ""], "ssh") == []


@pytest.mark.parametrize(
    ("client", "error", "message"),
    [
        ("", "", r"^`ssh -Q kex` on the controller printed no key exchange algorithms: "),
        ("\n \n", "", "printed no key exchange algorithms: the lock-out guard cannot tell"),
        ([], "", "printed no key exchange algorithms"),
        (
            "",
            "exit status 2: Error executing command.\nmore",
            r"printed no key exchange algorithms \(exit status 2: Error executing command.\):",
        ),
        (
            'Unsupported query "kex"\n',
            "",
            r"did not print a list of key exchange algorithms \(unexpected line: 'Unsupported query",
        ),
        (
            "usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface]\n",
            "",
            "unexpected line: 'usage: ssh",
        ),
        ("sntrup761x25519-sha512\ncurve25519-sha256,ecdh-sha2-nistp256\n", "", "unexpected line"),
        ("x" * 65 + "\n", "", "unexpected line"),
    ],
)
def test_empty_or_garbled_client_output_is_a_clear_error(client, error, message):
    with pytest.raises(ValueError, match=message) as excinfo:
        ssh_client_kex_problems(PQ_ONLY, client, "ssh", False, "ssh", error)
    assert "ansible_ssh_executable" in str(excinfo.value)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (
            ("sntrup761x25519-sha512", DEBIAN_12_KEX),
            {},
            "^ssh_hardening_kex_algorithms must be a list",
        ),
        (([], DEBIAN_12_KEX), {}, "^ssh_hardening_kex_algorithms is empty"),
        ((PQ_ONLY, None), {}, "^client_kex must be the output of `ssh -Q kex`"),
        ((PQ_ONLY, [1]), {}, "^client_kex must be the output of `ssh -Q kex`"),
        ((PQ_ONLY, DEBIAN_12_KEX, None), {}, "^connection must be a non-empty string"),
        ((PQ_ONLY, DEBIAN_12_KEX, ""), {}, "^connection must be a non-empty string"),
        ((PQ_ONLY, DEBIAN_12_KEX), {"client": ""}, "^client must be a non-empty string"),
        ((PQ_ONLY, DEBIAN_12_KEX), {"classic_fallback": "false"}, "must be a boolean"),
        ((PQ_ONLY, DEBIAN_12_KEX), {"client_error": None}, "^client_error must be a string"),
    ],
)
def test_client_kex_check_rejects_bad_input(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ssh_client_kex_problems(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# TOTP: the secrets' checks and sshd's PAM stack (module_utils/ssh_totp.py)
# ---------------------------------------------------------------------------------------

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
ACCOUNTS = {"alice": ["x", "1000", "1000", "", "/home/alice", "/bin/bash"],
            "bob": ["x", "1001", "1001", "", "/home/bob", "/bin/bash"]}


@pytest.mark.parametrize("secret", [SECRET, SECRET.lower(), "ABCDEFGHIJKLMNOP", "A" * 103])
def test_good_totp_secrets_pass(secret):
    assert ssh_totp_secret_problems([{"user": "alice", "secret": secret}], ACCOUNTS) == []
    assert ssh_totp_secret_problems([{"user": "alice", "secret": secret}], list(ACCOUNTS)) == []


def test_no_totp_secrets_pass():
    assert ssh_totp_secret_problems([], {}) == []


@pytest.mark.parametrize(
    "secret",
    [
        "ABCDEFGHIJKLMNO",  # 15 characters
        SECRET + "======",  # padding: pam_google_authenticator's decoder stops at "="
        "JBSWY3DPEHPK3PX0",  # 0, 1, 8, 9 are not base32
        "JBSWY3DPEHPK3PX9",
        "JBSW Y3DP EHPK 3PXP",
        SECRET + "\n",  # a newline would add a line to ~/.google_authenticator
        "\n" + SECRET,
        SECRET + '\n" RATE_LIMIT 100 1',
        "",
    ],
)
def test_a_malformed_secret_is_refused_naming_the_user_not_the_secret(secret):
    problems = ssh_totp_secret_problems([{"user": "alice", "secret": secret}], ACCOUNTS)
    assert problems == [
        "ssh_hardening_totp_secrets: the secret for alice is not base32 of 16 or more characters"
        " (A-Z and 2-7 only, no '=' padding, no spaces or newlines)"
    ]
    if secret:
        assert secret.strip() not in " ".join(problems)


@pytest.mark.parametrize("secret", [None, 12345678901234567890, ["JBSWY3DPEHPK3PXP"]])
def test_a_secret_that_is_not_a_string_is_refused(secret):
    assert ssh_totp_secret_problems([{"user": "bob", "secret": secret}], ACCOUNTS) == [
        "ssh_hardening_totp_secrets: the secret for bob is not a string"
    ]


def test_an_unknown_user_is_refused_by_name():
    problems = ssh_totp_secret_problems(
        [{"user": "alice", "secret": SECRET}, {"user": "carol", "secret": SECRET}], ACCOUNTS)
    assert problems == ["ssh_hardening_totp_secrets: no such user on this host: carol"]
    assert SECRET not in " ".join(problems)


def test_every_problem_is_listed():
    problems = ssh_totp_secret_problems(
        [{"user": "carol", "secret": "short"}, {"user": "alice", "secret": SECRET},
         {"user": "alice", "secret": SECRET}], ACCOUNTS)
    assert problems == [
        "ssh_hardening_totp_secrets: no such user on this host: carol",
        "ssh_hardening_totp_secrets: the secret for carol is not base32 of 16 or more characters"
        " (A-Z and 2-7 only, no '=' padding, no spaces or newlines)",
        "ssh_hardening_totp_secrets: alice is listed more than once (one secret per user)",
    ]


def test_user_and_secret_swapped_does_not_print_the_secret():
    [problem] = ssh_totp_secret_problems([{"user": SECRET, "secret": "alice"}], ACCOUNTS)
    assert problem == (
        "ssh_hardening_totp_secrets[0].user is not an account on this host and looks like a TOTP secret"
        " (user and secret swapped?); the value is not shown")
    assert SECRET not in problem


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("alice", "ssh_hardening_totp_secrets[0] must be a dict with user and secret"),
        ({"secret": SECRET}, "ssh_hardening_totp_secrets[0].user must be the name of an account"),
        ({"user": "", "secret": SECRET}, "ssh_hardening_totp_secrets[0].user must be the name of an account"),
        ({"user": ["alice"], "secret": SECRET}, "ssh_hardening_totp_secrets[0].user must be the name of an account"),
    ],
)
def test_malformed_entries_are_refused(entry, message):
    assert ssh_totp_secret_problems([entry], ACCOUNTS) == [message]


@pytest.mark.parametrize(
    ("secrets", "accounts", "message"),
    [
        ({"user": "alice", "secret": SECRET}, ACCOUNTS, "^ssh_hardening_totp_secrets must be a list"),
        (None, ACCOUNTS, "^ssh_hardening_totp_secrets must be a list"),
        ([], None, "^accounts must be the getent passwd facts or a list of user names"),
        ([], "alice", "^accounts must be"),
        ([], [1], "^accounts must be"),
    ],
)
def test_totp_secret_check_rejects_bad_input(secrets, accounts, message):
    with pytest.raises(ValueError, match=message) as excinfo:
        ssh_totp_secret_problems(secrets, accounts)
    assert SECRET not in str(excinfo.value)


# /etc/pam.d/sshd of openssh-server 1:9.2p1-2+deb12u10 (Debian 12).
DEBIAN_12_PAM_SSHD = """# PAM configuration for the Secure Shell service

# Standard Un*x authentication.
@include common-auth

# Disallow non-root logins when /etc/nologin exists.
account    required     pam_nologin.so

# Uncomment and edit /etc/security/access.conf if you need to set complex
# access limits that are hard to express in sshd_config.
# account  required     pam_access.so

# Standard Un*x authorization.
@include common-account

# SELinux needs to be the first session rule.  This ensures that any
# lingering context has been cleared.  Without this it is possible that a
# module could execute code in the wrong domain.
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so close

# Set the loginuid process attribute.
session    required     pam_loginuid.so

# Create a new session keyring.
session    optional     pam_keyinit.so force revoke

# Standard Un*x session setup and teardown.
@include common-session

# Print the message of the day upon successful login.
# This includes a dynamically generated part from /run/motd.dynamic
# and a static (admin-editable) part from /etc/motd.
session    optional     pam_motd.so  motd=/run/motd.dynamic
session    optional     pam_motd.so noupdate

# Print the status of the user's mailbox upon successful login.
session    optional     pam_mail.so standard noenv # [1]

# Set up user limits from /etc/security/limits.conf.
session    required     pam_limits.so

# Read environment variables from /etc/environment and
# /etc/security/pam_env.conf.
session    required     pam_env.so # [1]
# In Debian 4.0 (etch), locale-related environment variables were moved to
# /etc/default/locale, so read that as well.
session    required     pam_env.so user_readenv=1 envfile=/etc/default/locale

# SELinux needs to intervene at login time to ensure that the process starts
# in the proper default security context.  Only sessions which are intended
# to run in the user's context should be run after this.
session [success=ok ignore=ignore module_unknown=ignore default=bad]        pam_selinux.so open

# Standard Un*x password updating.
@include common-password
"""
TOTP_LINES = ("auth required pam_google_authenticator.so\n"
              "# @include common-auth  (fedisec.hardening: key + TOTP, no password)\n")
NULLOK_LINES = ("auth required pam_google_authenticator.so nullok\n"
                "auth required pam_permit.so\n"
                "# @include common-auth  (fedisec.hardening: key + TOTP, no password)\n")


def test_totp_replaces_common_auth_only():
    enabled = pam_sshd_totp(DEBIAN_12_PAM_SSHD, True)
    assert enabled == DEBIAN_12_PAM_SSHD.replace("@include common-auth\n", TOTP_LINES)
    # The account, session and password stacks stay as they are.
    assert "@include common-account\n" in enabled and "@include common-password\n" in enabled
    assert pam_sshd_asks_totp(enabled) is True
    assert pam_sshd_asks_totp(DEBIAN_12_PAM_SSHD) is False


def test_nullok_adds_pam_permit_after_the_module():
    enabled = pam_sshd_totp(DEBIAN_12_PAM_SSHD, True, True)
    assert enabled == DEBIAN_12_PAM_SSHD.replace("@include common-auth\n", NULLOK_LINES)
    assert pam_sshd_asks_totp(enabled) is True


@pytest.mark.parametrize("nullok", [False, True])
def test_totp_on_is_idempotent(nullok):
    once = pam_sshd_totp(DEBIAN_12_PAM_SSHD, True, nullok)
    assert pam_sshd_totp(once, True, nullok) == once


@pytest.mark.parametrize(("before", "after"), [(False, True), (True, False)])
def test_nullok_switches_both_ways(before, after):
    switched = pam_sshd_totp(pam_sshd_totp(DEBIAN_12_PAM_SSHD, True, before), True, after)
    assert switched == pam_sshd_totp(DEBIAN_12_PAM_SSHD, True, after)


@pytest.mark.parametrize("nullok", [False, True])
def test_totp_off_gives_back_debians_file_byte_for_byte(nullok):
    enabled = pam_sshd_totp(DEBIAN_12_PAM_SSHD, True, nullok)
    assert pam_sshd_totp(enabled, False) == DEBIAN_12_PAM_SSHD
    assert pam_sshd_totp(enabled, False, nullok) == DEBIAN_12_PAM_SSHD
    assert pam_sshd_totp(DEBIAN_12_PAM_SSHD, False) == DEBIAN_12_PAM_SSHD


def test_what_earlier_versions_wrote_is_recognised():
    # lineinfile (the module inserted before the include, pam_permit after the module) and
    # replace (the include commented out): the same lines, so a converged host sees no change.
    earlier = DEBIAN_12_PAM_SSHD.replace(
        "@include common-auth\n",
        "auth required pam_google_authenticator.so nullok\nauth required pam_permit.so\n"
        "# @include common-auth  (fedisec.hardening: key + TOTP, no password)\n")
    assert pam_sshd_totp(earlier, True, True) == earlier
    assert pam_sshd_totp(earlier, False) == DEBIAN_12_PAM_SSHD
    # Extra blanks between the words: the same lines to PAM, normalised once.
    spaced = earlier.replace("auth required pam_permit.so", "auth   required\tpam_permit.so")
    assert pam_sshd_asks_totp(spaced) is True
    assert pam_sshd_totp(spaced, True, True) == earlier


def test_lines_the_role_did_not_write_stay():
    # An admin's own module line elsewhere in the auth stack stays, on and off.
    own = DEBIAN_12_PAM_SSHD.replace(
        "# Disallow non-root", "auth optional pam_faildelay.so delay=4000000\n\n# Disallow non-root")
    enabled = pam_sshd_totp(own, True)
    assert "auth optional pam_faildelay.so delay=4000000\n" in enabled
    assert pam_sshd_totp(enabled, False) == own
    # A pam_google_authenticator line of the admin's own, without the role's marker, is
    # not the role's: TOTP off leaves the file alone.
    by_hand = DEBIAN_12_PAM_SSHD.replace(
        "@include common-auth\n", "auth required pam_google_authenticator.so secret=/var/lib/totp/${USER}\n")
    assert pam_sshd_totp(by_hand, False) == by_hand
    assert pam_sshd_asks_totp(by_hand) is False


def test_the_marker_without_the_module_is_not_ready():
    broken = DEBIAN_12_PAM_SSHD.replace(
        "@include common-auth\n", "# @include common-auth  (fedisec.hardening: key + TOTP, no password)\n")
    assert pam_sshd_asks_totp(broken) is False
    assert pam_sshd_totp(broken, True) == pam_sshd_totp(DEBIAN_12_PAM_SSHD, True)
    assert pam_sshd_totp(broken, False) == DEBIAN_12_PAM_SSHD


def test_a_file_without_a_trailing_newline_keeps_it_so():
    text = DEBIAN_12_PAM_SSHD.rstrip("\n")
    assert pam_sshd_totp(pam_sshd_totp(text, True), False) == text


@pytest.mark.parametrize(
    "text",
    [
        DEBIAN_12_PAM_SSHD.replace("@include common-auth\n", ""),
        DEBIAN_12_PAM_SSHD.replace("@include common-auth\n", "#@include common-auth\n"),
        DEBIAN_12_PAM_SSHD + "@include common-auth\n",
        "",
    ],
)
def test_enabling_needs_exactly_one_common_auth_include(text):
    with pytest.raises(ValueError, match=r"^/etc/pam.d/sshd must have exactly one '@include common-auth' line"):
        pam_sshd_totp(text, True)
    # Off: nothing of the role's to take out, the file stays.
    assert pam_sshd_totp(text, False) == text


def test_the_marker_twice_is_refused():
    twice = pam_sshd_totp(DEBIAN_12_PAM_SSHD, True) + TOTP_LINES
    with pytest.raises(ValueError, match="commented-out common-auth line more than once"):
        pam_sshd_totp(twice, False)
    with pytest.raises(ValueError, match="more than once"):
        pam_sshd_asks_totp(twice)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, True), "^the content of /etc/pam.d/sshd must be a string"),
        ((b"@include common-auth\n", True), "must be a string"),
        ((DEBIAN_12_PAM_SSHD, "yes"), "^enabled must be a boolean"),
        ((DEBIAN_12_PAM_SSHD, True, "no"), "^ssh_hardening_totp_nullok must be a boolean"),
    ],
)
def test_pam_sshd_totp_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        pam_sshd_totp(*args)


# ---------------------------------------------------------------------------------------
# Filter plugin
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def filters():
    """The filter name -> callable mapping exposed to Ansible."""
    return FilterModule().filters()


def test_filter_names_map_to_wrapped_functions(filters):
    assert set(filters) == {
        "ssh_algorithms",
        "ssh_default_algorithms",
        "sshd_effective",
        "ssh_lockout_problems",
        "ssh_kex_with_fallback",
        "ssh_client_kex_problems",
        "ssh_totp_secret_problems",
        "pam_sshd_totp",
        "pam_sshd_asks_totp",
        "ssh_admin_problems",
        "ssh_admin_entries",
    }
    assert filters["ssh_algorithms"].__wrapped__ is ssh_hardening.ssh_algorithms
    assert filters["ssh_default_algorithms"].__wrapped__ is ssh_hardening.ssh_default_algorithms
    assert filters["sshd_effective"].__wrapped__ is ssh_hardening.sshd_effective
    assert filters["ssh_lockout_problems"].__wrapped__ is ssh_hardening.ssh_lockout_problems
    assert filters["ssh_kex_with_fallback"].__wrapped__ is ssh_hardening.ssh_kex_with_fallback
    assert filters["ssh_client_kex_problems"].__wrapped__ is ssh_hardening.ssh_client_kex_problems
    assert filters["ssh_totp_secret_problems"].__wrapped__ is ssh_totp.ssh_totp_secret_problems
    assert filters["pam_sshd_totp"].__wrapped__ is ssh_totp.pam_sshd_totp
    assert filters["pam_sshd_asks_totp"].__wrapped__ is ssh_totp.pam_sshd_asks_totp


def test_filters_return_values(filters):
    assert filters["ssh_algorithms"](["curve25519-sha256"], DEBIAN_12_KEX, "kex") == [
        "curve25519-sha256"
    ]
    assert filters["ssh_default_algorithms"]("hardware_key") == list(ssh_hardening.HARDWARE_KEY)
    assert filters["sshd_effective"]("port 22\n") == {"port": ["22"]}
    assert filters["ssh_lockout_problems"](_config(), ADMIN, {}) == []
    assert filters["ssh_kex_with_fallback"](PQ_ONLY, True) == WITH_FALLBACK
    assert filters["ssh_client_kex_problems"](PQ_ONLY, DEBIAN_12_KEX, "ssh") == []
    assert filters["ssh_totp_secret_problems"]([{"user": "alice", "secret": SECRET}], ["alice"]) == []
    assert filters["pam_sshd_totp"](DEBIAN_12_PAM_SSHD, False) == DEBIAN_12_PAM_SSHD
    assert filters["pam_sshd_asks_totp"](DEBIAN_12_PAM_SSHD) is False


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "message"),
    [
        ("ssh_algorithms", (["aes128-cbc"], DEBIAN_12_CIPHER, "cipher"), {}, "CBC mode"),
        ("ssh_algorithms", (["x"], DEBIAN_12_CIPHER, "cipher"), {"allow_weak": "no"}, "boolean"),
        ("ssh_default_algorithms", ("ciphers",), {}, "^kind must be one of"),
        ("sshd_effective", (None,), {}, "must be a string"),
        ("ssh_lockout_problems", ({}, None, {}), {}, "permit_root_login"),
        ("ssh_kex_with_fallback", (PQ_ONLY, "yes"), {}, "must be a boolean"),
        ("ssh_client_kex_problems", (PQ_ONLY, "", "ssh"), {}, "printed no key exchange"),
        ("ssh_totp_secret_problems", ({}, []), {}, "must be a list"),
        ("pam_sshd_totp", ("", True), {}, "exactly one '@include common-auth' line"),
        ("pam_sshd_asks_totp", (None,), {}, "must be a string"),
    ],
)
def test_value_errors_become_filter_errors(filters, name, args, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message) as excinfo:
        filters[name](*args, **kwargs)
    assert isinstance(excinfo.value.__cause__, ValueError)


# --------------------------------------------------------------------------- the drop-in's transaction

ROLE = Path(__file__).resolve().parents[2] / "roles" / "ssh_hardening"
DROPIN = "/etc/ssh/sshd_config.d/00-fedisec-hardening.conf"


def _tasks(name: str) -> list[dict]:
    return yaml.safe_load((ROLE / "tasks" / name).read_text()) or []


def test_the_drop_in_is_one_transaction_checked_by_sshd_on_the_whole_tree():
    (task,) = [t for t in _tasks("config.yml") if "fedisec.hardening.config_transaction" in t]
    args = task["fedisec.hardening.config_transaction"]
    assert args["trees"] == ["/etc/ssh"]
    # No -f: sshd_config's absolute Include reads the candidate inside the mount namespace.
    assert args["check"] == [["{{ ssh_hardening_sshd }}", "-t"]]
    assert args["reload"] == [["systemctl", "reload", "{{ ssh_hardening_service }}"]]
    (dropin,) = task["vars"]["ssh_hardening_dropin_files"]
    assert dropin == {"dest": "{{ ssh_hardening_dropin }}", "mode": "0644",
                      "content": "{{ lookup('ansible.builtin.template', 'sshd_hardening.conf.j2') }}"}
    # The banner the drop-in names is in the same transaction, inside the checked tree.
    assert args["files"].startswith("{{ ssh_hardening_dropin_files")
    assert "'dest': ssh_hardening_banner_file" in args["files"]
    assert yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["ssh_hardening_banner_file"].startswith("/etc/ssh/")


def test_nothing_else_writes_the_drop_in_or_reloads_after_it():
    tasks = _tasks("config.yml")
    others = [t for t in tasks if "fedisec.hardening.config_transaction" not in t]
    assert not [t["name"] for t in others if "notify" in t or "ansible.builtin.template" in t
                or "ansible.builtin.copy" in t or "ansible.builtin.meta" in t]
    # The handler is the host keys' alone, flushed before the drop-in's transaction.
    notifying = {name for name in (p.name for p in (ROLE / "tasks").iterdir())
                 if any("notify" in t for t in _tasks(name))}
    assert notifying == {"host-keys.yml"}
    assert _tasks("host-keys.yml")[-1] == {"name": "Reload sshd for the changed host keys",
                                           "ansible.builtin.meta": "flush_handlers"}
    assert not list((ROLE / "files").glob("fedisec-sshd-validate"))


def _sshd_state():
    spec = importlib.util.spec_from_file_location("sshd_state", ROLE / "files" / "sshd-state.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("config", "included"),
    [
        ("Include /etc/ssh/sshd_config.d/*.conf\n", True),  # Debian 12 and 13
        ("  include   sshd_config.d/*.conf  # relative: read from /etc/ssh\n", True),
        ("Include=/etc/ssh/sshd_config.d/*\n", True),
        ('Include /etc/ssh/other/*.conf "/etc/ssh/sshd_config.d/00-*.conf"\n', True),
        ("#Include /etc/ssh/sshd_config.d/*.conf\n", False),
        ("Include /etc/ssh/sshd_config.d/*.cfg\n", False),
        # A wildcard never spans a '/', as in glob(3).
        ("Include /etc/ssh/*\n", False),
        ("Port 22\nIncludeX /etc/ssh/sshd_config.d/*.conf\n", False),
        ("", False),
    ],
)
def test_the_probe_tells_whether_sshd_config_includes_the_drop_in(config, included):
    assert _sshd_state().includes(config.splitlines(keepends=True), DROPIN) is included


# ------------------------------------------------- the listen-address check, as Ansible runs it

def _listen_address_check() -> tuple[str, str]:
    tasks = yaml.safe_load((ROLE / "tasks" / "config.yml").read_text())
    (task,) = [t for t in tasks if t["name"] == "Check that the listen addresses are on this host"]
    return task["ansible.builtin.assert"]["that"], task["loop"]


@pytest.mark.parametrize(("address", "on_host"), [
    ("10.0.0.5", True), ("10.0.0.5:2222", True), ("[2001:db8::5]:22", True), ("2001:db8::5", True),
    ("0.0.0.0", True), ("::", True), ("[::]:22", True), ("127.0.0.1", True),
    ("10.0.0.6", False), ("[2001:db8::6]:22", False), ("192.0.2.1:22", False),
])
def test_listen_address_check_as_ansible_evaluates_it(address, on_host):
    # Evaluated as Ansible evaluates a conditional (an earlier regex form failed every
    # address there: its '\1' was an escape, not a back-reference).
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    that, _ = _listen_address_check()
    templar = Templar(loader=DataLoader(), variables={
        "item": address,
        "ansible_facts": {"all_ipv4_addresses": ["10.0.0.5"], "all_ipv6_addresses": ["2001:db8::5"]},
    })
    assert templar.evaluate_conditional(trust_as_template(that)) is on_host
