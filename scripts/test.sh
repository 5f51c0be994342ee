#!/usr/bin/env bash
# Runs every test: lint, plugin unit tests, the built collection, and each lab scenario
# (create, prepare, converge, idempotence, check mode, testinfra verify, destroy).
# Usage: scripts/test.sh [scenario ...]   (default: all scenarios)
set -euo pipefail
cd "$(dirname "$0")/.."
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

log "plugin unit tests"
pytest -q -p no:cacheprovider tests/unit

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(default nginx_tls_static)
for scenario in "${scenarios[@]}"; do
  log "lab scenario: $scenario"
  molecule test -s "$scenario"
done
log "all tests passed"
