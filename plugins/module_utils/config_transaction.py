# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A configuration change as one transaction: candidate tree, the daemon's own parser, swap,
reload, and the previous files back when the reload fails.

Pure Python with standard-library imports only, so that the unit tests call it without
Ansible (the module ``fedisec.hardening.config_transaction`` is a thin wrapper).

The steps of :func:`apply`:

1. Every entry of ``files`` is compared with the live path (bytes, symlink target, owner,
   group, mode). Nothing differs: nothing runs, not even the check (a converged host pays
   one comparison per file).
2. **Check.** In a private mount namespace (``unshare --mount --propagation private``) a
   tmpfs is mounted, each directory of ``trees`` is copied into it with ``cp -a``, the
   candidate files are laid over the copy, and the copy is bind-mounted over the live
   directory; a changed file outside every tree is bind-mounted over its live path. The
   ``check`` commands then run there: the daemon's own parser reads the *whole* candidate
   configuration under the live paths, so absolute ``include`` lines work and its messages
   name the real files. The tmpfs exists only inside the namespace: copies of private keys
   in the tree never reach a disk, and nothing outside the namespace sees the candidate.
   A failure stops here; no live file has changed.
3. **Swap.** Each file is written next to its destination (a hidden temporary name, owner
   and mode set before the content), flushed and renamed over the destination; symlinks
   and removals the same way. The previous state (bytes or link target, owner, group,
   mode, times) is kept in memory: no backup file is left in a configuration directory.
4. **Verify** (optional): commands that read the live files before the daemon does (for
   example a view of a running server that parses its files on demand). A failure puts
   the previous files back; nothing was reloaded.
5. **Reload.** A failure puts the previous files (and the ``preserve`` paths, files the
   reload regenerates) back, runs the reload commands once more and reports both.
