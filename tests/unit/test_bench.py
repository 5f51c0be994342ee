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
