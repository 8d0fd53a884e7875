"""Loki: the store on the logs network, the gate (the only way in) on the backend."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi

from components.edge.definition import DEFINITION as EDGE
from components.loki import files, gate
from components.loki.containers import gate_spec, store_spec
from components.loki.definition import DEFINITION
from components.pki.specs import ca_common_name
from components.service import Deployed, ServiceArgs, ServiceComponent


class Loki(ServiceComponent):
    definition = DEFINITION
    resource_type = "vos:observability:Loki"

    store: Deployed
    gate: Deployed

    def build(self, args: ServiceArgs) -> dict[str, Any]:
        logs = args.networks.ref(args.networks.logs)
        identity = args.pki.certificates[DEFINITION.client_certificate("loki-gate").name]
        stack = args.settings.stack
        self.store = self.container(
            "store",
            store_spec(
                self.service.image_reference,
                self.tls,
                args.settings.retention.loki.days,
                args.settings.retention.loki.gib,
            ),
            replace(self.placement, networks=[logs], published_port=None),
        )
        conf = gate.gate_conf(
            f"{files.STORE_NAME}:{DEFINITION.tls_port}",
            ca_common_name(stack, "platform"),
            ca_common_name(stack, "metrics"),
            ca_common_name(stack, "readers"),
        )
        self.gate = self.container(
            "gate",
            gate_spec(
                args.settings.service(EDGE.key).image_reference,
                conf,
                self.tls,
                pulumi.Output.all(
                    args.pki.ca_cert_pem, args.pki.metrics_ca_cert_pem, args.pki.readers_ca_cert_pem
                ).apply(lambda pems: "".join(pems)),
                identity.cert_pem,
                identity.private_key_pem,
            ),
            replace(self.placement, networks=[*self.placement.networks, logs]),
        )
        return {}
