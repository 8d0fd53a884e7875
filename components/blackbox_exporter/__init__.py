"""The blackbox exporter: probes every TLS endpoint (handshake, verification, expiry)."""
