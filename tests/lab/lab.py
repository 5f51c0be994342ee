"""Helpers for the lab tests: hosts by name, HTTP and TLS from the outside peer."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from testinfra.backend.podman import PodmanBackend
from testinfra.host import Host

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "lab"))
from lab_exec import exec_prefix  # noqa: E402 (lab/lab_exec.py, shared with lab_podman)
# Lab hosts get new host keys with every lab: no known_hosts.
# The Debian release of the lab's hosts (scripts/lab-env.sh), and its PostgreSQL major version.
SUITE = os.environ.get("FEDISEC_SUITE", "bookworm")
PG_VERSION = {"bookworm": "15", "trixie": "17"}[SUITE]
SSH_OPTS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5"
# Run on a lab host: connects to ADDRESS PORT (IPv4, IPv6 or a name; `%iface` scope for
# link-local) and prints the lab listener's answer ("open <port>"), "connected", "timeout"
# or the errno name (ENETUNREACH: no route, no packet sent; EHOSTUNREACH: an ICMP
# admin-prohibited reject; EPERM: dropped on the way out; ECONNREFUSED: a TCP reset).
PROBE = """python3 -c '
import errno, socket, sys
try:
    family, _, _, _, address = socket.getaddrinfo(sys.argv[1], int(sys.argv[2]), type=socket.SOCK_STREAM)[0]
except OSError as exc:
    sys.exit(print(errno.errorcode.get(exc.errno, "EAI_" + str(exc.errno))))
s = socket.socket(family)
s.settimeout(float(sys.argv[3]))
try:
    s.connect(address)
except socket.timeout:
    sys.exit(print("timeout"))
except OSError as exc:
    sys.exit(print(errno.errorcode.get(exc.errno, exc.errno)))
s.settimeout(1)
try:
    answer = s.recv(64).decode(errors="replace").strip()
except OSError:
    answer = ""
print(answer if answer.startswith("open ") else "connected")
' %s %s %s"""


def inventory_hosts(inventory_file: str, group: str = "all") -> list[str]:
    """The hosts of an inventory group, as molecule wrote the inventory."""
    inventory = yaml.safe_load(Path(inventory_file).read_text())
    return sorted((inventory.get(group) or {}).get("hosts") or {})


class LabBackend(PodmanBackend):
    """testinfra's podman backend, through the lab's exec (runc exec on the container)."""
    NAME = "lab"

    def run(self, command: str, *args: str, **kwargs):
        if self.user is not None:
            return super().run(command, *args, **kwargs)
        cmd = self.get_command(command, *args)
        prefix = " ".join(shlex.quote(word) for word in exec_prefix(self.name, interactive=False))
        out = self.run_local(prefix + " /bin/sh -c %s", cmd)
        out.command = self.encode(cmd)
        return out


def lab_host(name: str):
    return Host(LabBackend(name))


