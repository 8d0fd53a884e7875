"""`pulumi up`, `pulumi refresh` and `pulumi preview` of the program on a real Docker
engine, without the Pulumi CLI.

The program runs under the material mocks (real keys, certificates, passwords); every
`docker:index/*` resource it registers goes through the steps the engine would generate
for it (pulumi/pulumi pkg/resource/deploy/step_generator.go) at the moment the SDK
registers it, so the program's own dependency order and parallelism apply:

- no state: create (tests/docker/provider.py). A create that fails after the provider saved
  the resource leaves it in the state with initialization errors (the engine keeps a
  partial state), and the `up` fails.
- a state: the bridge's Diff compares the program's inputs with the *state*, i.e. what the
  provider read back after create or refresh (pulumi-terraform-bridge pkg/tfbridge/
  provider.go Diff), for the inputs the program sets. A changed input the schema cannot
  update in place, one named in `replaceOnChanges`, a changed replacement trigger
  (shouldTriggerReplace: null on either side replaces nothing), or initialization errors
  with `#initerror` in `replaceOnChanges` replace; other changes, or initialization errors
  alone (an empty update), update: the provider's Update does what it really does.
- replace: delete-before-replace when the resource asks for it (dependents whose inputs
  carry the old id go first: calculateDependentReplacements), else create-before-delete,
  the old one deleted at the end of the `up`, after every create and update (the engine
  marks it Delete and GenerateDeletes deletes it once the program is done).
- resources in the state that the program no longer registers are deleted at the end.

`refresh` calls each provider's Read; `preview=True` computes the same steps and performs
none. The program's Vault providers are called as the engine calls a dynamic provider
(check, diff, then update or delete + create) against the real OpenBao the environment
names (VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN_FILE).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pulumi
from pulumi.dynamic import ResourceProvider

from components.docker.spec import RETRY_FAILED_CREATE
from components.swarm.job_provider import SwarmJobProvider
from components.vault.access import AppRoleProvider, PolicyProvider
from components.vault.kv_secret import KvSecretProvider
from tests.docker.engine import Engine
from tests.docker.provider import (
    CONTAINER,
    NETWORK,
    VOLUME,
    DockerProvider,
    PartialCreate,
    ProviderError,
)
from tools.offline.mocks import (
    NOTHING_REQUESTED,
    MaterialMocks,
    MockState,
    Operation,
    Requested,
    StateEntry,
    fingerprint,
    unwrap,
)
from tools.offline.replacement import CONTAINER_IN_PLACE, trigger_replaces

DOCKER = "docker:index/"

DYNAMIC_PROVIDERS: dict[str, type[ResourceProvider]] = {
    "pulumi-python:dynamic/vault:KvSecret": KvSecretProvider,
    "pulumi-python:dynamic/vault:Policy": PolicyProvider,
    "pulumi-python:dynamic/vault:AppRole": AppRoleProvider,
    "pulumi-python:dynamic/swarm:Job": SwarmJobProvider,
}

IN_PLACE = {CONTAINER: CONTAINER_IN_PLACE, NETWORK: frozenset(), VOLUME: frozenset({"cluster"})}
"""Inputs the schema does not mark ForceNew (see tools/offline/replacement.py)."""

ORDERED = {"command", "entrypoints", "tests", "ports"}
"""Lists the schema keeps in order (TypeList); every other list is a set (TypeSet)."""


def _normal(value: Any, key: str = "") -> Any:
    """A value as the provider's schema compares it: whole floats are integers (protobuf
    doubles), sets are unordered, empty means unset."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        found = {k: _normal(v, k) for k, v in value.items()}
        return {k: v for k, v in found.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        items = [_normal(v) for v in value]
        if key in ORDERED:
            return items
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, default=str))
    return value


DEFAULTS: dict[str, dict[str, Any]] = {
    # resource_docker_container.go: the healthcheck block's defaults ("0s", retries 0),
    # which the planned value carries where the program leaves them out.
    "healthcheck": {
        "interval": "0s",
        "timeout": "0s",
        "startPeriod": "0s",
        "startInterval": "0s",
        "retries": 0,
    },
}


