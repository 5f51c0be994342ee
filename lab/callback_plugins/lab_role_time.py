"""Lab only, for the benchmark: the seconds each role's tasks took, summed over the hosts.

Active only when FEDISEC_ROLE_TIME_OUT names a file (tests/lab/bench.py sets it): at the end
of the run it writes {role: host-seconds} there, a task outside any role counting under
"(playbook)". A task's time runs from its start on a host to its result there, loops and
handlers included. Loaded without being enabled (on ANSIBLE_CALLBACK_PLUGINS by
scripts/lab-env.sh).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: lab_role_time
    type: aggregate
    short_description: writes the host-seconds per role to FEDISEC_ROLE_TIME_OUT (lab only)
    description: [Sums, per role, the time from each task's start on a host to its result there.]
"""

OUTSIDE = "(playbook)"


def role_of(task) -> str:
    """The task's role without the collection's name, or OUTSIDE."""
    role = getattr(task, "_role", None)
    return role.get_name(include_role_fqcn=False) if role else OUTSIDE


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "lab_role_time"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        self.out = os.environ.get("FEDISEC_ROLE_TIME_OUT")
        self.started: dict[tuple[str, str], float] = {}
        self.seconds: dict[str, float] = {}

    def v2_runner_on_start(self, host, task) -> None:
        if self.out:
            self.started[(host.get_name(), task._uuid)] = time.monotonic()

    def _done(self, result) -> None:
        start = self.started.pop((result._host.get_name(), result._task._uuid), None)
        if start is not None:
            role = role_of(result._task)
            self.seconds[role] = self.seconds.get(role, 0.0) + time.monotonic() - start

    def v2_runner_on_ok(self, result) -> None:
        self._done(result)

    def v2_runner_on_skipped(self, result) -> None:
        self._done(result)

    def v2_runner_on_failed(self, result, ignore_errors=False) -> None:
        self._done(result)

    def v2_runner_on_unreachable(self, result) -> None:
        self._done(result)

    def v2_playbook_on_stats(self, stats) -> None:
        if self.out:
            Path(self.out).write_text(json.dumps({role: round(s, 3) for role, s in sorted(self.seconds.items())}))
