"""Kernel parameters (sysctl) for the os_baseline role: validation, merging and applying.

Pure Python with no Ansible dependency. The module ``fedisec.hardening.sysctl_apply``
and the filter ``fedisec.hardening.sysctl_settings`` call it; the unit tests call it
directly against a fake ``/proc/sys`` tree.

- ``merge_settings(base, extra, base_name, extra_name)``: ``extra`` laid over ``base``
  (a ``None`` value in ``extra`` removes the key), every key and value checked; returns a
  new dict ``{key: value-as-string}`` in the order of ``base`` then the new keys of
  ``extra``.
- ``apply_settings(settings, proc=ProcSys('/proc/sys'), check_mode=False)``: writes each
  value whose kernel value differs (compared with whitespace normalised), reads it back,
  and reports which keys were applied, which already had the value and which the kernel
  refused and why. A refusal is data, not an error: a container's ``/proc/sys`` is
  read-only, and a kernel without a module has no key for it.

Keys are written as sysctl(8) and sysctl.d(5) take them: dot-separated
(``net.ipv4.tcp_syncookies``) or slash-separated (``net/ipv4/conf/eth0.100/rp_filter``).
When the first separator is a dot, dots and slashes swap places on the way to a path (a
slash in a dotted key is a dot in a name, such as the VLAN interface ``eth0.100``). A
``*`` matches within one component, as in sysctl.d(5) (``net.ipv4.conf.*.rp_filter``).
"""

from __future__ import annotations

import errno
import glob
import os
import re
from collections.abc import Mapping

_KEY = re.compile(r"[a-z0-9_*][a-z0-9_*-]*(?:[./][a-z0-9_*-]+)+")
_KEY_ALLOWED = (
    "a sysctl key of lower-case letters, digits, '_', '-' and '*' in components separated by "
    "'.' or '/' (at least two components, no empty one, not starting with '-'), such as "
    "net.ipv4.tcp_syncookies"
)
_MAX_KEY = 255
_VALUE_ALLOWED = (
    "an integer or a string of printable characters (spaces and tabs inside allowed, no "
    "line breaks, at most 4096 characters), such as 1 or '32768 60999'; not a boolean "
    "(write 0 or 1)"
)
_MAX_VALUE = 4096


def check_key(key: object) -> str:
    """Return ``key`` if it is a sysctl key this role writes, else raise ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"key {key!r} is not allowed: {_KEY_ALLOWED}")
    if len(key) > _MAX_KEY or _KEY.fullmatch(key) is None:
        raise ValueError(f"key {key[:80]!r} is not allowed: {_KEY_ALLOWED}")
    return key


def check_value(key: str, value: object) -> str:
    """Return ``value`` as the string written to the kernel, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{key}: value {value!r} is not allowed: {_VALUE_ALLOWED}")
    text = str(value)
    if (
        not text.strip()
        or len(text) > _MAX_VALUE
        or any(char != "\t" and not char.isprintable() for char in text)
    ):
        raise ValueError(f"{key}: value {text[:80]!r} is not allowed: {_VALUE_ALLOWED}")
    return " ".join(text.split())


def normalise(value: str) -> str:
    """Whitespace-normalised form, as the kernel prints multi-value keys with tabs."""
    return " ".join(value.split())


def _check_mapping(value: object, name: str, allow_none: bool) -> dict[str, str | None]:
    """Check a mapping of key -> value; ``None`` values only when ``allow_none``."""
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{name} must be a mapping of sysctl keys to values, got {type(value).__name__} {value!r}"
        )
    checked: dict[str, str | None] = {}
    for key, item in value.items():
        try:
            check_key(key)
            if item is None and allow_none:
                checked[key] = None
            else:
                checked[key] = check_value(key, item)
        except ValueError as exc:
            hint = " (null removes a key of the defaults)" if allow_none else ""
            raise ValueError(f"{name}: {exc}{hint}") from None
    return checked


def merge_settings(
    base: object,
    extra: object = None,
    base_name: str = "os_baseline_sysctl",
    extra_name: str = "os_baseline_sysctl_extra",
) -> dict[str, str]:
    """``extra`` over ``base``; a ``None`` in ``extra`` removes the key. Both checked."""
    merged = {k: v for k, v in _check_mapping(base, base_name, allow_none=False).items()}
    for key, value in _check_mapping({} if extra is None else extra, extra_name, allow_none=True).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return {k: v for k, v in merged.items() if v is not None}


