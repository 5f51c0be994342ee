"""Tests for the os_baseline role's Python: module_utils/sysctl.py (against a fake
/proc/sys tree), module_utils/os_baseline.py and the os_baseline filter plugin."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fedisec.hardening.plugins.filter.os_baseline import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils import os_baseline, sysctl
from ansible_collections.fedisec.hardening.plugins.module_utils.sysctl import ProcSys, apply_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEBIAN_CHRONY_CONF = """\
# Include configuration files found in /etc/chrony/conf.d.
confdir /etc/chrony/conf.d

# Use Debian vendor zone.
pool 2.debian.pool.ntp.org iburst

# Use time sources from DHCP.
sourcedir /run/chrony-dhcp

# Use NTP sources found in /etc/chrony/sources.d.
sourcedir /etc/chrony/sources.d
makestep 1 3
"""


@pytest.fixture
def proc(tmp_path: Path) -> ProcSys:
    """A fake /proc/sys with a few keys as the kernel prints them."""
    files = {
        "kernel/kptr_restrict": "0\n",
        "kernel/yama/ptrace_scope": "1\n",
        "net/ipv4/ip_local_port_range": "32768\t60999\n",
        "net/ipv4/conf/all/rp_filter": "0\n",
        "net/ipv4/conf/eth0/rp_filter": "2\n",
        "net/ipv4/conf/eth0.100/rp_filter": "2\n",
    }
    for rel, value in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value)
    return ProcSys(str(tmp_path))


def read(proc: ProcSys, rel: str) -> str:
    return (Path(proc.root) / rel).read_text()


# --- sysctl: applying ----------------------------------------------------------------


def test_value_already_set_is_unchanged(proc):
    result = apply_settings({"kernel.yama.ptrace_scope": 1}, proc)
    assert result == {"changed": False, "applied": [], "unchanged": ["kernel.yama.ptrace_scope"], "refused": []}


def test_differing_value_is_written_and_changed(proc):
    result = apply_settings({"kernel.kptr_restrict": 2}, proc)
    assert result["changed"] is True
    assert result["applied"] == ["kernel.kptr_restrict"]
    assert read(proc, "kernel/kptr_restrict") == "2"


def test_rerun_reports_no_change(proc):
    settings = {"kernel.kptr_restrict": 2, "net.ipv4.conf.all.rp_filter": 1}
    assert apply_settings(settings, proc)["changed"] is True
    again = apply_settings(settings, proc)
    assert again["changed"] is False
    assert again["unchanged"] == list(settings)


def test_multi_value_keys_compare_whitespace_normalised(proc):
    result = apply_settings({"net.ipv4.ip_local_port_range": "32768 60999"}, proc)
    assert result["unchanged"] == ["net.ipv4.ip_local_port_range"]
    result = apply_settings({"net.ipv4.ip_local_port_range": "32768  \t 60999"}, proc)
    assert result["changed"] is False


def test_missing_key_is_refused_not_present(proc):
    result = apply_settings({"net.netfilter.nf_conntrack_max": 65536}, proc)
    assert result["changed"] is False
    (refusal,) = result["refused"]
    assert refusal["key"] == "net.netfilter.nf_conntrack_max"
    assert refusal["value"] == "65536"
    assert "not present in this kernel" in refusal["reason"]


class FailingProc(ProcSys):
    """Writes fail with the given errno, as a read-only or foreign /proc/sys does."""

    def __init__(self, root: str, code: int) -> None:
        super().__init__(root)
        self.code = code

    def write(self, path: str, value: str) -> None:
        raise OSError(self.code, "refused", path)

    def writable(self, path: str):
        return OSError(self.code, "refused", path)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (errno.EROFS, "read-only"),
        (errno.EACCES, "permission denied"),
        (errno.EPERM, "permission denied"),
        (errno.EINVAL, "refused the value"),
        (errno.EIO, "write failed"),
    ],
)
def test_refused_writes_are_reported_not_raised(proc, code, reason):
    failing = FailingProc(proc.root, code)
    result = apply_settings({"kernel.kptr_restrict": 2, "kernel.yama.ptrace_scope": 1}, failing)
    assert result["changed"] is False
    assert result["unchanged"] == ["kernel.yama.ptrace_scope"]
    (refusal,) = result["refused"]
    assert refusal["key"] == "kernel.kptr_restrict"
    assert reason in refusal["reason"]
    assert read(proc, "kernel/kptr_restrict") == "0\n"


def test_read_only_file_refused_for_unprivileged_user(proc):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes read-only files (covered by FailingProc)")
    path = Path(proc.root) / "kernel/kptr_restrict"
    path.chmod(0o444)
    result = apply_settings({"kernel.kptr_restrict": 2}, proc)
    assert "permission denied" in result["refused"][0]["reason"]


class StickyProc(ProcSys):
    """The kernel accepts the write but keeps its value (a one-way or clamped key)."""

    def write(self, path: str, value: str) -> None:
        return None


def test_value_the_kernel_does_not_keep_is_refused(proc):
    result = apply_settings({"kernel.kptr_restrict": 2}, StickyProc(proc.root))
    (refusal,) = result["refused"]
    assert "kept '0'" in refusal["reason"]
    assert result["changed"] is False


def test_check_mode_reports_and_writes_nothing(proc):
    result = apply_settings(
        {"kernel.kptr_restrict": 2, "kernel.yama.ptrace_scope": 1, "no.such.key": 1}, proc, check_mode=True
    )
    assert result["changed"] is True
    assert result["applied"] == ["kernel.kptr_restrict"]
    assert result["unchanged"] == ["kernel.yama.ptrace_scope"]
    assert [r["key"] for r in result["refused"]] == ["no.such.key"]
    assert read(proc, "kernel/kptr_restrict") == "0\n"


def test_check_mode_predicts_a_read_only_refusal(proc):
    result = apply_settings({"kernel.kptr_restrict": 2}, FailingProc(proc.root, errno.EROFS), check_mode=True)
    assert result["changed"] is False
    assert "read-only" in result["refused"][0]["reason"]


def test_glob_keys_apply_to_each_match(proc):
    result = apply_settings({"net.ipv4.conf.*.rp_filter": 1}, proc)
    assert sorted(result["applied"]) == [
        "net.ipv4.conf.all.rp_filter",
        "net.ipv4.conf.eth0.rp_filter",
        "net.ipv4.conf.eth0/100.rp_filter",
    ]
    assert read(proc, "net/ipv4/conf/eth0.100/rp_filter") == "1"


def test_glob_without_match_is_refused(proc):
    result = apply_settings({"net.ipv6.conf.*.accept_ra": 0}, proc)
    assert "not present" in result["refused"][0]["reason"]


@pytest.mark.parametrize(
    ("key", "relpath"),
    [
        ("net.ipv4.tcp_syncookies", "net/ipv4/tcp_syncookies"),
        ("net/ipv4/tcp_syncookies", "net/ipv4/tcp_syncookies"),
        ("net.ipv4.conf.eth0/100.rp_filter", "net/ipv4/conf/eth0.100/rp_filter"),
        ("net/ipv4/conf/eth0.100/rp_filter", "net/ipv4/conf/eth0.100/rp_filter"),
    ],
)
def test_key_to_relpath(key, relpath):
    assert sysctl.key_to_relpath(key) == relpath


def test_slash_key_with_vlan_interface_is_written(proc):
    result = apply_settings({"net.ipv4.conf.eth0/100.rp_filter": 1}, proc)
    assert result["applied"] == ["net.ipv4.conf.eth0/100.rp_filter"]
    assert read(proc, "net/ipv4/conf/eth0.100/rp_filter") == "1"


# --- sysctl: validating and merging --------------------------------------------------


def test_merge_extra_overrides_adds_and_removes():
    merged = sysctl.merge_settings(
        {"kernel.sysrq": 0, "net.ipv4.conf.all.rp_filter": 1},
        {"net.ipv4.conf.all.rp_filter": 2, "kernel.sysrq": None, "vm.swappiness": "10"},
    )
    assert merged == {"net.ipv4.conf.all.rp_filter": "2", "vm.swappiness": "10"}
    assert list(merged) == ["net.ipv4.conf.all.rp_filter", "vm.swappiness"]


def test_merge_normalises_whitespace():
    assert sysctl.merge_settings({"net.ipv4.ip_local_port_range": "32768\t60999"}) == {
        "net.ipv4.ip_local_port_range": "32768 60999"
    }


@pytest.mark.parametrize(
    "key",
    ["", "kernel", "Kernel.sysrq", "kernel..sysrq", "kernel.sysrq.", "-kernel.sysrq", "kernel.sys rq",
     "../../etc/passwd", "kernel.sysrq\n", "net.ipv4.conf.all.rp_filter=1", 5],
)
def test_bad_keys_fail_naming_the_variable(key):
    with pytest.raises(ValueError, match="^os_baseline_sysctl: key"):
        sysctl.merge_settings({key: 1})


@pytest.mark.parametrize("value", [True, False, None, "", "  ", "1\n2", "1\r", "a\x00", 1.5, [1], {"a": 1}, "x" * 5000])
def test_bad_values_fail_naming_the_variable(value):
    with pytest.raises(ValueError, match="^os_baseline_sysctl: kernel.sysrq: value"):
        sysctl.merge_settings({"kernel.sysrq": value})


def test_bad_extra_names_the_extra_variable():
    with pytest.raises(ValueError, match="^os_baseline_sysctl_extra: .*null removes"):
        sysctl.merge_settings({}, {"kernel.sysrq": "1\n"})


@pytest.mark.parametrize("value", [[], "kernel.sysrq=1", 3])
def test_non_mappings_are_refused(value):
    with pytest.raises(ValueError, match="^os_baseline_sysctl must be a mapping"):
        sysctl.merge_settings(value)


def test_apply_refuses_bad_input_before_touching_anything(proc):
    with pytest.raises(ValueError, match="settings: key"):
        apply_settings({"kernel.kptr_restrict": 2, "bad key": 1}, proc)
    assert read(proc, "kernel/kptr_restrict") == "0\n"


def test_role_defaults_pass():
    import yaml

    defaults = yaml.safe_load((REPO_ROOT / "roles/os_baseline/defaults/main.yml").read_text())
    merged = sysctl.merge_settings(defaults["os_baseline_sysctl"], defaults["os_baseline_sysctl_extra"])
    assert merged["kernel.kptr_restrict"] == "2"
    assert os_baseline.kernel_modules(defaults["os_baseline_disabled_modules"])
    assert len(os_baseline.chrony_sources(defaults["os_baseline_time_servers"])) == 4


# --- kernel modules, chrony ----------------------------------------------------------


def test_kernel_modules_merge_and_dedupe():
    assert os_baseline.kernel_modules(["dccp", "sctp"], ["udf", "dccp"]) == ["dccp", "sctp", "udf"]


@pytest.mark.parametrize("name", ["", "DCCP", "dccp /bin/true", "dccp\ninstall x", "-dccp", 3, None, "a" * 65])
def test_bad_kernel_modules_name_the_variable(name):
    with pytest.raises(ValueError, match=r"^os_baseline_disabled_modules_extra\[0\]"):
        os_baseline.kernel_modules([], [name])


def test_kernel_modules_must_be_a_list():
    with pytest.raises(ValueError, match="^os_baseline_disabled_modules must be a list"):
        os_baseline.kernel_modules("dccp")


def test_chrony_sources_nts_by_default():
    assert os_baseline.chrony_sources(
        [{"host": "time.cloudflare.com"}, {"host": "10.0.0.1", "nts": False, "options": "minpoll 6 maxpoll 10"},
         {"host": "acme", "nts": True, "options": None}]
    ) == [
        "server time.cloudflare.com iburst nts",
        "server 10.0.0.1 iburst minpoll 6 maxpoll 10",
        "server acme iburst nts",
    ]


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ("time.cloudflare.com", "must be a list"),
        (["time.cloudflare.com"], r"\[0\] must be a mapping"),
        ([{"host": "a b"}], r"\[0\]\.host"),
        ([{"host": "x\npool evil"}], r"\[0\]\.host"),
        ([{}], r"\[0\]\.host"),
        ([{"host": "a", "nts": "yes"}], r"\[0\]\.nts must be true or false"),
        ([{"host": "a", "options": "minpoll 6\nserver evil"}], r"\[0\]\.options"),
        ([{"host": "a", "options": "iburst"}], "set by the role"),
        ([{"host": "a", "options": "nts"}], "set by the role"),
        ([{"host": "a", "port": 123}], "unknown keys"),
        ([{"host": "a"}, {"host": "a"}], "listed twice"),
    ],
)
def test_bad_time_servers_name_the_variable(servers, message):
    with pytest.raises(ValueError, match=f"^os_baseline_time_servers.*{message}"):
        os_baseline.chrony_sources(servers)


def test_chrony_allow():
    assert os_baseline.chrony_allow(["10.89.0.0/24", "10.0.0.5/8", "2001:db8::/32", "192.0.2.1"]) == [
        "10.89.0.0/24", "10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32"]


@pytest.mark.parametrize("value", [["all"], ["10.0.0.0/33"], ["10.0.0.0/8\nallow all"], [None], "10.0.0.0/8"])
def test_bad_chrony_allow_names_the_variable(value):
    with pytest.raises(ValueError, match="^os_baseline_chrony_serve"):
        os_baseline.chrony_allow(value)


def test_chrony_conf_sources_commented_out_once():
    once = os_baseline.chrony_conf_without_sources(DEBIAN_CHRONY_CONF)
    assert "\npool " not in once
    assert "\nsourcedir /run/chrony-dhcp" not in once
    assert "\nsourcedir /etc/chrony/sources.d\n" in once
    assert "\nconfdir /etc/chrony/conf.d\n" in once
    assert os_baseline.CHRONY_MARK + "pool 2.debian.pool.ntp.org iburst" in once
    assert os_baseline.chrony_conf_without_sources(once) == once


def test_chrony_conf_comments_servers_and_peers_but_not_lookalikes():
    text = DEBIAN_CHRONY_CONF + "server ntp.example iburst\n  peer 10.0.0.2\npoolsize 3\n"
    out = os_baseline.chrony_conf_without_sources(text)
    assert "\nserver ntp.example" not in out
    assert "  " + os_baseline.CHRONY_MARK + "peer 10.0.0.2" in out
    assert "\npoolsize 3\n" in out


@pytest.mark.parametrize("drop", ["confdir /etc/chrony/conf.d", "sourcedir /etc/chrony/sources.d"])
def test_chrony_conf_without_the_role_directories_is_refused(drop):
    with pytest.raises(ValueError, match="chronyd would not read the role's files"):
        os_baseline.chrony_conf_without_sources(DEBIAN_CHRONY_CONF.replace(drop, ""))


def test_chrony_conf_must_be_text():
    with pytest.raises(ValueError, match="expected the file's text"):
        os_baseline.chrony_conf_without_sources(None)


# --- the filter plugin -----------------------------------------------------------------


def test_filters_raise_ansible_filter_errors():
    filters = FilterModule().filters()
    assert set(filters) == {
        "sysctl_settings", "kernel_modules", "chrony_sources", "chrony_allow", "chrony_conf_without_sources",
        "login_defs"}
    assert filters["sysctl_settings"]({"kernel.sysrq": 0}, {}) == {"kernel.sysrq": "0"}
    with pytest.raises(AnsibleFilterError, match="os_baseline_sysctl_extra"):
        filters["sysctl_settings"]({}, {"bad key": 1}, "os_baseline_sysctl", "os_baseline_sysctl_extra")
    with pytest.raises(AnsibleFilterError, match="os_baseline_time_servers"):
        filters["chrony_sources"]([{"host": ""}])
    with pytest.raises(AnsibleFilterError, match="os_baseline_login_defs"):
        filters["login_defs"]("", {"umask": "027"})


# --- sysctl: a real kernel, in a throwaway network namespace -------------------------

# Per network namespace: writing them in a new namespace never touches the machine's values.
NETNS_SETTINGS = {
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.conf.all.log_martians": "1",
    "net.ipv4.conf.default.accept_redirects": "0",
    "net.ipv4.tcp_syncookies": "1",
    "net.ipv6.conf.all.accept_redirects": "0",
}
NETNS_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from sysctl import apply_settings
settings = json.loads(sys.argv[2])
# Start from the opposite values, so that the first run has something to apply.
for key, value in settings.items():
    with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
        f.write("0" if value != "0" else "1")
first = apply_settings(settings)
second = apply_settings(settings)
live = {k: open("/proc/sys/" + k.replace(".", "/")).read().strip() for k in settings}
print(json.dumps({"first": first, "second": second, "live": live}))
"""


