"""The TLS edge (nginx): the only published entry to the API gateway."""
