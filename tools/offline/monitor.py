"""A mock resource monitor that records what the engine would see.

Pulumi's MockMonitor hands only inputs to the mocks. Ours also records every resource's
options (parent, replacement trigger, secret outputs, delete-before-replace, ...) so tests
can assert rotation and secrecy wiring, and it applies `additionalSecretOutputs` the way the
engine does, which the stock mock monitor skips.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tools.offline.mocks import MaterialMocks, Operation, Requested


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    """As the engine received them: secret values still wrapped."""
    outputs: dict[str, Any]
    """As the engine returns them, secret outputs wrapped."""
    options: dict[str, Any] = field(default_factory=dict)
    operation: Operation = "create"
    id: str = ""
    """The provider's id ("" for components, and in preview for what is yet to exist)."""


class RecordingMonitor(MockMonitor):
    mocks: MaterialMocks

    def __init__(self, mocks: MaterialMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._claimed: set[str] = set()
        self._claiming = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        # The engine refuses a second resource of one URN (pulumi/pulumi pkg/diag/errors.go,
        # GetDuplicateResourceURNError, code 2001); the SDK's mocks do not, so a name
        # collision would pass every offline evaluation and stop a real `pulumi up`.
        # The SDK registers from several threads at once: claim the URN before anything else.
        with self._claiming:
            if urn in self._claimed:
                raise ValueError(f"Duplicate resource URN '{urn}'; try giving it a unique name")
            self._claimed.add(urn)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        trigger = (
            json_format.MessageToDict(request.replacement_trigger)
            if request.HasField("replacement_trigger")
            else None
        )
        args = MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        requested = Requested(
            replace_on_changes=tuple(request.replaceOnChanges),
            delete_before_replace=request.deleteBeforeReplace,
            retain_on_delete=request.retainOnDelete,
            ignore_changes=tuple(request.ignoreChanges),
        )
        resource_id, outputs, operation = self.mocks.register(args, trigger, requested)
        secret_names = set(request.additionalSecretOutputs)
        state = {k: rpc.wrap_rpc_secret(v) if k in secret_names else v for k, v in outputs.items()}
        self.registrations.append(
            Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                inputs=inputs,
                outputs=state,
                options={
                    "replacementTrigger": trigger,
                    "additionalSecretOutputs": sorted(secret_names),
                    "deleteBeforeReplace": request.deleteBeforeReplace,
                    "replaceOnChanges": list(request.replaceOnChanges),
                    "ignoreChanges": list(request.ignoreChanges),
                    "protect": request.protect,
                    "retainOnDelete": request.retainOnDelete,
                    "dependencies": list(request.dependencies),
                    # input name -> URNs, as the engine keeps them (apitype.ResourceV3
                    # propertyDependencies)
                    "propertyDependencies": {
                        name: list(found.urns)
                        for name, found in request.propertyDependencies.items()
                    },
                    "provider": request.provider,
                },
                operation=operation,
                id=resource_id or "",
            )
        )
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, resource_id, state)
        obj = _sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=obj)
