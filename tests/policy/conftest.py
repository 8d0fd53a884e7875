"""The pack's rules are imported as the pack imports them: from the policies/ folder."""

from __future__ import annotations

import sys
from pathlib import Path

POLICIES = Path(__file__).resolve().parents[2] / "policies"
if str(POLICIES) not in sys.path:
    sys.path.insert(0, str(POLICIES))
