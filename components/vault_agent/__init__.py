"""The Vault Agent (OpenBao agent) sidecar that feeds an app container its secrets at run
time: its configuration so far; its container lands with the gateway and agents."""
