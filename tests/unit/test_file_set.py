# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/file_set.py: input checks, one pass that makes every path right, nothing
written on a converged host, check mode that writes nothing."""

from __future__ import annotations

import grp
import os
import pwd
import stat

import pytest

from ansible_collections.fedisec.hardening.plugins.module_utils.file_set import FileSetError, apply, parse

ME = pwd.getpwuid(os.geteuid()).pw_name
MY_GROUP = grp.getgrgid(os.getegid()).gr_name
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="owner changes need root")


def entries(tmp_path):
    """A directory, a file in it, a link to the file and a stale file to remove."""
    return [
        {"path": str(tmp_path / "conf"), "state": "directory", "mode": "0750", "owner": ME, "group": MY_GROUP},
        {"path": str(tmp_path / "conf" / "a.conf"), "content": "a = 1\n", "mode": "0640",
         "owner": ME, "group": MY_GROUP},
        {"path": str(tmp_path / "conf" / "current"), "state": "link", "link": "a.conf"},
        {"path": str(tmp_path / "conf" / "old.conf"), "state": "absent"},
    ]


def state(path) -> tuple:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return ("link", os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return ("dir", stat.S_IMODE(info.st_mode))
    with open(path, "rb") as handle:
        return ("file", handle.read(), stat.S_IMODE(info.st_mode), info.st_mtime_ns, info.st_ino)


def with_unset_keys(paths: list[dict]) -> list[dict]:
    """As the module's argument spec passes them: every suboption present, None when unset."""
    keys = ("path", "state", "content", "link", "owner", "group", "mode", "validate")
    return [{key: item.get(key) for key in keys} | {"state": item.get("state", "file"),
                                                    "owner": item.get("owner", "root"),
                                                    "group": item.get("group", "root")} for item in paths]


def test_first_run_makes_everything_in_order_and_the_second_changes_nothing(tmp_path):
    # The directory comes from the first entry, before the files in it; nothing to remove yet.
    result = apply(parse(with_unset_keys(entries(tmp_path))))
    assert result["changed"] and result["changed_paths"] == [str(tmp_path / "conf"), str(tmp_path / "conf" / "a.conf"),
                                                            str(tmp_path / "conf" / "current")]
    assert state(tmp_path / "conf") == ("dir", 0o750)
    assert state(tmp_path / "conf" / "a.conf")[:3] == ("file", b"a = 1\n", 0o640)
    assert state(tmp_path / "conf" / "current") == ("link", "a.conf")
    before = {name: state(tmp_path / "conf" / name) for name in ("a.conf", "current")}
    again = apply(parse(entries(tmp_path)))
    assert again == {"changed": False, "changed_paths": [], "diff": []}
    assert {name: state(tmp_path / "conf" / name) for name in ("a.conf", "current")} == before  # not rewritten


def test_only_what_differs_changes(tmp_path):
    apply(parse(entries(tmp_path)))
    (tmp_path / "conf" / "old.conf").write_text("back again\n")
    os.chmod(tmp_path / "conf", 0o755)
    os.chmod(tmp_path / "conf" / "a.conf", 0o644)
    result = apply(parse(entries(tmp_path)))
    assert result["changed_paths"] == [str(tmp_path / "conf"), str(tmp_path / "conf" / "a.conf"),
                                       str(tmp_path / "conf" / "old.conf")]
    assert state(tmp_path / "conf") == ("dir", 0o750)
    assert state(tmp_path / "conf" / "a.conf")[2] == 0o640
    assert not os.path.lexists(tmp_path / "conf" / "old.conf")
    assert "mode 0644" in result["diff"][1]["before"] and "mode 0640" in result["diff"][1]["after"]


def test_content_change_is_atomic_and_leaves_no_temporary_file(tmp_path):
    apply(parse(entries(tmp_path)))
    wanted = entries(tmp_path)
    wanted[1]["content"] = "a = 2\n"
    result = apply(parse(wanted))
    assert result["changed_paths"] == [str(tmp_path / "conf" / "a.conf")]
    assert result["diff"][0]["before"].endswith("a = 1\n") and result["diff"][0]["after"].endswith("a = 2\n")
    assert sorted(os.listdir(tmp_path / "conf")) == ["a.conf", "current"]


