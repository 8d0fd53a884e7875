"""Reference VOS apps: an API gateway and an agent that honour the app contract
(docs/APP-CONTRACT.md), small on purpose, on well-kept libraries: Starlette on uvicorn
(HTTPS), prometheus_client (the metrics port, client certificates of the metrics CA only),
aio-pika (AMQPS with `user_id`), psycopg (PostgreSQL, verify-full), PyJWT, httpx (outside
calls through the egress proxy, TLS inside TLS; Weaviate's REST API for the app's own
collection), and the OpenTelemetry SDK (trace context across HTTP and AMQP).

Self-contained: nothing here imports the infrastructure code; it reads only what the
contract hands an app (environment variables and files)."""
