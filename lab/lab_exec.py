"""How the lab runs a command in one of its containers (the connection plugin lab_podman and
the tests' hosts both use it).

`podman exec` costs about 160 ms before the command starts (podman reads its database, starts
conmon, which starts runc). `runc exec` on the container podman made costs about 50 ms and
gives the command the same process: the container's namespaces, cgroup, capability sets,
seccomp filter, user and environment, all read from the container's own runc state. That is
a tenth of a second off each of the lab's thousands of round trips. Where the container does
not run under runc (another runtime, a non-root podman), the command goes through podman
exec as before.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess

RUNC_ROOT = "/run/runc"
# name -> container ID, so that a task does not pay a `podman inspect` (100 ms) for it.
ID_CACHE = "/run/fedisec-lab/container-ids"


def process_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks after boot, /proc/PID/stat), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # The fields after the command name, which is in parentheses and may hold any byte.
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22, starttime
    except (OSError, IndexError, ValueError):
        return None


def _running_under_runc(container_id: str, runc_root: str) -> bool:
    """runc's state of the container names an init process that is still the one it started.
    A state left behind (the machine restarted under a kept /run, a container killed) is
    not: runc exec would answer "cannot exec in a stopped container"."""
    if not container_id:
        return False
    try:
        with open(os.path.join(runc_root, container_id, "state.json"), encoding="utf-8") as state_file:
            state = json.load(state_file)
        pid, start = int(state["init_process_pid"]), int(state["init_process_start"])
    except (OSError, ValueError, TypeError, KeyError):
        return False
    return pid > 0 and process_start(pid) == start


def _cached_id(name: str, cache_dir: str, runc_root: str) -> str | None:
    try:
        with open(os.path.join(cache_dir, name), encoding="ascii") as cached:
            container_id = cached.read().strip()
    except (OSError, ValueError):
        return None
    # A container made again under the same name has a new ID: the old one has no state.
    return container_id if _running_under_runc(container_id, runc_root) else None


def _remember(name: str, container_id: str, cache_dir: str) -> None:
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        temporary = os.path.join(cache_dir, f".{name}.{os.getpid()}")
        with open(temporary, "w", encoding="ascii") as cached:
            cached.write(container_id)
        os.replace(temporary, os.path.join(cache_dir, name))
    except OSError:
        pass  # a cache only: the next call asks podman again


def exec_prefix(name: str, podman: str = "podman", runc_root: str = RUNC_ROOT,
                cache_dir: str = ID_CACHE, interactive: bool = True) -> list[str]:
    """The argv that runs a command (appended to it) in container `name` as the container's
    own user (root in the lab): runc exec when podman runs the container with runc, else
    podman exec (-i when the command reads its standard input)."""
    fallback = [podman, "exec", "-i", name] if interactive else [podman, "exec", name]
    if "/" in name or name.startswith(".") or not name:
        return fallback
    runc = shutil.which("runc")
    if runc is None or os.geteuid() != 0:
        return fallback
    container_id = _cached_id(name, cache_dir, runc_root)
    if container_id is None:
        inspected = subprocess.run([podman, "inspect", "--format", "{{.Id}} {{.OCIRuntime}}", name],
                                   capture_output=True, text=True, check=False)
        fields = inspected.stdout.split()
        if inspected.returncode != 0 or len(fields) != 2 or fields[1] != "runc" \
                or not _running_under_runc(fields[0], runc_root):
            return fallback
        container_id = fields[0]
        _remember(name, container_id, cache_dir)
    return [runc, "--root", runc_root, "exec", container_id]