def test_check_mode_reports_and_writes_nothing(tmp_path):
    result = apply(parse(entries(tmp_path)), check_mode=True)
    assert result["changed_paths"] == [str(tmp_path / "conf"), str(tmp_path / "conf" / "a.conf"),
                                       str(tmp_path / "conf" / "current")]
    assert os.listdir(tmp_path) == []


def test_a_missing_parent_that_is_not_listed_fails_naming_it(tmp_path):
    with pytest.raises(FileSetError, match=r"the directory .*/nowhere does not exist \(list it first\)"):
        apply(parse([{"path": str(tmp_path / "nowhere" / "a"), "content": "", "mode": "0644"}]))
    # Check mode: an earlier task may make the directory (a fresh host), so it is a change, not a failure.
    link = str(tmp_path / "nowhere" / "a")
    assert apply(parse([{"path": link, "state": "link", "link": "b"}]), check_mode=True)["changed_paths"] == [link]


def test_a_directory_gets_its_missing_parents_root_owned_0755(tmp_path):
    wanted = [{"path": str(tmp_path / "a" / "b" / "c"), "state": "directory", "mode": "0700"},
              {"path": str(tmp_path / "a" / "b" / "c" / "f"), "content": "x", "mode": "0600"}]
    assert apply(parse(wanted), check_mode=True)["changed_paths"] == [wanted[0]["path"], wanted[1]["path"]]
    assert os.listdir(tmp_path) == []
    apply(parse(wanted))
    assert [state(tmp_path / name) for name in ("a", "a/b", "a/b/c")] == [("dir", 0o755), ("dir", 0o755), ("dir", 0o700)]


def test_a_failure_names_what_had_already_changed(tmp_path):
    wanted = [{"path": str(tmp_path / "d"), "state": "directory", "mode": "0700"},
              {"path": str(tmp_path / "x" / "f"), "content": "", "mode": "0600"}]  # x is missing
    with pytest.raises(FileSetError, match=r"already changed: .*/d\)") as raised:
        apply(parse(wanted))
    assert raised.value.result == {"changed": True, "changed_paths": [str(tmp_path / "d")]}


def test_wrong_kinds_on_the_host_fail(tmp_path):
    (tmp_path / "file").write_text("")
    (tmp_path / "dir").mkdir()
    with pytest.raises(FileSetError, match="exists and is not a directory"):
        apply(parse([{"path": str(tmp_path / "file"), "state": "directory", "mode": "0755"}]))
    with pytest.raises(FileSetError, match="is a directory"):
        apply(parse([{"path": str(tmp_path / "dir"), "content": "", "mode": "0644"}]))
    with pytest.raises(FileSetError, match="is a directory"):
        apply(parse([{"path": str(tmp_path / "dir"), "state": "absent"}]))
    assert (tmp_path / "dir").is_dir()  # never removed


def test_validate_checks_the_candidate_and_a_refusal_leaves_the_file_alone(tmp_path):
    target = tmp_path / "run.sh"
    good = [{"path": str(target), "content": "echo ok\n", "mode": "0755", "validate": "/bin/sh -n %s"}]
    assert apply(parse(good))["changed"]
    bad = [{"path": str(target), "content": "if then fi\n", "mode": "0755", "validate": "/bin/sh -n %s"}]
    with pytest.raises(FileSetError, match=r"run.sh: /bin/sh -n %s refused the new content \(rc 2\); the file is "
                                           r"unchanged: .*[Ss]yntax error"):
        apply(parse(bad))
    assert target.read_text() == "echo ok\n" and os.listdir(tmp_path) == ["run.sh"]
    assert apply(parse(bad), check_mode=True)["changed_paths"] == [str(target)]  # not run in check mode
    assert not apply(parse(good))["changed"]  # not run either when nothing changes
    seen = tmp_path / "seen"
    probe = [{"path": str(target), "content": "echo new\n", "mode": "0700",
              "validate": f"/bin/sh -c 'stat -c %a \"$0\" > {seen}' %s"}]
    apply(parse(probe))
    assert seen.read_text() == "700\n"  # the candidate has its final mode when it is checked
    with pytest.raises(FileSetError, match=r"cannot run /nonexistent/validator"):
        apply(parse([{**good[0], "content": "x\n", "validate": "/nonexistent/validator %s"}]))


