# Shared helpers for the scripts in this folder. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STATE_DIR="$ROOT/.state"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Create the project virtualenv (the one Pulumi.yaml names) and install the project into it,
# editable, with the given extras, e.g. `bootstrap_venv dev`.
bootstrap_venv() {
  local extras="${1:-}"
  local python="${PYTHON:-python3}"
  command -v "$python" >/dev/null || die "python3 not found: install Python 3.11+ (apt-get install python3 python3-venv)"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtualenv $VENV"
    "$python" -m venv "$VENV" || die "could not create a virtualenv: apt-get install python3-venv"
  fi
  local spec="$ROOT"
  [ -n "$extras" ] && spec="$ROOT[$extras]"
  say "installing vos-infra${extras:+[$extras]} into $VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$spec"
}
