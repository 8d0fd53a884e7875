#!/usr/bin/env bash
# The environment that scripts/up.sh gives `pulumi`, for your own shell, so every `pulumi`
# command in the README and in error messages works as printed:
#   eval "$(scripts/env.sh [stack])"     (default stack: dev)
# Exports PULUMI_BACKEND_URL (the stack's S3 bucket, or the local backend in .state/ with
# PULUMI_CONFIG_PASSPHRASE_FILE), VOS_SECRETS_PROVIDER, PATH (the Pulumi CLI up.sh installed,
# when the shell has none) and,
# for dev without VAULT_ADDR, the embedded Vault's VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN_FILE
# (start it first: scripts/vault.sh start, or scripts/up.sh).
source "$(dirname "$0")/lib.sh"
case "${1:-}" in
  -h|--help) sed -n '2,9s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
STACK="${1:-dev}"
bootstrap_venv local >&2
has_s3_backend "$STACK" || prepare_state
stack_environment "$STACK"
# The CLI up.sh installed, when the shell has none of its own.
if ! command -v pulumi >/dev/null 2>&1 && use_installed_pulumi_cli; then
  printf 'export PATH=%q\n' "$PATH"
fi