"""

from __future__ import annotations

import grp
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import Callable, Sequence

# Output of a failed command kept in a message: enough for a parser's errors.
OUTPUT_LIMIT = 4000
# Replaced in check commands by a private directory on the check's tmpfs.
SCRATCH = "{scratch}"


class TransactionError(Exception):
    """Bad input or a failed step. ``result`` holds what the module reports."""

    def __init__(self, message: str, result: dict | None = None):
        super().__init__(message)
        self.result = result or {}


# --------------------------------------------------------------------------- inputs


@dataclass
class Entry:
    """One managed path: a regular file (``content``), a symlink (``target``) or absent."""

    dest: str
    kind: str  # file | link | absent
    content: bytes = b""
    target: str = ""
    uid: int = 0
    gid: int = 0
    mode: int = 0o644


def _where(index: int, key: str) -> str:
    return f"files[{index}].{key}"


def abs_path(value, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise TransactionError(f"{name}: must be an absolute path, got {value!r}")
    if not value.startswith("/") or "\0" in value or "\n" in value:
        raise TransactionError(f"{name}: must be an absolute path, got {value!r}")
    parts = value.split("/")
    if ".." in parts or "." in parts:
        raise TransactionError(f"{name}: {value!r} must not contain '.' or '..' components")
    normal = os.path.normpath(value)
    if normal != value.rstrip("/") or normal == "/":
        raise TransactionError(f"{name}: {value!r} is not a normalised path to a file or directory")
    return normal


def octal_mode(value, name: str) -> int:
    if isinstance(value, bool):
        raise TransactionError(f"{name}: must be an octal string such as '0644', got {value!r}")
    if isinstance(value, int):
        # As Ansible's file modules: an integer is taken as already converted from octal.
        mode = value
    elif isinstance(value, str) and value and all(c in "01234567" for c in value) and len(value) <= 4:
        mode = int(value, 8)
    else:
        raise TransactionError(f"{name}: must be an octal string such as '0644', got {value!r}")
    if not 0 <= mode <= 0o7777:
        raise TransactionError(f"{name}: {value!r} is not a file mode")
    return mode


def user_id(value, name: str) -> int:
    if not isinstance(value, str) or not value:
        raise TransactionError(f"{name}: must be a user name, got {value!r}")
    try:
        return pwd.getpwnam(value).pw_uid
    except KeyError:
        raise TransactionError(f"{name}: no user {value!r} on this host") from None


def group_id(value, name: str) -> int:
    if not isinstance(value, str) or not value:
        raise TransactionError(f"{name}: must be a group name, got {value!r}")
    try:
        return grp.getgrnam(value).gr_gid
    except KeyError:
        raise TransactionError(f"{name}: no group {value!r} on this host") from None


FILE_KEYS = {"dest", "content", "src", "link", "state", "owner", "group", "mode"}


def parse_files(files) -> list[Entry]:
    """Checks ``files`` and reads ``src`` files; raises TransactionError naming the key."""
    if not isinstance(files, list) or not files:
        raise TransactionError("files: must be a non-empty list of {dest, content|src|link|state: absent, ...}")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(files):
        if not isinstance(item, dict):
            raise TransactionError(f"files[{index}]: must be a dictionary, got {type(item).__name__}")
        unknown = sorted(set(item) - FILE_KEYS)
        if unknown:
            raise TransactionError(f"files[{index}]: unknown key(s) {unknown} (allowed: {sorted(FILE_KEYS)})")
        dest = abs_path(item.get("dest"), _where(index, "dest"))
        if dest in seen:
            raise TransactionError(f"{_where(index, 'dest')}: {dest} is also files[{seen[dest]}].dest")
        seen[dest] = index
        state = item.get("state", "present")
        if state not in ("present", "absent"):
            raise TransactionError(f"{_where(index, 'state')}: must be present or absent, got {state!r}")
        sources = [key for key in ("content", "src", "link") if item.get(key) is not None]
        if state == "absent":
            if sources:
                raise TransactionError(f"files[{index}]: state absent takes no {sources[0]}")
            entries.append(Entry(dest, "absent"))
            continue
        if len(sources) != 1:
            raise TransactionError(f"files[{index}]: give exactly one of content, src or link (got {sources or 'none'})")
        if sources[0] == "link":
            target = item["link"]
            if not isinstance(target, str) or not target or "\0" in target:
                raise TransactionError(f"{_where(index, 'link')}: must be a path, got {target!r}")
            entries.append(Entry(dest, "link", target=target))
            continue
        if sources[0] == "content":
            content = item["content"]
            if not isinstance(content, str):
                raise TransactionError(f"{_where(index, 'content')}: must be a string")
            data = content.encode()
        else:
            src = abs_path(item["src"], _where(index, "src"))
            try:
                with open(src, "rb") as handle:
                    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                        raise TransactionError(f"{_where(index, 'src')}: {src} is not a regular file")
                    data = handle.read()
            except OSError as err:
                raise TransactionError(f"{_where(index, 'src')}: cannot read {src}: {err.strerror}") from None
        if item.get("mode") is None:
            raise TransactionError(f"{_where(index, 'mode')}: required for a file (an octal string such as '0644')")
        entries.append(Entry(
            dest, "file", content=data,
            uid=user_id(item.get("owner", "root"), _where(index, "owner")),
            gid=group_id(item.get("group", "root"), _where(index, "group")),
            mode=octal_mode(item["mode"], _where(index, "mode")),
        ))
    return entries


def parse_commands(value, name: str, required: bool) -> list[list[str]]:
    """A list of commands, each a list of strings (one command alone is accepted too)."""
    if value is None or value == []:
        if required:
            raise TransactionError(f"{name}: at least one command is required")
        return []
    if not isinstance(value, list):
        raise TransactionError(f"{name}: must be a list of commands (each a list of strings)")
    if all(isinstance(arg, str) for arg in value):
        value = [value]
    commands = []
    for index, command in enumerate(value):
        if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
            raise TransactionError(f"{name}[{index}]: must be a non-empty list of strings, got {command!r}")
        if not command[0]:
            raise TransactionError(f"{name}[{index}]: the program name is empty")
        commands.append(list(command))
    return commands


def parse_paths(value, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TransactionError(f"{name}: must be a list of absolute paths")
    return [abs_path(path, f"{name}[{index}]") for index, path in enumerate(value)]


def _inside(path: str, directory: str) -> bool:
    return path.startswith(directory + "/")


def check_layout(entries: Sequence[Entry], trees: Sequence[str]) -> None:
    """Trees are existing, disjoint directories; every entry can be staged for the check."""
    for index, tree in enumerate(trees):
        if not os.path.isdir(tree) or os.path.islink(tree):
            raise TransactionError(f"trees[{index}]: {tree} is not a directory")
        for other in trees[index + 1:]:
            if tree == other or _inside(other, tree) or _inside(tree, other):
                raise TransactionError(f"trees: {tree} and {other} overlap")
    for index, entry in enumerate(entries):
        name = _where(index, "dest")
        parent = os.path.dirname(entry.dest)
        if entry.kind != "absent" and not os.path.isdir(parent):
            raise TransactionError(f"{name}: the directory {parent} does not exist")
        if os.path.isdir(entry.dest) and not os.path.islink(entry.dest):
            raise TransactionError(f"{name}: {entry.dest} is a directory")
        if any(_inside(entry.dest, tree) for tree in trees):
            continue
        # Outside every tree the candidate is bind-mounted over the live file for the check.
        if entry.kind != "file" or not os.path.isfile(entry.dest) or os.path.islink(entry.dest):
            raise TransactionError(
                f"{name}: {entry.dest} is outside every directory of trees; only an existing regular file"
                " can be checked there (add its directory to trees)")


# --------------------------------------------------------------------------- live state


@dataclass
class Snapshot:
    """What a path held before the swap."""

    path: str
    kind: str  # file | link | absent
    data: bytes = b""
    target: str = ""
    uid: int = 0
    gid: int = 0
    mode: int = 0
    times: tuple[int, int] = (0, 0)


def snapshot(path: str) -> Snapshot:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return Snapshot(path, "absent")
    if stat.S_ISLNK(info.st_mode):
        return Snapshot(path, "link", target=os.readlink(path), uid=info.st_uid, gid=info.st_gid)
    if not stat.S_ISREG(info.st_mode):
        raise TransactionError(f"{path} is neither a regular file nor a symlink")
    with open(path, "rb") as handle:
        data = handle.read()
    return Snapshot(path, "file", data=data, uid=info.st_uid, gid=info.st_gid,
                    mode=stat.S_IMODE(info.st_mode), times=(info.st_atime_ns, info.st_mtime_ns))


def differs(entry: Entry, current: Snapshot) -> bool:
    if entry.kind == "absent":
        return current.kind != "absent"
    if entry.kind == "link":
        return current.kind != "link" or current.target != entry.target
    return (current.kind != "file" or current.data != entry.content
            or (current.uid, current.gid, current.mode) != (entry.uid, entry.gid, entry.mode))


def fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(path: str) -> str:
    # Hidden and without the destination's suffix: no daemon's "*.conf" glob (nginx,
    # sshd) or update-exim4.conf's [[:alnum:]_-] rule picks it up in the instant it exists.
    directory, base = os.path.split(path)
    return os.path.join(directory, f".{base}.fedisec-{os.urandom(6).hex()}")


def write_file(path: str, data: bytes, uid: int, gid: int, mode: int, times: tuple[int, int] | None = None,
               check: Callable[[str], None] | None = None) -> None:
    """Atomically replaces ``path`` with a regular file (owner and mode set before the data).
    ``check`` gets the finished temporary file before the rename; if it raises, ``path`` is
    left as it was."""
    temp = _temp_name(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        try:
            os.fchown(fd, uid, gid)
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        if times is not None:
            os.utime(temp, ns=times, follow_symlinks=False)
        if check is not None:
            check(temp)
        os.rename(temp, path)
    except BaseException:
        unlink_quietly(temp)
        raise
    fsync_dir(os.path.dirname(path))


def write_link(path: str, target: str, uid: int | None = None, gid: int | None = None) -> None:
    temp = _temp_name(path)
    os.symlink(target, temp)
    try:
        if uid is not None:
            os.lchown(temp, uid, gid if gid is not None else -1)
        os.rename(temp, path)
    except BaseException:
        unlink_quietly(temp)
        raise
    fsync_dir(os.path.dirname(path))


def unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def install(entry: Entry, check: Callable[[str], None] | None = None) -> None:
    """Makes ``entry.dest`` what the entry says (``check``: see :func:`write_file`)."""
    if entry.kind == "file":
        write_file(entry.dest, entry.content, entry.uid, entry.gid, entry.mode, check=check)
    elif entry.kind == "link":
        write_link(entry.dest, entry.target)
    else:
        unlink_quietly(entry.dest)
        fsync_dir(os.path.dirname(entry.dest))


def restore(previous: Snapshot) -> None:
    """Puts back what :func:`snapshot` saw: bytes, owner, group, mode and times."""
    if previous.kind == "file":
        write_file(previous.path, previous.data, previous.uid, previous.gid, previous.mode, previous.times)
    elif previous.kind == "link":
        write_link(previous.path, previous.target, previous.uid, previous.gid)
    elif os.path.lexists(previous.path):
        os.unlink(previous.path)
        fsync_dir(os.path.dirname(previous.path))


# --------------------------------------------------------------------------- commands


@dataclass
class Outcome:
    rc: int
    stdout: str = ""
    stderr: str = ""
    argv: list[str] = field(default_factory=list)

    def text(self) -> str:
        out = "\n".join(part.strip() for part in (self.stdout, self.stderr) if part.strip())
        if len(out) > OUTPUT_LIMIT:
            out = "...\n" + out[-OUTPUT_LIMIT:]
        return out


Runner = Callable[[Sequence[str]], Outcome]


def run_command(argv: Sequence[str]) -> Outcome:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, errors="replace", check=False,
                              stdin=subprocess.DEVNULL)
    except OSError as err:
        return Outcome(127, "", f"{argv[0]}: {err.strerror}", list(argv))
    return Outcome(proc.returncode, proc.stdout, proc.stderr, list(argv))


def run_all(commands: Sequence[Sequence[str]], runner: Runner) -> Outcome | None:
    """Runs the commands in order; returns the first failure, or None."""
    for command in commands:
        outcome = runner(command)
        if outcome.rc != 0:
            return outcome
    return None


def _q(value: str) -> str:
    return shlex.quote(value)


def namespace_script(changes: Sequence[Entry], trees: Sequence[str], candidates: dict[str, str],
                     stage: str, marker: str, check: Sequence[Sequence[str]]) -> str:
    """The shell script run by ``unshare --mount``: stage the candidate, then the check.

    Every path and argument is quoted with shlex.quote. ``candidates`` maps a changed file's
    destination to its prepared copy (right owner and mode) in the private work directory.
    ``marker`` is written once staging has succeeded, so that a staging failure is told
    apart from the parser's own."""
    lines = ["set -eu", "umask 077",
             f"mount -t tmpfs -o mode=0700 fedisec-candidate {_q(stage)}"]
    copies = {}
    for index, tree in enumerate(trees):
        copy = f"{stage}/tree{index}"
        copies[tree] = copy
        lines.append(f"cp -a {_q(tree)} {_q(copy)}")
    binds = []
    for entry in changes:
        tree = next((t for t in trees if _inside(entry.dest, t)), None)
        if tree is None:
            binds.append((candidates[entry.dest], entry.dest))
            continue
        staged = copies[tree] + entry.dest[len(tree):]
        lines.append(f"rm -rf {_q(staged)}")
        if entry.kind == "file":
            lines.append(f"cp -p {_q(candidates[entry.dest])} {_q(staged)}")
        elif entry.kind == "link":
            lines.append(f"ln -s {_q(entry.target)} {_q(staged)}")
    for tree, copy in copies.items():
        lines.append(f"mount --bind {_q(copy)} {_q(tree)}")
    for source, dest in binds:
        lines.append(f"mount --bind {_q(source)} {_q(dest)}")
    scratch = f"{stage}/scratch"
    lines += [f"mkdir {_q(scratch)}", f"cd {_q(scratch)}", f": > {_q(marker)}"]
    for command in check:
        lines.append(" ".join(_q(arg.replace(SCRATCH, scratch)) for arg in command))
    return "\n".join(lines) + "\n"


