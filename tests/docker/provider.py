"""The pulumi-docker provider's create and delete, performed on a real Docker engine.

Numbers reach a provider as protobuf doubles; the bridge turns them into the schema's
integers, and so does this module.

pulumi-docker 5.x bridges kreuzwerker/terraform-provider-docker (v4.5.0, read at
5074970c; pulumi-docker's `upstream` submodule). Each step below names the function it
follows in that provider's internal/provider/ sources. Inputs arrive as the program
registers them (camelCase, secrets unwrapped, as the engine hands them to a provider);
an input this module does not map is an error, so nothing the program sets is ignored.

Besides create and delete: the container's Read (what a refresh, and the end of every
create, store), Update (what an in-place change really does), and the network's and
volume's Read and Delete, each from the function named above it. A create that fails
after the container exists raises `PartialCreate` with the state the provider had saved
(the engine keeps it, with initialization errors).

The container's create, Read, Update and delete are in provider_containers.py; the
failures in provider_errors.py; this module holds networks, volumes, images and the
dispatch by resource type.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker.errors

from tests.docker.engine import Engine
from tests.docker.provider_containers import ContainerProvider
from tests.docker.provider_errors import PartialCreate, ProviderError, unknown_inputs
from tests.docker.provider_labels import label_map, label_set

NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
IMAGE = "docker:index/remoteImage:RemoteImage"
BUILD = "docker:index/image:Image"
CONTAINER = "docker:index/container:Container"


class DockerProvider(ContainerProvider):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- resource_docker_network_funcs.go: resourceDockerNetworkCreate ------------------
    def create_network(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(
            inputs, {"name", "internal", "driver", "options", "attachable", "labels"}, "network"
        )
        created = self.engine.api().create_network(
            inputs["name"],
            driver=inputs.get("driver") or None,
            options=inputs.get("options") or None,
            internal=bool(inputs.get("internal")),
            attachable=bool(inputs.get("attachable")),
            labels=label_map(inputs.get("labels")) or None,
        )
        return self.read_network(created["Id"], inputs) or {}

    # -- resource_docker_network_funcs.go: resourceDockerNetworkReadRefreshFunc ----------
    def read_network(self, network_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        """The network as the engine has it now, or None when it is gone (removed from
        the state). Options are read back as the daemon holds them."""
        try:
            found = self.engine.api().inspect_network(network_id)
        except docker.errors.NotFound:
            return None
        return {
            **state,
            "id": found["Id"],
            "name": found["Name"],
            "labels": label_set(found["Labels"]),
            "driver": found["Driver"],
            "internal": found["Internal"],
            "attachable": found["Attachable"],
            "options": found["Options"] or {},
            "scope": found["Scope"],
        }

    # -- resource_docker_network_funcs.go: resourceDockerNetworkDelete -------------------
    def delete_network(self, network_id: str) -> None:
        _remove(self.engine.api().remove_network, "network", network_id)

    # -- resource_docker_volume.go: resourceDockerVolumeCreate --------------------------
    def create_volume(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(inputs, {"name", "driver", "driverOpts", "labels"}, "volume")
        created = self.engine.api().create_volume(
            inputs["name"],
            driver=inputs.get("driver") or None,
            driver_opts=inputs.get("driverOpts"),
        )
        return self.read_volume(created["Name"], inputs) or {}

    # -- resource_docker_volume.go: resourceDockerVolumeRead ----------------------------
    def read_volume(self, volume_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        try:
            found = self.engine.api().inspect_volume(volume_id)
        except docker.errors.NotFound:
            return None
        return {
            **state,
            "id": found["Name"],
            "name": found["Name"],
            "labels": label_set(found["Labels"]),
            "driver": found["Driver"],
            "driverOpts": found["Options"] or {},
            "mountpoint": found["Mountpoint"],
        }

    # -- resource_docker_volume.go: resourceDockerVolumeDelete --------------------------
    def delete_volume(self, volume_id: str) -> None:
        _remove(self.engine.api().remove_volume, "volume", volume_id)

    # -- resource_docker_image_funcs.go: resourceDockerImageCreate -> findImage ---------
    def create_image(self, inputs: dict[str, Any]) -> dict[str, Any]:
        unknown_inputs(inputs, {"name", "keepLocally"}, "remote image")
        try:
            found = self.engine.api().inspect_image(inputs["name"])
        except docker.errors.ImageNotFound:
            # findImage would pull it now; no registry is reachable here.
            raise ProviderError(f"unable to pull image {inputs['name']}: no registry") from None
        return {**inputs, "id": found["Id"], "imageId": found["Id"]}

    # -- pulumi-docker provider/image.go: the native Image resource, skipPush -----------
    def create_build(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Build the context and tag it `imageName`, without pushing (skipPush). The dockerfile
        is a path of its own (marshalBuildAndApplyDefaults); here it lies in the context.
        The classic builder stands in for BuildKit."""
        unknown_inputs(inputs, {"build", "imageName", "skipPush", "buildOnPreview"}, "image build")
        if inputs.get("skipPush") is not True:
            raise ProviderError("only skipPush builds are emulated: no registry here")
        build = inputs["build"]
        unknown_inputs(build, {"context", "dockerfile"}, "image build args")
        context = Path(build["context"])
        dockerfile = Path(build.get("dockerfile") or context / "Dockerfile")
        image, _ = self.engine.client().images.build(
            path=str(context),
            dockerfile=str(dockerfile.relative_to(context)),
            tag=inputs["imageName"],
            rm=True,
            forcerm=True,
        )
        return {
            **inputs,
            "id": image.id,
            "repoDigest": image.id,
            "baseImageName": inputs["imageName"],
        }

    # -- resource_docker_container_funcs.go: resourceDockerContainerCreate ---------------
    CONTAINER_INPUTS = frozenset(
        {
            "name", "image", "hostname", "envs", "command", "entrypoints", "user", "ports",
            "volumes", "labels", "healthcheck", "tmpfs", "readOnly", "logDriver", "logOpts",
            "capabilities", "securityOpts", "memory", "memorySwap", "cpus", "restart",
            "mustRun", "attach", "logs", "wait", "waitTimeout", "start", "networkMode",
            "networksAdvanced", "destroyGraceSeconds", "uploads", "hosts", "init", "ulimits",
        }
    )  # fmt: skip

    def read(self, type_: str, resource_id: str, state: dict[str, Any]) -> dict[str, Any] | None:
        readers: dict[str, Callable[[str, dict[str, Any]], dict[str, Any] | None]] = {
            NETWORK: self.read_network,
            VOLUME: self.read_volume,
            CONTAINER: self.read_container,
        }
        reader = readers.get(type_)
        return reader(resource_id, state) if reader else state

    def update(
        self, type_: str, resource_id: str, state: dict[str, Any], inputs: dict[str, Any]
    ) -> dict[str, Any]:
        """The resource's Update: a container's does what resourceDockerContainerUpdate does;
        the other kinds the program updates in place keep what they were given."""
        if type_ == CONTAINER:
            return self.update_container(resource_id, state, inputs)
        return {**state, **inputs}

    def delete(self, type_: str, resource_id: str, state: dict[str, Any]) -> None:
        if type_ == CONTAINER:
            self.delete_container(resource_id, state)
        elif type_ == NETWORK:
            self.delete_network(resource_id)
        elif type_ == VOLUME:
            self.delete_volume(resource_id)
        # images: keepLocally; builds are not deleted by the provider either

    def create(self, type_: str, inputs: dict[str, Any]) -> dict[str, Any]:
        creators: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            NETWORK: self.create_network,
            VOLUME: self.create_volume,
            IMAGE: self.create_image,
            BUILD: self.create_build,
            CONTAINER: self.create_container,
        }
        if type_ not in creators:
            raise ProviderError(f"no emulation of {type_}")
        return creators[type_](inputs)


def _remove(remove: Callable[[str], Any], kind: str, resource_id: str) -> None:
    """A delete: one already gone is fine, any other refusal fails the step."""
    try:
        remove(resource_id)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as error:
        raise ProviderError(f"Error deleting {kind} {resource_id}: {error}") from error


__all__ = [
    "BUILD",
    "CONTAINER",
    "IMAGE",
    "NETWORK",
    "VOLUME",
    "DockerProvider",
    "PartialCreate",
    "ProviderError",
]
