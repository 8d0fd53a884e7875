"""Checking a stack against the policy pack without the Pulumi CLI: the pack started and
driven over its Analyzer gRPC protocol exactly as the CLI does it."""
