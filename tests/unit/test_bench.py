"""Tests for the benchmark's parsing and report (tests/lab/bench.py), without a lab."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))
import bench  # noqa: E402 (tests/lab is not a package)

RECAP = """
PLAY RECAP *********************************************************************
backup                     : ok=40   changed=0    unreachable=0    failed=0    skipped=12   rescued=0    ignored=0
fedi                       : ok=120  changed=2    unreachable=0    failed=0    skipped=30   rescued=1    ignored=0
"""


def series(connections=100, seconds=2.0, resumed=0, cpu=0.5):
    return {"connections": connections, "seconds": seconds, "resumed": resumed, "worker_cpu_seconds": cpu}


def test_parse_recap_reads_every_host_and_counter():
    recap = bench.parse_recap(RECAP)
    assert set(recap) == {"backup", "fedi"}
    assert recap["fedi"] == {"ok": 120, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 30,
                             "rescued": 1, "ignored": 0}


def test_parse_recap_reads_coloured_output():
    coloured = "\x1b[0;33mfedi\x1b[0m                       : \x1b[0;32mok=5   \x1b[0m changed=1    " \
               "unreachable=0    failed=0    \x1b[0;36mskipped=2   \x1b[0m rescued=0    ignored=0"
    assert bench.parse_recap(coloured)["fedi"]["skipped"] == 2


def test_parse_recap_refuses_output_without_recap():
    with pytest.raises(ValueError, match="no PLAY RECAP"):
        bench.parse_recap("ERROR! the playbook could not be found")


def test_host_tasks_counts_ok_and_skipped_but_not_changed_twice():
    assert bench.host_tasks(bench.parse_recap(RECAP)) == 40 + 12 + 120 + 30


def test_summary_gives_min_median_max_and_count():
    assert bench.summary([3.0, 1.0, 2.0, 10.0]) == {"runs": 4, "min": 1.0, "median": 2.5, "max": 10.0}


@pytest.mark.parametrize("values", [[], [1.0, -2.0], [1.0, "2"]])
def test_summary_refuses_bad_runs(values):
    with pytest.raises(ValueError):
        bench.summary(values)


def test_tls_rates():
    rates = bench.tls_rates(series(connections=200, seconds=4.0, resumed=199, cpu=0.4))
    assert rates == {"per_second": 50.0, "resumed_share": 0.995, "worker_cpu_ms_per_1000": 2000.0,
                     "per_core_second": 500.0}


def test_tls_rates_without_clock_ticks_has_no_per_core_figure():
    assert bench.tls_rates(series(cpu=0))["per_core_second"] is None


@pytest.mark.parametrize("bad", [series(connections=0), series(seconds=0)])
def test_tls_rates_refuses_an_empty_series(bad):
    with pytest.raises(ValueError, match="needs connections"):
        bench.tls_rates(bad)


def test_tls_table_ratio_is_resumed_over_full():
    tls = {"P-384": {"TLSv1.3": {"full": series(connections=100, seconds=2.0),
                                 "resumed": series(connections=1000, seconds=2.0, resumed=1000)}}}
    (row,) = bench.tls_table(tls)
    # The client saw 10× the rate; nginx spent 0.5 s on each series: 10× per core too.
    assert (row["key"], row["version"], row["ratio"], row["capacity_ratio"]) == ("P-384", "TLSv1.3", 10.0, 10.0)


def test_tls_table_has_no_capacity_ratio_without_clock_ticks():
    tls = {"P-384": {"TLSv1.2": {"full": series(cpu=0), "resumed": series(resumed=100)}}}
    assert bench.tls_table(tls)[0]["capacity_ratio"] is None


def test_markdown_names_the_machine_runs_and_rows():
    wall = bench.summary([10.0, 12.0, 11.0])
    results = {
        "date": "2026-12-02T18:00:00+00:00",
        "machine": {"cpus": 2, "kernel": "6.1", "python": "3.11.7", "ansible": "ansible [core 2.19.14]",
                    "collection": "0.1.0"},
        "converge": [{"playbook": "site.yml on fedi", "connection": "ssh", "kind": "no-op", "wall": wall,
                      "host_tasks": 110}],
        "ratios": {"no-op ÷ fresh": 0.125},
        "tls": {"P-384": {"TLSv1.2": {"full": series(), "resumed": series(connections=1000, resumed=990)}}},
    }
    text = bench.markdown(results)
    assert "2 cores" in text and "ansible [core 2.19.14]" in text
    assert "| site.yml on fedi | ssh | no-op | 11.0 s (10.0–12.0, n=3) | 110 | 0.10 |" in text
    assert "| no-op ÷ fresh | 12% |" in text
    assert "| P-384 | TLSv1.2 | 50.0 | 500.0 | 99% | 5.00 | 0.50 | 200.0 | 2000.0 | 10.0× |" in text


def test_markdown_without_tls_results_has_no_tls_table():
    results = {
        "date": "2026-12-03T20:56:45+00:00",
        "machine": {"cpus": 2, "kernel": "6.1", "python": "3.11.7", "ansible": "ansible [core 2.19.14]",
                    "collection": "0.1.0"},
        "converge": [{"playbook": "site.yml, 4 hosts", "connection": "lab_podman", "kind": "no-op",
                      "wall": bench.summary([50.0, 49.5, 52.8]), "host_tasks": 406}],
        "tls": {},
    }
    text = bench.markdown(results)
    assert "| site.yml, 4 hosts | lab_podman | no-op | 50.0 s (49.5–52.8, n=3) | 406 | 0.12 |" in text
    assert "TLS handshakes" not in text


def fleet_row(size, kind, *walls):
    return {"playbook": bench.fleet_label(size), "connection": "lab_podman", "kind": kind,
            "wall": bench.summary(list(walls)), "host_tasks": 100 * size}


def test_fleet_ratios_compare_the_largest_fleet_with_one_host_per_kind():
    rows = [fleet_row(1, "fresh", 200.0), fleet_row(2, "fresh", 260.0), fleet_row(4, "fresh", 440.0),
            fleet_row(1, "no-op", 20.0, 22.0, 21.0), fleet_row(4, "no-op", 42.0, 40.0, 44.0),
            {"playbook": "site.yml, 4 hosts", "connection": "lab_podman", "kind": "no-op",
             "wall": bench.summary([50.0]), "host_tasks": 406}]
    ratios = bench.fleet_ratios(rows)
    assert ratios == {"fleet fresh: 4 hosts ÷ 1 host": pytest.approx(2.2), "fleet fresh: seconds per added host": 80.0,
                      "fleet no-op: 4 hosts ÷ 1 host": pytest.approx(2.0), "fleet no-op: seconds per added host": 7.0}
    text = bench.markdown({"date": "2026-12-03T23:00:00+00:00", "tls": {}, "converge": rows, "ratios": ratios,
                           "machine": {"cpus": 2, "kernel": "6.1", "python": "3.11.7", "ansible": "a", "collection": "0.1.0"}})
    assert "| fleet fresh: 4 hosts ÷ 1 host | 2.20× |" in text and "| fleet fresh: seconds per added host | 80.0 s |" in text


@pytest.mark.parametrize("rows", [[], [fleet_row(1, "fresh", 200.0)], [fleet_row(2, "fresh", 260.0), fleet_row(4, "fresh", 440.0)]])
def test_fleet_ratios_need_the_one_host_fleet_and_a_larger_one(rows):
    assert bench.fleet_ratios(rows) == {}


def test_the_fleet_inventory_adds_its_hosts_to_the_scenarios(tmp_path):
    base = tmp_path / "base"
    (base / "host_vars").mkdir(parents=True)
    (base / "ansible_inventory.yml").write_text("all: {hosts: {fedi: {}}}\n")
    target = bench.fleet_inventory(base, tmp_path / "fleet", ["fleet1", "fleet2"])
    groups = bench.yaml.safe_load((target / "fleet.yml").read_text())
    assert set(groups["fediverse"]["hosts"]) == set(groups["lab_fleet"]["hosts"]) == {"fleet1", "fleet2"}
    fleet2 = bench.yaml.safe_load((target / "host_vars" / "fleet2").read_text())
    assert fleet2["ecdsa_cert_domains"] == ["fleet2"] and fleet2["ansible_connection"] == "lab_podman"
    assert (target / "ansible_inventory.yml").exists() and not (base / "fleet.yml").exists()


@pytest.mark.parametrize("hosts", [[], ["Fleet1"], ["fleet 1"], ["fleet1;rm"], ["-fleet"]])
def test_the_fleet_inventory_refuses_bad_host_names(tmp_path, hosts):
    with pytest.raises(ValueError, match="DNS labels"):
        bench.fleet_inventory(tmp_path / "base", tmp_path / "fleet", hosts)


def test_role_costs_compare_the_median_host_seconds_of_each_role():
    fresh = [{"nginx_tls": 40.0, "firewall": 10.0}, {"nginx_tls": 44.0, "firewall": 12.0}, {"nginx_tls": 42.0, "firewall": 11.0}]
    no_op = [{"nginx_tls": 2.0, "firewall": 3.0, "(playbook)": 1.0}, {"nginx_tls": 2.2, "firewall": 2.8},
             {"nginx_tls": 2.1, "firewall": 2.9}]
    costs = bench.role_costs(fresh, no_op)
    assert list(costs) == ["(playbook)", "firewall", "nginx_tls"]
    assert costs["nginx_tls"]["fresh"] == {"runs": 3, "min": 40.0, "median": 42.0, "max": 44.0}
    assert costs["nginx_tls"]["ratio"] == pytest.approx(2.1 / 42.0)
    assert costs["firewall"]["ratio"] == pytest.approx(2.9 / 11.0)
    # Absent from a run counts 0 there; a role no fresh run has has no ratio.
    assert costs["(playbook)"]["no_op"]["median"] == 0.0 and costs["(playbook)"]["ratio"] is None
    text = bench.markdown({"date": "2026-12-04T05:00:00+00:00", "tls": {}, "converge": [], "roles": costs,
                           "machine": {"cpus": 2, "kernel": "6.1", "python": "3.11.7", "ansible": "a", "collection": "0.1.0"}})
    assert "| nginx_tls | 42.0 s (40.0–44.0, n=3) | 2.1 s (2.0–2.2, n=3) | 5% |" in text
    assert "| (playbook) | 0.0 s (0.0–0.0, n=3) | 0.0 s (0.0–1.0, n=3) | – |" in text


@pytest.mark.parametrize("fresh,no_op", [
    ([], [{"a": 1.0}]),
    ([{"a": 1.0}], []),
    ([{"a": -1.0}], [{"a": 1.0}]),
    ([{"a": "1"}], [{"a": 1.0}]),
    ([["a", 1.0]], [{"a": 1.0}]),
])
def test_role_costs_refuse_missing_or_bad_runs(fresh, no_op):
    with pytest.raises(ValueError):
        bench.role_costs(fresh, no_op)


def test_markdown_without_role_costs_has_no_role_table():
    text = bench.markdown({"date": "2026-12-04T05:00:00+00:00", "tls": {}, "converge": [], "roles": {},
                           "machine": {"cpus": 2, "kernel": "6.1", "python": "3.11.7", "ansible": "a", "collection": "0.1.0"}})
    assert "Per role" not in text
