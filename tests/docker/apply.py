"""`pulumi up` of the program on a real Docker engine, without the Pulumi CLI.

The program runs under the material mocks (real keys, certificates, passwords); every
`docker:index/*` resource it registers is created on the engine by `DockerProvider` at the
moment the SDK registers it, so the program's own dependency order and parallelism apply,
and the outputs it reads back (ids, a job's exit code) are the engine's. A second
evaluation on the same state is an update: unchanged resources stay, changed ones are
replaced as the engine replaces them (delete-before-replace: dependents that reference the
old resource's id go first; pulumi/pulumi pkg/resource/deploy/step_generator.go,
calculateDependentReplacements).
"""

from __future__ import annotations

import threading
from typing import Any

import pulumi
from pulumi.dynamic import ResourceProvider

from components.vault.access import AppRoleProvider, PolicyProvider
from components.vault.kv_secret import KvSecretProvider
from infra.offline.mocks import MaterialMocks, MockState, Operation, StateEntry, fingerprint, unwrap
from infra.offline.replacement import replaces
from tests.docker.engine import Engine
from tests.docker.provider import CONTAINER, DockerProvider, ProviderError

DOCKER = "docker:index/"


VAULT_PROVIDERS: dict[str, type[ResourceProvider]] = {
    "pulumi-python:dynamic/vault:KvSecret": KvSecretProvider,
    "pulumi-python:dynamic/vault:Policy": PolicyProvider,
    "pulumi-python:dynamic/vault:AppRole": AppRoleProvider,
}
"""The program's own Vault providers, called as the engine calls a dynamic provider (create;
diff, then update or delete + create) against the real OpenBao the environment names
(VAULT_ADDR, VAULT_CACERT, VAULT_TOKEN_FILE), so the sidecars log in with real AppRoles."""


class EngineMocks(MaterialMocks):
    def __init__(self, engine: Engine, state: MockState, replace: frozenset[str] = frozenset()):
        super().__init__(state, preview=False)
        self.provider = DockerProvider(engine)
        self.replace = replace
        """Resource names to replace even if unchanged (`pulumi up --replace <urn>`)."""
        self.deleted: set[str] = set()
        self._lock = threading.Lock()

    def register(
        self, args: pulumi.runtime.MockResourceArgs, trigger: Any
    ) -> tuple[str, dict[str, Any], Operation]:
        if args.typ in VAULT_PROVIDERS:
            return self._vault(args, trigger)
        if not args.typ.startswith(DOCKER):
            return super().register(args, trigger)
        inputs = unwrap(args.inputs)
        key = (args.typ, args.name)
        print_ = fingerprint(inputs, trigger)
        with self.state.lock:
            previous = self.state.entries.get(key)
        forced = args.name in self.replace
        if previous is not None and previous.fingerprint == print_ and not forced:
            return previous.resource_id, previous.outputs, "same"
        operation: Operation = "create"
        if previous is not None:
            changed = replaces(args.typ, previous.inputs, inputs, previous.trigger != trigger)
            if not (changed or forced):
                raise ProviderError(f"in-place update of {args.typ} {args.name} not emulated")
            operation = "replace"
            if args.typ != CONTAINER:
                raise ProviderError(f"replacing {args.typ} {args.name} is not emulated")
            self._delete_with_dependents(previous)
        outputs = self.provider.create(args.typ, inputs)
        resource_id = str(outputs["id"])
        with self.state.lock:
            self.state.entries[key] = StateEntry(print_, resource_id, outputs, inputs, trigger)
        return resource_id, outputs, operation

    def _vault(
        self, args: pulumi.runtime.MockResourceArgs, trigger: Any
    ) -> tuple[str, dict[str, Any], Operation]:
        provider = VAULT_PROVIDERS[args.typ]()
        props = {k: v for k, v in unwrap(args.inputs).items() if k != "__provider"}
        key = (args.typ, args.name)
        print_ = fingerprint(props, trigger)
        with self.state.lock:
            previous = self.state.entries.get(key)
        if previous is not None and previous.fingerprint == print_:
            return previous.resource_id, previous.outputs, "same"
        operation: Operation = "create"
        if previous is None:
            created = provider.create(props)
            resource_id, outs = str(created.id), dict(created.outs or {})
        else:
            diff = provider.diff(previous.resource_id, previous.outputs, props)
            if diff.replaces:
                provider.delete(previous.resource_id, previous.outputs)
                created = provider.create(props)
                resource_id, outs = str(created.id), dict(created.outs or {})
                operation = "replace"
            else:
                updated = provider.update(previous.resource_id, previous.outputs, props)
                resource_id, outs = previous.resource_id, dict(updated.outs or {})
                operation = "update"
        with self.state.lock:
            self.state.entries[key] = StateEntry(print_, resource_id, outs, props, trigger)
        return resource_id, outs, operation

    def _delete_with_dependents(self, previous: StateEntry) -> None:
        """Delete-before-replace (every container of the program has it): first the
        containers whose inputs carry the old id (they are replaced too), then the old one."""
        with self.state.lock:
            containers = [e for (t, _), e in self.state.entries.items() if t == CONTAINER]
        for entry in containers:
            if entry is not previous and previous.resource_id in str(entry.inputs):
                self._delete(entry)
        self._delete(previous)

    def _delete(self, entry: StateEntry) -> None:
        with self._lock:
            if entry.resource_id in self.deleted:
                return
            self.deleted.add(entry.resource_id)
        self.provider.delete_container(entry.resource_id, entry.inputs)
