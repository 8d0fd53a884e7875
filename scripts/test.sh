#!/usr/bin/env bash
# Set everything up and run the whole test suite: lint (ruff), types (mypy), tests (pytest).
# System packages the real-server tests need are installed when missing (needs root).
source "$(dirname "$0")/lib.sh"

# Each step's wall time (pytest prints each test tier's at its end: tests/tier_times.py).
mark=$SECONDS
took() { printf '    %s: %d s\n' "$1" "$((SECONDS - mark))" >&2; mark=$SECONDS; }

"$ROOT/scripts/system-deps.sh"
took "system packages"
bootstrap_venv dev
took "virtualenv"

cd "$ROOT"
say "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
took "ruff"
say "mypy"
"$VENV/bin/mypy"
# The benchmarks and the images' own scripts are files, not packages: checked as files.
"$VENV/bin/mypy" --strict benchmarks images
took "mypy"
say "ansible-lint"
# The host layer's roles and playbooks, production profile; offline (no Galaxy).
(cd ansible && PATH="$VENV/bin:$PATH" "$VENV/bin/ansible-lint" --offline --profile production -q)
took "ansible-lint"
say "import layers"
# The reference apps live in apps/ (their own image), outside the installed project.
PYTHONPATH="$ROOT/apps" "$VENV/bin/lint-imports"
took "import layers"
say "pytest"
exec "$VENV/bin/pytest" "$@"
