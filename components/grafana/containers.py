"""Grafana as a ContainerSpec (no resources created here)."""

from __future__ import annotations

import json
from typing import Any

from components.docker.spec import (
    CONFIG_DIR,
    ContainerSpec,
    TlsFiles,
    Upload,
    https_check,
    tmpfs_options,
)
from components.grafana import settings_ini as ini
from components.grafana.datasources import dashboards_yml
from components.grafana.definition import DEFINITION

assert DEFINITION.image_uid is not None
UID = DEFINITION.image_uid
PORT = DEFINITION.tls_port
START = f"{CONFIG_DIR}/start.sh"
SECURITY_ENV = {
    "GF_SERVER_PROTOCOL": "https",
    "GF_SECURITY_COOKIE_SECURE": "true",
    "GF_AUTH_ANONYMOUS_ENABLED": "false",
    "GF_USERS_ALLOW_SIGN_UP": "false",
}
"""Grafana's environment overrides grafana.ini ("Configure Grafana: override configuration
with environment variables"); the policy pack (grafana-requires-auth) reads these."""


def start_script() -> str:
    """Grafana takes the admin password from GF_SECURITY_ADMIN_PASSWORD only when it creates
    its database; afterwards a rotated password must be written into the database. So on
    every start but the first, `grafana cli admin reset-admin-password --password-from-stdin`
    (Grafana 9.1+; stdin keeps it out of the process list), then the image's own /run.sh,
    which turns the GF_*__FILE variables into values and starts the server."""
    return f"""#!/bin/sh
# Rendered by vos-infra.
set -eu
if [ -f "$GF_PATHS_DATA/grafana.db" ]; then
  grafana cli --homepath "$GF_PATHS_HOME" --config "$GF_PATHS_CONFIG" \\
    admin reset-admin-password --password-from-stdin < {ini.ADMIN_PASSWORD}
fi
exec /run.sh "$@"
"""


def server_spec(
    image: str,
    root: tuple[str, int],
    datasources: Any,
    dashboards: dict[str, dict[str, Any]],
    secrets: dict[str, Any],
    tls: TlsFiles,
) -> ContainerSpec:
    """`secrets`: path -> value (the admin password, the secret key, the metrics password)."""
    return ContainerSpec(
        service=DEFINITION.dns_name,
        image=image,
        entrypoint=["sh", START],
        command=[],
        user=f"{UID}:{UID}",
        env={
            **SECURITY_ENV,
            "GF_PATHS_CONFIG": ini.CONFIG,
            "GF_PATHS_DATA": ini.DATA,
            "GF_PATHS_PROVISIONING": ini.PROVISIONING,
            "GF_SECURITY_ADMIN_PASSWORD__FILE": ini.ADMIN_PASSWORD,
            "GF_SECURITY_SECRET_KEY__FILE": ini.SECRET_KEY,
        },
        uploads=[
            Upload(START, start_script(), UID),
            Upload(ini.CONFIG, ini.grafana_ini(*root), UID),
            # Carries passwords and a client key: secret, for Grafana's user only.
            Upload(f"{ini.PROVISIONING}/datasources/vos.yml", datasources, UID, "0400", True),
            Upload(f"{ini.PROVISIONING}/dashboards/vos.yml", dashboards_yml(), UID),
            *(
                Upload(f"{ini.DASHBOARDS}/{name}", json.dumps(model, indent=2), UID)
                for name, model in sorted(dashboards.items())
            ),
            *(Upload(path, value, UID, "0400", True) for path, value in secrets.items()),
            *tls.uploads(UID),
        ],
        data_volume=ini.DATA,
        tmpfs={
            "/tmp": tmpfs_options(UID),  # noqa: S108 (a private tmpfs)
            "/var/log/grafana": tmpfs_options(UID, "16m"),
        },
        # curl is in the official image (its Dockerfile installs it); /api/health needs no
        # login.
        healthcheck=https_check(DEFINITION.dns_name, PORT, "/api/health"),
        internal_ports=[PORT],
    )