@needs_root
def test_owner_and_group_are_set_on_directories_and_files(tmp_path):
    nobody = pwd.getpwnam("nobody")
    result = apply(parse([
        {"path": str(tmp_path / "d"), "state": "directory", "mode": "2750", "owner": "nobody", "group": "nogroup"},
        {"path": str(tmp_path / "d" / "f"), "content": "x", "mode": "0600", "owner": "nobody", "group": "nogroup"},
    ]))
    assert result["changed"]
    for name, mode in (("d", 0o2750), ("d/f", 0o600)):
        info = os.lstat(tmp_path / name)
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (nobody.pw_uid, mode)


@pytest.mark.parametrize(("paths", "message"), [
    ([], r"paths: must be a non-empty list"),
    ("/etc/x", r"paths: must be a non-empty list"),
    (["/etc/x"], r"paths\[0\]: must be a dictionary, got str"),
    ([{"path": "/etc/x", "content": "", "mode": "0644", "recurse": True}], r"paths\[0\]: unknown key\(s\) \['recurse'\]"),
    ([{"path": "etc/x", "content": "", "mode": "0644"}], r"paths\[0\]\.path: must be an absolute path"),
    ([{"path": "/etc/../x", "content": "", "mode": "0644"}], r"paths\[0\]\.path: .* must not contain"),
    ([{"path": "/etc/x", "state": "absent"}, {"path": "/etc/x", "state": "absent"}],
     r"paths\[1\]\.path: /etc/x is also paths\[0\]\.path"),
    ([{"path": "/etc/x", "state": "fifo"}], r"paths\[0\]\.state: must be one of directory, file, link, absent"),
    ([{"path": "/etc/x", "state": "directory"}], r"paths\[0\]\.mode: required for state directory"),
    ([{"path": "/etc/x", "content": "x"}], r"paths\[0\]\.mode: required for state file"),
    ([{"path": "/etc/x", "mode": "0644"}], r"paths\[0\]\.content: required for state file"),
    ([{"path": "/etc/x", "state": "directory", "mode": "0755", "content": "x"}],
     r"paths\[0\]: state directory takes no content"),
    ([{"path": "/etc/x", "state": "link"}], r"paths\[0\]\.link: required for state link"),
    ([{"path": "/etc/x", "state": "link", "link": ""}], r"paths\[0\]\.link: must be a path"),
    ([{"path": "/etc/x", "state": "absent", "mode": "0644"}], r"paths\[0\]: state absent takes no mode"),
    ([{"path": "/etc/x", "content": 3, "mode": "0644"}], r"paths\[0\]\.content: must be a string"),
    ([{"path": "/etc/x", "content": "", "mode": "0644", "validate": "sh -n"}],
     r"paths\[0\]\.validate: 'sh -n' must be a command with one argument %s"),
    ([{"path": "/etc/x", "content": "", "mode": "0644", "validate": "%s"}], r"must be a command with one argument %s"),
    ([{"path": "/etc/x", "content": "", "mode": "0644", "validate": "sh '-n %s"}], r"is not a command line"),
    ([{"path": "/etc/x", "content": "", "mode": "0644", "validate": ["sh", "%s"]}], r"must be a command line with %s"),
    ([{"path": "/etc/x", "state": "link", "link": "y", "validate": "sh -n %s"}], r"state link takes no validate"),
    ([{"path": "/etc/x", "content": "", "mode": "rw-r--r--"}], r"paths\[0\]\.mode: must be an octal string"),
    ([{"path": "/etc/x", "content": "", "mode": "0644", "owner": "no-such-user-here"}],
     r"paths\[0\]\.owner: no user 'no-such-user-here'"),
    ([{"path": "/etc/x", "content": "", "mode": "0644", "group": "no-such-group-here"}],
     r"paths\[0\]\.group: no group 'no-such-group-here'"),
])
def test_bad_input_fails_naming_the_entry_and_key(paths, message):
    with pytest.raises(FileSetError, match=message):
        parse(paths)
