#!/usr/bin/env bash
# The main job: set everything up and `pulumi up` a stack (default: dev) on a local file
# backend in .state/, with a generated passphrase kept in .state/passphrase (0600, ignored).
# Needs the Pulumi CLI and a reachable Docker daemon; stops with a clear message without them.
source "$(dirname "$0")/lib.sh"

STACK="${1:-dev}"
shift || true

missing=0
if ! command -v pulumi >/dev/null 2>&1; then
  printf 'missing: the Pulumi CLI (pulumi) is not on PATH.\n  install: curl -fsSL https://get.pulumi.com | sh   (or see https://www.pulumi.com/docs/iac/download-install/)\n' >&2
  missing=1
fi
if ! command -v docker >/dev/null 2>&1; then
  printf 'missing: the Docker CLI is not installed.\n  install Docker Engine: https://docs.docker.com/engine/install/\n' >&2
  missing=1
elif ! docker info >/dev/null 2>&1; then
  printf 'missing: no Docker daemon answers at %s.\n  start it (sudo systemctl start docker) or point DOCKER_HOST at one; `docker info` must succeed.\n' "${DOCKER_HOST:-unix:///var/run/docker.sock}" >&2
  missing=1
fi
[ "$missing" = 0 ] || die "cannot run 'pulumi up' for stack $STACK until the above is installed"

bootstrap_venv local

# Key and certificate rotation relies on the `replacementTrigger` resource option, which an
# older engine silently ignores: refuse a CLI older than the SDK the project runs with.
cli_version="$(pulumi version | sed 's/^v//')"
sdk_version="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pulumi"))')"
if [ "$(printf '%s\n%s\n' "$sdk_version" "$cli_version" | sort -V | head -n1)" != "$sdk_version" ]; then
  die "the Pulumi CLI is $cli_version but the project's Pulumi SDK is $sdk_version; upgrade the CLI (pulumi self-update, or reinstall from https://www.pulumi.com/docs/iac/download-install/)"
fi

mkdir -p "$STATE_DIR/backend"
chmod 700 "$STATE_DIR"
if [ ! -s "$STATE_DIR/passphrase" ]; then
  say "generating the stack secrets passphrase in $STATE_DIR/passphrase"
  (umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$STATE_DIR/passphrase")
fi
export PULUMI_CONFIG_PASSPHRASE_FILE="$STATE_DIR/passphrase"
export PULUMI_BACKEND_URL="file://$STATE_DIR/backend"
export PULUMI_SKIP_UPDATE_CHECK=true

if [ -z "${VAULT_ADDR:-}" ]; then
  [ "$STACK" = dev ] || die "VAULT_ADDR is not set: export VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN (or VAULT_TOKEN_FILE) for stack $STACK"
  say "no VAULT_ADDR: using the embedded development Vault (OpenBao)"
  "$VENV/bin/vos-infra" vault start
  eval "$("$VENV/bin/vos-infra" vault env)"
fi

cd "$ROOT"
pulumi stack select --create "$STACK"
say "pulumi up --stack $STACK"
pulumi up --stack "$STACK" --yes "$@"