def check_candidate(changes: Sequence[Entry], trees: Sequence[str], check: Sequence[Sequence[str]],
                    runner: Runner = run_command, unshare: Sequence[str] = ("unshare", "--mount",
                                                                             "--propagation", "private")) -> None:
    """Runs the check commands on the candidate in a private mount namespace."""
    work = tempfile.mkdtemp(prefix="fedisec-candidate-")
    try:
        candidates = {}
        for index, entry in enumerate(changes):
            if entry.kind == "file":
                path = os.path.join(work, f"file{index}")
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(entry.content)
                os.chown(path, entry.uid, entry.gid)
                os.chmod(path, entry.mode)
                candidates[entry.dest] = path
        stage, marker = os.path.join(work, "stage"), os.path.join(work, "staged")
        os.mkdir(stage, 0o700)
        script = namespace_script(changes, trees, candidates, stage, marker, check)
        outcome = runner([*unshare, "/bin/sh", "-c", script])
        if outcome.rc == 0:
            return
        if not os.path.exists(marker):
            raise TransactionError(
                "could not stage the candidate configuration in a private mount namespace"
                f" (unshare --mount needs root with CAP_SYS_ADMIN): {outcome.text()}",
                {"stage": "check"})
        raise TransactionError(
            f"the candidate configuration was refused, no file changed: {outcome.text()}",
            {"stage": "check", "rc": outcome.rc, "stdout": outcome.stdout, "stderr": outcome.stderr})
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- the transaction


