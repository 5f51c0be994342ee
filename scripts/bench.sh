#!/usr/bin/env bash
# The lab's benchmark: what a converge (fresh, no-op, one change; SSH and podman) and a TLS
# handshake (P-384, P-256, RSA-2048; full and resumed) cost on this machine. Brings the lab
# up if needed and writes bench/results-<date>.json and .md (tests/lab/bench.py --help).
# About 60 minutes with the defaults; scripts/bench.sh --runs 1 --fresh-runs 0 for a quick look.
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/scripts/bootstrap.sh"
# shellcheck source=scripts/lab-env.sh
. scripts/lab-env.sh
install_collection
log "the lab, converged (a first run here is not counted)"
molecule converge -s default
MOLECULE_EPHEMERAL_DIRECTORY=$(lab_ephemeral_dir)
export MOLECULE_EPHEMERAL_DIRECTORY
log "measuring"
exec python3 tests/lab/bench.py "$@"
