"""`vos-infra backup`: the backup service's backups on a stack's Docker engine, listed and
restored into a new volume (never over the only copy)."""
