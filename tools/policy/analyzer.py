"""The policy pack as a process, started and spoken to the way the Pulumi CLI does.

pulumi-language-python's RunPlugin for an analyzer runs `python -u -m pulumi.policy
<engine address> <pack dir>` with the pack folder as working directory; the pack prints its
gRPC port on stdout (pulumi/pulumi sdk/python/cmd/pulumi-language-python/main.go,
pulumi/policy/__main__.py). The CLI then calls GetAnalyzerInfo, Configure with every policy
and its level (pkg/resource/analyzer/config.go), Analyze per resource and AnalyzeStack
once (sdk/go/common/resource/plugin/analyzer_plugin.go).
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from tools.policy.resources import PolicyInput

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}
LEVEL_NAMES = {v: k for k, v in LEVELS.items()}


class AnalyzerFailed(RuntimeError):
    """The pack did not start or broke the protocol."""


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    level: str
    urn: str
    message: str
    severity: str


def struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    json_format.ParseDict(dict(value), message)
    return message


class Analyzer:
    def __init__(self, pack_dir: Path = PACK_DIR, python: str = sys.executable) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (our interpreter, our pack)
            [python, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(pack_dir)],
            cwd=pack_dir,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 60)
        line = self.process.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            self.close()
            stderr = (
                self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
            )
            raise AnalyzerFailed(f"the policy pack did not start:\n{stderr[-3000:]}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{int(line)}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        self.process.kill()
        self.process.wait(timeout=10)

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        info: analyzer_pb2.AnalyzerInfo = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        return info

    def configure(
        self, levels: Mapping[str, str], properties: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Every policy with its level and config, as the CLI sends them (an entry without
        a level would mean ADVISORY)."""
        config = {
            name: analyzer_pb2.PolicyConfig(
                enforcementLevel=LEVELS[level], properties=struct(properties.get(name, {}))
            )
            for name, level in levels.items()
        }
        self.stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))

    def analyze(self, resource: PolicyInput) -> list[Diagnostic]:
        response = self.stub.Analyze(
            analyzer_pb2.AnalyzeRequest(
                type=resource.type,
                properties=struct(resource.inputs),
                urn=resource.urn,
                name=resource.name,
                options=analyzer_pb2.AnalyzerResourceOptions(parent=resource.parent),
                provider=_provider(resource),
            )
        )
        return [_diagnostic(d, resource.urn) for d in response.diagnostics]

    def analyze_stack(self, resources: Iterable[PolicyInput]) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    properties=struct(r.outputs),
                    urn=r.urn,
                    name=r.name,
                    options=analyzer_pb2.AnalyzerResourceOptions(parent=r.parent),
                    provider=_provider(r),
                    parent=r.parent,
                    dependencies=list(r.dependencies),
                )
                for r in resources
            ]
        )
        response = self.stub.AnalyzeStack(request)
        return [_diagnostic(d, d.urn) for d in response.diagnostics]


def _provider(resource: PolicyInput) -> analyzer_pb2.AnalyzerProviderResource | None:
    if resource.provider is None:
        return None
    type_, urn, props = resource.provider
    return analyzer_pb2.AnalyzerProviderResource(
        type=type_, urn=urn, name=urn.rsplit("::", 1)[-1], properties=struct(props)
    )


def _diagnostic(d: analyzer_pb2.AnalyzeDiagnostic, urn: str) -> Diagnostic:
    message = d.message.removeprefix(d.description).strip()
    severity = analyzer_pb2.PolicySeverity.Name(d.severity).lower()
    return Diagnostic(
        d.policyName, LEVEL_NAMES[d.enforcementLevel], urn or d.urn, message, severity
    )
