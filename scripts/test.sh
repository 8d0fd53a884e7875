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
# Named tests or options: one run, as asked.
[ "$#" -gt 0 ] && exec "$VENV/bin/pytest" "$@"
# The whole suite: the Docker tier beside the others. It mostly waits on its engine
# (images building, containers starting, healthchecks, fault drills: a fresh CI run spent
# 9.7 min of CPU in 30 min), the other tiers mostly compute; one after the other they took
# 22 + 7 min. The tier itself runs as two processes on one engine (tests/docker/engine_share.py):
# the modules on the applied stack, and the host layer's and Swarm's (marker `hosts`), which
# one after the other took 16 + 12 min. Each has its own temporary and cache folders; the
# tier's output is printed when all are done, so they do not interleave.
tier() {  # name, pytest arguments...
  local name=$1
  shift
  "$VENV/bin/pytest" tests/docker "$@" --basetemp="$(mktemp -d -t "vos-pytest-$name.XXXXXX")" \
    -o cache_dir=".pytest_cache/$name" >"$logs/$name" 2>&1
}
logs="$(mktemp -d -t vos-docker-tier.XXXXXX)"
say "pytest: the Docker tier in the background, two processes (output below when done)"
tier docker-stack -m "not hosts" &
stack_pid=$!
tier docker-hosts -m hosts &
hosts_pid=$!
rest=0
"$VENV/bin/pytest" --ignore=tests/docker --basetemp="$(mktemp -d -t vos-pytest.XXXXXX)" || rest=$?
docker=0
wait "$stack_pid" || docker=$?
wait "$hosts_pid" || docker=$?
for name in docker-stack docker-hosts; do
  say "pytest: the Docker tier's output ($name)"
  cat "$logs/$name"
done
rm -rf "$logs"
took "pytest (all)"
if [ "$rest" != 0 ] || [ "$docker" != 0 ]; then
  die "pytest failed (Docker tier exit $docker, other tiers exit $rest)"
fi
