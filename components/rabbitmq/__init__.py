"""RabbitMQ: AMQPS only, HTTPS management, mTLS metrics, no guest, one user per service."""
