"""Entry point for the Pulumi CLI: the project root is the program's directory.

The engine runs this file with the project root as working directory and first entry of
`sys.path`; the same holds for the dynamic-provider plugin (`python -m pulumi.dynamic`), so
nothing at the root may be named like a standard-library module (tests/engine checks it).
"""

import gc

from infra.program import main

# The program process lives for one preview or update. Python's cyclic garbage collector
# made evaluation grow faster than linearly with the number of resources (its scans
# revisit every object alive, and the SDK keeps them all alive until the end); turned
# off, 200 agents evaluate in about half the time for a few MB more memory (figures:
# benchmarks/README.md). Reference counting still frees everything acyclic.
gc.disable()
main()
