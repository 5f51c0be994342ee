"""Lock-out drill: Ansible manages fedi over real SSH from the controller, applies a policy
that drops SSH, and fedi rolls back by itself while the play reports the failure."""
import os
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.changes

ROLLBACK_SECONDS = 30  # firewall_rollback_seconds in tests/lab/firewall-drill.yml
SECRETS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "secrets"
SSH_ARGS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=3", "-i", str(SECRETS / "drill_key")]


def ssh_from_controller(address):
    return subprocess.run(["ssh", *SSH_ARGS, f"admin@{address}", "true"], capture_output=True, text=True,
                          timeout=30, check=False)


def test_the_guard_refuses_a_policy_that_closes_the_ssh_port_first(lab, tmp_path):
    # The same policy with the guard on (the default), over real SSH: refused before any
    # rule is loaded.
    fedi = lab.host("fedi")
    address = fedi.check_output("hostname -I").split()[0]
    before = fedi.check_output("nft -s list table inet fedisec")
    play = lab.playbook("firewall-drill.yml", "-e", "firewall_lockout_guard=true",
                        inventory=lab.ssh_inventory(tmp_path))
    output = play.stdout + play.stderr
    assert play.returncode != 0, output
    assert "firewall_ingress does not accept tcp/22 from every source" in output, output
    assert fedi.check_output("nft -s list table inet fedisec") == before
    assert fedi.run("systemctl is-active fedisec-firewall-rollback.timer").stdout.strip() != "active"
    assert ssh_from_controller(address).returncode == 0


def test_a_policy_that_cuts_ssh_is_rolled_back_by_the_host(lab, tmp_path):
    fedi = lab.host("fedi")
    address = fedi.check_output("hostname -I").split()[0]
    assert ssh_from_controller(address).returncode == 0  # the drill starts from a working login
    good_table = fedi.check_output("nft -s list table inet fedisec")
    good_boot = fedi.check_output("sha256sum /etc/fedisec/firewall/active.nft")

    started = time.monotonic()
    play = lab.playbook("firewall-drill.yml", inventory=lab.ssh_inventory(tmp_path))
    output = play.stdout + play.stderr

    # The play fails, and says why and what happens next.
    assert play.returncode != 0, output
    assert "The new firewall ruleset cut Ansible off from fedi" in output, output
    assert "restores the previous ruleset by itself" in output
    # The bad ruleset really was loaded: right now a new SSH connection does not get in.
    assert time.monotonic() - started < ROLLBACK_SECONDS, "the play took longer than the rollback window"
    assert "203.0.113.0/24" in fedi.check_output("nft -s list table inet fedisec")
    assert ssh_from_controller(address).returncode == 255

    # Within the window the host restores the previous table by itself.
    deadline = started + ROLLBACK_SECONDS + 30
    while time.monotonic() < deadline and fedi.check_output("nft -s list table inet fedisec") != good_table:
        time.sleep(2)
    assert fedi.check_output("nft -s list table inet fedisec") == good_table
    # The ruleset that locked us out never became the boot ruleset, and SSH works again.
    assert fedi.check_output("sha256sum /etc/fedisec/firewall/active.nft") == good_boot
    assert ssh_from_controller(address).returncode == 0
