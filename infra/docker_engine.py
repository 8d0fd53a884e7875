"""The Docker engine the stack's Docker provider talks to, for what the program and the CLI
ask it directly (a restored volume's check, `vos-infra backup`), reached as the provider
reaches it: the stack's `docker:host`, else DOCKER_HOST, else the local socket; over TLS with
the stack's `docker:caMaterial`/`certMaterial`/`keyMaterial` (all three, else DOCKER_CA_
MATERIAL, DOCKER_CERT_MATERIAL, DOCKER_KEY_MATERIAL), or the `ca.pem`, `cert.pem`, `key.pem`
of `docker:certPath` (else DOCKER_CERT_PATH). The engine's certificate is always verified,
as the provider does; DOCKER_TLS_VERIFY plays no part (pulumi/pulumi-docker
provider/provider.go maps each setting to its variable; kreuzwerker/terraform-provider-docker
internal/provider/config.go builds the client: materials or a folder, never both)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.tls

SETTINGS = {
    "host": "DOCKER_HOST",
    "caMaterial": "DOCKER_CA_MATERIAL",
    "certMaterial": "DOCKER_CERT_MATERIAL",
    "keyMaterial": "DOCKER_KEY_MATERIAL",
    "certPath": "DOCKER_CERT_PATH",
}
"""The Docker provider's settings (`docker:<key>`) and the variables it falls back to."""
MATERIALS = ("caMaterial", "certMaterial", "keyMaterial")
FILES = {"caMaterial": "ca.pem", "certMaterial": "cert.pem", "keyMaterial": "key.pem"}


class EngineSettingsError(ValueError):
    """Settings the Docker provider would refuse too."""


@dataclass(frozen=True)
class EngineSettings:
    values: dict[str, str]
    """The provider's settings that are set (the stack's, else their variables')."""

    @classmethod
    def of(cls, stack_value: Callable[[str], str | None]) -> EngineSettings:
        """`stack_value("certPath")`: the stack's `docker:certPath`, or None."""
        found = {}
        for key, variable in SETTINGS.items():
            value = stack_value(key) or os.environ.get(variable)
            if value:
                found[key] = value
        return cls(found)

    @property
    def address(self) -> str:
        return self.values.get("host") or "the local socket"

    def tls(self, folder: Path) -> docker.tls.TLSConfig | None:
        """The client's TLS as the provider builds it; materials are written to `folder`
        (docker-py reads certificates from files)."""
        given = [k for k in MATERIALS if k in self.values]
        if given:
            if len(given) != len(MATERIALS):
                missing = ", ".join(f"docker:{k}" for k in MATERIALS if k not in given)
                raise EngineSettingsError(f"{missing} missing: the three go together")
            if "certPath" in self.values:
                raise EngineSettingsError("docker:certPath and the *Material settings exclude "
                                          "each other; keep one")  # fmt: skip
            for key in MATERIALS:
                # 0600 in a folder of mkdtemp's 0700: the key is never readable by others.
                fd = os.open(folder / FILES[key], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(self.values[key])
            return _verified(folder)
        if "certPath" in self.values:
            return _verified(Path(self.values["certPath"]))
        return None


def _verified(folder: Path) -> docker.tls.TLSConfig:
    """The three files by the names docker:certPath's folder has (FILES), the engine's
    certificate always verified."""
    return docker.tls.TLSConfig(
        client_cert=(str(folder / FILES["certMaterial"]), str(folder / FILES["keyMaterial"])),
        ca_cert=str(folder / FILES["caMaterial"]),
        verify=True,
    )


def engine_client(engine: EngineSettings, timeout: int = 60) -> docker.DockerClient:
    host = engine.values.get("host")
    # The materials' files live as long as the client (docker-py reads them per connection);
    # without materials there is nothing to write.
    materials = any(key in engine.values for key in MATERIALS)
    folder = tempfile.TemporaryDirectory(prefix="vos-engine-") if materials else None
    tls = engine.tls(Path(folder.name) if folder else Path("."))
    base_url = host or "unix:///var/run/docker.sock"
    if tls is not None and base_url.startswith("tcp://"):
        base_url = "https://" + base_url.removeprefix("tcp://")
    # ssh:// through the `ssh` command, as the provider connects (docker-py's own SSH
    # needs paramiko, which the project does not install).
    ssh = base_url.startswith("ssh://")
    client = docker.DockerClient(base_url=base_url, tls=tls or False, timeout=timeout,
                                 use_ssh_client=ssh)  # fmt: skip
    if folder is not None:
        client.__dict__["_vos_tls_files"] = folder
    return client
