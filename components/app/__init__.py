"""The VOS applications (the API gateway, the agents): their contract and containers."""
