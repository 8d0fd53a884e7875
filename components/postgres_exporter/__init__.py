"""postgres_exporter: PostgreSQL's figures for Prometheus, read as a pg_monitor-only role."""
