#!/usr/bin/env python3
"""The lab's benchmark (scripts/bench.sh): what a converge and a TLS handshake cost.

Runs against the converged default scenario (MOLECULE_EPHEMERAL_DIRECTORY set by
bench.sh) and writes bench/results-<date>.json and bench/results-<date>.md. Every figure is
the minimum, median and maximum of RUNS runs after one warm-up run that is not counted.

  Converge   playbooks/site.yml and each role alone (tests/lab/one-role.yml) on fedi: a no-op
             rerun and a one-variable change, over SSH with pipelining and ControlPersist
             (how admins run it), over the lab's podman exec with pipelining, and over
             containers.podman without it; a no-op site.yml on all four hosts; and, unless
             --fresh-runs 0, a fresh converge (new containers, prepared, then site.yml).
             A no-op run that changes anything ends the bench with an error.
  Fleet      1, 2 and 4 more fediverse hosts (new containers on the lab's network, prepared
             as fedi is) converged in one site.yml run (--limit to them, forks): a fresh
             converge and no-op reruns per fleet size, and the marginal cost per added host.
  TLS        full and resumed handshakes per second on fedi's nginx (tests/lab/tls_bench.py,
             over loopback), TLS 1.2 and 1.3, with the served P-384 certificate and, on a
             bench-only server with the same TLS settings, P-256 and RSA-2048 certificates;
             nginx worker CPU seconds per 1,000 handshakes.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from lab import ssh_host_vars

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECAP = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)",
    re.MULTILINE)
SITE = {"label": "site.yml on fedi", "playbook": "playbooks/site.yml", "args": [],
        # A header value: only nginx's site file changes, and nginx reloads.
        "change": ("nginx_tls_referrer_policy", ("no-referrer", "same-origin"))}
ALL_HOSTS = {"label": "site.yml, 4 hosts"}
# The roles that take all their input from the inventory run alone too (tests/lab/one-role.yml);
# the others get theirs from site.yml's plays and are measured inside it.
ROLES = [{"label": f"{role} alone on fedi", "playbook": str(HERE / "one-role.yml"), "args": ["-e", f"lab_role={role}"],
          "change": change} for role, change in (
    ("os_baseline", ("os_baseline_shell_timeout", ("600", "1200"))),
    ("ssh_hardening", ("ssh_hardening_login_grace_time", ("20", "40"))),
    ("ecdsa_cert", ("ecdsa_cert_timer_randomized_delay_sec", ("1800", "2700"))),
)]
# The fleet's hosts: new containers like fedi, in the groups fediverse and lab_fleet, each
# with its own name for its certificate and mail (the lab's name server lists them).
FLEET = ("fleet1", "fleet2", "fleet3", "fleet4")
FLEET_SIZES = (1, 2, 4)
KEY_TYPES = {"P-256": "-newkey ec -pkeyopt ec_paramgen_curve:P-256",
             "RSA-2048": "-newkey rsa:2048"}


# --- Pure functions: parsing and reporting (tests/unit/test_bench.py) -----------------------

def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP counters per host of an ansible-playbook run's output (colours removed)."""
    hosts = {m["host"]: {k: int(v) for k, v in m.groupdict().items() if k != "host"}
             for m in RECAP.finditer(ANSI.sub("", output))}
    if not hosts:
        raise ValueError("no PLAY RECAP in the playbook's output")
    return hosts


def host_tasks(recap: dict[str, dict[str, int]]) -> int:
    """Tasks run, summed over hosts (ok counts changed ones too; skipped ones cost a round trip)."""
    return sum(c["ok"] + c["failed"] + c["skipped"] + c["unreachable"] for c in recap.values())


