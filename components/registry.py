"""The platform's services, in order: one line per service. Pure data (no Pulumi).

Adding a service: write components/<service>/ (definition.py and, once it runs, its
component), then add its DEFINITION here. docs/ARCHITECTURE.md walks through it.
"""

from components.alertmanager.definition import DEFINITION as ALERTMANAGER
from components.alloy.definition import DEFINITION as ALLOY
from components.api_gateway.definition import DEFINITION as API_GATEWAY
from components.blackbox_exporter.definition import DEFINITION as BLACKBOX_EXPORTER
from components.edge.definition import DEFINITION as EDGE
from components.egress_proxy.definition import DEFINITION as EGRESS_PROXY
from components.grafana.definition import DEFINITION as GRAFANA
from components.jaeger.definition import DEFINITION as JAEGER
from components.loki.definition import DEFINITION as LOKI
from components.postgres.definition import DEFINITION as POSTGRES
from components.postgres_backup.definition import DEFINITION as POSTGRES_BACKUP
from components.postgres_exporter.definition import DEFINITION as POSTGRES_EXPORTER
from components.prometheus.definition import DEFINITION as PROMETHEUS
from components.rabbitmq.definition import DEFINITION as RABBITMQ
from components.weaviate.definition import DEFINITION as WEAVIATE
from stacks.services import Catalogue

REGISTRY = Catalogue(
    (
        POSTGRES,
        RABBITMQ,
        WEAVIATE,
        API_GATEWAY,
        EDGE,
        EGRESS_PROXY,
        PROMETHEUS,
        ALERTMANAGER,
        POSTGRES_EXPORTER,
        POSTGRES_BACKUP,
        BLACKBOX_EXPORTER,
        GRAFANA,
        LOKI,
        ALLOY,
        JAEGER,
    )
)
