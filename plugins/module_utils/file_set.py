# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A role's directories, files and links in one call: one round trip for what would
otherwise be a loop of ``file``/``copy``/``template`` tasks (each item its own trip).

Pure Python with standard-library imports only (the unit tests call it without Ansible);
the module ``fedisec.hardening.file_set`` is a thin wrapper. Files are written the way
``config_transaction`` writes them (hidden temporary name, owner and mode before the
content, rename); no parser and no reload here: a file that a daemon must check first
belongs in ``config_transaction``.

:func:`apply` handles the entries in order, so a directory listed before the files in it
exists when they are written. A converged host costs one ``lstat`` (and one read for a
file) per entry and no write.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from typing import Sequence

from ansible_collections.fedisec.hardening.plugins.module_utils.config_transaction import (
    OUTPUT_LIMIT,
    Entry,
    TransactionError,
    abs_path,
    change_diff,
    describe,
    differs,
    fsync_dir,
    group_id,
    install,
    octal_mode,
    snapshot,
    user_id,
)

STATES = ("directory", "file", "link", "absent")
KEYS = {"path", "state", "content", "link", "owner", "group", "mode", "validate"}


class FileSetError(TransactionError):
    """Bad input or a path that cannot be made what the entry says."""


@dataclass
class Wanted(Entry):
    """One entry: what ``dest`` must be (``kind``: a state of :data:`STATES`), as
    config_transaction's entries plus directories and a validate command."""

    validate: tuple[str, ...] = ()


def _where(index: int, key: str) -> str:
    return f"paths[{index}].{key}"


def parse(paths) -> list[Wanted]:
    """Checks ``paths``; raises FileSetError naming the entry and key."""
    try:
        return _parse(paths)
    except FileSetError:
        raise
    except TransactionError as err:  # the shared checks of paths, modes, users and groups
        raise FileSetError(str(err)) from None


def _parse(paths) -> list[Wanted]:
    if not isinstance(paths, list) or not paths:
        raise FileSetError("paths: must be a non-empty list of {path, state, content|link, owner, group, mode}")
    wanted: list[Wanted] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(paths):
        if not isinstance(item, dict):
            raise FileSetError(f"paths[{index}]: must be a dictionary, got {type(item).__name__}")
        unknown = sorted(set(item) - KEYS)
        if unknown:
            raise FileSetError(f"paths[{index}]: unknown key(s) {unknown} (allowed: {sorted(KEYS)})")
        path = abs_path(item.get("path"), _where(index, "path"))
        if path in seen:
            raise FileSetError(f"{_where(index, 'path')}: {path} is also paths[{seen[path]}].path")
        seen[path] = index
        state = item.get("state", "file")
        if state not in STATES:
            raise FileSetError(f"{_where(index, 'state')}: must be one of {', '.join(STATES)}, got {state!r}")
        given = sorted(key for key in ("content", "link", "mode", "validate") if item.get(key) is not None)
        allowed = {"directory": ["mode"], "file": ["content", "mode", "validate"], "link": ["link"], "absent": []}[state]
        extra = [key for key in given if key not in allowed]
        if extra:
            raise FileSetError(f"paths[{index}]: state {state} takes no {extra[0]}")
        missing = [key for key in allowed if key not in given and key != "validate"]
        if missing:
            raise FileSetError(f"{_where(index, missing[0])}: required for state {state}")
        if state == "absent":
            wanted.append(Wanted(path, state))
            continue
        if state == "link":
            target = item["link"]
            if not isinstance(target, str) or not target or "\0" in target:
                raise FileSetError(f"{_where(index, 'link')}: must be a path, got {target!r}")
            wanted.append(Wanted(path, state, target=target))
            continue
        content = item["content"] if state == "file" else ""
        if not isinstance(content, str):
            raise FileSetError(f"{_where(index, 'content')}: must be a string")
        wanted.append(Wanted(
            path, state, content=content.encode(),
            uid=user_id(item.get("owner", "root"), _where(index, "owner")),
            gid=group_id(item.get("group", "root"), _where(index, "group")),
            mode=octal_mode(item["mode"], _where(index, "mode")),
            validate=_validate_command(item.get("validate"), _where(index, "validate")),
        ))
    return wanted


