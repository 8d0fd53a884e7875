"""The gateway's client API key rolls over with an overlap: each bump of `rotation.apiKey`
makes a new current key and keeps the one it replaced valid as `api-key-previous` until the
next bump, so clients outside the stack can move at their own pace. Its class is its own:
the JWT signing key and the gateway's other credentials never move with it.

Successive evaluations share one MockState (the stack's state), as successive `pulumi up`s
do: what did not change keeps its value."""

from __future__ import annotations

from itertools import pairwise

from components.app.contract import variable_for
from tests.helpers import config_with, output
from tools.offline.mocks import MockState
from tools.offline.rendered import containers
from tools.offline.runner import Evaluation, evaluate

CLASS = "apiKey"
CURRENT, PREVIOUS = "api-gateway/api-key", "api-gateway/api-key-previous"


def _written(ev: Evaluation, credential: str) -> str:
    """The value the program writes to Vault for a credential (what the sidecar renders)."""
    data = output(ev.named(f"vault-{credential.replace('/', '-')}"), "data")
    return str(data["value"])


def _evaluations(counters: list[int]) -> list[Evaluation]:
    state = MockState()
    return [evaluate("dev", config_with("dev", rotation={CLASS: n}), state=state) for n in counters]


def test_each_rotation_keeps_the_replaced_key_valid_until_the_next() -> None:
    evaluations = _evaluations([0, 1, 2, 3])
    keys = [(_written(ev, CURRENT), _written(ev, PREVIOUS)) for ev in evaluations]
    assert all(current != previous for current, previous in keys)
    for (old_current, old_previous), (current, previous) in pairwise(keys):
        assert previous == old_current  # a client on the old key keeps working
        assert current not in (old_current, old_previous)  # a fresh key, never a reused one
    # Exactly one generated value is replaced per bump, and no container restarts: the
    # sidecar renders both files and the gateway re-reads them.
    slots = ["a", "b", "a"]  # the slot holding the older value, in turn
    for after, slot in zip(evaluations[1:], slots, strict=True):
        replaced = {r.name for r in after.registrations if r.operation == "replace"}
        assert replaced == {f"credentials-api-gateway-api-key-slot-{slot}"}
        updated = {r.name for r in after.registrations if r.operation == "update"}
        assert updated == {"vault-api-gateway-api-key", "vault-api-gateway-api-key-previous"}


def test_the_key_rotates_apart_from_the_jwt_secret_and_back() -> None:
    state = MockState()
    first = evaluate("dev", state=state)
    bumped = evaluate("dev", config_with("dev", rotation={CLASS: 1}), state=state)
    assert _written(bumped, "api-gateway/jwt-secret") == _written(first, "api-gateway/jwt-secret")
    signing = evaluate("dev", config_with("dev", rotation={CLASS: 1, "apiGateway": 1}), state=state)
    assert _written(signing, CURRENT) == _written(bumped, CURRENT)
    assert _written(signing, "api-gateway/jwt-secret") != _written(bumped, "api-gateway/jwt-secret")


def test_the_gateway_is_told_where_both_keys_are(dev: Evaluation) -> None:
    gateway = containers(dev)["api-gateway"]
    for name in ("api-key", "api-key-previous"):
        path = gateway.env[variable_for(name)]
        assert path.endswith(f".{name}") or path.endswith(f"/{name}"), path