def _planned(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs with the schema's defaults filled in, as the provider plans them."""
    planned = dict(inputs)
    for key, defaults in DEFAULTS.items():
        if isinstance(planned.get(key), dict):
            planned[key] = {**defaults, **{k: v for k, v in planned[key].items() if v is not None}}
    return planned


def state_diff(state: dict[str, Any], inputs: dict[str, Any]) -> set[str]:
    """The inputs the program sets whose value differs from the state's."""
    inputs = _planned(inputs)
    return {
        key
        for key, value in inputs.items()
        if _normal(value, key) not in (None, [], {}, "")
        and _normal(value, key) != _normal(state.get(key), key)
    }


class EngineMocks(MaterialMocks):
    def __init__(
        self,
        engine: Engine,
        state: MockState,
        replace: frozenset[str] = frozenset(),
        preview: bool = False,
    ):
        super().__init__(state, preview=preview)
        self.provider = DockerProvider(engine)
        self.replace = replace
        """Resource names to replace even if unchanged (`pulumi up --replace <urn>`)."""
        self.registered: set[tuple[str, str]] = set()
        self.steps: dict[tuple[str, str], Operation] = {}
        """Every registered resource's step, `same` included."""
        self.deleted: set[str] = set()
        self.replaced: list[StateEntry] = []
        """Old resources of create-before-delete replacements, deleted by finish()."""
        self.reasons: dict[str, list[str]] = {}
        """Per resource not `same`: the inputs that differ from the state."""
        self._lock = threading.Lock()

    def register(
        self,
        args: pulumi.runtime.MockResourceArgs,
        trigger: Any,
        requested: Requested = NOTHING_REQUESTED,
    ) -> tuple[str, dict[str, Any], Operation]:
        key = (args.typ, args.name)
        with self._lock:
            self.registered.add(key)
        if args.typ in DYNAMIC_PROVIDERS:
            answer = self._dynamic(args, trigger, requested)
        elif args.typ.startswith(DOCKER):
            answer = self._docker(args, trigger, requested)
        else:
            answer = super().register(args, trigger, requested)
        with self._lock:
            self.steps[key] = answer[2]
        return answer

    # -- the Docker provider's resources ------------------------------------------------
    def _docker(
        self, args: pulumi.runtime.MockResourceArgs, trigger: Any, requested: Requested
    ) -> tuple[str, dict[str, Any], Operation]:
        inputs = unwrap(args.inputs)
        key = (args.typ, args.name)
        with self.state.lock:
            previous = self.state.entries.get(key)
        if previous is None:
            if self.preview:
                return "", dict(args.inputs), "create"
            return self._create(key, inputs, trigger, requested)
        if previous.resource_id in self.deleted:
            # Deleted in this update as a dependent of a replaced resource: created anew.
            if self.preview:
                return previous.resource_id, previous.outputs, "replace"
            created = self._create(key, inputs, trigger, requested)
            return created[0], created[1], "replace"
        operation = self.step(previous, inputs, trigger, requested, args.name in self.replace)
        if operation != "same":
            with self._lock:
                self.reasons[args.name] = sorted(state_diff(previous.outputs, inputs))
        if operation == "same" or self.preview:
            return previous.resource_id, previous.outputs, operation
        if operation == "update":
            return self._update(key, previous, inputs, trigger, requested)
        if requested.delete_before_replace:
            self._delete_before(previous)
        created = self._create(key, inputs, trigger, requested)
        if not requested.delete_before_replace:
            with self._lock:
                self.replaced.append(previous)
        return created[0], created[1], "replace"

    @staticmethod
    def step(
        previous: StateEntry,
        inputs: dict[str, Any],
        trigger: Any,
        requested: Requested,
        forced: bool = False,
    ) -> Operation:
        type_ = previous.type
        changed = state_diff(previous.outputs, inputs)
        retry = previous.init_errors and RETRY_FAILED_CREATE in requested.replace_on_changes
        if (
            forced
            or retry
            or trigger_replaces(previous.trigger, trigger)
            or changed - IN_PLACE.get(type_, frozenset())
            or changed & set(requested.replace_on_changes)
        ):
            return "replace"
        if changed or previous.init_errors:
            return "update"
        return "same"

    def _create(
        self, key: tuple[str, str], inputs: dict[str, Any], trigger: Any, requested: Requested
    ) -> tuple[str, dict[str, Any], Operation]:
        entry = StateEntry(
            fingerprint(inputs, trigger), "", {}, inputs, trigger, requested, type=key[0]
        )
        try:
            outputs = self.provider.create(key[0], inputs)
        except PartialCreate as failed:
            entry.resource_id, entry.outputs = str(failed.state["id"]), failed.state
            entry.init_errors = True
            with self.state.lock:
                self.state.entries[key] = entry
            raise
        entry.resource_id, entry.outputs = str(outputs["id"]), outputs
        with self.state.lock:
            self.state.entries[key] = entry
        return entry.resource_id, outputs, "create"

    def _update(
        self,
        key: tuple[str, str],
        previous: StateEntry,
        inputs: dict[str, Any],
        trigger: Any,
        requested: Requested,
    ) -> tuple[str, dict[str, Any], Operation]:
        if key[0] == NETWORK:
            # resource_docker_network.go has no Update: the SDK refuses.
            raise ProviderError(f"{key[1]}: doesn't support update")
        outputs = self.provider.update(key[0], previous.resource_id, previous.outputs, inputs)
        entry = StateEntry(
            fingerprint(inputs, trigger),
            previous.resource_id,
            outputs,
            inputs,
            trigger,
            requested,
            type=key[0],
        )
        with self.state.lock:
            self.state.entries[key] = entry
        return previous.resource_id, outputs, "update"

    def _delete_before(self, previous: StateEntry) -> None:
        """Delete-before-replace: first the resources whose inputs carry the old one's id
        or name (they are replaced too), then the old one."""
        with self.state.lock:
            entries = list(self.state.entries.values())
        # A container refers to another by id (its files carrier), to a network or a
        # volume by its name.
        marks = [previous.resource_id]
        if previous.type in (NETWORK, VOLUME):
            marks.append(str(previous.outputs.get("name")))
        for entry in entries:
            if entry is not previous and entry.type == CONTAINER:
                text = json.dumps(entry.inputs, default=str)
                if any(f'"{mark}"' in text for mark in marks):
                    self._delete(entry)
        self._delete(previous)

    def _delete(self, entry: StateEntry) -> None:
        with self._lock:
            if entry.resource_id in self.deleted:
                return
            self.deleted.add(entry.resource_id)
        if entry.requested.retain_on_delete:
            return
        if entry.type in DYNAMIC_PROVIDERS:
            DYNAMIC_PROVIDERS[entry.type]().delete(entry.resource_id, entry.outputs)
        else:
            self.provider.delete(entry.type, entry.resource_id, entry.outputs)

    def finish(self) -> list[tuple[str, str]]:
        """The end of an `up`: the old resources of replacements are deleted, then what the
        state holds and the program no longer registers (containers, then volumes and
        networks), which leaves the state."""
        if not self.preview:
            # Dependents first: the engine deletes the condemned in reverse dependency order
            # (pulumi/pulumi step_generator.go ScheduleDeletes); a resource registers after
            # what it depends on, so the reverse of the order they were replaced in.
            for old in reversed(self.replaced):
                self._delete(old)
        with self.state.lock:
            gone = [k for k in self.state.entries if k not in self.registered]
        order = {CONTAINER: 0, VOLUME: 1, NETWORK: 2}
        gone.sort(key=lambda k: order.get(k[0], 3))
        for key in gone:
            entry = self.state.entries[key]
            if key[0].startswith(DOCKER) and not self.preview:
                self._delete(entry)
            elif key[0] in DYNAMIC_PROVIDERS and not self.preview:
                DYNAMIC_PROVIDERS[key[0]]().delete(entry.resource_id, entry.outputs)
            if not self.preview:
                with self.state.lock:
                    del self.state.entries[key]
        return gone

    # -- the program's own dynamic providers --------------------------------------------
    def _dynamic(
        self, args: pulumi.runtime.MockResourceArgs, trigger: Any, requested: Requested
    ) -> tuple[str, dict[str, Any], Operation]:
        provider = DYNAMIC_PROVIDERS[args.typ]()
        raw = {k: v for k, v in unwrap(args.inputs).items() if k != "__provider"}
        key = (args.typ, args.name)
        with self.state.lock:
            previous = self.state.entries.get(key)
        checked = provider.check(previous.inputs if previous else {}, raw)
        if checked.failures:
            raise ProviderError(f"{args.name}: {[f.reason for f in checked.failures]}")
        props = dict(checked.inputs)
        operation: Operation = "create"
        if previous is not None:
            diff = provider.diff(previous.resource_id, previous.outputs, props)
            triggered = trigger_replaces(previous.trigger, trigger)
            if not diff.changes and not triggered:
                return previous.resource_id, previous.outputs, "same"
            replace = bool(diff.replaces) or triggered
            operation = "replace" if replace else "update"
        if self.preview:
            if previous is None:
                return "", dict(args.inputs), operation
            return previous.resource_id, previous.outputs, operation
        if previous is None:
            created = provider.create(props)
            resource_id, outs = str(created.id), dict(created.outs or {})
        elif operation == "replace":
            # The engine deletes first only when the diff says so; else the old one goes at
            # the end of the `up` (finish), as for every create-before-delete replacement.
            if diff.delete_before_replace:
                provider.delete(previous.resource_id, previous.outputs)
            created = provider.create(props)
            resource_id, outs = str(created.id), dict(created.outs or {})
            if not diff.delete_before_replace:
                with self._lock:
                    self.replaced.append(previous)
        else:
            updated = provider.update(previous.resource_id, previous.outputs, props)
            resource_id, outs = previous.resource_id, dict(updated.outs or {})
        entry = StateEntry(
            fingerprint(props, trigger), resource_id, outs, props, trigger, requested, type=args.typ
        )
        with self.state.lock:
            self.state.entries[key] = entry
        return resource_id, outs, operation


def refresh(engine: Engine, state: MockState) -> dict[tuple[str, str], str]:
    """`pulumi refresh`: every resource read back by its provider; one its provider no
    longer finds leaves the state. Returns what changed: "updated" or "deleted"."""
    provider, changed = DockerProvider(engine), {}
    for key, entry in list(state.entries.items()):
        if key[0].startswith(DOCKER):
            read = provider.read(key[0], entry.resource_id, entry.outputs)
        elif key[0] in DYNAMIC_PROVIDERS:
            result = DYNAMIC_PROVIDERS[key[0]]().read(entry.resource_id, entry.outputs)
            read = dict(result.outs or {}) if result.id else None
        else:
            continue
        if read is None:
            del state.entries[key]
            changed[key] = "deleted"
        elif _normal(read) != _normal(entry.outputs):
            entry.outputs = read
            changed[key] = "updated"
    return changed
