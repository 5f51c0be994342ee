#!/usr/bin/env bash
# Runs every test: lint, plugin unit tests, the built collection, and each lab scenario
# (create, prepare, converge, idempotence, check mode, testinfra verify, destroy) on Debian
# 12, then the default scenario's converge, idempotence and read-only proofs on Debian 13.
# Usage: scripts/test.sh [scenario[@release] ...]   (default: all, e.g. default@trixie)
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(default nginx_tls_static default@trixie)
# Bootstrap builds the image of every release asked for.
suites=bookworm
for entry in "${scenarios[@]}"; do [ "$entry" = "${entry%@*}" ] || suites+=" ${entry#*@}"; done
export FEDISEC_SUITES=${FEDISEC_SUITES:-$suites}
"$PWD/scripts/bootstrap.sh"
# shellcheck source=scripts/lab-env.sh
. scripts/lab-env.sh

log "build and install the collection; the installed playbook resolves"
# An older molecule installed the checkout into ~/.ansible/collections (the scenarios now
# say prerun: false); a copy left there would shadow the freshly built one.
rm -rf "${HOME:?}/.ansible/collections/ansible_collections/fedisec/hardening"
install_collection
(cd /tmp && ansible-playbook --syntax-check -i localhost, fedisec.hardening.site >/dev/null)

log "lint"
# ansible-lint resolves fedisec.hardening.* roles through the collection installed above.
yamllint --strict .
ansible-lint --offline --profile production
antsibull-changelog lint

log "plugin unit tests"
pytest -q -p no:cacheprovider tests/unit

# The read-only proofs run side by side ($lab_parallel_tests, lab-env.sh); the proofs that
# change the lab (marked `changes`) run after them, one at a time.
for entry in "${scenarios[@]}"; do
  scenario=${entry%@*}
  FEDISEC_SUITE=bookworm
  [ "$entry" = "$scenario" ] || FEDISEC_SUITE=${entry#*@}
  export FEDISEC_SUITE
  if [ "$FEDISEC_SUITE" != bookworm ]; then
    # Another release: a fresh converge, the idempotence run and the same read-only proofs.
    # Check mode and the drills that change the lab run on Debian 12.
    log "lab scenario: $scenario on $FEDISEC_SUITE (read-only proofs)"
    trap 'molecule destroy -s "$scenario" >/dev/null 2>&1 || true' EXIT
    molecule destroy -s "$scenario"
    for step in create prepare converge idempotence; do molecule "$step" -s "$scenario"; done
    PYTEST_ADDOPTS="-m 'not changes' $lab_parallel_tests" molecule verify -s "$scenario"
    molecule destroy -s "$scenario"
    trap - EXIT
    continue
  fi
  log "lab scenario: $scenario"
  trap 'molecule destroy -s "$scenario" >/dev/null 2>&1 || true' EXIT
  # --destroy never also skips the sequence's first destroy: a lab left up (by the demo)
  # would be reused. Start from nothing here, and keep the lab for the second verify.
  molecule destroy -s "$scenario"
  PYTEST_ADDOPTS="-m 'not changes' $lab_parallel_tests" molecule test -s "$scenario" --destroy never
  # Every scenario has some (the seal's route test, tests/lab/seal.py, at least); a scenario
  # without any would fail here (pytest: no tests collected), not skip them silently.
  log "lab scenario $scenario: the proofs that change the lab"
  PYTEST_ADDOPTS="-m changes" molecule verify -s "$scenario"
  molecule destroy -s "$scenario"
  trap - EXIT
done
log "all tests passed"
