# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/state_stamp.py: a watched tree's digest sees every change and nothing else,
the stamp matches only the same inputs on the same host, bad input is refused."""

from __future__ import annotations

import errno
import json
import os
import pwd
import stat

import pytest

from ansible_collections.fedisec.hardening.plugins.module_utils import state_stamp
from ansible_collections.fedisec.hardening.plugins.module_utils.state_stamp import (
    STAMP_VERSION,
    command_state,
    differences,
    home_paths,
    input_digest,
    observe,
    parse_dpkg_status,
    parse_mounts,
    parse_systemctl_show,
    path_digest,
    read_stamp,
    role_options,
    write_stamp,
)

ME = pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "etc"
    (root / "conf.d").mkdir(parents=True)
    (root / "main.conf").write_text("a = 1\n")
    (root / "conf.d" / "10-x.conf").write_text("x = 1\n")
    (root / "current").symlink_to("main.conf")
    return root


def test_the_digest_is_the_same_for_the_same_tree(tree):
    assert path_digest(str(tree)) == path_digest(str(tree))
    assert len(path_digest(str(tree))) == 64


@pytest.mark.parametrize("change", [
    lambda t: (t / "conf.d" / "10-x.conf").write_text("x = 2\n"),          # content
    lambda t: (t / "conf.d" / "50-cloud-init.conf").write_text("y\n"),     # a planted file
    lambda t: (t / "conf.d" / "10-x.conf").unlink(),                       # a removed file
    lambda t: os.chmod(t / "main.conf", 0o666),                            # mode
    lambda t: ((t / "current").unlink(), (t / "current").symlink_to("conf.d")),  # link target
    lambda t: (t / "conf.d" / "10-x.conf").rename(t / "conf.d" / "20-x.conf"),   # a name
    lambda t: os.chmod(t / "conf.d", 0o700),                               # a directory's mode
])
def test_every_change_below_a_watched_directory_changes_its_digest(tree, change):
    before = path_digest(str(tree))
    change(tree)
    assert path_digest(str(tree)) != before


def test_a_missing_path_is_absent_and_a_relative_one_is_refused(tmp_path):
    assert path_digest(str(tmp_path / "nothing")) == "absent"
    with pytest.raises(ValueError, match="not an absolute path"):
        path_digest("etc/ssh")


def test_without_content_only_the_owner_and_mode_count(tmp_path):
    secret = tmp_path / ".google_authenticator"
    secret.write_text("SECRET\n")
    os.chmod(secret, 0o400)
    before = path_digest(str(secret), content=False)
    secret.write_text("SECRET\n\" used code 123456\n")
    assert path_digest(str(secret), content=False) == before
    os.chmod(secret, 0o644)
    assert path_digest(str(secret), content=False) != before


def test_skipped_names_do_not_count(tree):
    before = path_digest(str(tree), skip=frozenset({"__pycache__"}))
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert path_digest(str(tree), skip=frozenset({"__pycache__"})) == before
    assert path_digest(str(tree)) != before


def test_home_paths_resolve_through_the_password_database():
    home = pwd.getpwnam(ME).pw_dir
    assert home_paths([{"user": ME, "path": ".ssh"}]) == [{"path": os.path.join(home, ".ssh"), "content": True}]
    assert home_paths([{"user": "no-such-user-fedisec", "path": ".ssh"}]) == [
        {"path": "~no-such-user-fedisec/.ssh", "missing_user": True}]


@pytest.mark.parametrize("relative", ["/etc/shadow", "../root/.ssh", ".ssh/../../x"])
def test_home_paths_stay_below_the_home(relative):
    with pytest.raises(ValueError, match="below the home directory"):
        home_paths([{"user": ME, "path": relative}])


def test_systemctl_show_blocks_map_to_the_units_asked():
    output = ("Id=ssh.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n"
              "Id=nothing.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n")
    assert parse_systemctl_show(output, ["ssh.service", "nothing.service"]) == {
        "ssh.service": {"LoadState": "loaded", "ActiveState": "active", "UnitFileState": "enabled"},
        "nothing.service": {"LoadState": "not-found", "ActiveState": "inactive", "UnitFileState": ""}}
    with pytest.raises(ValueError, match="2 blocks for 1 units"):
        parse_systemctl_show(output, ["ssh.service"])


def test_dpkg_status_names_unknown_packages():
    output = "openssh-server\tinstall ok installed\t1:9.2p1-2+deb12u5\nsudo:amd64\tdeinstall ok config-files\t1.9\n"
    assert parse_dpkg_status(output, ["openssh-server", "sudo", "nothing"]) == {
        "openssh-server": "install ok installed 1:9.2p1-2+deb12u5",
        "sudo": "deinstall ok config-files 1.9",
        "nothing": "unknown"}


def observed(tree, active="active"):
    return observe([{"path": str(tree)}], {"ssh.service": {"ActiveState": active}}, {"openssh-server": "ii 1"})


def test_a_stamp_matches_only_the_same_inputs_on_the_same_host(tree, tmp_path):
    stamp = tmp_path / "state" / "ssh_hardening.json"
    write_stamp(str(stamp), "d1", observed(tree))
    assert stat.S_IMODE(os.stat(stamp).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(stamp.parent).st_mode) == 0o700
    recorded = read_stamp(str(stamp))
    assert differences(recorded, "d1", observed(tree)) == []
    assert differences(recorded, "d2", observed(tree)) == ["the inputs or the role's code changed"]
    assert differences(recorded, "d1", observed(tree, "failed")) == ["unit ssh.service changed since the last full run"]
    (tree / "main.conf").write_text("a = 2\n")
    assert differences(recorded, "d1", observed(tree)) == [f"path {tree} changed since the last full run"]


@pytest.mark.parametrize("stamp", [None, [], {"version": STAMP_VERSION + 1, "digest": "d1"}, "text"])
def test_no_stamp_or_another_version_means_a_full_run(tree, stamp):
    assert differences(stamp, "d1", observed(tree)) == ["no state was recorded by an earlier full run of this version"]


def test_a_newly_watched_path_means_a_full_run(tree, tmp_path):
    stamp = {"version": STAMP_VERSION, "digest": "d1", "observed": observed(tree)}
    now = observe([{"path": str(tree)}, {"path": str(tmp_path / "new")}], {"ssh.service": {"ActiveState": "active"}},
                  {"openssh-server": "ii 1"})
    assert differences(stamp, "d1", now) == [f"path {tmp_path / 'new'} is newly watched or no longer watched"]


def test_an_unreadable_stamp_reads_as_none(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    assert read_stamp(str(tmp_path / "broken.json")) is None
    assert read_stamp(str(tmp_path / "missing.json")) is None


def test_the_stamp_holds_digests_not_contents(tree, tmp_path):
    (tree / "main.conf").write_text("password = hunter2-secret\n")
    stamp = tmp_path / "s.json"
    write_stamp(str(stamp), "d1", observed(tree))
    assert "hunter2" not in stamp.read_text()
    assert json.loads(stamp.read_text())["version"] == STAMP_VERSION


def test_the_input_digest_covers_the_inputs_and_the_code(tree):
    base = input_digest({"ssh_hardening_port": 22}, [str(tree)])
    assert input_digest({"ssh_hardening_port": 22}, [str(tree)]) == base
    assert input_digest({"ssh_hardening_port": 2222}, [str(tree)]) != base
    (tree / "main.conf").write_text("a = 2\n")
    assert input_digest({"ssh_hardening_port": 22}, [str(tree)]) != base


def test_the_input_digest_refuses_a_missing_tree(tmp_path):
    with pytest.raises(ValueError, match="is not a directory"):
        input_digest({}, [str(tmp_path / "nothing")])


def test_only_the_watched_mount_points_count_and_the_last_mount_wins():
    text = ("tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\n"
            "tmpfs /run/credentials/x.service tmpfs ro 0 0\n"
            "tmpfs /dev/shm tmpfs rw,nosuid,nodev,noexec 0 0\n"
            "/dev/vda1 /srv/with\\040space ext4 rw 0 0\n")
    assert parse_mounts(text, ["/dev/shm", "/tmp", "/srv/with space"]) == {
        "/dev/shm": "tmpfs rw,nosuid,nodev,noexec", "/tmp": "not mounted", "/srv/with space": "ext4 rw"}


def test_a_changed_mount_option_means_a_full_run(tree):
    def now(options):
        return observe([{"path": str(tree)}], {}, {}, {"/dev/shm": f"tmpfs {options}"})
    stamp = {"version": STAMP_VERSION, "digest": "d1", "observed": now("rw,nosuid,nodev,noexec")}
    assert differences(stamp, "d1", now("rw,nosuid,nodev,noexec")) == []
    assert differences(stamp, "d1", now("rw,nosuid,nodev")) == ["mount /dev/shm changed since the last full run"]


def test_an_unreadable_or_vanished_entry_is_a_state_not_a_failure(tmp_path, monkeypatch):
    key = tmp_path / "route_flush"
    key.write_text("")
    readable = path_digest(str(key))

    def refuse(path):
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(state_stamp, "_file_digest", refuse)
    unreadable = path_digest(str(key))
    assert len(unreadable) == 64 and unreadable != readable
    assert state_stamp._entry(str(tmp_path / "gone"), "gone", True) == "gone\0vanished"


def test_role_options_are_those_of_every_entry_point_in_name_order():
    specs = {"argument_specs": {"main": {"options": {"r_b": {}, "r_a": {}, "r_full_run": {}}},
                                "server": {"options": {"r_c": {}}}, "empty": {}}}
    assert role_options(specs, exclude={"r_full_run"}) == ["r_a", "r_b", "r_c"]


@pytest.mark.parametrize("specs", [None, {}, {"argument_specs": {}}, {"argument_specs": []},
                                   {"argument_specs": {"main": {"options": ["r_a"]}}}])
def test_role_options_refuse_a_spec_without_options(specs):
    with pytest.raises(ValueError, match="argument_specs"):
        role_options(specs)


def test_a_command_counts_by_its_exit_code_and_output_and_keeps_neither_in_the_clear(tree, tmp_path):
    state = command_state(0, "mastodon|t|SCRAM-SHA-256$4096:secret\n")
    assert state.startswith("rc=0 ") and "secret" not in state and "mastodon" not in state
    assert command_state(0, "mastodon|t|SCRAM-SHA-256$4096:other\n") != state
    assert command_state(2, "mastodon|t|SCRAM-SHA-256$4096:secret\n") != state
    path = str(tmp_path / "stamp.json")
    write_stamp(path, "d", observe([], {}, {}, {}, {"psql roles": state}))
    assert differences(read_stamp(path), "d", observe([], {}, {}, {}, {"psql roles": state})) == []
    assert differences(read_stamp(path), "d", observe([], {}, {}, {}, {"psql roles": command_state(0, "")})) == [
        "command psql roles changed since the last full run"]


def test_without_recursion_only_the_directory_itself_counts(tree):
    before = path_digest(str(tree), recurse=False)
    (tree / "added").write_text("x")
    assert path_digest(str(tree), recurse=False) == before
    os.chmod(tree, 0o700)
    assert path_digest(str(tree), recurse=False) != before
    assert observe([{"path": str(tree), "recurse": False}], {}, {})["paths"][str(tree)] == path_digest(str(tree), recurse=False)
