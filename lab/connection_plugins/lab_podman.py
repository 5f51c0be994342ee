# The lab's connection to its containers: as containers.podman.podman, but with pipelining
# (the module goes to the container's python over the exec's stdin) and files copied over
# stdin too. Per task that is one exec instead of a `podman mount`, three execs and a copy:
# what a real host gets from SSH with pipelining. The exec is `runc exec` on the container
# podman runs (lab/lab_exec.py: the same process as podman exec's, a tenth of a second sooner).
# Lab-only (scripts/lab-env.sh puts this directory on ANSIBLE_CONNECTION_PLUGINS); the
# collection does not ship it.
from __future__ import annotations

DOCUMENTATION = """
    name: lab_podman
    short_description: podman exec into the lab's containers, with pipelining
    description:
      - containers.podman.podman with pipelining, and files copied through C(podman exec -i).
    options:
      remote_addr:
        description: The container's name.
        default: inventory_hostname
        vars:
          - name: ansible_host
          - name: inventory_hostname
          - name: ansible_podman_host
      remote_user:
        description: The user that runs the commands in the container.
        ini:
          - section: defaults
            key: remote_user
        env:
          - name: ANSIBLE_REMOTE_USER
        vars:
          - name: ansible_user
      podman_extra_args:
        description: Extra arguments for the podman command line.
        default: ''
        vars:
          - name: ansible_podman_extra_args
        env:
          - name: ANSIBLE_PODMAN_EXTRA_ARGS
      podman_executable:
        description: The podman command.
        default: podman
        vars:
          - name: ansible_podman_executable
        env:
          - name: ANSIBLE_PODMAN_EXECUTABLE
      pipelining:
        description: Send modules over stdin instead of copying them to a file first.
        type: boolean
        default: true
        env:
          - name: ANSIBLE_PIPELINING
        vars:
          - name: ansible_pipelining
"""

import os
import shlex
import subprocess
import sys

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.plugins.connection import ensure_connect
from ansible.utils.display import Display
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lab_exec import exec_prefix  # noqa: E402 (lab/lab_exec.py)

display = Display()


class Connection(PodmanConnection):
    transport = "lab_podman"
    has_pipelining = True

    def _connect(self):
        # No `podman mount` per task: files go over stdin (put_file), never through the mount.
        super(PodmanConnection, self)._connect()  # pylint: disable=bad-super-call
        self._mount_point = None
        self._connected = True
        return self

    def _exec(self, args: list[str], in_data: bytes | None) -> tuple[int, bytes, bytes]:
        if self.user or self.get_option("podman_extra_args"):
            options = ["exec", "-i"] if in_data is not None else ["exec"]
            if self.user:
                options += ["--user", self.user]
            return self._podman(options, args, in_data)
        command = exec_prefix(self._container_id, self.get_option("podman_executable"),
                              interactive=in_data is not None) + args
        display.vvv(f"RUN {command}", host=self._container_id)
        done = subprocess.run(command, input=in_data or b"", capture_output=True, check=False)
        return done.returncode, done.stdout, done.stderr

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        super(PodmanConnection, self).exec_command(cmd, in_data=in_data, sudoable=sudoable)  # pylint: disable=bad-super-call
        return self._exec(shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)

    @ensure_connect
    def put_file(self, in_path, out_path):
        super(PodmanConnection, self).put_file(in_path, out_path)  # pylint: disable=bad-super-call
        with open(to_bytes(in_path, errors="surrogate_or_strict"), "rb") as source:
            data = source.read()
        rc, _, stderr = self._exec(["/bin/sh", "-c", 'cat > "$0"', out_path], data)
        if rc != 0:
            raise AnsibleError(f"copying {in_path} to {out_path} in {self._container_id} failed: {to_native(stderr)}")

    @ensure_connect
    def fetch_file(self, in_path, out_path):
        super(PodmanConnection, self).fetch_file(in_path, out_path)  # pylint: disable=bad-super-call
        rc, data, stderr = self._exec(["cat", in_path], None)
        if rc != 0:
            raise AnsibleError(f"reading {in_path} in {self._container_id} failed: {to_native(stderr)}")
        with open(to_bytes(out_path, errors="surrogate_or_strict"), "wb") as target:
            target.write(data)
