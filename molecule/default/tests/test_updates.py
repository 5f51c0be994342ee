"""updates on fedi, db and backup: both apt timers fire at the start of the weekly window
(as systemd computed it), and unattended-upgrade runs against the lab's apt cache, taking
Debian's security archive only."""
import re
import time

import pytest
from lab import PG_VERSION, SUITE

HOSTS = ["fedi", "db", "backup"]
TIMERS = ["apt-daily.timer", "apt-daily-upgrade.timer"]
SECURITY_ORIGINS = (f"origin=Debian,codename={SUITE}-security,label=Debian-Security, "
                    f"origin=Debian,codename={SUITE},label=Debian-Security")


def timer_properties(host, timer):
    output = host.check_output(
        "systemctl show -p ActiveState -p UnitFileState -p NextElapseUSecRealtime -p RandomizedDelayUSec "
        "-p Persistent %s", timer)
    return dict(line.split("=", 1) for line in output.splitlines())


@pytest.mark.parametrize("name", HOSTS)
@pytest.mark.parametrize("timer", TIMERS)
def test_the_timer_fires_at_the_start_of_the_window_and_never_else(lab, name, timer):
    properties = timer_properties(lab.host(name), timer)
    assert properties["ActiveState"] == "active", properties
    assert properties["UnitFileState"] == "enabled", properties
    # The next run systemd scheduled: Thursday 22:00 (the default window), to the second.
    assert re.fullmatch(r"Thu \d{4}-\d\d-\d\d 22:00:00 UTC", properties["NextElapseUSecRealtime"]), properties
    assert properties["RandomizedDelayUSec"] == "0", properties
    assert properties["Persistent"] == "no", properties


@pytest.mark.slow  # each host's dry run reads and downloads the pending fixes: about 20 s
@pytest.mark.parametrize("name", HOSTS)
def test_a_dry_run_takes_only_security_fixes_through_the_lab_cache(lab, name):
    run = lab.host(name).run("unattended-upgrade --dry-run --debug 2>&1")
    output = run.stdout
    assert run.rc == 0, output[-3000:]
    assert f"Allowed origins are: {SECURITY_ORIGINS}" in output, output[-3000:]
    assert "Traceback" not in output and not re.search(r"^E: ", output, re.M), output[-3000:]
    # It asked apt for the packages of the lab's cache (the only way out), and found its lists.
    assert re.search(r"^Checking: ", output, re.M) or "No packages found that can be upgraded unattended" in output, \
        output[-3000:]


def pending_security_fixes(host) -> list[str]:
    listing = host.check_output("apt list --upgradable 2>/dev/null")
    return [line.split("/", 1)[0] for line in listing.splitlines() if re.search(r"/\S*-security ", line)]


def unit_state(host, unit) -> dict[str, str]:
    run = host.run("systemctl show -p ActiveState -p Result -p InactiveEnterTimestampMonotonic %s", unit)
    # While systemd re-executes itself (after a library upgrade) the query fails: no state yet.
    return dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line) if run.rc == 0 else {}


def wait_until_finished(host, unit, entered_inactive_before: int, timeout: float = 900) -> dict[str, str]:
    """The unit's state once the run started after ``entered_inactive_before`` has ended
    (systemd stamps the moment a unit becomes inactive or failed, across re-executions)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = unit_state(host, unit)
        if (state.get("ActiveState") in ("inactive", "failed")
                and int(state.get("InactiveEnterTimestampMonotonic") or 0) > entered_inactive_before):
            return state
        time.sleep(2)
    raise AssertionError(f"{unit} still running after {timeout:.0f} s: {unit_state(host, unit)}")


@pytest.mark.changes
def test_the_scheduled_run_installs_every_pending_security_fix(lab):
    # What the window's timers start, started now on db: the lists and downloads, then the
    # upgrade (apt.systemd.daily install, which runs unattended-upgrade), through the lab's cache.
    db = lab.host("db")
    pending = pending_security_fixes(db)
    if not pending:
        pytest.skip("the lab's Debian mirror has no security fix for db's packages: nothing to install")
    # Queued together, as the timers queue them (the upgrade is ordered after the download).
    # Not waited for by systemctl: an upgraded library makes systemd re-execute itself, which
    # drops the client's D-Bus connection; the units' own result is what counts.
    units = ("apt-daily.service", "apt-daily-upgrade.service")
    before = {unit: unit_state(db, unit) for unit in units}
    assert all(state["ActiveState"] in ("inactive", "failed") for state in before.values()), before
    db.check_output("systemctl start --no-block %s %s", *units)
    for unit in units:
        state = wait_until_finished(db, unit, int(before[unit]["InactiveEnterTimestampMonotonic"]))
        assert state["Result"] == "success", (state, db.run("journalctl -u %s -n 40 --no-pager", unit).stdout)
    assert pending_security_fixes(db) == [], db.check_output("tail -n 40 /var/log/unattended-upgrades/unattended-upgrades.log")
    log = db.check_output("cat /var/log/unattended-upgrades/unattended-upgrades.log")
    assert "Packages that will be upgraded:" in log and pending[0] in log, log[-3000:]
    # The database still serves its client over TLS after the upgrade.
    assert db.run(f"systemctl is-active postgresql@{PG_VERSION}-main").rc == 0


@pytest.mark.changes
def test_a_bad_window_fails_naming_the_variable_and_changes_nothing(lab):
    fedi = lab.host("fedi")
    dropin = "/etc/systemd/system/apt-daily-upgrade.timer.d/fedisec-updates.conf"
    before = fedi.file(dropin).sha256sum
    run = lab.playbook("one-role.yml", "-e", "lab_role=updates", "-e", "updates_window_time=25:00")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "updates_window_time (HH:MM, 00:00 to 23:59: 25:00)" in output, output[-3000:]
    assert fedi.file(dropin).sha256sum == before
    assert "22:00:00" in fedi.check_output("systemctl show -p NextElapseUSecRealtime --value apt-daily-upgrade.timer")
