"""The benchmark (scripts/bench.sh) keeps working: its smoke run, one iteration of each kind
of measurement, on the converged lab."""
import json
import subprocess
import sys

import pytest

from lab import HERE


@pytest.mark.changes  # a bench-only nginx server on loopback for a few seconds, then removed
def test_bench_smoke_run_measures_and_leaves_nginx_as_it_was(lab):
    fedi = lab.host("fedi")
    before = fedi.check_output("nginx -T 2>/dev/null | sha256sum")
    run = subprocess.run([sys.executable, str(HERE / "bench.py"), "--smoke"], capture_output=True, text=True,
                         check=False, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = json.loads(run.stdout.splitlines()[-1])
    # Every resumed series really resumed, from nginx's session cache (tickets are off).
    rows = {(key, version): series for key, versions in results["tls"].items()
            for version, series in versions.items()}
    assert set(rows) == {(key, version) for key in ("P-384 (served)", "P-256", "RSA-2048")
                         for version in ("TLSv1.2", "TLSv1.3")}
    for series in rows.values():
        assert series["full"]["connections"] > 0 and series["full"]["resumed"] == 0
        assert series["resumed"]["resumed"] == series["resumed"]["connections"] > 0
    (converge,) = results["converge"]
    assert converge["host_tasks"] > 0 and converge["wall"]["runs"] == 1
    assert fedi.check_output("nginx -T 2>/dev/null | sha256sum") == before
    assert fedi.run("ls /etc/nginx/conf.d/zz-bench.conf /etc/nginx/bench-* /root/tls_bench.py").rc != 0