def test_apply_settings_on_a_real_kernel_in_a_network_namespace():
    unshare = shutil.which("unshare") or shutil.which("unshare", path="/usr/bin:/bin")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare to write sysctls in a throwaway network namespace")
    result = subprocess.run(
        [unshare, "--net", sys.executable, "-c", NETNS_PROBE,
         str(REPO_ROOT / "plugins" / "module_utils"), json.dumps(NETNS_SETTINGS)],
        capture_output=True, text=True, timeout=60, check=True,
    )
    report = json.loads(result.stdout)
    assert sorted(report["first"]["applied"]) == sorted(NETNS_SETTINGS) and report["first"]["changed"]
    assert report["first"]["refused"] == []
    assert report["second"] == {"changed": False, "applied": [], "unchanged": list(NETNS_SETTINGS), "refused": []}
    assert report["live"] == NETNS_SETTINGS


# --------------------------------------------------------------------------- login_defs

LOGIN_DEFS = """# comment
#UMASK 077
UMASK\t\t022
PASS_MAX_DAYS\t99999
PASS_MAX_DAYS\t88888
# ENCRYPT_METHOD SHA512
#  ENCRYPT_METHOD DES
MAIL_DIR /var/mail
"""


def test_login_defs_replaces_the_last_setting_else_follows_the_last_example_else_appends():
    out = os_baseline.login_defs(LOGIN_DEFS, {"UMASK": "027", "PASS_MAX_DAYS": 365, "ENCRYPT_METHOD": "YESCRYPT",
                                  "SHA_CRYPT_MIN_ROUNDS": "5000"})
    assert out == ("# comment\n#UMASK 077\nUMASK\t027\nPASS_MAX_DAYS\t99999\nPASS_MAX_DAYS\t365\n"
                   "# ENCRYPT_METHOD SHA512\n#  ENCRYPT_METHOD DES\nENCRYPT_METHOD\tYESCRYPT\nMAIL_DIR /var/mail\n"
                   "SHA_CRYPT_MIN_ROUNDS\t5000\n")
    assert os_baseline.login_defs(out, {"UMASK": "027", "PASS_MAX_DAYS": 365, "ENCRYPT_METHOD": "YESCRYPT",
                            "SHA_CRYPT_MIN_ROUNDS": "5000"}) == out  # a second run changes nothing
    assert os_baseline.login_defs("UMASK 022", {}) == "UMASK 022\n"


@pytest.mark.parametrize(("text", "values", "message"), [
    (None, {}, r"/etc/login.defs: expected the file's text"),
    ("", ["UMASK"], r"os_baseline_login_defs: must be a mapping"),
    ("", {"umask": "027"}, r"'umask' is not a login.defs key"),
    ("", {"UMASK\n": "027"}, r"is not a login.defs key"),
    ("", {"UMASK": "027\nPASS_MAX_DAYS 1"}, r"os_baseline_login_defs.UMASK: .* is not a single login.defs value"),
    ("", {"UMASK": ""}, r"not a single login.defs value"),
    ("", {"UMASK": True}, r"not a single login.defs value"),
    ("", {"UMASK": "0 27"}, r"not a single login.defs value"),
])
def test_login_defs_refuses_bad_input(text, values, message):
    with pytest.raises(ValueError, match=message):
        os_baseline.login_defs(text, values)
