"""The TLS edge (nginx) in front of the API gateway: its configuration so far; its container
lands with the gateway."""
