#!/usr/bin/env bash
# The embedded development Vault (OpenBao, no Docker): start | stop | status | env
#   scripts/vault.sh start            start it, or reuse the running one (data in .state/vault)
#   eval "$(scripts/vault.sh env)"    export VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN_FILE
#   scripts/vault.sh stop             stop it; the data stays for the next start
source "$(dirname "$0")/lib.sh"
[ -x "$VENV/bin/vos-infra" ] || bootstrap_venv local >&2
exec "$VENV/bin/vos-infra" vault "$@"
