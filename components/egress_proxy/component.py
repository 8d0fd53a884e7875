"""The egress proxy: on the apps' internal network and on the stack's egress network, the
only way out of the stack for the apps (their Vault sidecars have their own, to Vault) and
for the backup service's copies to their bucket."""

from __future__ import annotations

import dataclasses
from typing import Any

from components.app.inputs import apps
from components.egress_proxy.containers import proxy_spec
from components.egress_proxy.definition import DEFINITION
from components.egress_proxy.files import AppEgress, squid_conf
from components.postgres_backup.definition import DEFINITION as BACKUP
from components.postgres_backup.definition import EGRESS_CERTIFICATE
from components.service import Deployed, ServiceArgs, ServiceComponent


class EgressProxy(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:network:EgressProxy"

    server: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        settings = args.settings
        allowed = [
            AppEgress(app.dns_name, settings.destinations(app.dns_name)) for app in apps(settings)
        ]
        # The backup service's copies to their bucket (backup.postgres.offsite s3), by its
        # egress identity, to that bucket's name only.
        if (bucket := settings.backup_bucket) is not None:
            identity = BACKUP.client_certificate(EGRESS_CERTIFICATE).common_name
            allowed.append(AppEgress(identity, [bucket.destination]))
        conf = squid_conf(allowed, DEFINITION.tls_port)
        assert args.networks.egress is not None, "the egress network exists with the proxy"
        placement = dataclasses.replace(
            self.placement,
            networks=[*self.placement.networks, args.networks.ref(args.networks.egress)],
        )
        self.server = self.container(
            "server", proxy_spec(self.service.image_reference, conf, self.tls), placement
        )
        return {}
