#!/usr/bin/env bash
# Brings up the sealed lab (fedi, db, backup, acme), converges playbooks/site.yml on it and
# prints what the lab proves about the result: the read-only proofs (the drills, renewals
# and bad-value tests that change the lab run in scripts/test.sh). The lab stays up for
# you to explore:   podman exec -it fedi bash      scripts/demo.sh destroy   (removes it)
set -euo pipefail
cd "$(dirname "$0")/.."
"$PWD/scripts/bootstrap.sh"
# shellcheck source=scripts/lab-env.sh
. scripts/lab-env.sh
if [ "${1:-}" = destroy ]; then
  exec molecule destroy -s default
fi
install_collection
molecule converge -s default
log "what the lab proves (testinfra, read-only; the full suite is ./scripts/test.sh)"
PYTEST_ADDOPTS="-m 'not changes and not slow' $lab_parallel_tests" molecule verify -s default
log "ssh-audit of fedi, from the outside peer"
podman exec backup ssh-audit --no-colors fedi | grep -E '^\((kex|key|enc|mac)\)' || true
log "fedi's firewall (nft list table inet fedisec)"
podman exec fedi nft list table inet fedisec
log "lab is up: podman exec -it fedi bash; DNS records to publish:"
podman exec fedi sh -c 'cat /etc/fedisec/dns-records/*.txt'
