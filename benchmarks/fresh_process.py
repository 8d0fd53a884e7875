"""One measurement in a fresh Python process: nothing of another measurement in memory, the
SDK's runtime new. The script is run again as `<script> --child <args>` from the project
root and prints its figures as one JSON object on its last line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(script: str, *args: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, script, "--child", *args],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return found
