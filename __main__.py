"""Entry point for the Pulumi CLI: the project root is the program's directory.

The engine runs this file with the project root as working directory and first entry of
`sys.path`; the same holds for the dynamic-provider plugin (`python -m pulumi.dynamic`), so
nothing at the root may be named like a standard-library module (tests/engine checks it).
"""

from infra.program import main

main()
