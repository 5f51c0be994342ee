"""Tests for module_utils/config_transaction.py: candidate check, swap, reload, restore.

The check runs for real in a private mount namespace (``unshare --mount``), where the
candidate tree is mounted over the test's "live" directory; those tests are skipped with a
reason when this machine cannot make one (not root, no CAP_SYS_ADMIN). The reload is a
shell command that records its runs in a log outside the tree, so that the tests see how
often it ran and what the live files held at that moment.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from ansible_collections.fedisec.hardening.plugins.module_utils import config_transaction as ct
from ansible_collections.fedisec.hardening.plugins.module_utils.config_transaction import (
    Entry,
    TransactionError,
    apply,
    parse_commands,
    parse_files,
    parse_paths,
)


def _namespaces_work() -> bool:
    try:
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             "mount -t tmpfs none /mnt && umount /mnt"],
            capture_output=True, check=False, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


NAMESPACES = _namespaces_work()
needs_namespace = pytest.mark.skipif(not NAMESPACES, reason="no private mount namespace here (needs root, CAP_SYS_ADMIN)")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="owner changes need root")


@pytest.fixture
def live(tmp_path):
    """A live configuration tree: main.conf includes the files of conf.d by absolute path."""
    tree = tmp_path / "etc" / "daemon"
    (tree / "conf.d").mkdir(parents=True)
    (tree / "main.conf").write_text(f"include {tree}/conf.d/*.conf\n")
    (tree / "conf.d" / "a.conf").write_text("a = 1\n")
    (tree / "conf.d" / "b.conf").write_text("b = 2\n")
    os.chmod(tree / "conf.d" / "b.conf", 0o640)
    return tree


def tree_state(tree: Path) -> dict:
    """Every path under the tree: bytes or link target, owner, group, mode, mtime."""
    state = {}
    for path in sorted(tree.rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            state[str(path)] = ("link", os.readlink(path), info.st_uid, info.st_gid)
        elif path.is_file():
            state[str(path)] = ("file", path.read_bytes(), info.st_uid, info.st_gid, info.st_mode, info.st_mtime_ns)
        else:
            state[str(path)] = ("dir", info.st_mode)
    return state


def parser(tree: Path) -> list[str]:
    """A stand-in for a daemon's parser: reads main.conf and every file it includes, from the
    live paths, and refuses the token BAD and two files that set the same key."""
    script = r"""
        set -eu
        files=$(sed -n 's/^include //p' "$1/main.conf")
        cat $files > all
        if grep -n BAD $files; then echo "parser: BAD token" >&2; exit 1; fi
        dup=$(cut -d' ' -f1 all | sort | uniq -d)
        if [ -n "$dup" ]; then echo "parser: $dup set twice" >&2; exit 1; fi
    """
    return ["sh", "-c", script, "parser", str(tree)]


class Reload:
    """A reload command that logs each run (and what a.conf held) outside the tree."""

    def __init__(self, tmp_path: Path, tree: Path, fail_when: str | None = None):
        self.log = tmp_path / "reload.log"
        watched = tree / "conf.d" / "a.conf"
        failing = f"grep -q {shlex.quote(fail_when)} {watched} && exit 3; " if fail_when else ""
        self.argv = ["sh", "-c", f"cat {watched} >> {self.log} 2>/dev/null || echo '(none)' >> {self.log}; "
                     f"{failing}exit 0"]

    @property
    def runs(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def file_entry(path: Path, text: str, mode: int = 0o644) -> Entry:
    return Entry(str(path), "file", content=text.encode(), uid=os.geteuid(), gid=os.getegid(), mode=mode)


# --------------------------------------------------------------------------- inputs


class TestInputs:
    def test_a_relative_dest_is_refused_naming_the_parameter(self):
        with pytest.raises(TransactionError, match=r"files\[0\]\.dest: must be an absolute path"):
            parse_files([{"dest": "etc/nginx/x.conf", "content": "", "mode": "0644"}])

    def test_dot_dot_in_dest(self):
        with pytest.raises(TransactionError, match=r"files\[0\]\.dest: .* must not contain '\.' or '\.\.'"):
            parse_files([{"dest": "/etc/nginx/../shadow", "content": "", "mode": "0644"}])

    def test_a_missing_src_is_refused(self, tmp_path):
        missing = tmp_path / "nope"
        with pytest.raises(TransactionError, match=rf"files\[0\]\.src: cannot read {missing}"):
            parse_files([{"dest": "/etc/x", "src": str(missing), "mode": "0644"}])

    def test_src_is_read(self, tmp_path):
        src = tmp_path / "candidate"
        src.write_bytes(b"x = 1\n")
        (entry,) = parse_files([{"dest": "/etc/x", "src": str(src), "mode": "0600"}])
        assert (entry.kind, entry.content, entry.mode, entry.uid) == ("file", b"x = 1\n", 0o600, 0)

    def test_a_duplicate_dest_is_refused(self):
        with pytest.raises(TransactionError, match=r"files\[1\]\.dest: /etc/x is also files\[0\]\.dest"):
            parse_files([{"dest": "/etc/x", "content": "1", "mode": "0644"},
                         {"dest": "/etc/x/", "content": "2", "mode": "0644"}])

    def test_exactly_one_source(self):
        with pytest.raises(TransactionError, match=r"files\[0\]: give exactly one of content, src or link"):
            parse_files([{"dest": "/etc/x", "content": "1", "link": "/y", "mode": "0644"}])
        with pytest.raises(TransactionError, match=r"files\[0\]: give exactly one"):
            parse_files([{"dest": "/etc/x", "mode": "0644"}])
        with pytest.raises(TransactionError, match=r"files\[0\]: state absent takes no content"):
            parse_files([{"dest": "/etc/x", "content": "1", "state": "absent"}])

    def test_mode_owner_group(self):
        with pytest.raises(TransactionError, match=r"files\[0\]\.mode: required for a file"):
            parse_files([{"dest": "/etc/x", "content": "1"}])
        with pytest.raises(TransactionError, match=r"files\[0\]\.mode: must be an octal string"):
            parse_files([{"dest": "/etc/x", "content": "1", "mode": "rw-r--r--"}])
        with pytest.raises(TransactionError, match=r"files\[0\]\.owner: no user 'no-such-user-here'"):
            parse_files([{"dest": "/etc/x", "content": "1", "mode": "0644", "owner": "no-such-user-here"}])
        with pytest.raises(TransactionError, match=r"files\[0\]\.group: no group 'no-such-group-here'"):
            parse_files([{"dest": "/etc/x", "content": "1", "mode": "0644", "group": "no-such-group-here"}])
        assert parse_files([{"dest": "/etc/x", "content": "1", "mode": 0o640}])[0].mode == 0o640

    def test_unknown_keys_and_shapes(self):
        with pytest.raises(TransactionError, match=r"files: must be a non-empty list"):
            parse_files([])
        with pytest.raises(TransactionError, match=r"files\[0\]: must be a dictionary"):
            parse_files(["/etc/x"])
        with pytest.raises(TransactionError, match=r"files\[0\]: unknown key\(s\) \['validate'\]"):
            parse_files([{"dest": "/etc/x", "content": "1", "mode": "0644", "validate": "x"}])

    def test_commands(self):
        assert parse_commands(["nginx", "-t"], "check", True) == [["nginx", "-t"]]
        assert parse_commands([["a"], ["b", "c"]], "reload", True) == [["a"], ["b", "c"]]
        assert parse_commands([], "verify", False) == []
        with pytest.raises(TransactionError, match=r"check: at least one command is required"):
            parse_commands([], "check", True)
        with pytest.raises(TransactionError, match=r"check: at least one command is required"):
            parse_commands(None, "check", True)
        with pytest.raises(TransactionError, match=r"reload\[1\]: must be a non-empty list of strings"):
            parse_commands([["a"], []], "reload", True)
        with pytest.raises(TransactionError, match=r"check\[0\]: the program name is empty"):
            parse_commands([["", "-t"]], "check", True)
        with pytest.raises(TransactionError, match=r"check: must be a list of commands"):
            parse_commands("nginx -t", "check", True)

    def test_paths(self):
        assert parse_paths(["/etc/nginx/"], "trees") == ["/etc/nginx"]
        with pytest.raises(TransactionError, match=r"trees\[0\]: must be an absolute path"):
            parse_paths(["nginx"], "trees")
        with pytest.raises(TransactionError, match=r"preserve\[0\]"):
            parse_paths([""], "preserve")

    def test_empty_check_is_refused_by_apply(self, live, tmp_path):
        with pytest.raises(TransactionError, match=r"check: at least one command is required"):
            apply([file_entry(live / "conf.d" / "a.conf", "a = 9\n")], check=[], reload=[["true"]],
                  trees=[str(live)])

    def test_layout(self, live, tmp_path):
        (tmp_path / "other").mkdir()
        with pytest.raises(TransactionError, match=r"trees: .* overlap"):
            ct.check_layout([], [str(live), str(live / "conf.d")])
        with pytest.raises(TransactionError, match=r"trees\[0\]: .* is not a directory"):
            ct.check_layout([], [str(tmp_path / "missing")])
        with pytest.raises(TransactionError, match=r"files\[0\]\.dest: the directory .* does not exist"):
            ct.check_layout([file_entry(live / "nope" / "x.conf", "")], [str(live)])
        with pytest.raises(TransactionError, match=r"files\[0\]\.dest: .* is a directory"):
            ct.check_layout([file_entry(live / "conf.d", "")], [str(live)])
        with pytest.raises(TransactionError, match=r"outside every directory of trees"):
            ct.check_layout([file_entry(tmp_path / "other" / "new", "")], [str(live)])


# --------------------------------------------------------------------------- no change


class TestNoChange:
    def test_nothing_differs_so_nothing_runs(self, live, tmp_path):
        calls = []
        entries = [file_entry(live / "conf.d" / "a.conf", "a = 1\n"),
                   file_entry(live / "conf.d" / "b.conf", "b = 2\n", 0o640)]
        result = apply(entries, check=[["false"]], reload=[["false"]], trees=[str(live)],
                       runner=lambda argv: calls.append(argv) or ct.Outcome(1))
        assert result == {"changed": False, "changed_files": [], "diff": [], "reloaded": False}
        assert calls == []

    def test_a_mode_change_alone_is_a_change(self, live):
        entry = file_entry(live / "conf.d" / "b.conf", "b = 2\n", 0o644)
        assert ct.differs(entry, ct.snapshot(entry.dest))


# --------------------------------------------------------------------------- the transaction


@needs_namespace
class TestTransaction:
    def test_a_good_change_is_checked_swapped_and_reloaded(self, live, tmp_path):
        reload = Reload(tmp_path, live)
        new = live / "conf.d" / "c.conf"
        result = apply([file_entry(live / "conf.d" / "a.conf", "a = 5\n"), file_entry(new, "c = 3\n", 0o600)],
                       check=[parser(live)], reload=[reload.argv], trees=[str(live)])
        assert result["changed"] and result["reloaded"]
        assert result["changed_files"] == [str(live / "conf.d" / "a.conf"), str(new)]
        assert (live / "conf.d" / "a.conf").read_text() == "a = 5\n"
        assert new.read_text() == "c = 3\n" and (new.stat().st_mode & 0o777) == 0o600
        assert reload.runs == ["a = 5"]  # once, with the new files in place
        assert sorted(p.name for p in (live / "conf.d").iterdir()) == ["a.conf", "b.conf", "c.conf"]

    def test_a_file_each_fine_alone_but_refused_together_changes_nothing(self, live, tmp_path):
        # Each new file passes the parser with the live tree; together they set "x" twice.
        before = tree_state(live)
        reload = Reload(tmp_path, live)
        entries = [file_entry(live / "conf.d" / "a.conf", "a = 1\nx = 1\n"),
                   file_entry(live / "conf.d" / "c.conf", "x = 2\n")]
        for alone in entries:
            apply([alone], check=[parser(live)], reload=[["true"]], trees=[str(live)], check_mode=True)
        with pytest.raises(TransactionError) as caught:
            apply(entries, check=[parser(live)], reload=[reload.argv], trees=[str(live)])
        assert "the candidate configuration was refused, no file changed: parser: x set twice" in str(caught.value)
        assert caught.value.result["stage"] == "check"
        assert tree_state(live) == before
        assert reload.runs == []

    def test_the_parser_reads_the_candidate_under_the_live_paths(self, live, tmp_path):
        # The BAD token is only in the candidate; grep -n names the live path.
        before = tree_state(live)
        with pytest.raises(TransactionError) as caught:
            apply([file_entry(live / "conf.d" / "b.conf", "b = BAD\n", 0o640)],
                  check=[parser(live)], reload=[["true"]], trees=[str(live)])
        message = str(caught.value)
        assert f"{live}/conf.d/b.conf:1:b = BAD" in message and "parser: BAD token" in message
        assert tree_state(live) == before
        assert not list(tmp_path.glob("fedisec-candidate-*"))

    def test_the_candidate_never_appears_outside_the_namespace(self, live, tmp_path):
        seen = tmp_path / "seen"
        # The check records what it sees; afterwards the live tree still holds the old bytes.
        check = ["sh", "-c", f"cat {live}/conf.d/a.conf > {seen}; cat /proc/self/mountinfo >> {seen}.mounts"]
        apply([file_entry(live / "conf.d" / "a.conf", "a = 7\n")], check=[check], reload=[["true"]],
              trees=[str(live)], check_mode=True)
        assert seen.read_text() == "a = 7\n"
        assert (live / "conf.d" / "a.conf").read_text() == "a = 1\n"
        with open("/proc/self/mountinfo") as mounts:
            assert str(live) not in mounts.read()
        assert "fedisec-candidate" in (tmp_path / "seen.mounts").read_text()

    def test_scratch_directory_for_generated_output(self, live):
        check = [["sh", "-c", f"cat {live}/conf.d/*.conf > {ct.SCRATCH}/built"],
                 ["sh", "-c", f"grep -q 'a = 8' {ct.SCRATCH}/built && test \"$(pwd)\" = {ct.SCRATCH}"]]
        result = apply([file_entry(live / "conf.d" / "a.conf", "a = 8\n")], check=check, reload=[["true"]],
                       trees=[str(live)], check_mode=True)
        assert result["changed"] and not result["reloaded"]

    def test_check_mode_runs_the_check_and_touches_nothing(self, live, tmp_path):
        before = tree_state(live)
        reload = Reload(tmp_path, live)
        result = apply([file_entry(live / "conf.d" / "a.conf", "a = 2\n"),
                        Entry(str(live / "conf.d" / "b.conf"), "absent")],
                       check=[parser(live)], reload=[reload.argv], trees=[str(live)], check_mode=True)
        assert result["changed"] and not result["reloaded"]
        assert result["diff"][0]["before"].endswith("a = 1\n") and result["diff"][0]["after"].endswith("a = 2\n")
        assert result["diff"][1]["after"] == ""
        assert tree_state(live) == before and reload.runs == []
        with pytest.raises(TransactionError, match="BAD token"):
            apply([file_entry(live / "conf.d" / "a.conf", "BAD\n")], check=[parser(live)], reload=[reload.argv],
                  trees=[str(live)], check_mode=True)

    def test_a_failed_reload_restores_every_file_and_reloads_again(self, live, tmp_path):
        before = tree_state(live)
        reload = Reload(tmp_path, live, fail_when="a = 6")
        new = live / "conf.d" / "new.conf"
        entries = [file_entry(live / "conf.d" / "a.conf", "a = 6\n", 0o600),
                   file_entry(live / "conf.d" / "b.conf", "b = 3\n", 0o644),
                   file_entry(new, "n = 1\n"),
                   Entry(str(live / "main.conf"), "absent")]
        with pytest.raises(TransactionError) as caught:
            apply(entries, check=[["true"]], reload=[reload.argv], trees=[str(live)])
        message = str(caught.value)
        assert "failed (rc 3) with the new files; the previous files are back and reloaded with the previous" in message
        assert caught.value.result["stage"] == "reload" and caught.value.result["restored_reload_rc"] == 0
        assert tree_state(live) == before  # bytes, owner, mode and mtime; new.conf gone; main.conf back
        assert reload.runs == ["a = 6", "a = 1"]  # failed with the new files, ran again with the old
        assert not [p for p in live.rglob("*") if p.name.startswith(".") or p.name.endswith("~")]

    def test_a_reload_that_fails_twice_says_so(self, live, tmp_path):
        before = tree_state(live)
        with pytest.raises(TransactionError, match=r"the reload with the previous files failed too: false"):
            apply([file_entry(live / "conf.d" / "a.conf", "a = 4\n")], check=[["true"]], reload=[["false"]],
                  trees=[str(live)])
        assert tree_state(live) == before

    def test_later_reload_commands_do_not_run_after_a_failure(self, live, tmp_path):
        log = tmp_path / "second"
        with pytest.raises(TransactionError):
            apply([file_entry(live / "conf.d" / "a.conf", "a = 4\n")], check=[["true"]],
                  reload=[["false"], ["sh", "-c", f"echo ran >> {log}"]], trees=[str(live)])
        assert not log.exists()

    def test_preserved_generated_file_comes_back(self, live, tmp_path):
        # As Exim's: the reload builds a file from the managed ones, then signals the daemon.
        generated = tmp_path / "var" / "config.autogenerated"
        generated.parent.mkdir()
        generated.write_text("a = 1\nb = 2\n")
        log = tmp_path / "seen"
        build = ["sh", "-c", f"cat {generated} >> {log}; cat {live}/conf.d/*.conf > {generated}"]
        signal = ["sh", "-c", f"grep -q 'a = 6' {generated} && exit 1; true"]
        with pytest.raises(TransactionError, match="reloaded with the previous files"):
            apply([file_entry(live / "conf.d" / "a.conf", "a = 6\n")], check=[["true"]],
                  reload=[build, signal], trees=[str(live)], preserve=[str(generated)])
        assert generated.read_text() == "a = 1\nb = 2\n"
        # The second build found the preserved file back in place, not the one built from the new files.
        assert log.read_text() == "a = 1\nb = 2\n" * 2
        assert (live / "conf.d" / "a.conf").read_text() == "a = 1\n"

    def test_a_failed_verify_restores_without_a_reload(self, live, tmp_path):
        before = tree_state(live)
        reload = Reload(tmp_path, live)
        verify = ["sh", "-c", f"grep -q 'a = 0' {live}/conf.d/a.conf && echo 'line 1: a must not be 0' && exit 1; true"]
        with pytest.raises(TransactionError) as caught:
            apply([file_entry(live / "conf.d" / "a.conf", "a = 0\n")], check=[["true"]], verify=[verify],
                  reload=[reload.argv], trees=[str(live)])
        assert "refused the new files (rc 1); the previous files are back: line 1: a must not be 0" in str(caught.value)
        assert tree_state(live) == before and reload.runs == []

    def test_a_file_outside_the_trees_is_bind_mounted_for_the_check(self, live, tmp_path):
        outside = tmp_path / "mailname"
        outside.write_text("old.example\n")
        check = ["sh", "-c", f"grep -q new.example {outside} && grep -q 'a = 3' {live}/conf.d/a.conf"]
        result = apply([file_entry(outside, "new.example\n"), file_entry(live / "conf.d" / "a.conf", "a = 3\n")],
                       check=[check], reload=[["true"]], trees=[str(live)])
        assert result["reloaded"] and outside.read_text() == "new.example\n"

    def test_symlinks_in_the_candidate(self, live, tmp_path):
        available = live / "sites-available"
        enabled = live / "sites-enabled"
        available.mkdir()
        enabled.mkdir()
        (live / "main.conf").write_text(f"include {enabled}/*.conf\n")
        (enabled / "default.conf").write_text("x = default\n")
        site = available / "site.conf"
        entries = [file_entry(site, "x = site\n"), Entry(str(enabled / "site.conf"), "link", target=str(site))]
        # The new site and the default both set x: refused, and the new file and link never appear.
        with pytest.raises(TransactionError, match="x set twice"):
            apply(entries, check=[parser(live)], reload=[["true"]], trees=[str(live)])
        assert not site.exists() and not os.path.lexists(enabled / "site.conf")
        entries.append(Entry(str(enabled / "default.conf"), "absent"))
        result = apply(entries, check=[parser(live)], reload=[["true"]], trees=[str(live)])
        assert result["reloaded"]
        assert os.readlink(enabled / "site.conf") == str(site) and not (enabled / "default.conf").exists()
        # Idempotent: the same entries again change nothing.
        assert apply(entries, check=[["false"]], reload=[["false"]], trees=[str(live)])["changed"] is False

    def test_a_missing_parser_is_reported(self, live):
        with pytest.raises(TransactionError, match=r"refused, no file changed: .*no-such-parser"):
            apply([file_entry(live / "conf.d" / "a.conf", "a = 4\n")], check=[["no-such-parser", "-t"]],
                  reload=[["true"]], trees=[str(live)])
        assert (live / "conf.d" / "a.conf").read_text() == "a = 1\n"


class TestStagingFailure:
    def test_a_namespace_that_cannot_be_made_changes_nothing(self, live):
        before = tree_state(live)
        with pytest.raises(TransactionError, match=r"could not stage the candidate configuration .*CAP_SYS_ADMIN"):
            ct.check_candidate([file_entry(live / "conf.d" / "a.conf", "a = 4\n")], [str(live)], [["true"]],
                               unshare=["sh", "-c", "echo 'unshare failed: Operation not permitted' >&2; exit 1", "x"])
        assert tree_state(live) == before


@needs_root
@needs_namespace
class TestOwnership:
    def test_owner_group_and_mode_come_back(self, live, tmp_path):
        target = live / "conf.d" / "a.conf"
        os.chown(target, 65534, 65534)
        os.chmod(target, 0o640)
        before = tree_state(live)
        with pytest.raises(TransactionError):
            apply([Entry(str(target), "file", content=b"a = 1\n", uid=0, gid=0, mode=0o644)],
                  check=[["true"]], reload=[["false"]], trees=[str(live)])
        assert tree_state(live) == before

    def test_the_candidate_has_the_new_owner_and_mode_in_the_check(self, live):
        target = live / "conf.d" / "a.conf"
        check = ["sh", "-c", f"test \"$(stat -c '%u:%g %a' {target})\" = '65534:65534 600'"]
        apply([Entry(str(target), "file", content=b"a = 1\n", uid=65534, gid=65534, mode=0o600)],
              check=[check], reload=[["true"]], trees=[str(live)], check_mode=True)


# --------------------------------------------------------------------------- the roles' wiring

ROLES = Path(__file__).resolve().parents[2] / "roles"


def _transaction(role: str, tasks_file: str = "config.yml") -> dict:
    tasks = yaml.safe_load((ROLES / role / "tasks" / tasks_file).read_text())
    (task,) = [t for t in tasks if "fedisec.hardening.config_transaction" in t]
    return task


class TestRoleWiring:
    def test_nginx_checks_its_whole_tree_and_reloads_once(self):
        task = _transaction("nginx_tls")
        args = task["fedisec.hardening.config_transaction"]
        assert args["trees"] == ["/etc/nginx"]
        assert args["check"] == [["/usr/sbin/nginx", "-t", "-q"]]
        assert args["reload"] == [["systemctl", "reload-or-restart", "nginx"]]
        dests = [f["dest"] for f in task["vars"]["nginx_tls_config_files"]]
        assert dests[0] == "/etc/nginx/conf.d/fedisec-hardening.conf"
        assert all(d.startswith("/etc/nginx/") or d == "{{ nginx_tls_site_file }}" for d in dests)
        assert "/etc/nginx/sites-enabled/default" in args["files"]
        # No file of the role reaches the live tree any other way, and no handler reloads later.
        tasks = yaml.safe_load((ROLES / "nginx_tls" / "tasks" / "config.yml").read_text())
        others = [t for t in tasks if t is not task and "fedisec.hardening.config_transaction" not in t]
        assert not [t["name"] for t in others if "/etc/nginx" in str(t) or "notify" in t]

    def test_exim_builds_and_parses_the_candidate_before_the_swap(self):
        task = _transaction("exim_tls")
        args = task["fedisec.hardening.config_transaction"]
        assert args["trees"] == ["/etc/exim4"]
        assert args["check"] == [["/usr/sbin/update-exim4.conf", "--output", "{scratch}/exim4.conf"],
                                 ["/usr/sbin/exim4", "-C", "{scratch}/exim4.conf", "-bV"]]
        assert args["reload"][0] == ["/usr/sbin/update-exim4.conf"]
        assert args["preserve"] == ["/var/lib/exim4/config.autogenerated"]
        dests = [f["dest"] for f in args["files"]]
        # The main options name ACLs of 60_fedisec-auth: both in the same transaction.
        assert {"/etc/exim4/conf.d/main/04_fedisec-tls", "/etc/exim4/conf.d/acl/60_fedisec-auth",
                "/etc/exim4/fedisec-submission.acl", "/etc/mailname"} <= set(dests)
        # update-exim4.conf reads only names of letters, digits, '_' and '-' in conf.d.
        assert all(re.fullmatch(r"[A-Za-z0-9_-]+", d.rsplit("/", 1)[-1]) for d in dests if "/conf.d/" in d)
        # Every template of the role's configuration is in it; the password file is not (no diff of hashes).
        templates = {p.name for p in (ROLES / "exim_tls" / "templates").iterdir()}
        used = {re.search(r"'([^']+\.j2)'", f["content"]).group(1) for f in args["files"] if ".j2" in f["content"]}
        satellite = {"update-exim4.conf.satellite.j2", "000_fedisec-satellite.j2"}
        assert used == templates - {"passwd.j2", "dns-records.txt.j2", "mta-sts.txt.j2"} - satellite
        assert "passwd" not in str(args)

    def test_an_exim_satellite_is_built_the_same_way_and_drops_the_server_files(self):
        args = _transaction("exim_tls", "satellite.yml")["fedisec.hardening.config_transaction"]
        full = _transaction("exim_tls")["fedisec.hardening.config_transaction"]
        assert (args["trees"], args["check"], args["reload"], args["preserve"]) == (
            full["trees"], full["check"], full["reload"], full["preserve"])
        files = {f["dest"]: f for f in args["files"]}
        used = {re.search(r"'([^']+\.j2)'", f["content"]).group(1) for f in files.values() if ".j2" in f.get("content", "")}
        assert used == {"update-exim4.conf.satellite.j2", "000_fedisec-satellite.j2"}
        # A full Exim's TLS server, submission and AUTH files from an earlier run go.
        gone = {dest for dest, f in files.items() if f.get("state") == "absent"}
        assert gone == {f["dest"] for f in full["files"]} - {dest for dest, f in files.items() if "content" in f}
