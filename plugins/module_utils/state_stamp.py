# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a role left on a host, recorded after a full run, so that a rerun with the same
inputs on an unchanged host can stop after one read-only look instead of fifty tasks.

Pure Python with standard-library imports only (the unit tests call it without Ansible).

The stamp (``/var/lib/fedisec/state/<role>.json``, root only) holds
- ``digest``: worked out on the controller from the role's inputs and its code
  (:func:`input_digest`);
- ``observed``: what the host looked like when the role ended (:func:`observe`): a digest
  per watched path (a directory with everything below it: names, types, owners, modes,
  contents, link targets), the state of the watched units, the status of the watched
  packages, the type and options of the watched mount points. Only digests and states: no content, so no secret, is ever stored.

:func:`differences` compares a stamp with the inputs and the host of now and names every
difference; an empty list is the only case in which a role may skip its work. A host that
drifted (a file edited, a unit stopped, a package removed), new inputs, a new version of
the collection or a stamp that is missing or unreadable all make the role run in full.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import stat
from collections.abc import Iterable, Mapping, Sequence

STAMP_VERSION = 1
STAMP_DIR = "/var/lib/fedisec/state"
# Read in blocks: a watched tree may hold large files (sshd's moduli).
_BLOCK = 1 << 16


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry(path: str, relative: str, content: bool) -> str:
    """One line for one filesystem entry (not followed if it is a link). An entry that
    vanishes while the tree is read, or a file that cannot be read (a write-only /proc/sys
    key), is written down as such: a state that cannot match a clean one, never a failure."""
    try:
        info = os.lstat(path)
        kind = stat.S_IFMT(info.st_mode)
        line = f"{relative}\0{kind:o}\0{stat.S_IMODE(info.st_mode):o}\0{info.st_uid}\0{info.st_gid}"
        if stat.S_ISLNK(info.st_mode):
            line += "\0" + os.readlink(path)
        elif stat.S_ISREG(info.st_mode) and content:
            line += f"\0{info.st_size}\0{_file_digest(path)}"
    except FileNotFoundError:
        return f"{relative}\0vanished"
    except OSError as err:
        return f"{relative}\0unreadable\0{err.errno}"
    return line


def path_digest(path: str, content: bool = True, skip: frozenset[str] = frozenset(), recurse: bool = True) -> str:
    """A digest of ``path`` and, for a directory, of everything below it in name order;
    ``absent`` when it does not exist. ``content=False`` leaves files' contents and sizes
    out (a file its program rewrites itself); names in ``skip`` are left out with what is
    below them; ``recurse=False`` leaves out what is below a directory (one whose content
    its program keeps: a repository, a cache)."""
    if not os.path.isabs(path):
        raise ValueError(f"{path!r} is not an absolute path")
    if not os.path.lexists(path):
        return "absent"
    lines = [_entry(path, ".", content)]
    if recurse and os.path.isdir(path) and not os.path.islink(path):
        for top, dirs, files in os.walk(path):
            dirs[:] = sorted(name for name in dirs if name not in skip)
            for name in sorted(dirs + [name for name in files if name not in skip]):
                full = os.path.join(top, name)
                lines.append(_entry(full, os.path.relpath(full, path), content))
    return hashlib.sha256("\n".join(lines).encode("utf-8", "surrogateescape")).hexdigest()


def home_paths(users: Sequence[Mapping[str, object]]) -> list[dict]:
    """``{user, path, content}`` entries (path relative to the user's home) as absolute
    ``{path, content}`` entries; a user that does not exist is watched as its name."""
    resolved = []
    for entry in users:
        user, relative = str(entry["user"]), str(entry["path"])
        if relative.startswith("/") or ".." in relative.split("/"):
            raise ValueError(f"home path {relative!r} of {user!r} must stay below the home directory")
        try:
            home = pwd.getpwnam(user).pw_dir
        except KeyError:
            resolved.append({"path": f"~{user}/{relative}", "missing_user": True})
            continue
        resolved.append({"path": os.path.join(home, relative), "content": bool(entry.get("content", True))})
    return resolved


def parse_mounts(text: str, mountpoints: Iterable[str]) -> dict[str, str]:
    """The file system type and options of each mount point from ``/proc/mounts`` (the last,
    visible mount of a point wins), ``not mounted`` for a point that is not a mount point.
    Only the points asked: services mount and unmount elsewhere all the time."""
    found = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            # /proc/mounts escapes spaces and the like as octal (\040).
            target = fields[1].encode().decode("unicode_escape")
            found[target] = f"{fields[2]} {fields[3]}"
    return {point: found.get(point, "not mounted") for point in mountpoints}


def command_state(rc: int, stdout: str) -> str:
    """A read-only command's answer (a database's roles, say) as a digest: its exit code and
    output count, never the output itself."""
    return f"rc={rc} " + hashlib.sha256(stdout.encode("utf-8", "surrogateescape")).hexdigest()