def _validate_command(value, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, str):
        raise FileSetError(f"{name}: must be a command line with %s for the file, got {value!r}")
    try:
        argv = tuple(shlex.split(value))
    except ValueError as err:
        raise FileSetError(f"{name}: {value!r} is not a command line: {err}") from None
    if not argv or argv.count("%s") != 1 or argv[0] == "%s":
        raise FileSetError(f"{name}: {value!r} must be a command with one argument %s (the new file)")
    return argv


def _validator(entry: Wanted):
    """Runs ``entry.validate`` on the candidate file; raises FileSetError with its output."""
    def check(candidate: str) -> None:
        argv = [candidate if arg == "%s" else arg for arg in entry.validate]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, errors="replace", check=False)
        except OSError as err:
            raise FileSetError(f"{entry.dest}: cannot run {entry.validate[0]}: {err.strerror}") from None
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip()[-OUTPUT_LIMIT:]
            raise FileSetError(f"{entry.dest}: {shlex.join(entry.validate)} refused the new content"
                               f" (rc {done.returncode}); the file is unchanged: {output}")
    return check if entry.validate else None


def _directory_state(path: str) -> tuple[str, int, int, int]:
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return ("absent", 0, 0, 0)
    if not stat.S_ISDIR(info.st_mode):
        return ("other", 0, 0, 0)
    return ("directory", info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode))


def _make_parents(directory: str) -> None:
    """``mkdir -p`` with root:root 0755 for what is missing (as ``ansible.builtin.file`` does)."""
    if os.path.isdir(directory):
        return
    _make_parents(os.path.dirname(directory))
    os.mkdir(directory, 0o755)
    os.chown(directory, 0, 0)
    os.chmod(directory, 0o755)


def _directory(entry: Wanted, check_mode: bool) -> dict | None:
    kind, uid, gid, mode = _directory_state(entry.dest)
    if kind == "other":
        raise FileSetError(f"{entry.dest} exists and is not a directory")
    if kind == "directory" and (uid, gid, mode) == (entry.uid, entry.gid, entry.mode):
        return None
    before = describe(kind, uid=uid, gid=gid, mode=mode) if kind == "directory" else ""
    if not check_mode:
        if kind == "absent":
            _make_parents(os.path.dirname(entry.dest))
            os.mkdir(entry.dest, 0o700)
        os.chown(entry.dest, entry.uid, entry.gid, follow_symlinks=False)
        os.chmod(entry.dest, entry.mode)
        if kind == "absent":
            fsync_dir(os.path.dirname(entry.dest))
    return {"before_header": entry.dest, "after_header": entry.dest, "before": before,
            "after": describe("directory", uid=entry.uid, gid=entry.gid, mode=entry.mode)}


def _leaf(entry: Wanted, check_mode: bool) -> dict | None:
    parent = os.path.dirname(entry.dest)
    if os.path.isdir(entry.dest) and not os.path.islink(entry.dest):
        raise FileSetError(f"{entry.dest} is a directory")
    current = snapshot(entry.dest)
    if not differs(entry, current):
        return None
    # In check mode an earlier task (or entry) may be what makes the directory: reported, not refused.
    if entry.kind != "absent" and not os.path.isdir(parent) and not check_mode:
        raise FileSetError(f"{entry.dest}: the directory {parent} does not exist (list it first)")
    if not check_mode:
        install(entry, check=_validator(entry))
    return change_diff(entry, current)


def apply(wanted: Sequence[Wanted], check_mode: bool = False) -> dict:
    """Makes every path what its entry says, in order; returns the module result."""
    changed: list[str] = []
    diffs: list[dict] = []
    for entry in wanted:
        try:
            diff = (_directory if entry.kind == "directory" else _leaf)(entry, check_mode)
        except (OSError, TransactionError) as err:
            message = f"{entry.dest}: {err.strerror}" if isinstance(err, OSError) else str(err)
            done = "" if not changed else f" (already changed: {', '.join(changed)})"
            raise FileSetError(message + done, {"changed": bool(changed), "changed_paths": changed}) from None
        if diff is not None:
            changed.append(entry.dest)
            diffs.append(diff)
    return {"changed": bool(changed), "changed_paths": changed, "diff": diffs}