def describe(kind: str, data: bytes = b"", target: str = "", uid: int = 0, gid: int = 0, mode: int = 0) -> str:
    """How a diff shows a path: nothing when absent, a symlink's target, a directory's or a
    file's owner, group and mode (and a file's text)."""
    if kind == "absent":
        return ""
    if kind == "link":
        return f"symlink -> {target}\n"
    if kind == "directory":
        return f"directory, owner {uid}, group {gid}, mode {mode:04o}\n"
    return f"# owner {uid}, group {gid}, mode {mode:04o}\n{data.decode(errors='replace')}"


def change_diff(entry: Entry, current: Snapshot) -> dict:
    """The module's diff entry for one path: what it held, what it gets."""
    return {
        "before_header": entry.dest, "after_header": entry.dest,
        "before": describe(current.kind, current.data, current.target, current.uid, current.gid, current.mode),
        "after": describe(entry.kind, entry.content, entry.target, entry.uid, entry.gid, entry.mode),
    }


def apply(entries: Sequence[Entry], check: Sequence[Sequence[str]], reload: Sequence[Sequence[str]],
          trees: Sequence[str] = (), verify: Sequence[Sequence[str]] = (), preserve: Sequence[str] = (),
          check_mode: bool = False, runner: Runner = run_command,
          checker: Callable[..., None] | None = None) -> dict:
    """Runs the transaction; returns the module result or raises TransactionError."""
    if not check:
        raise TransactionError("check: at least one command is required")
    check_layout(entries, trees)
    current = [snapshot(entry.dest) for entry in entries]
    changes = [(entry, before) for entry, before in zip(entries, current) if differs(entry, before)]
    result = {
        "changed": bool(changes),
        "changed_files": [entry.dest for entry, _ in changes],
        "diff": [change_diff(entry, before) for entry, before in changes],
        "reloaded": False,
    }
    if not changes:
        return result
    (checker or check_candidate)([entry for entry, _ in changes], trees, check, runner)
    if check_mode:
        return result

    kept = [snapshot(path) for path in preserve]
    done: list[Snapshot] = []

    def put_back() -> list[str]:
        errors = []
        for previous in reversed(done + kept):
            try:
                restore(previous)
            except OSError as err:
                errors.append(f"{previous.path}: {err}")
        return errors

    try:
        for entry, before in changes:
            done.append(before)
            install(entry)
    except OSError as err:
        errors = put_back()
        raise TransactionError(f"could not write {err.filename or ''}: {err.strerror}; previous files restored"
                               + (f" except {errors}" if errors else ""), {**result, "stage": "swap"}) from None

    failure = run_all(verify, runner)
    if failure is not None:
        errors = put_back()
        raise TransactionError(
            f"{shlex.join(failure.argv)} refused the new files (rc {failure.rc}); the previous files are back"
            + (f" except {errors}" if errors else "") + f": {failure.text()}",
            {**result, "stage": "verify", "rc": failure.rc, "stdout": failure.stdout, "stderr": failure.stderr})

    failure = run_all(reload, runner)
    if failure is None:
        result["reloaded"] = True
        return result
    errors = put_back()
    again = run_all(reload, runner)
    state = ("reloaded with the previous files" if again is None
             else f"the reload with the previous files failed too: {shlex.join(again.argv)}: {again.text()}")
    raise TransactionError(
        f"{shlex.join(failure.argv)} failed (rc {failure.rc}) with the new files; the previous files are back"
        + (f" except {errors}" if errors else "") + f" and {state}. The reload said: {failure.text()}",
        {**result, "stage": "reload", "rc": failure.rc, "stdout": failure.stdout, "stderr": failure.stderr,
         "restored_reload_rc": 0 if again is None else again.rc})
