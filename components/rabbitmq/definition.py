"""RabbitMQ's identity (pure data): see stacks/services.py."""

from stacks.services import API_KEY, PASSWORD, Credential, ServiceDefinition

DEFINITION = ServiceDefinition(
    key="rabbitmq",
    dns_name="rabbitmq",
    tls_port=5671,
    metrics_port=15691,
    image_uid=999,  # the rabbitmq user of the official image
    credentials=(
        Credential("admin-password", "rabbitmq", PASSWORD, "broker administrator"),
        Credential("erlang-cookie", "rabbitmq", API_KEY, "Erlang distribution cookie"),
    ),
    per_consumer=(Credential("rabbitmq-password", "rabbitmq", PASSWORD, "own broker user"),),
    component="components.rabbitmq.component:RabbitMq",
    # Definitions are loaded at boot: the broker restarts on its data volume to apply them.
    restarts={"rabbitmq": ("rabbitmq-server",)},
)
