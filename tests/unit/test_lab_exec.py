"""The lab's exec (lab/lab_exec.py): runc exec on a container podman runs with runc, podman
exec otherwise, and a name-to-ID cache that a container made again cannot fool."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab"))
import lab_exec  # noqa: E402

OLD_ID = "a" * 64
NEW_ID = "b" * 64


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A runc state directory, an ID cache, root, runc on PATH, and a podman whose inspect
    answers with what the test puts in `inspect` (and counts its calls)."""
    runc_root, cache = tmp_path / "runc", tmp_path / "ids"
    runc_root.mkdir()
    state = {"inspect": (0, f"{NEW_ID} runc\n"), "calls": 0}

    def fake_run(argv, **_):
        state["calls"] += 1
        assert argv[:2] == ["podman", "inspect"]
        rc, out = state["inspect"]
        return subprocess.CompletedProcess(argv, rc, stdout=out, stderr="")

    monkeypatch.setattr(lab_exec.subprocess, "run", fake_run)
    monkeypatch.setattr(lab_exec.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(lab_exec.os, "geteuid", lambda: 0)

    def running(container_id, start=None):
        """runc's state of a container whose init is this test's own process (or one that
        started at another time: gone, its PID taken by another)."""
        own = lab_exec.process_start(os.getpid())
        (runc_root / container_id).mkdir()
        (runc_root / container_id / "state.json").write_text(json.dumps(
            {"init_process_pid": os.getpid(), "init_process_start": own if start is None else start}))

    def prefix(name="fedi", interactive=True):
        return lab_exec.exec_prefix(name, runc_root=str(runc_root), cache_dir=str(cache), interactive=interactive)

    return state, running, prefix, runc_root, cache


def test_a_runc_container_gets_runc_exec_and_its_id_is_remembered(lab):
    state, running, prefix, runc_root, cache = lab
    running(NEW_ID)
    assert prefix() == ["/usr/sbin/runc", "--root", str(runc_root), "exec", NEW_ID]
    assert (cache / "fedi").read_text() == NEW_ID
    assert prefix() == ["/usr/sbin/runc", "--root", str(runc_root), "exec", NEW_ID]
    assert state["calls"] == 1, "the second call must come from the cache"


def test_a_container_made_again_is_asked_for_again(lab):
    state, running, prefix, _, cache = lab
    cache.mkdir()
    (cache / "fedi").write_text(OLD_ID)  # its runc state is gone: destroyed
    running(NEW_ID)
    assert prefix()[-1] == NEW_ID
    assert state["calls"] == 1
    assert (cache / "fedi").read_text() == NEW_ID


@pytest.mark.parametrize("stale", [
    {"init_process_pid": 2 ** 22 + 1, "init_process_start": 1},  # no such process
    "start",                                                       # the PID now another process's
    {"init_process_pid": "x"}, "not json", {},                     # a state it cannot read
])
def test_a_state_whose_init_is_gone_is_not_a_running_container(lab, stale):
    """The machine restarted under a kept /run: runc's state and the cached ID outlive the
    container. The cache is not trusted and podman is asked (here: about the same dead ID)."""
    state, running, prefix, runc_root, cache = lab
    cache.mkdir()
    (cache / "fedi").write_text(OLD_ID)
    if stale == "start":
        running(OLD_ID, start=lab_exec.process_start(os.getpid()) + 1)
    else:
        (runc_root / OLD_ID).mkdir()
        (runc_root / OLD_ID / "state.json").write_text(stale if isinstance(stale, str) else json.dumps(stale))
    state["inspect"] = (0, f"{OLD_ID} runc\n")
    assert prefix() == ["podman", "exec", "-i", "fedi"]
    assert state["calls"] == 1


def test_the_start_of_a_process_is_read_from_proc():
    assert lab_exec.process_start(os.getpid()) > 0
    assert lab_exec.process_start(2 ** 22 + 1) is None  # above the kernel's PID limit


@pytest.mark.parametrize("answer", [
    (0, f"{NEW_ID} crun\n"),   # another runtime
    (125, ""),                 # no such container
    (0, "garbage\n"),          # an answer it cannot read
    (0, f"{NEW_ID} runc\n"),   # runc, but not in this runc root (not running)
])
def test_anything_else_goes_through_podman_exec(lab, answer):
    state, _, prefix, _, cache = lab
    state["inspect"] = answer
    assert prefix() == ["podman", "exec", "-i", "fedi"]
    assert prefix(interactive=False) == ["podman", "exec", "fedi"]
    assert not (cache / "fedi").exists()


def test_no_runc_or_not_root_goes_through_podman_exec(lab, monkeypatch):
    state, running, prefix, _, _ = lab
    running(NEW_ID)
    monkeypatch.setattr(lab_exec.shutil, "which", lambda name: None)
    assert prefix()[:2] == ["podman", "exec"]
    monkeypatch.setattr(lab_exec.shutil, "which", lambda name: f"/usr/sbin/{name}")
    monkeypatch.setattr(lab_exec.os, "geteuid", lambda: 1000)
    assert prefix()[:2] == ["podman", "exec"]
    assert state["calls"] == 0


@pytest.mark.parametrize("name", ["", "../fedi", "a/b", ".hidden"])
def test_a_name_that_is_no_file_name_is_never_a_cache_path(lab, name):
    state, _, prefix, _, _ = lab
    assert prefix(name) == ["podman", "exec", "-i", name]
    assert state["calls"] == 0


def test_an_unwritable_cache_still_gives_runc_exec(lab, tmp_path):
    state, running, _, runc_root, _ = lab
    running(NEW_ID)
    blocker = tmp_path / "file"
    blocker.write_text("")
    argv = lab_exec.exec_prefix("fedi", runc_root=str(runc_root), cache_dir=str(blocker / "ids"))
    assert argv[-1] == NEW_ID
