"""PostgreSQL: TLS-only, SCRAM, one role and schema per consuming service."""
