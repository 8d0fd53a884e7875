"""What the job provider hands the Engine: the numbers of its inputs, which reach a dynamic
provider as protobuf doubles, as the integers the Engine's Go types need."""

from __future__ import annotations

import json

from components.swarm.job_provider import whole_numbers


def test_whole_doubles_become_integers_and_nothing_else_changes() -> None:
    given = {"Mode": 292.0, "Size": 6.7108864e7, "Ratio": 0.5, "Name": "a", "List": [1.0, "x"]}
    assert json.dumps(whole_numbers(given)) == json.dumps(
        {"Mode": 292, "Size": 67108864, "Ratio": 0.5, "Name": "a", "List": [1, "x"]}
    )