class Lab:
    def __init__(self, inventory_file: str, get_host):
        self.inventory_file = inventory_file
        self.inventory_dir = str(Path(inventory_file).parent)
        self._get_host = get_host
        self._hosts = {}

    def host(self, name: str):
        # The container's exec directly: the same containers as the inventory, many times
        # faster than a round trip through ansible for every command.
        if name not in self._hosts:
            self._hosts[name] = self._get_host(name)
        return self._hosts[name]

    def names(self, group: str = "all") -> list[str]:
        """The lab hosts of an inventory group, as molecule wrote the inventory."""
        return inventory_hosts(self.inventory_file, group)

    def connect(self, host: str, address: str, port: int, user: str = "root", timeout: float = 3) -> str:
        """What `user` on a lab host gets when connecting to address:port (see PROBE)."""
        return self.host(host).check_output(f"runuser -u %s -- {PROBE}", user, address, str(port), str(timeout))

    def copy(self, src: str, path: str, dst: str, dest: str, mode: str = "600") -> None:
        """Copies a file from one lab host to another, byte for byte."""
        data = self.host(src).check_output("base64 -w0 %s", path)
        self.host(dst).check_output(
            "install -m %s /dev/null %s && echo %s | base64 -d > %s", mode, dest, data, dest)

    def run_script(self, host: str, script: str, *args: str) -> str:
        """Runs a Python script from tests/lab on a lab host and returns its stdout."""
        source = (HERE / script).read_text()
        cmd = f"python3 - {' '.join(shlex.quote(a) for a in args)} <<'FEDISEC_EOF'\n{source}\nFEDISEC_EOF"
        return self.host(host).check_output(cmd)

    def http(self, host: str, url: str, *curl_args: str) -> tuple[int, list[tuple[str, str]]]:
        """GET from a lab host with curl (system trust store): status and the raw header list."""
        status, headers, _ = self._get(host, url, curl_args, "/dev/null")
        return status, headers

    def page(self, host: str, url: str, *curl_args: str) -> tuple[int, list[tuple[str, str]], str]:
        """Like http(), with the response body too (the Observatory's SRI rule reads it)."""
        return self._get(host, url, curl_args, "-")

    def _get(self, host: str, url: str, curl_args, body_to: str) -> tuple[int, list[tuple[str, str]], str]:
        """One GET: the header block on stdout, then the body when body_to is "-"."""
        args = " ".join(shlex.quote(a) for a in (*curl_args, url))
        out = self.host(host).check_output(f"curl -sS --max-time 10 -D - -o {body_to} {args}")
        head, _, body = out.partition("\r\n\r\n")
        lines = [line for line in head.split("\r\n") if line]
        status = int(lines[0].split()[1])
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        return status, headers, body

    def served_certificate(self, client: str, server: str, port: int = 443, starttls: str = "") -> dict:
        """Serial and public key of the certificate a server presents (optionally after STARTTLS)."""
        options = f"-starttls {shlex.quote(starttls)}" if starttls else ""
        out = self.host(client).check_output(
            f"echo | openssl s_client {options} -connect %s:%s -servername %s 2>/dev/null"
            " | openssl x509 -noout -serial -pubkey",
            server, str(port), server,
        )
        serial = out.splitlines()[0].split("=", 1)[1].lower().lstrip("0")
        pubkey = out[out.index("-----BEGIN PUBLIC KEY-----"):]
        return {"serial": serial, "pubkey": pubkey.strip()}

    def json_lines(self, text: str) -> list[dict]:
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def ssh(self, user: str, command: str = "id -un", options: str = "", env: str = ""):
        """Runs `ssh user@fedi command` on backup with the user's lab key; returns the result."""
        return self.host("backup").run(
            f"{env} ssh {SSH_OPTS} -o LogLevel=ERROR -i /root/lab-keys/{user} {options}"
            f" {user}@fedi {shlex.quote(command)}")

    def playbook(self, playbook: str, *extra: str, inventory: str | None = None) -> subprocess.CompletedProcess:
        """Runs a playbook of tests/lab (or the repository) from the controller; returns the result."""
        path = HERE / playbook if (HERE / playbook).exists() else REPO / playbook
        return subprocess.run(
            ["ansible-playbook", "-i", inventory or self.inventory_dir, str(path), *extra],
            capture_output=True, text=True, check=False, cwd=REPO, timeout=900,
        )

    def ssh_inventory(self, directory: Path) -> str:
        """An inventory that reaches fedi over real SSH as `admin` (sudo) with the drill key
        made at run time, instead of podman exec: the way Ansible reaches a real host."""
        address = self.host("fedi").check_output("hostname -I").split()[0]
        inventory = directory / "ssh-inventory.yml"
        inventory.write_text(yaml.safe_dump({"fediverse": {"hosts": {"fedi": ssh_host_vars(address)}}}))
        return str(inventory)


def ssh_host_vars(address: str) -> dict[str, str]:
    """Ansible's variables for fedi over real SSH as `admin` with the drill key made at run time."""
    return {
        "ansible_host": address,
        "ansible_user": "admin",
        "ansible_ssh_private_key_file": str(Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets" / "drill_key"),
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
    }


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "changes: changes the converged lab (drills, renewals, bad values); the demo leaves these out")
    config.addinivalue_line(
        "markers", "slow: read-only, but waits half a minute or more (a whole-system audit, a timeout); "
        "the demo leaves these out too")


@pytest.fixture(scope="session")
def lab():
    return Lab(os.environ["MOLECULE_INVENTORY_FILE"], lab_host)