def key_to_relpath(key: str) -> str:
    """``net.ipv4.conf.eth0/100.rp_filter`` -> ``net/ipv4/conf/eth0.100/rp_filter``."""
    check_key(key)
    first = re.search(r"[./]", key)
    if first is not None and first.group(0) == ".":
        key = key.translate(str.maketrans("./", "/."))
    return key


class ProcSys:
    """Reads and writes kernel parameters below ``root`` (``/proc/sys``, or a test tree)."""

    def __init__(self, root: str = "/proc/sys") -> None:
        self.root = root

    def paths(self, key: str) -> list[str]:
        """The files for ``key`` (several for a ``*``); one, maybe missing, without."""
        path = os.path.join(self.root, key_to_relpath(key))
        if "*" in key:
            return sorted(glob.glob(glob.escape(self.root) + "/" + key_to_relpath(key)))
        return [path]

    def read(self, path: str) -> str:
        """The current value (raises OSError)."""
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def write(self, path: str, value: str) -> None:
        """Write ``value`` (raises OSError; the kernel reports a bad value at write or close)."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(value)

    def writable(self, path: str) -> OSError | None:
        """In check mode: why a write would fail, or None."""
        if not os.path.exists(path):
            return OSError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if not os.access(path, os.W_OK):
            err = errno.EROFS if _read_only_mount(path) else errno.EACCES
            return OSError(err, os.strerror(err), path)
        return None


def _read_only_mount(path: str) -> bool:
    """Whether ``path`` lies on a read-only file system."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def refusal_reason(exc: OSError) -> str:
    """A short explanation of why the kernel refused a write."""
    code = exc.errno
    if code == errno.ENOENT:
        return "not present in this kernel (unknown key, or its module is not loaded)"
    if code == errno.EROFS:
        return "read-only: /proc/sys is mounted read-only here (a container?)"
    if code in (errno.EACCES, errno.EPERM):
        return (
            "permission denied: not root, or the key is not writable in this namespace "
            "(a container?)"
        )
    if code == errno.EINVAL:
        return "the kernel refused the value (invalid argument)"
    return f"write failed: {exc.strerror or exc}"


def _relkey(proc: ProcSys, key: str, path: str) -> str:
    """For a ``*`` key, the dotted key of one matched path; else the key itself."""
    if "*" not in key:
        return key
    rel = os.path.relpath(path, proc.root)
    return rel.translate(str.maketrans("/.", "./"))


def apply_settings(
    settings: object, proc: ProcSys | None = None, check_mode: bool = False
) -> dict[str, object]:
    """Bring the kernel's values to ``settings``; report what happened per key.

    Returns ``{"changed", "applied", "unchanged", "refused"}``: ``applied`` and
    ``unchanged`` list keys; ``refused`` lists ``{"key", "value", "reason"}``. In check
    mode nothing is written: ``applied`` lists what would change and ``refused`` what a
    write would fail on (missing, read-only, no permission).
    """
    checked = _check_mapping(settings, "settings", allow_none=False)
    proc = proc or ProcSys()
    applied: list[str] = []
    unchanged: list[str] = []
    refused: list[dict[str, str]] = []
    for key, value in checked.items():
        assert value is not None
        paths = proc.paths(key)
        if not paths:
            refused.append({"key": key, "value": value, "reason": refusal_reason(
                OSError(errno.ENOENT, "no match"))})
            continue
        for path in paths:
            name = _relkey(proc, key, path)
            try:
                current = proc.read(path)
            except OSError as exc:
                if exc.errno == errno.ENOENT or not os.path.exists(path):
                    refused.append({"key": name, "value": value, "reason": refusal_reason(
                        OSError(errno.ENOENT, "missing"))})
                    continue
                current = None  # write-only key: write it
            if current is not None and normalise(current) == value:
                unchanged.append(name)
                continue
            if check_mode:
                problem = proc.writable(path)
                if problem is not None:
                    refused.append({"key": name, "value": value, "reason": refusal_reason(problem)})
                else:
                    applied.append(name)
                continue
            try:
                proc.write(path, value)
            except OSError as exc:
                refused.append({"key": name, "value": value, "reason": refusal_reason(exc)})
                continue
            try:
                after = normalise(proc.read(path))
            except OSError:
                after = value
            if after != value:
                refused.append({
                    "key": name,
                    "value": value,
                    "reason": f"the kernel accepted the write but kept {after!r}",
                })
                continue
            applied.append(name)
    return {
        "changed": bool(applied),
        "applied": applied,
        "unchanged": unchanged,
        "refused": refused,
    }