def observe(paths: Sequence[Mapping[str, object]], units: Mapping[str, Mapping[str, str]],
            packages: Mapping[str, str], mounts: Mapping[str, str] | None = None,
            commands: Mapping[str, str] | None = None) -> dict:
    """What the host looks like now. ``units``, ``packages``, ``mounts`` and ``commands`` are
    what the caller read (``systemctl show``, ``dpkg-query``, ``/proc/mounts``, the watched
    commands' ``command_state``): they are only put in order here."""
    observed_paths = {}
    for entry in paths:
        path = str(entry["path"])
        observed_paths[path] = ("no such user" if entry.get("missing_user")
                                else path_digest(path, bool(entry.get("content", True)),
                                                 recurse=bool(entry.get("recurse", True))))
    return {"paths": observed_paths,
            "units": {name: dict(sorted(values.items())) for name, values in sorted(units.items())},
            "packages": dict(sorted(packages.items())),
            "mounts": dict(sorted((mounts or {}).items())),
            "commands": dict(sorted((commands or {}).items()))}


def parse_systemctl_show(output: str, units: Iterable[str]) -> dict[str, dict[str, str]]:
    """``systemctl show --property=Id,LoadState,ActiveState,UnitFileState UNIT...``: one
    block per unit, in the order asked, separated by empty lines."""
    names = list(units)
    blocks = output.strip("\n").split("\n\n") if output.strip() else []
    if len(blocks) != len(names):
        raise ValueError(f"systemctl show gave {len(blocks)} blocks for {len(names)} units")
    result = {}
    for name, block in zip(names, blocks):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        values.pop("Id", None)
        result[name] = values
    return result


def parse_dpkg_status(output: str, packages: Iterable[str]) -> dict[str, str]:
    """``dpkg-query -W -f '${Package}\\t${Status}\\t${Version}\\n' PKG...``; a package dpkg
    does not know is ``unknown``."""
    found = {}
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) == 3:
            found[fields[0].split(":")[0]] = f"{fields[1]} {fields[2]}"
    return {name: found.get(name, "unknown") for name in packages}


def file_state(path: str) -> str:
    """A file the role copies from the controller (a key): its content's digest, or
    ``absent``."""
    if not os.path.isabs(str(path)):
        raise ValueError(f"{path!r} is not an absolute path")
    return _file_digest(str(path)) if os.path.isfile(path) else "absent"


def role_options(specs: object, exclude: Iterable[str] = ()) -> list[str]:
    """The options of every entry point of a role's ``meta/argument_specs.yml`` (parsed), in
    name order, without ``exclude``."""
    entry_points = specs.get("argument_specs") if isinstance(specs, dict) else None
    if not isinstance(entry_points, dict) or not entry_points:
        raise ValueError("meta/argument_specs.yml has no argument_specs")
    names = set()
    for entry_point, spec in entry_points.items():
        options = (spec or {}).get("options", {}) if isinstance(spec, dict) else None
        if not isinstance(options, dict):
            raise ValueError(f"argument_specs.{entry_point}.options is not a mapping")
        names.update(options)
    return sorted(names - set(exclude))


def input_digest(inputs: object, trees: Sequence[str]) -> str:
    """On the controller: the role's inputs (any JSON-like value; other values by their
    text) and every file below ``trees`` (the role, the collection's plugins)."""
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode())
    for tree in trees:
        if not os.path.isdir(tree):
            raise ValueError(f"{tree!r} is not a directory")
        # Python's bytecode caches come and go on the controller: not the code.
        digest.update(path_digest(os.path.realpath(tree), skip=frozenset({"__pycache__"})).encode())
    return digest.hexdigest()


def differences(stamp: object, digest: str, observed: Mapping[str, object]) -> list[str]:
    """Why the role must run in full: empty only when the stamp matches both."""
    if not isinstance(stamp, dict) or stamp.get("version") != STAMP_VERSION:
        return ["no state was recorded by an earlier full run of this version"]
    if stamp.get("digest") != digest:
        return ["the inputs or the role's code changed"]
    reasons = []
    before = stamp.get("observed") or {}
    for kind in ("paths", "units", "packages", "mounts", "commands"):
        then, now = before.get(kind) or {}, observed.get(kind) or {}
        for name in sorted(set(then) | set(now)):
            if then.get(name) != now.get(name):
                reasons.append(f"{kind[:-1]} {name} changed since the last full run"
                               if name in then and name in now else f"{kind[:-1]} {name} is newly watched or no longer watched")
    return reasons


def read_stamp(path: str) -> object:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_stamp(path: str, digest: str, observed: Mapping[str, object]) -> None:
    """Root only, written next to its place and renamed over it."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump({"version": STAMP_VERSION, "digest": digest, "observed": observed}, handle, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
