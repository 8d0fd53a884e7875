"""The `vos-infra` console command."""
