#!/usr/bin/env bash
# Debian packages the tests start as real servers. Installed only when missing.
source "$(dirname "$0")/lib.sh"

# docker.io + debootstrap: the Docker tier (tests/docker) runs its own dockerd and builds
# its images from a debootstrap base; iproute2 lists this machine's addresses for probes;
# and shellcheck, with which actionlint checks the workflow's shell steps.
# prometheus-*: Alertmanager and the postgres and blackbox exporters the monitoring tests run;
# squid-openssl: the egress proxy (Debian builds its TLS listener only in this variant);
# chromium: a real browser for the edge's CORS (tests/integration/test_edge_cors.py);
# openssh-client: Ansible reaches the host layer's test hosts over SSH, as it reaches hosts;
# barman + python3-croniter + python3-prometheus-client + python3-cryptography +
# python3-boto3: the backup service's Barman and the scheduler and off-host copies of its
# image (images/postgres-backup) against the real PostgreSQL
# (tests/integration/test_postgres_backup.py).
PACKAGES=(python3-venv postgresql-15 barman barman-cli python3-croniter python3-prometheus-client python3-cryptography python3-boto3 rabbitmq-server nginx squid-openssl chromium prometheus prometheus-alertmanager prometheus-postgres-exporter prometheus-blackbox-exporter docker.io debootstrap iproute2 shellcheck openssh-client curl busybox)

# Alertmanager as the stacks pin it (0.28): bookworm's 0.25 reads no webhook URL from a file
# (url_file came in 0.26, prometheus/alertmanager#3223). Its two static binaries from Debian
# trixie's package, checked against the SHA-256 trixie's Packages index gives for it, kept
# in ALERTMANAGER_DIR (tests/integration/alertmanager_release.py finds them there).
ALERTMANAGER_DEB=pool/main/p/prometheus-alertmanager/prometheus-alertmanager_0.28.1+ds-1_amd64.deb
ALERTMANAGER_SHA256=76ee08c2bf686fa32ca243d099b6bfc6cb00074e9337c18ef73154b60c5830a9
ALERTMANAGER_DIR=/opt/vos-infra-tests/alertmanager-0.28.1
alertmanager_release() {
  [ -x "$ALERTMANAGER_DIR/usr/bin/prometheus-alertmanager" ] && return 0
  [ "$(id -u)" = 0 ] || die "Alertmanager 0.28 is missing: run $0 as root to fetch it"
  local mirror deb
  mirror="$(sed -n 's/^URIs: *\(\S*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)"
  deb="$(mktemp)"
  say "fetching Alertmanager 0.28.1 (Debian trixie's package)"
  curl -fsSL --retry 3 -o "$deb" "${mirror:-http://deb.debian.org/debian}/$ALERTMANAGER_DEB"
  echo "$ALERTMANAGER_SHA256  $deb" | sha256sum --check --quiet || die "$ALERTMANAGER_DEB: wrong SHA-256"
  # Unpacked beside, then moved: a run cut short leaves no half release that looks whole.
  rm -rf "$ALERTMANAGER_DIR.partial"
  mkdir -p "$ALERTMANAGER_DIR.partial"
  dpkg-deb -x "$deb" "$ALERTMANAGER_DIR.partial"
  rm -rf "$ALERTMANAGER_DIR"
  mv "$ALERTMANAGER_DIR.partial" "$ALERTMANAGER_DIR"
  rm -f "$deb"
}

need=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || need+=("$package")
done
if [ "${#need[@]}" != 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    die "missing Debian packages: ${need[*]}; install them with: sudo apt-get install -y ${need[*]}"
  fi
  say "installing Debian packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
alertmanager_release
