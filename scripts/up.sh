#!/usr/bin/env bash
# The main job: `pulumi up` a stack (default: dev) on a local file backend in .state/, with a
# generated passphrase in .state/passphrase (0600, ignored by git).
source "$(dirname "$0")/lib.sh"

usage() {
  cat <<USAGE
usage: scripts/up.sh [stack] [pulumi up flags...]

  stack   dev (default) or any stack with a Pulumi.<stack>.yaml; 1-31 lowercase letters,
          digits or '-', starting with a letter or digit
Needs a Docker daemon and the Pulumi CLI (>= $(min_pulumi_version); when it is missing, the
pinned $PULUMI_CLI_VERSION is installed, its checksum verified); for a stack other than dev
also VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN (or VAULT_TOKEN_FILE). For the same
environment in your own shell (pulumi config, pulumi destroy, ...): eval "\$(scripts/env.sh)".
USAGE
}

case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  -*) usage >&2; die "the first argument is the stack name, not '$1'" ;;
esac
STACK="${1:-dev}"
shift || true

# 1. Every prerequisite, all reported together, before anything is installed or started.
missing=()
[[ "$STACK" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] ||
  missing+=("'$STACK' is not a valid stack name: 1-31 lowercase letters, digits or '-', starting with a letter or digit")
[ -f "$ROOT/Pulumi.$STACK.yaml" ] ||
  missing+=("no Pulumi.$STACK.yaml: create it with 'vos-infra:environment: dev|prod' (see Pulumi.dev.yaml)")
if ! command -v "${PYTHON:-python3}" >/dev/null 2>&1; then
  missing+=("python3 is not installed: apt-get install python3 python3-venv")
elif ! "${PYTHON:-python3}" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  missing+=("python3 cannot create virtualenvs: apt-get install python3-venv")
fi
install_cli=""
use_installed_pulumi_cli || true
if ! command -v pulumi >/dev/null 2>&1; then
  # Installed below (the pinned release, its checksum verified) once everything else is there.
  problem="$(pulumi_cli_install_problem)"
  if [ -n "$problem" ]; then missing+=("$problem"); else install_cli=yes; fi
else
  # Key and certificate rotation relies on the `replacementTrigger` resource option, which an
  # older engine silently ignores: refuse a CLI older than the SDK the project runs with.
  cli_version="$(pulumi version 2>/dev/null | sed 's/^v//')"
  need="$(min_pulumi_version)"
  if [ "$(printf '%s\n%s\n' "$need" "$cli_version" | sort -V | head -n1)" != "$need" ]; then
    missing+=("the Pulumi CLI is ${cli_version:-unknown} but the project needs $need or newer: pulumi self-update (or reinstall)")
  fi
fi
if ! command -v docker >/dev/null 2>&1; then
  missing+=("the Docker CLI is not installed: scripts/host.sh installs Debian's engine and hardens it (ansible/README.md), or https://docs.docker.com/engine/install/")
elif ! docker info >/dev/null 2>&1; then
  missing+=("no Docker daemon answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}: start it (sudo systemctl start docker), point DOCKER_HOST at one, or make this machine a hardened engine with scripts/host.sh")
else
  swap_problem="$(docker_swap_limit_problem)"
  [ -z "$swap_problem" ] || missing+=("$swap_problem")
fi
if has_s3_backend "$STACK" && ! command -v aws >/dev/null 2>&1 && [ -z "${AWS_PROFILE:-}${AWS_ACCESS_KEY_ID:-}" ]; then
  missing+=("stack $STACK keeps its state in S3: give the AWS credential chain credentials (AWS_PROFILE after aws sso login, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
fi
if [ "$STACK" != dev ] && [ -z "${VAULT_ADDR:-}" ]; then
  missing+=("VAULT_ADDR is not set: stack $STACK keeps its secrets in your Vault; export VAULT_ADDR, VAULT_CACERT and VAULT_TOKEN (or VAULT_TOKEN_FILE)")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  printf 'cannot run pulumi up for stack %s yet:\n' "$STACK" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 1
fi

# 2. Set up: the Pulumi CLI (when missing), the virtualenv (only when pyproject.toml changed),
# the backend, the dev Vault.
if [ -n "$install_cli" ]; then
  install_pulumi_cli
  use_installed_pulumi_cli || die "the Pulumi CLI installed into $(pulumi_cli_dir) does not run"
fi
bootstrap_venv local
if has_s3_backend "$STACK"; then
  # The bucket and key must be what they must be before any state goes there.
  "$VENV/bin/vos-infra" backend check --stack "$STACK" ||
    die "the state backend of $STACK is not ready: vos-infra backend bootstrap --stack $STACK"
else
  prepare_state
fi
if [ -z "${VAULT_ADDR:-}" ]; then
  say "no VAULT_ADDR: using the embedded development Vault (OpenBao)"
  "$VENV/bin/vos-infra" vault start
fi
eval "$(stack_environment "$STACK")"

# 3. The update.
cd "$ROOT"
pulumi stack select --create --secrets-provider "$VOS_SECRETS_PROVIDER" "$STACK"
say "pulumi up --stack $STACK"
pulumi up --stack "$STACK" --yes "$@"

# 4. What to open now.
"$VENV/bin/vos-infra" endpoints --stack "$STACK"
