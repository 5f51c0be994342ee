#!/usr/bin/env bash
# Brings up the sealed lab (fedi, db, backup, acme), converges playbooks/site.yml on it and
# prints what the lab proves about the result: the read-only proofs (the drills, renewals
# and bad-value tests that change the lab run in scripts/test.sh), and last the audit
# (playbooks/audit.yml: one screen here, the full report in audit-reports/latest.html).
# The lab stays up for you to explore:
#   podman exec -it fedi bash      scripts/demo.sh destroy   (removes it)
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
log "DNS records to publish (fedi)"
podman exec fedi sh -c 'cat /etc/fedisec/dns-records/*.txt'
log "the audit (playbooks/audit.yml, read-only; exits non-zero when a host is below a bar)"
audit_rc=0
rm -f audit-reports/latest.*
ansible-playbook -i "$(lab_ephemeral_dir)/inventory" playbooks/audit.yml -e audit_report_dir="$PWD/audit-reports" \
  > "$FEDISEC_CACHE/audit.log" || audit_rc=$?
[ -f audit-reports/latest.md ] || die "the audit wrote no report (see $FEDISEC_CACHE/audit.log)"
cat audit-reports/latest.md
log "lab is up: podman exec -it fedi bash; the audit's report: $PWD/audit-reports/latest.html"
exit "$audit_rc"
