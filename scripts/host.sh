#!/usr/bin/env bash
# The host layer on this machine: installs Docker's engine and hardens it with the role every
# platform host gets (ansible/roles/docker_engine), over a local connection, as root (sudo).
#   scripts/host.sh [--check] [--diff] [other ansible-playbook flags]
# Other hosts: ansible-playbook -i ansible/inventories/<env>/hosts.yml ansible/playbooks/engine.yml
source "$(dirname "$0")/lib.sh"

bootstrap_venv hosts >&2
cd "$ROOT/ansible"
become=()
[ "$(id -u)" = 0 ] || become=(--ask-become-pass)
exec "$VENV/bin/ansible-playbook" -i inventories/local/hosts.yml playbooks/engine.yml \
  "${become[@]}" "$@"
