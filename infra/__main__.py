"""Entry point for the Pulumi CLI (Pulumi.yaml: `main: infra/`)."""

from infra.program import main

main()
