# Shared helpers for the scripts in this folder. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STATE_DIR="$ROOT/.state"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=scripts/pulumi-cli.sh
source "$ROOT/scripts/pulumi-cli.sh"

# The lowest Pulumi SDK the project accepts (pyproject.toml): the CLI must be at least this,
# read before any virtualenv exists so that up.sh can check every prerequisite first.
min_pulumi_version() {
  sed -n 's/^ *"pulumi>=\([0-9.]*\),.*/\1/p' "$ROOT/pyproject.toml" | head -n1
}

# Swap accounting on the Docker host. Without it dockerd sets every container's MemorySwap to
# -1 (daemon_unix.go verifyPlatformContainerResources), the provider reads -1 back into state
# (resource_docker_container_funcs.go resourceDockerContainerRead) while the program sets it
# equal to memory: every preview then shows an update that never lands. Prints the problem, if
# any; silent when the host limits swap or when `docker info` cannot say.
docker_swap_limit_problem() {
  local supported
  supported="$(docker info --format '{{.SwapLimit}}' 2>/dev/null || true)"
  if [ "$supported" = false ]; then
    printf '%s' "the Docker host has no swap limit support (docker info: SwapLimit false), so every container's memory_swap reads back as -1 and no preview converges: enable swap accounting (cgroup v2 with CONFIG_MEMCG_SWAP, or swapaccount=1 on the kernel command line for cgroup v1) and reboot; ansible/README.md"
  fi
}

# Create the project virtualenv (the one Pulumi.yaml names) and install the project into it,
# editable, with the given extras, e.g. `bootstrap_venv dev` (which also installs the reference
# apps' libraries the tests run them with). Skipped when the same extras were installed from
# the same pyproject.toml and apps/requirements.txt (a stamp in the virtualenv records both).
bootstrap_venv() {
  local extras="${1:-}"
  local python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || die "python3 not found: install Python 3.11+ (apt-get install python3 python3-venv)"
  local stamp="$VENV/.vos-infra-installed"
  local want
  want="$(cat "$ROOT/pyproject.toml" "$ROOT/apps/requirements.txt" | sha256sum | cut -d' ' -f1) ${extras:-base}"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv $VENV"
    "$python" -m venv "$VENV" || die "could not create a virtualenv: apt-get install python3-venv"
  fi
  local spec="$ROOT"
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  say "installing vos-infra${extras:+[$extras]} into $VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$spec"
  # The tests run the reference apps (apps/vos_reference) with their own libraries.
  case ",$extras," in
    *,dev,*) "$VENV/bin/python" -m pip install --quiet -r "$ROOT/apps/requirements.txt" ;;
  esac
  printf '%s\n' "$want" >"$stamp"
}

# Whether a stack keeps its state in S3 (it has vos-infra:backend settings).
has_s3_backend() {
  grep -q '^  vos-infra:backend:' "$ROOT/Pulumi.$1.yaml" 2>/dev/null
}

# The environment every `pulumi` command of a stack needs: its backend (the S3 bucket of
# vos-infra:backend, with KMS-encrypted secrets; else the local file backend and the
# passphrase file in .state/), and (dev, without VAULT_ADDR) the embedded development Vault.
# Prints `export` lines; scripts/env.sh and up.sh both use it.
stack_environment() {
  local stack="$1"
  if has_s3_backend "$stack"; then
    "$VENV/bin/vos-infra" backend env --stack "$stack"
  else
    printf 'export PULUMI_BACKEND_URL=%q\n' "file://$STATE_DIR/backend"
    printf 'export PULUMI_CONFIG_PASSPHRASE_FILE=%q\n' "$STATE_DIR/passphrase"
    printf 'export VOS_SECRETS_PROVIDER=passphrase\n'
  fi
  printf 'export PULUMI_SKIP_UPDATE_CHECK=true\n'
  if [ -z "${VAULT_ADDR:-}" ] && [ "$stack" = dev ]; then
    # Says in one line when the dev Vault was never started (scripts/vault.sh start).
    "$VENV/bin/vos-infra" vault env || true
  fi
}

prepare_state() {
  mkdir -p "$STATE_DIR/backend"
  chmod 700 "$STATE_DIR"
  if [ ! -s "$STATE_DIR/passphrase" ]; then
    say "generating the stack secrets passphrase in $STATE_DIR/passphrase"
    (umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$STATE_DIR/passphrase")
  fi
}
