"""Evaluate the Pulumi program without the CLI, Docker or a network.

Pulumi's own mock runtime (`pulumi.runtime.set_mocks`) drives the program; our mocks answer
the pulumi-tls and pulumi-random resource types with real material (keys, certificates and
random strings made with `cryptography` and `secrets`), so what the program renders can be
checked by real servers and real tools.
"""
