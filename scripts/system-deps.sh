#!/usr/bin/env bash
# Debian packages the tests start as real servers. Installed only when missing.
source "$(dirname "$0")/lib.sh"

# docker.io + debootstrap: the Docker tier (tests/docker) runs its own dockerd and builds
# its images from a debootstrap base; iproute2 lists this machine's addresses for probes;
# shellcheck lets actionlint check the workflow's shell steps.
# prometheus-*: Alertmanager and the postgres and blackbox exporters the monitoring tests run;
# squid-openssl: the egress proxy (Debian builds its TLS listener only in this variant);
# chromium: a real browser for the edge's CORS (tests/integration/test_edge_cors.py);
# openssh-client: Ansible reaches the host layer's test hosts over SSH, as it reaches hosts;
# barman + python3-croniter + python3-prometheus-client + python3-cryptography +
# python3-boto3: the backup service's Barman and the scheduler and off-host copies of its
# image (images/postgres-backup) against the real PostgreSQL
# (tests/integration/test_postgres_backup.py).
PACKAGES=(python3-venv postgresql-15 barman barman-cli python3-croniter python3-prometheus-client python3-cryptography python3-boto3 rabbitmq-server nginx squid-openssl chromium prometheus prometheus-alertmanager prometheus-postgres-exporter prometheus-blackbox-exporter docker.io debootstrap iproute2 shellcheck openssh-client)
need=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need+=("$package")
done
[ "${#need[@]}" = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  die "missing Debian packages: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}"
fi
say "installing Debian packages: ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
