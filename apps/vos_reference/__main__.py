"""`python -m vos_reference [gateway|agent]`: the API on VOS_HTTPS_PORT (TLS with the app's
certificate), the metrics on VOS_METRICS_PORT (TLS, client certificates of the metrics CA
only: prometheus_client's own server)."""

from __future__ import annotations

import os
import ssl
import sys

import uvicorn
from prometheus_client import start_http_server

from vos_reference import agent, environment, gateway, observability


def main() -> None:
    # Without an argument the contract says which: only agents get VOS_AGENT_NAME.
    default = "agent" if os.environ.get("VOS_AGENT_NAME") else "gateway"
    role = sys.argv[1] if len(sys.argv) > 1 else default
    if role not in ("gateway", "agent"):
        raise SystemExit("usage: python -m vos_reference [gateway|agent]")
    env = environment.read(role)  # type: ignore[arg-type]
    observability.setup(env.service)
    observability.INFO.labels(env.node_name, env.task_name).set(1)
    start_http_server(
        env.metrics_port,
        registry=observability.REGISTRY,
        certfile=env.cert,
        keyfile=env.key,
        client_cafile=env.metrics_ca,
        client_auth_required=True,
        tls_min_version=ssl.TLSVersion.TLSv1_2,
    )
    app = gateway.build(env) if role == "gateway" else agent.build(env)
    uvicorn.run(
        app,
        host="0.0.0.0",  # noqa: S104 (the container's own network namespace)
        port=env.https_port,
        ssl_certfile=env.cert,
        ssl_keyfile=env.key,
        # Forward-secret AEAD suites for TLS 1.2 (uvicorn's default list, "TLSv1", has CBC);
        # TLS 1.3's are always AEAD.
        ssl_ciphers="ECDHE+AESGCM:ECDHE+CHACHA20",
        log_config=None,
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
