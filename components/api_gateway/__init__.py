"""The VOS API gateway (its container lands with the gateway issue)."""