def summary(values: list[float]) -> dict:
    """Minimum, median and maximum of the counted runs."""
    if not values:
        raise ValueError("no runs to summarise")
    if any(not isinstance(v, (int, float)) or v < 0 for v in values):
        raise ValueError(f"run times must be non-negative numbers: {values!r}")
    return {"runs": len(values), "min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}


def tls_rates(series: dict) -> dict:
    """Handshakes per second, resumptions and nginx CPU from one tls_bench.py series."""
    connections, seconds = series["connections"], series["seconds"]
    if connections <= 0 or seconds <= 0:
        raise ValueError(f"a series needs connections and time: {series!r}")
    cpu = series["worker_cpu_seconds"]
    return {
        "per_second": round(connections / seconds, 1),
        "resumed_share": round(series["resumed"] / connections, 3),
        "worker_cpu_ms_per_1000": round(cpu * 1000 / connections * 1000, 1),
        # Handshakes one core of nginx completes per second (None: too few clock ticks).
        "per_core_second": round(connections / cpu, 1) if cpu > 0 else None,
    }


def tls_table(tls: dict) -> list[dict]:
    """One row per key type and protocol: full and resumed rates and their ratios.

    ratio: resumed ÷ full handshakes per second seen by the one sequential client;
    capacity_ratio: the same for the handshakes one core of nginx completes per second (what
    a busy server gets back from the session cache), None without enough clock ticks."""
    rows = []
    for key_type, versions in tls.items():
        for version, kinds in versions.items():
            full, resumed = tls_rates(kinds["full"]), tls_rates(kinds["resumed"])
            capacity = (round(resumed["per_core_second"] / full["per_core_second"], 1)
                        if full["per_core_second"] and resumed["per_core_second"] else None)
            rows.append({"key": key_type, "version": version, "full": full, "resumed": resumed,
                         "ratio": round(resumed["per_second"] / full["per_second"], 1),
                         "capacity_ratio": capacity})
    return rows


def role_costs(fresh: list[dict[str, float]], no_op: list[dict[str, float]]) -> dict[str, dict]:
    """Per role: the host-seconds of its tasks in fresh and in no-op runs, and no-op ÷ fresh.

    fresh, no_op: one {role: host-seconds} per counted run (lab/callback_plugins/lab_role_time.py).
    A role missing from some runs counts 0 there; the ratio compares the medians."""
    if not fresh or not no_op:
        raise ValueError("role costs need fresh and no-op runs")
    for run in fresh + no_op:
        if not isinstance(run, dict) or any(not isinstance(v, (int, float)) or v < 0 for v in run.values()):
            raise ValueError(f"a run's role times must map role names to non-negative seconds: {run!r}")
    costs = {}
    for role in sorted(set().union(*fresh, *no_op)):
        before, after = (summary([run.get(role, 0.0) for run in runs]) for runs in (fresh, no_op))
        costs[role] = {"fresh": before, "no_op": after,
                       "ratio": after["median"] / before["median"] if before["median"] else None}
    return costs


def role_costs_markdown(costs: dict[str, dict]) -> list[str]:
    lines = ["", "## Per role, inside site.yml on the 4 lab hosts", "",
             "Host-seconds: each task's time from its start on a host to its result there, summed over "
             "the hosts (the hosts run side by side, so these add up to more than the wall time).", "",
             "| role | fresh host-seconds | no-op host-seconds | no-op ÷ fresh |", "|---|---|---|---|"]
    for role, cost in costs.items():
        ratio = "–" if cost["ratio"] is None else f"{cost['ratio']:.0%}"
        lines.append(f"| {role} | {_cell(cost['fresh'])} | {_cell(cost['no_op'])} | {ratio} |")
    return lines


def fleet_label(size: int) -> str:
    return f"site.yml, fleet of {size}"


def fleet_ratios(rows: list[dict]) -> dict:
    """Per kind of run (fresh, no-op): the largest fleet's median wall time ÷ the one-host
    fleet's, and the marginal seconds per added host between them."""
    medians = {}
    for r in rows:
        match = re.fullmatch(r"site\.yml, fleet of (\d+)", r["playbook"])
        if match:
            medians.setdefault(r["kind"], {})[int(match[1])] = r["wall"]["median"]
    ratios = {}
    for kind, by_size in medians.items():
        largest = max(by_size)
        if 1 not in by_size or largest == 1 or by_size[1] <= 0:
            continue
        ratios[f"fleet {kind}: {largest} hosts ÷ 1 host"] = by_size[largest] / by_size[1]
        ratios[f"fleet {kind}: seconds per added host"] = (by_size[largest] - by_size[1]) / (largest - 1)
    return ratios


def fleet_inventory(base: Path, target: Path, hosts: list[str]) -> Path:
    """The scenario's inventory plus the fleet's hosts: groups fediverse and lab_fleet,
    the lab's connection, their own names for the certificate and the mail."""
    if not hosts or any(not re.fullmatch(r"[a-z][a-z0-9-]*", host) for host in hosts):
        raise ValueError(f"fleet host names must be lower-case DNS labels: {hosts!r}")
    shutil.copytree(base, target)
    members = {host: None for host in hosts}
    (target / "fleet.yml").write_text(yaml.safe_dump({"fediverse": {"hosts": members}, "lab_fleet": {"hosts": members}}))
    for host in hosts:
        (target / "host_vars" / host).write_text(yaml.safe_dump({
            "ansible_connection": "lab_podman", "ecdsa_cert_domains": [host], "exim_tls_local_domains": [host],
            "exim_tls_tlsrpt_address": f"tls-reports@{host}", "ecdsa_cert_acme_contact": [f"admin@{host}.lab.invalid"]}))
    return target


def ratio_cell(name: str, value: float) -> str:
    if name.endswith("seconds per added host"):
        return f"{value:.1f} s"
    if "hosts ÷ 1 host" in name:
        return f"{value:.2f}×"
    return f"{value:.0%}"


def _cell(s: dict | None) -> str:
    return "–" if not s else f"{s['median']:.1f} s ({s['min']:.1f}–{s['max']:.1f}, n={s['runs']})"


def markdown(results: dict) -> str:
    """The report as Markdown: the machine, then one table per measurement."""
    m = results["machine"]
    lines = [f"# Benchmark {results['date']}", "",
             f"{m['cpus']} cores, {m['kernel']}, Python {m['python']}, {m['ansible']}, "
             f"collection {m['collection']}; median (min–max, n = counted runs after one warm-up).", "",
             "## Converge", "", "| playbook | connection | kind | wall time | host-tasks | s per host-task |",
             "|---|---|---|---|---|---|"]
    for row in results["converge"]:
        per_task = row["wall"]["median"] / row["host_tasks"] if row["host_tasks"] else 0
        lines.append(f"| {row['playbook']} | {row['connection']} | {row['kind']} | {_cell(row['wall'])} "
                     f"| {row['host_tasks']} | {per_task:.2f} |")
    ratios = results.get("ratios", {})
    if ratios:
        lines += ["", "| ratio | value |", "|---|---|"]
        lines += [f"| {name} | {ratio_cell(name, value)} |" for name, value in ratios.items()]
    if results.get("roles"):
        lines += role_costs_markdown(results["roles"])
    if not results["tls"]:  # --parts without tls
        return "\n".join(lines) + "\n"
    lines += ["", "## TLS handshakes (fedi's nginx, loopback, one sequential client)", "",
              "| key | protocol | full /s | resumed /s | resumed share | nginx CPU s per 1,000 full | per 1,000 resumed "
              "| full per core-second | resumed per core-second | resumed ÷ full (per core) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in tls_table(results["tls"]):
        full, resumed = row["full"], row["resumed"]
        lines.append(f"| {row['key']} | {row['version']} | {full['per_second']} | {resumed['per_second']} "
                     f"| {resumed['resumed_share']:.0%} | {full['worker_cpu_ms_per_1000'] / 1000:.2f} "
                     f"| {resumed['worker_cpu_ms_per_1000'] / 1000:.2f} | {full['per_core_second']} "
                     f"| {resumed['per_core_second']} | {row['capacity_ratio']}× |")
    return "\n".join(lines) + "\n"


# --- The lab runs -------------------------------------------------------------------------

def podman(*args: str, stdin: str | None = None) -> str:
    return subprocess.run(["podman", *args], input=stdin, capture_output=True, text=True, check=True).stdout


def inventory_copy(base: Path, target: Path, host_vars: dict[str, dict]) -> Path:
    """The scenario's inventory with some hosts' connection variables replaced."""
    shutil.copytree(base, target)
    for host, variables in host_vars.items():
        path = target / "host_vars" / host
        current = yaml.safe_load(path.read_text()) if path.exists() else {}
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump({**(current or {}), **variables}))
    return target


def timed_playbook(inventory: Path, playbook: str, *extra: str, no_op: bool = False,
                   roles: list | None = None) -> tuple[float, int]:
    """Wall time and host-tasks of one run; a failed run, or a no-op run that changed something, ends the bench.

    roles: a list that gets the run's {role: host-seconds} (lab/callback_plugins/lab_role_time.py)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as role_times:
        # Plain output whatever the caller's settings (molecule sets ANSIBLE_FORCE_COLOR).
        env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1", "FEDISEC_ROLE_TIME_OUT": role_times.name}
        start = time.monotonic()
        run = subprocess.run(["ansible-playbook", "-i", str(inventory), playbook, *extra],
                             capture_output=True, text=True, check=False, cwd=REPO, env=env)
        wall = time.monotonic() - start
        if roles is not None and run.returncode == 0:
            roles.append(json.loads(Path(role_times.name).read_text()))
    if run.returncode != 0:
        sys.exit(f"bench: {playbook} {' '.join(extra)} failed:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
    recap = parse_recap(run.stdout)
    if no_op and any(counters["changed"] for counters in recap.values()):
        sys.exit(f"bench: a no-op run of {playbook} {' '.join(extra)} changed something: {recap}")
    return wall, host_tasks(recap)


def row(target: dict, connection: str, kind: str, wall: dict, tasks: int) -> dict:
    return {"playbook": target["label"], "connection": connection, "kind": kind, "wall": wall, "host_tasks": tasks}


def measure(runs: int, inventory: Path, playbook: str, args_for_run, warm_up: bool, no_op: bool,
            roles: list | None = None) -> tuple[dict, int]:
    """An optional warm-up, then `runs` counted runs; args_for_run(i) gives each run's arguments
    (roles: gets each counted run's role times)."""
    if warm_up:
        timed_playbook(inventory, playbook, *args_for_run(-1))
    walls, tasks = [], 0
    for i in range(runs):
        wall, tasks = timed_playbook(inventory, playbook, *args_for_run(i), no_op=no_op, roles=roles)
        walls.append(wall)
    return summary(walls), tasks


def converge_rows(runs: int, inventories: dict[str, Path], target: dict, warm_up: bool = True) -> list[dict]:
    """A no-op rerun and a one-variable change of one target on fedi, per connection.

    target: label, playbook, args (its fixed arguments) and change (variable, two values).
    Each change run sets the other value, so every counted run is a change; a last run puts
    the inventory's value back."""
    variable, values = target["change"]
    args = ["--limit", "fedi", *target["args"]]
    rows = []
    for connection, inventory in inventories.items():
        for kind, vary in (("no-op", lambda i: []), ("one change", lambda i: ["-e", f"{variable}={values[i % 2]}"])):
            no_op = kind == "no-op"
            wall, tasks = measure(runs, inventory, target["playbook"], lambda i, v=vary: [*args, *v(i)],
                                  warm_up and no_op, no_op)
            rows.append(row(target, connection, kind, wall, tasks))
        timed_playbook(inventory, target["playbook"], *args)
    return rows


def all_hosts_row(runs: int, inventory: Path, roles: list) -> dict:
    wall, tasks = measure(runs, inventory, "playbooks/site.yml", lambda i: [], warm_up=True, no_op=True, roles=roles)
    return row(ALL_HOSTS, "lab_podman", "no-op", wall, tasks)


def fresh_rows(runs: int, roles: list) -> list[dict]:
    """Fresh converges: new containers, prepared, then site.yml (molecule's converge step)."""
    walls, tasks = [], 0
    for _ in range(runs):
        subprocess.run(["molecule", "destroy", "-s", "default"], check=True, capture_output=True, cwd=REPO)
        for step in ("create", "prepare"):
            subprocess.run(["molecule", step, "-s", "default"], check=True, capture_output=True, cwd=REPO)
        inventory = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
        wall, tasks = timed_playbook(inventory, "playbooks/site.yml", roles=roles)
        walls.append(wall)
    return [row(ALL_HOSTS, "lab_podman", "fresh", summary(walls), tasks)]


def fleet_up(hosts: list[str]) -> None:
    """New containers like fedi on the lab's network, listed in the lab's name server."""
    create = json.loads(podman("inspect", "fedi", "--format", "{{json .Config.CreateCommand}}"))
    image, command = create[-2:]
    for host in hosts:
        podman("run", "--detach", "--name", host, "--hostname", host, "--label", "owner=fedisec-bench",
               "--network", "fedisec-lab", "--systemd=always", *(f"--cap-add={cap}" for cap in
                                                                  ("SYS_ADMIN", "SYS_PTRACE", "NET_ADMIN", "DAC_READ_SEARCH")),
               image, command)
    lines = "".join(f"{podman('exec', host, 'hostname', '-I').split()[0]} {host}\n" for host in hosts)
    podman("exec", "-i", "acme", "sh", "-c", "cat >> /etc/fedisec-lab-hosts && systemctl restart dnsmasq", stdin=lines)


def fleet_down(hosts: list[str]) -> None:
    """The containers gone, the name server as it was."""
    subprocess.run(["podman", "rm", "--force", "--time", "0", *hosts], capture_output=True, check=False)
    pattern = "|".join(hosts)
    podman("exec", "acme", "sh", "-c",
           f"sed -i -E '/ ({pattern})$/d' /etc/fedisec-lab-hosts && systemctl restart dnsmasq")


def fleet_rows(runs: int, base: Path, tmp: Path) -> list[dict]:
    """For each fleet size: new containers, prepared (not counted), one fresh site.yml run
    limited to them, then `runs` no-op reruns after a warm-up; the containers go after."""
    rows = []
    for size in FLEET_SIZES:
        hosts = list(FLEET[:size])
        limit = ["--limit", ",".join(hosts)]
        fleet_down(hosts)  # what an interrupted bench may have left
        fleet_up(hosts)
        try:
            inventory = fleet_inventory(base, tmp / f"fleet-{size}", hosts)
            timed_playbook(inventory, str(HERE / "fleet-prepare.yml"), *limit)
            wall, tasks = timed_playbook(inventory, "playbooks/site.yml", *limit)
            target = {"label": fleet_label(size)}
            rows.append(row(target, "lab_podman", "fresh", summary([wall]), tasks))
            wall, tasks = measure(runs, inventory, "playbooks/site.yml", lambda i, a=limit: a, warm_up=True, no_op=True)
            rows.append(row(target, "lab_podman", "no-op", wall, tasks))
        finally:
            fleet_down(hosts)
    return rows


def bench_server(key_type: str, port: int) -> str:
    """A loopback-only server on fedi with the served site's TLS settings and another key."""
    site = podman("exec", "fedi", "sh", "-c", "grep -h '^ *ssl_' /etc/nginx/sites-enabled/fedisec*")
    settings = "\n".join(f"    {line.strip()}" for line in site.splitlines()
                         if line.split()[0] not in ("ssl_certificate", "ssl_certificate_key", "ssl_stapling",
                                                    "ssl_stapling_verify", "ssl_trusted_certificate"))
    settings = re.sub(r"shared:\S+", f"shared:fedisec_bench{port}:10m;", settings)
    podman("exec", "fedi", "sh", "-c",
           f"openssl req -x509 -nodes -days 1 -subj /CN=bench {KEY_TYPES[key_type]} "
           f"-keyout /etc/nginx/bench-{port}.key -out /etc/nginx/bench-{port}.crt 2>/dev/null")
    return (f"server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name bench;\n"
            f"    ssl_certificate /etc/nginx/bench-{port}.crt;\n    ssl_certificate_key /etc/nginx/bench-{port}.key;\n"
            f"{settings}\n    location / {{ return 204; }}\n}}\n")


def tls_results(seconds: float) -> dict:
    script = (HERE / "tls_bench.py").read_text()
    podman("exec", "-i", "fedi", "sh", "-c", "cat > /root/tls_bench.py", stdin=script)
    ports = {"P-256": 8701, "RSA-2048": 8702}
    config = "".join(bench_server(key, port) for key, port in ports.items())
    podman("exec", "-i", "fedi", "sh", "-c",
           "cat > /etc/nginx/conf.d/zz-bench.conf && nginx -t -q && systemctl reload nginx", stdin=config)
    try:
        time.sleep(1)
        results = {"P-384 (served)": json.loads(podman("exec", "fedi", "python3", "/root/tls_bench.py",
                                                       "127.0.0.1", "443", "fedi", str(seconds)))}
        for key, port in ports.items():
            results[key] = json.loads(podman("exec", "fedi", "python3", "/root/tls_bench.py",
                                             "127.0.0.1", str(port), "bench", str(seconds)))
    finally:
        podman("exec", "fedi", "sh", "-c", "rm -f /etc/nginx/conf.d/zz-bench.conf /etc/nginx/bench-* "
               "/root/tls_bench.py && systemctl reload nginx")
    return results


def machine() -> dict:
    collection = yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]
    ansible = subprocess.run(["ansible", "--version"], capture_output=True, text=True, check=True).stdout
    return {"cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
            "ansible": ansible.splitlines()[0], "collection": collection}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="counted runs per figure (after one warm-up)")
    parser.add_argument("--fresh-runs", type=int, default=3, help="fresh converges (each about 10 minutes)")
    parser.add_argument("--tls-seconds", type=float, default=5, help="length of each handshake series")
    parser.add_argument("--out", type=Path, default=REPO / "bench")
    parser.add_argument("--parts", default="tls,site,roles,all",
                        help="comma-separated: tls, site (site.yml on fedi), roles (roles alone), all (site.yml on the 4 lab"
                             " hosts), fleet (1, 2 and 4 more fediverse hosts in one run; not in the default)")
    parser.add_argument("--connections", default="ssh,lab_podman,containers.podman",
                        help="comma-separated connections for site.yml on fedi")
    parser.add_argument("--smoke", action="store_true",
                        help="one no-op run of os_baseline alone over SSH and short TLS series (under a minute; the"
                             " lab's tests run it so that the benchmark keeps working); prints, writes nothing")
    args = parser.parse_args()
    parts, connections = set(args.parts.split(",")), args.connections.split(",")
    if args.runs < 1 or args.fresh_runs < 0 or args.tls_seconds <= 0:
        parser.error("--runs must be ≥ 1, --fresh-runs ≥ 0, --tls-seconds > 0")
    if parts - {"tls", "site", "roles", "all", "fleet"} or set(connections) - {"ssh", "lab_podman", "containers.podman"}:
        parser.error(f"unknown part or connection in --parts {args.parts} / --connections {args.connections}")

    base = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "inventory"
    address = podman("exec", "fedi", "hostname", "-I").split()[0]
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "machine": machine(), "runs": args.runs}
    with tempfile.TemporaryDirectory() as tmp:
        inventories = {
            "ssh": inventory_copy(base, Path(tmp) / "ssh",
                                  {"fedi": {"ansible_connection": "ssh", **ssh_host_vars(address)}}),
            "lab_podman": base,
            "containers.podman": inventory_copy(base, Path(tmp) / "podman", {
                host: {"ansible_connection": "containers.podman.podman"} for host in ("acme", "fedi", "db", "backup")}),
        }
        if args.smoke:
            results["tls"] = tls_results(0.3)
            wall, tasks = measure(1, inventories["ssh"], ROLES[0]["playbook"],
                                  lambda i: ["--limit", "fedi", *ROLES[0]["args"]], warm_up=False, no_op=True)
            results["converge"] = [row(ROLES[0], "ssh", "no-op", wall, tasks)]
            print(markdown(results))
            print(json.dumps(results))  # last line: for the lab's smoke test
            return
        results["tls"] = tls_results(args.tls_seconds) if "tls" in parts else {}
        results["converge"], no_op_roles, fresh_roles = [], [], []
        if "site" in parts:
            results["converge"] += converge_rows(args.runs, {c: inventories[c] for c in connections}, SITE)
        for role in ROLES if "roles" in parts else []:
            results["converge"] += converge_rows(args.runs, {"ssh": inventories["ssh"]}, role)
        if "all" in parts:
            results["converge"].append(all_hosts_row(args.runs, inventories["lab_podman"], no_op_roles))
        if "fleet" in parts:
            results["converge"] += fleet_rows(args.runs, base, Path(tmp))
    if args.fresh_runs:
        results["converge"] += fresh_rows(args.fresh_runs, fresh_roles)
    results["roles"] = role_costs(fresh_roles, no_op_roles) if fresh_roles and no_op_roles else {}
    rows = {(r["playbook"], r["connection"], r["kind"]): r["wall"]["median"] for r in results["converge"]}
    fresh, no_op = (rows.get((ALL_HOSTS["label"], "lab_podman", kind)) for kind in ("fresh", "no-op"))
    results["ratios"] = {f"no-op ÷ fresh, {ALL_HOSTS['label']}": no_op / fresh} if fresh and no_op else {}
    results["ratios"].update(fleet_ratios(results["converge"]))
    args.out.mkdir(exist_ok=True)
    stem = args.out / f"results-{results['date'][:10]}"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    report = markdown(results)
    stem.with_suffix(".md").write_text(report)
    print(report)
    print(f"written: {stem}.json, {stem}.md")


if __name__ == "__main__":
    main()
